package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestLiveExercise drives a paced run as a facilitator would, with the real
// CLI: liaison run --listen, then liaison inject and liaison control from
// "another terminal", then liaison run --replay on the log.
func TestLiveExercise(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "nats://" + addr
	log := filepath.Join(dir, "live.jsonl")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		code := m.Run(context.Background(), []string{"run", "--speed", "3600", "--listen", addr,
			"--events", log, "--json", "../../sim/testdata/live.yaml"})
		done <- result{code, out.String(), errb.String()}
	}()
	// Wait for the run to answer.
	var code int
	var stdout, stderr string
	for i := 0; i < 100; i++ {
		code, stdout, stderr = cli(t, "control", "--nats", url, "pause")
		if code == exitOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != exitOK || !strings.Contains(stdout, "paused at simulated t=") {
		t.Fatalf("pause: exit %d, %q %q", code, stdout, stderr)
	}
	code, _, stderr = cli(t, "inject", "--nats", url, "testdata/bad-inject.yaml")
	if code != exitInvalid || !strings.HasPrefix(stderr, "testdata/bad-inject.yaml:5:") {
		t.Fatalf("bad inject: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = cli(t, "inject", "--nats", url, "testdata/live-inject.yaml")
	if code != exitOK || !strings.Contains(stdout, "inject delivered") {
		t.Fatalf("inject: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr = cli(t, "control", "--nats", url, "resume"); code != exitOK {
		t.Fatalf("resume: exit %d, %q", code, stderr)
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"id": "L-1"`) {
		t.Fatalf("the summary does not report the live inject:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "liaison inject --nats "+url) || !strings.Contains(r.stderr, "paced at 3600×") {
		t.Errorf("the run did not tell the facilitator how to join or how it kept pace:\n%s", r.stderr)
	}
	replayLog := filepath.Join(dir, "replay.jsonl")
	if code, _, stderr := cli(t, "run", "--quiet", "--replay", log, "--events", replayLog, "../../sim/testdata/live.yaml"); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(log)
	b, _ := os.ReadFile(replayLog)
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"kind":"live_inject"`)) {
		t.Fatal("the replayed log differs from the live run's")
	}
}

func TestFacilitatorUsage(t *testing.T) {
	for _, args := range [][]string{
		{"inject"},
		{"inject", "--nats", "nats://127.0.0.1:1"},
		{"control", "--nats", "nats://127.0.0.1:1", "stop"},
		{"control", "pause"},
	} {
		if code, _, _ := cli(t, args...); code != exitInvalid {
			t.Errorf("liaison %s: exit %d, want %d", strings.Join(args, " "), code, exitInvalid)
		}
	}
	if code, _, _ := cli(t, "control", "--nats", "nats://127.0.0.1:1", "pause"); code != exitFailed {
		t.Errorf("control against no server: exit %d, want %d", code, exitFailed)
	}
}
