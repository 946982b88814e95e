package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cli runs the real program in process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code = m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"validate"},
		{"run"},
		{"run", "a.yaml", "b.yaml"},
		{"run", "--seed", "x", "../../sim/testdata/chain.yaml"},
		{"run", "--json", "--events", "-", "../../sim/testdata/chain.yaml"},
		{"run", "--variant", "nope", "../../sim/testdata/mixed.yaml"},
		{"run", "no-such-scenario"},
		{"compare", "--level", "0", "ctg-research"},
		{"list", "x"},
		{"schema", "x"},
		{"run", "--nodes", "2", "--split", "2", "../../sim/testdata/chain.yaml"},
		{"run", "--resume", "../../sim/testdata/chain.yaml"},
		{"run", "--nodes", "2", "--join-timeout", "-5s", "../../sim/testdata/chain.yaml"},
		{"run", "--nodes", "99", "../../sim/testdata/chain.yaml"},
	} {
		code, _, stderr := cli(t, args...)
		if code != exitInvalid {
			t.Errorf("liaison %s: exit %d, want %d", strings.Join(args, " "), code, exitInvalid)
		}
		if stderr == "" {
			t.Errorf("liaison %s: no message on stderr", strings.Join(args, " "))
		}
	}
}

// TestValidateCorpus: every malformed scenario exits 2 with problems in the
// form file:line:column: message, and nothing on stdout.
func TestValidateCorpus(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/testdata/bad/*.yaml")
	if len(files) < 15 {
		t.Fatalf("malformed corpus has %d files, want at least 15", len(files))
	}
	where := regexp.MustCompile(`^[^:]+\.yaml:\d+:\d+: .+`)
	for _, f := range files {
		code, stdout, stderr := cli(t, "validate", f)
		if code != exitInvalid || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q; want exit 2 and nothing on stdout", f, code, stdout)
		}
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if !where.MatchString(l) {
				t.Errorf("%s: problem line %q is not file:line:column: message", f, l)
			}
		}
	}
	code, stdout, _ := cli(t, append([]string{"validate"}, builtinNames(t)...)...)
	if code != exitOK || strings.Count(stdout, ": ok") != len(builtinNames(t)) {
		t.Fatalf("built-ins: exit %d, output %q", code, stdout)
	}
}

// TestValidateWarning: a scenario whose audience is reached only through a
// consent that cannot be asked validates (exit 0, ok on stdout) with a
// warning on stderr at the audience member's position.
func TestValidateWarning(t *testing.T) {
	f := "../../scenarios/testdata/warn/unaskable-consent.yaml"
	code, stdout, stderr := cli(t, "validate", f)
	if code != exitOK || !strings.Contains(stdout, ": ok") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	where := regexp.MustCompile(`^[^:]+\.yaml:\d+:\d+: warning: audience member x\.\w+ of inject I-1 .*no_consent_route`)
	for _, l := range lines {
		if !where.MatchString(l) {
			t.Errorf("warning line %q is not file:line:column: warning: ...", l)
		}
	}
	if len(lines) != 2 {
		t.Errorf("%d warnings, want 2:\n%s", len(lines), stderr)
	}
}

func builtinNames(t *testing.T) []string {
	t.Helper()
	_, out, _ := cli(t, "list")
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	if len(names) < 5 {
		t.Fatalf("liaison list shows %d scenarios, want at least 5:\n%s", len(names), out)
	}
	return names
}

// TestRunEveryBuiltin runs each built-in scenario (and each of its variants)
// on the embedded server, with the summary as JSON.
func TestRunEveryBuiltin(t *testing.T) {
	for _, name := range builtinNames(t) {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := cli(t, "run", "--json", name)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var sum map[string]any
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
				t.Fatalf("summary is not JSON: %v\n%s", err, stdout)
			}
			for _, k := range []string{"scenario", "seed", "variant", "messages", "items", "channels", "agencies"} {
				if _, ok := sum[k]; !ok {
					t.Errorf("summary has no %q key", k)
				}
			}
			msgs := sum["messages"].(map[string]any)
			for _, k := range []string{"sent", "delivered", "dropped"} {
				if _, ok := msgs[k]; !ok {
					t.Errorf("messages has no %q key", k)
				}
			}
			if msgs["sent"].(float64) == 0 {
				t.Errorf("no message was sent")
			}
			items := sum["items"].([]any)
			for _, it := range items {
				for _, k := range []string{"id", "audience", "reached", "time_to_reach_seconds", "deadline_seconds", "deadline_met"} {
					if _, ok := it.(map[string]any)[k]; !ok {
						t.Errorf("item has no %q key", k)
					}
				}
			}
		})
	}
}

// TestEventsFile: --events writes the whole log on success, and a run that
// cannot start leaves no file behind.
func TestEventsFile(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "events.jsonl")
	code, stdout, stderr := cli(t, "run", "--quiet", "--events", log, "--seed", "4", "../../sim/testdata/chain.yaml")
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 10 || !strings.HasPrefix(lines[0], `{"t":0,"kind":"run","scenario":"chain"`) ||
		!strings.HasPrefix(lines[1], `{"t":0,"kind":"inject"`) {
		t.Fatalf("unexpected log:\n%s", b)
	}
	// Same seed, same bytes, through stdout this time.
	code, again, _ := cli(t, "run", "--events", "-", "--seed", "4", "../../sim/testdata/chain.yaml")
	if code != exitOK || again != string(b) {
		t.Fatalf("the log on stdout differs from the file")
	}

	bad := filepath.Join(dir, "bad.jsonl")
	code, _, _ = cli(t, "run", "--events", bad, "--nats", "nats://127.0.0.1:1", "../../sim/testdata/chain.yaml")
	if code != exitFailed {
		t.Fatalf("run against an unreachable NATS server: exit %d, want %d", code, exitFailed)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("a failed run left files behind: %v", entries)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	code, stdout, _ := cli(t, "schema")
	var v map[string]any
	if code != exitOK || json.Unmarshal([]byte(stdout), &v) != nil {
		t.Fatalf("liaison schema: exit %d, not a JSON object", code)
	}
	if v["$schema"] == nil || v["properties"] == nil {
		t.Fatalf("schema lacks $schema or properties")
	}
}

// TestOutputsChecked: outputs that would overwrite an input or each other,
// name a directory, lie in no directory or are a flag taking the place of
// a file name are refused before any work, with exit 2 and the flag named;
// the inputs are left as they were and nothing is written.
func TestOutputsChecked(t *testing.T) {
	dir := t.TempDir()
	scenario, err := os.ReadFile("../../sim/testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := filepath.Join(dir, "s.yaml")
	os.WriteFile(s, scenario, 0o644)
	os.Mkdir(filepath.Join(dir, "adir"), 0o755)
	os.Symlink(s, filepath.Join(dir, "link.yaml"))
	in := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--events", s, s}, "--events " + s + ": is the input"},
		{[]string{"run", "--events", in("link.yaml"), s}, ": is the input"},
		{[]string{"run", "--events", in("o.json"), "--report", in("./o.json"), s}, "--report " + in("o.json") + ": --events writes that file too"},
		{[]string{"run", "--openmetrics", in("o.om"), "--events", in("o.om"), s}, "--events writes that file too"},
		{[]string{"run", "--events", in("adir"), s}, "is a directory"},
		{[]string{"run", "--openmetrics", in("nodir/x.om"), s}, "no directory"},
		{[]string{"run", "--events", "--json", s}, "--events --json: that is a flag, not a file name"},
		{[]string{"run", "--speed", "1e-9", s}, "--speed 1e-09: expected simulated seconds per wall second from 0.001"},
		{[]string{"msel", "export", "-o", s, s}, "-o " + s + ": is the input"},
		{[]string{"msel", "import", "--into", s, s}, "--into " + s + ": is the input"},
		{[]string{"report", "-o", s, s}, "-o " + s + ": is the input"},
		{[]string{"compare", "--csv", in("a.csv"), "--winners-csv", in("a.csv"), s}, "--csv writes that file too"},
		{[]string{"compare", "--html", in("nodir/x.html"), s}, "no directory"},
		{[]string{"compare", "--runs", "1000000000", s}, "exceed 100000 replications"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitInvalid || !strings.Contains(stderr, tc.want) {
			t.Errorf("liaison %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
		if got, _ := os.ReadFile(s); !bytes.Equal(got, scenario) {
			t.Fatalf("liaison %s changed its input", strings.Join(tc.args, " "))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 3 {
			t.Fatalf("liaison %s left %d files, want the 3 it was given", strings.Join(tc.args, " "), len(entries))
		}
	}
}

// TestBadFlagMessage: a bad flag value gets one line that names the
// command, what was wrong and what the flag expects, not the whole usage.
func TestBadFlagMessage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--seed", "x", "ctg-threat-warning"}, "liaison run: invalid value \"x\" for flag -seed: parse error; --seed expects uint: random seed (default: the scenario's seed)\n"},
		{[]string{"compare", "--runs"}, "liaison compare: flag needs an argument: -runs; --runs expects N: replications per row, N\n"},
		{[]string{"run", "--frob", "ctg-threat-warning"}, "liaison run: flag provided but not defined: -frob; liaison run -h lists the flags\n"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitInvalid || stderr != tc.want {
			t.Errorf("liaison %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}
