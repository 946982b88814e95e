package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMSELCommand(t *testing.T) {
	dir := t.TempDir()
	csv, yml := filepath.Join(dir, "injects.csv"), filepath.Join(dir, "s.yaml")
	src, err := os.ReadFile("../../scenarios/interpol-notice.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(yml, src, 0o644)
	if code, _, stderr := cli(t, "msel", "export", yml, "-o", csv); code != exitOK {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "msel", "import", csv, "--into", yml); code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	if code, _, stderr := cli(t, "validate", yml); code != exitOK {
		t.Fatalf("imported file does not validate: %s", stderr)
	}
	before, _ := os.ReadFile(yml)
	b, _ := os.ReadFile(csv)
	rows := strings.SplitAfter(string(b), "\n")
	rows[1] = strings.Replace(rows[1], ",", ",nonsense-time,", 1)
	os.WriteFile(csv, []byte(strings.Join(rows, "")), 0o644)
	code, _, stderr := cli(t, "msel", "import", csv, "--into", yml)
	if code != exitInvalid || !strings.Contains(stderr, csv+":2:") {
		t.Errorf("bad row: exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(yml); string(after) != string(before) {
		t.Error("a bad import changed the scenario file")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("a bad import left files behind: %v", left)
	}
	// Semicolons and a calendar time, as a Nordic Excel writes them.
	semi := "Inject No.;Scenario Time;To;Type;Message;Audience\r\nN-1;10.03.2026 09:30;dk.ncb;red-notice-request;Malmö;\r\n"
	os.WriteFile(csv, []byte(semi), 0o644)
	if code, _, stderr := cli(t, "msel", "import", csv, "--into", yml); code != exitOK {
		t.Fatalf("semicolon import: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := cli(t, "msel", "export", yml); code != exitOK || !strings.Contains(stdout, "N-1,24h30m,") {
		t.Errorf("after a semicolon import: exit %d, export %q", code, stdout)
	}
}
