package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals stops real runs with SIGTERM (what systemd, docker stop and
// CI send) and SIGINT (Ctrl-C) at random moments: from the creation of the
// temporary log through the run, the event log, the summary and the
// report. Whatever the moment,
// the program ends with exit 1 and says it was stopped, or (when the
// signal came after its work) with exit 0 and every output in place; no
// temporary file is ever left behind, and a stopped run leaves no partial
// log.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program a dozen times")
	}
	bin := buildBinary(t)
	type setup struct {
		name string
		args []string
	}
	setups := []setup{
		// Paced: a few seconds of wall time, little work.
		{"paced", []string{"--speed", "200000", "ctg-threat-warning"}},
		// As fast as possible: seconds of work and a log of megabytes.
		{"unpaced", []string{"testdata/long.yaml"}},
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, s := range setups {
		// Once to the end, to know how long the whole takes.
		dir := t.TempDir()
		args := append([]string{"run", "--events", filepath.Join(dir, "out.jsonl"), "--report", filepath.Join(dir, "out.html")}, s.args...)
		start := time.Now()
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v: %s", s.name, err, stderr.String())
		}
		whole := time.Since(start)
		checkDir(t, dir, true, true)

		for i := range 3 + len(s.name)%2 { // four paced, three unpaced
			sig, sigName := syscall.SIGTERM, "terminated"
			if i%2 == 1 {
				sig, sigName = syscall.SIGINT, "interrupt"
			}
			after := time.Duration(rng.Int64N(int64(whole + whole/5)))
			dir := t.TempDir()
			args := append([]string{"run", "--events", filepath.Join(dir, "out.jsonl"), "--report", filepath.Join(dir, "out.html")}, s.args...)
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = nil, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			// No program can catch a signal before its main function
			// runs: the moments start once the temporary log exists.
			for started := false; !started; {
				entries, _ := os.ReadDir(dir)
				started = len(entries) > 0
				time.Sleep(time.Millisecond)
			}
			time.Sleep(after)
			cmd.Process.Signal(sig)
			err := <-waited
			code := cmd.ProcessState.ExitCode()
			what := s.name + ", " + sigName + " after " + after.String()
			msg := stderr.String()
			switch {
			case code == exitOK:
				checkDir(t, dir, true, true) // the signal came after the work
			case code == exitFailed && strings.Contains(msg, "stopped ("+sigName+" signal received); no event log"):
				checkDir(t, dir, false, false)
			case code == exitFailed && strings.Contains(msg, "stopped ("+sigName+" signal received) before the report"):
				checkDir(t, dir, true, false)
			default:
				t.Errorf("%s: exit %d (%v), stderr %q; want exit 1 and a message that says it was stopped", what, code, err, msg)
				checkDir(t, dir, false, false)
			}
			t.Logf("%s: exit %d", what, code)
		}
	}
}

// checkDir checks what a run left in dir: the log and the report, or not,
// and never a temporary file.
func checkDir(t *testing.T, dir string, log, report bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
		if e.Name() != "out.jsonl" && e.Name() != "out.html" {
			t.Errorf("%s left behind", e.Name())
		}
	}
	if have["out.jsonl"] != log || have["out.html"] != report {
		t.Errorf("event log written: %v, report written: %v; want %v, %v", have["out.jsonl"], have["out.html"], log, report)
	}
}
