package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "run.jsonl")
	page := filepath.Join(dir, "aar.html")
	code, stdout, stderr := cli(t, "run", "--json", "--events", log, "--report", page, "ctg-threat-warning")
	if code != exitOK {
		t.Fatalf("run --report: exit %d: %s", code, stderr)
	}
	var sum struct {
		Items []struct {
			ID      string   `json:"id"`
			Reached int      `json:"reached"`
			TTR     *float64 `json:"time_to_reach_seconds"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), "<svg") {
		t.Fatalf("run --report wrote no HTML report (%v)", err)
	}
	// liaison report on the same log, as JSON, agrees with run --json.
	code, stdout, stderr = cli(t, "report", "--format", "json", log)
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep struct {
		Items []struct {
			ID      string   `json:"id"`
			Reached int      `json:"reached"`
			TTR     *float64 `json:"time_to_reach_seconds"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != len(sum.Items) || len(rep.Items) == 0 {
		t.Fatalf("%d items in the report, %d in the summary", len(rep.Items), len(sum.Items))
	}
	for i := range rep.Items {
		a, b := rep.Items[i], sum.Items[i]
		if a.ID != b.ID || a.Reached != b.Reached || (a.TTR == nil) != (b.TTR == nil) || (a.TTR != nil && *a.TTR != *b.TTR) {
			t.Errorf("report item %+v, summary %+v", a, b)
		}
	}
	md := filepath.Join(dir, "aar.md")
	if code, _, stderr := cli(t, "report", "-o", md, log); code != exitOK {
		t.Fatalf("report -o md: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(md); !strings.HasPrefix(string(b), "# After-action report") {
		t.Error("report -o aar.md did not write Markdown")
	}

	// Bad input: exit 2, the file and line named, no output file.
	lines, _ := os.ReadFile(log)
	bad := filepath.Join(dir, "bad.jsonl")
	parts := strings.SplitAfter(string(lines), "\n")
	os.WriteFile(bad, []byte(parts[0]+parts[1]+"{\"t\":1,\"kind\":\n"), 0o644)
	out := filepath.Join(dir, "bad.html")
	code, _, stderr = cli(t, "report", "-o", out, bad)
	if code != exitInvalid || !strings.Contains(stderr, bad+":3:") {
		t.Errorf("bad log: exit %d, stderr %q; want exit 2 naming %s:3", code, stderr, bad)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a partial report was left behind")
	}
	for _, args := range [][]string{{"report"}, {"report", "--format", "pdf", log}, {"report", "-o", "x.txt", log},
		{"report", filepath.Join(dir, "missing.jsonl")}, {"run", "--report", "x.txt", "ctg-threat-warning"}} {
		if code, _, stderr := cli(t, args...); code != exitInvalid || stderr == "" {
			t.Errorf("liaison %s: exit %d (%q), want 2 with a message", strings.Join(args, " "), code, stderr)
		}
	}
}
