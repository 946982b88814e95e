package scenarios

import (
	"strings"
	"testing"
)

// TestBuiltins loads every built-in scenario and applies each variant, so a
// scenario file that stops loading fails the build's tests, not a user's run.
func TestBuiltins(t *testing.T) {
	list := List()
	if len(list) == 0 {
		t.Skip("no built-in scenarios yet")
	}
	for i, info := range list {
		if i > 0 && list[i-1].Name >= info.Name {
			t.Errorf("List not sorted: %s before %s", list[i-1].Name, info.Name)
		}
		s, err := Builtin(info.Name)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		if s.Source != "scenarios/"+info.Name+".yaml" || s.Title != info.Title {
			t.Errorf("%s: source %q, title %q vs %q", info.Name, s.Source, s.Title, info.Title)
		}
		if s.Name != info.Name {
			t.Errorf("%s: the file says name: %s; expected the file name, which is what users type", info.Name, s.Name)
		}
		for _, v := range s.VariantNames() {
			a, err := s.Apply(v)
			if err != nil {
				t.Errorf("%s: apply %s: %v", info.Name, v, err)
				continue
			}
			if a.Lookahead() <= 0 {
				t.Errorf("%s/%s: lookahead %d", info.Name, v, a.Lookahead())
			}
		}
	}
}

func TestOpen(t *testing.T) {
	s, err := Open("testdata/good/minimal.yaml")
	if err != nil || s.Name != "minimal" || s.Source != "testdata/good/minimal.yaml" {
		t.Fatalf("Open(file) = %v, %v", s, err)
	}
	for _, info := range List() {
		if s, err := Open(info.Name); err != nil || s.Source != "scenarios/"+info.Name+".yaml" {
			t.Errorf("Open(%s) = %v", info.Name, err)
		}
	}
	_, err = Open("no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "expected a path or one of:") {
		t.Errorf("Open(unknown) = %v", err)
	}
	if _, err := Builtin("../scenarios/x"); err == nil {
		t.Error("Builtin accepted a path")
	}
}
