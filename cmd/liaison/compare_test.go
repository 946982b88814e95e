package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	csv, page := filepath.Join(dir, "runs.csv"), filepath.Join(dir, "cmp.html")
	code, stdout, stderr := cli(t, "compare", "ctg-research", "--variants", ",mesh", "--runs", "3", "--parallel", "2",
		"--csv", csv, "--html", page)
	if code != exitOK {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "mesh") || !strings.Contains(stdout, "(base)") {
		t.Errorf("table lacks the variants:\n%s", stdout)
	}
	if b, _ := os.ReadFile(csv); strings.Count(string(b), "\n") != 1+2*3*2 {
		t.Errorf("CSV has %d lines:\n%s", strings.Count(string(b), "\n"), b)
	}
	if b, _ := os.ReadFile(page); !strings.Contains(string(b), "<svg") {
		t.Error("no HTML page with charts")
	}
	if stderr != "" {
		t.Errorf("progress bar or noise on a non-terminal stderr: %q", stderr)
	}
	for _, args := range [][]string{{"compare"}, {"compare", "ctg-research", "--variants", "nope"}, {"compare", "ctg-research", "--runs", "0"}} {
		if code, _, _ := cli(t, args...); code != exitInvalid {
			t.Errorf("liaison %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}

// liaison compare --set works on every built-in scenario, with the CSV,
// the verdicts and the page.
func TestCompareSetEveryBuiltin(t *testing.T) {
	for _, name := range builtinNames(t) {
		dir := t.TempDir()
		runs, winners, page := filepath.Join(dir, "runs.csv"), filepath.Join(dir, "winners.csv"), filepath.Join(dir, "cmp.html")
		code, stdout, stderr := cli(t, "compare", name, "--variants", "base", "--set", "agencies[0].staff=1,3", "--runs", "2",
			"--csv", runs, "--winners-csv", winners, "--html", page)
		if code != exitOK {
			t.Errorf("%s: exit %d: %s", name, code, stderr)
			continue
		}
		if !strings.Contains(stdout, "staff=1") || !strings.Contains(stdout, "staff=3") || !strings.Contains(stdout, "WHO WINS") {
			t.Errorf("%s: the table lacks the rows or the verdicts:\n%s", name, stdout)
		}
		f, _ := os.Open(runs)
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(recs) < 1+2*2 || recs[0][2] != "agencies[0].staff" || recs[1][2] != "1" || recs[len(recs)-1][2] != "3" {
			t.Errorf("%s: runs CSV: %v, %d records", name, err, len(recs))
		}
		if b, _ := os.ReadFile(winners); !strings.HasPrefix(string(b), "scenario,item,metric,best,") || strings.Count(string(b), "\n") < 4 {
			t.Errorf("%s: winners CSV:\n%s", name, b)
		}
		if b, _ := os.ReadFile(page); !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "staff=3") {
			t.Errorf("%s: no page with the rows and charts", name)
		}
	}
}

// A bad sweep exits 2 with what is wrong and where, and writes nothing.
func TestCompareSetErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "agencies[nope].staff=1"}, "--set agencies[nope].staff=1: no element of agencies has id \"nope\""},
		{[]string{"--set", "agencies[dk.pet].staff=1,0"}, "--set agencies[dk.pet].staff=0: staff of dk.pet is 0; expected at least 1"},
		{[]string{"--set", "agencies[dk.pet].stuff=1"}, `(did you mean "staff"?)`},
		{[]string{"--set", "channels[ctg].latency=lognormal(median=5m, sigma=0.5"}, "unbalanced"},
		{[]string{"--set", "staff"}, "expected PATH=VALUE"},
		{[]string{"--level", "2"}, "expected a number between 0 and 1"},
		{[]string{"--workers", "2"}, "go with --nats"},
		{[]string{"--nats", "nats://127.0.0.1:1", "--parallel", "2"}, "each worker takes its own"},
	} {
		dir := t.TempDir()
		out := filepath.Join(dir, "runs.csv")
		args := append([]string{"compare", "ctg-research", "--runs", "1", "--csv", out}, tc.args...)
		code, stdout, stderr := cli(t, args...)
		if code != exitInvalid || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote a CSV", tc.args)
		}
	}
}

// The progress line says how many runs are done and how long the rest
// will take at the pace so far.
func TestProgressLine(t *testing.T) {
	var b strings.Builder
	p := &progressLine{w: &b, start: time.Now().Add(-10 * time.Second)}
	p.update(1, 4)
	if got := b.String(); !strings.Contains(got, "1/4 runs, about 30s left") || !strings.HasPrefix(got, "\r") {
		t.Errorf("progress %q", got)
	}
	b.Reset()
	p.update(4, 4)
	if got := b.String(); !strings.Contains(got, "4/4 runs") || strings.Contains(got, "left") || !strings.HasSuffix(got, "\n") {
		t.Errorf("progress at the end %q", got)
	}
}
