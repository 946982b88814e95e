package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"liaison/internal/golden"
)

func TestParseInject(t *testing.T) {
	s, err := Open("ctg-threat-warning")
	if err != nil {
		t.Fatal(err)
	}
	good := "id: L-1\nto: dk.pet\ntype: threat-warning\nsummary: A live update\naudience: [se.sapo]\ndeadline: 2h\n"
	in, err := s.ParseInject("live.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "L-1" || in.Deadline.Time() != 2*3600*1000 || in.Originator != "dk.pet" || !in.TLP.Set {
		t.Fatalf("decoded %+v", in)
	}
	for _, c := range []struct{ name, text, want string }{
		{"unknown agency", "id: L-2\nto: dk.nope\ntype: x\nsummary: s\n", "live.yaml:2:5: "},
		{"duplicate id", "id: I-1\nto: dk.pet\ntype: x\nsummary: s\n", "live.yaml:1:5: "},
		{"unknown field", "id: L-3\nto: dk.pet\ntype: x\nsummary: s\nfoo: 1\n", "live.yaml:5:1: "},
		{"missing summary", "id: L-4\nto: dk.pet\ntype: x\n", "live.yaml:1:1: "},
		{"bad deadline", "id: L-5\nto: dk.pet\ntype: x\nsummary: s\ndeadline: soon\n", "live.yaml:5:11: "},
		{"not a mapping", "- a\n- b\n", "live.yaml:1:1: "},
	} {
		_, err := s.ParseInject("live.yaml", []byte(c.text))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error starting %q", c.name, err, c.want)
		}
	}
}

// TestBadLiveInjects reads each malformed live inject against a builtin
// scenario and compares every error with its golden file.
func TestBadLiveInjects(t *testing.T) {
	s, err := Open("ctg-threat-warning")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/inject/*.yaml")
	if len(files) == 0 {
		t.Fatal("no live inject fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ParseInject(file, data)
			assertPositioned(t, file, err)
		})
	}
}

// TestInjectCheckerStream checks the injects of each fixture, a YAML list,
// one by one as a MSEL import does, against testdata/good/minimal.yaml,
// and compares the errors of Check and then of Done with its golden file.
func TestInjectCheckerStream(t *testing.T) {
	s, err := Load("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/stream/*.yaml")
	if len(files) == 0 {
		t.Fatal("no stream fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var root yaml.Node
			if err := yaml.Unmarshal(data, &root); err != nil || root.Content[0].Kind != yaml.SequenceNode {
				t.Fatalf("%s is not a YAML list: %v", file, err)
			}
			ic := s.NewInjectChecker()
			var out strings.Builder
			for _, n := range root.Content[0].Content {
				if _, err := ic.Check(file, n); err != nil {
					out.WriteString(err.Error() + "\n")
				}
			}
			out.WriteString("Done:\n")
			if err := ic.Done(); err != nil {
				out.WriteString(err.Error() + "\n")
			}
			golden.AssertString(t, strings.TrimSuffix(file, ".yaml")+".golden", out.String())
		})
	}
}
