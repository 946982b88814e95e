package scenarios

import (
	"strings"
	"testing"
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
