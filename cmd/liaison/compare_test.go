package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
