package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"liaison/internal/golden"
)

// What a user reads on the terminal is compared with reviewed files under
// testdata/ (go test ./cmd/liaison -update rewrites them).

// TestHelp: `liaison help CMD` and `liaison CMD -h` print the same usage,
// with the command's arguments and flags, on stdout with exit 0.
func TestHelp(t *testing.T) {
	code, stdout, stderr := cli(t, "help")
	if code != exitOK || stderr != "" {
		t.Fatalf("liaison help: exit %d, stderr %q", code, stderr)
	}
	golden.AssertString(t, "testdata/help/liaison.golden", stdout)
	if _, again, _ := cli(t, "--help"); again != stdout {
		t.Error("liaison --help differs from liaison help")
	}
	var pages [][]string
	for _, c := range commands {
		pages = append(pages, []string{c.name})
		for _, s := range subcommands[c.name] {
			pages = append(pages, []string{c.name, s.name})
		}
	}
	for _, words := range pages {
		name := strings.Join(words, "-")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := cli(t, append([]string{"help"}, words...)...)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if want := "usage: liaison " + strings.Join(words, " "); !strings.HasPrefix(stdout, want) {
				t.Errorf("help starts %q, want %q", strings.SplitN(stdout, "\n", 2)[0], want)
			}
			_, isParent := subcommands[words[0]]
			if !flagless[words[0]] && (!isParent || len(words) > 1) && !strings.Contains(stdout, "\nflags:\n  -") {
				t.Errorf("no flags in the help of a command that is not listed as flagless:\n%s", stdout)
			}
			for _, h := range []string{"-h", "--help"} {
				code, dash, stderr := cli(t, append(words, h)...)
				if code != exitOK || stderr != "" || dash != stdout {
					t.Errorf("liaison %s %s: exit %d, stderr %q, stdout differs from liaison help: %q", strings.Join(words, " "), h, code, stderr, dash)
				}
			}
			golden.AssertString(t, filepath.Join("testdata/help", name+".golden"), stdout)
		})
	}
	if code, _, stderr := cli(t, "help", "frobnicate"); code != exitInvalid || stderr == "" {
		t.Errorf("help for an unknown command: exit %d, stderr %q", code, stderr)
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "version"} {
		code, stdout, stderr := cli(t, arg)
		if code != exitOK || stderr != "" || !regexp.MustCompile(`^liaison .+, go1\.\d+`).MatchString(stdout) {
			t.Errorf("liaison %s: exit %d, stdout %q, stderr %q", arg, code, stdout, stderr)
		}
	}
}

// TestSummaryTable: the table `liaison run` prints for a built-in
// scenario (runs are deterministic for a scenario and seed).
func TestSummaryTable(t *testing.T) {
	code, stdout, stderr := cli(t, "run", "ctg-threat-warning")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden.AssertString(t, "testdata/run-ctg-threat-warning.golden", stdout)
}

// TestCompareTable: the table `liaison compare` prints.
func TestCompareTable(t *testing.T) {
	code, stdout, stderr := cli(t, "compare", "--runs", "5", "ctg-threat-warning")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden.AssertString(t, "testdata/compare-ctg-threat-warning.golden", stdout)
}

// TestValidateMessages: what `liaison validate` says of good files, and
// the errors of usage mistakes, one golden file each.
func TestValidateMessages(t *testing.T) {
	var ok strings.Builder
	for _, name := range builtinNames(t) {
		code, stdout, stderr := cli(t, "validate", name)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		ok.WriteString(stdout)
	}
	_, stdout, _ := cli(t, "validate", "../../scenarios/testdata/good/minimal.yaml")
	ok.WriteString(stdout)
	golden.AssertString(t, "testdata/validate-ok.golden", ok.String())

	var errs strings.Builder
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"validate"},
		{"run"},
		{"run", "a.yaml", "b.yaml"},
		{"run", "--json", "--events", "-", "../../sim/testdata/chain.yaml"},
		{"run", "--variant", "nope", "../../sim/testdata/mixed.yaml"},
		{"run", "no-such-scenario"},
		{"msel"},
		{"msel", "frobnicate"},
		{"validate", "../../scenarios/testdata/bad/binary.yaml", "../../scenarios/testdata/bad/rate-too-high.yaml"},
	} {
		code, _, stderr := cli(t, args...)
		errs.WriteString("$ liaison " + strings.Join(args, " ") + "\n" + stderr)
		if code != exitInvalid {
			t.Errorf("liaison %s: exit %d, want %d", strings.Join(args, " "), code, exitInvalid)
		}
	}
	golden.AssertString(t, "testdata/usage-errors.golden", errs.String())
}
