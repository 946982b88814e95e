package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"liaison/events"
)

// A report that fails costs neither the event log nor the summary: both
// are written first, the report's error is printed, and the exit code says
// the command failed.
func TestReportFailureKeepsRecord(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "run.jsonl")
	// A link where the report should go, to a directory that is gone:
	// the run cannot tell until it writes.
	page := filepath.Join(dir, "aar.html")
	if err := os.Symlink(filepath.Join(dir, "gone", "aar.html"), page); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "run", "--json", "--events", log, "--report", page, "ctg-threat-warning")
	if code != exitFailed || !strings.Contains(stderr, "report") || !strings.Contains(stderr, page) {
		t.Fatalf("exit %d, stderr %q; want exit 1 and the report's error", code, stderr)
	}
	var sum events.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Scenario != "ctg-threat-warning" {
		t.Fatalf("no summary on stdout (%v): %q", err, stdout)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatalf("the event log is gone: %v", err)
	}
	defer f.Close()
	again, err := events.Summarize(log, f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(again)
	var fromLog events.Summary
	json.Unmarshal(b, &fromLog)
	if !reflect.DeepEqual(fromLog, sum) {
		t.Errorf("the log's summary differs from the one printed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d entries in %s, want only run.jsonl and the link aar.html", len(entries), dir)
	}
	// A report with nowhere to go is a usage error, found before the run.
	missing := filepath.Join(dir, "missing", "aar.html")
	code, _, stderr = cli(t, "run", "--events", filepath.Join(dir, "other.jsonl"), "--report", missing, "ctg-threat-warning")
	if code != exitInvalid || !strings.Contains(stderr, "no directory") {
		t.Errorf("--report in a missing directory: exit %d, stderr %q; want exit 2", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.jsonl")); err == nil {
		t.Error("a run refused for bad usage wrote its event log")
	}
}

// --report without a log file (no --events, or --events -) reads a copy of
// the log and removes it.
func TestReportWithoutLogFile(t *testing.T) {
	for _, events := range [][]string{nil, {"--events", "-"}} {
		dir := t.TempDir()
		page := filepath.Join(dir, "aar.md")
		args := append(append([]string{"run", "--quiet"}, events...), "--report", page, "ctg-threat-warning")
		code, stdout, stderr := cli(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if events != nil && !strings.HasPrefix(stdout, `{"t":0,"kind":"run"`) {
			t.Errorf("%v: no event log on stdout", args)
		}
		b, err := os.ReadFile(page)
		if err != nil || !bytes.HasPrefix(b, []byte("# After-action report")) {
			t.Errorf("%v: no report (%v)", args, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%v: %d entries in %s, want only aar.md", args, len(entries), dir)
		}
	}
}

func TestSpeedMustBePositive(t *testing.T) {
	for _, speed := range []string{"0", "-1", "NaN", "+Inf"} {
		code, _, stderr := cli(t, "run", "--speed", speed, "ctg-threat-warning")
		if code != exitInvalid || !strings.Contains(stderr, "--speed") || !strings.Contains(stderr, "leave it out") {
			t.Errorf("--speed %s: exit %d, stderr %q; want exit 2 and a usage message", speed, code, stderr)
		}
	}
}

// TestUnfinished: each agency's unfinished work in the summary is what
// reached it (deliveries, injects) less what it handled, by the log; the
// Europol backlog variant leaves work at Europol's desk.
func TestUnfinished(t *testing.T) {
	log := filepath.Join(t.TempDir(), "run.jsonl")
	code, stdout, stderr := cli(t, "run", "--json", "--events", log, "--variant", "europol-backlog", "siena-drug-case")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum events.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n"))[1:] {
		var e struct{ Kind, Agency string }
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		switch e.Kind {
		case "deliver", "inject":
			want[e.Agency]++
		case "handle_end":
			want[e.Agency]--
		}
	}
	stuck := int64(0)
	for _, a := range sum.Agencies {
		if a.Unfinished != want[string(a.ID)] || a.Unfinished < 0 {
			t.Errorf("%s: %d unfinished, want %d by the log", a.ID, a.Unfinished, want[string(a.ID)])
		}
		if a.ID == "eu.europol" {
			stuck = a.Unfinished
		}
	}
	if stuck == 0 {
		t.Error("nothing unfinished at Europol's desk in the backlog variant")
	}
}
