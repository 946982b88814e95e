package scenarios

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"liaison/internal/golden"
)

// TestBadScenarios loads each malformed fixture and compares every error
// line with its golden file, so a change in a message is a reviewed diff.
func TestBadScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 15 {
		t.Fatalf("want at least 15 bad fixtures, got %d (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			if err == nil {
				t.Fatal("loaded without error")
			}
			assertPositioned(t, file, err)
		})
	}
}

// assertPositioned checks that err, what reading the fixture file gave,
// is a list of problems each at a line and column of that file, and
// compares it with the fixture's golden file.
func assertPositioned(t *testing.T, file string, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	for _, e := range list {
		if e.Line == 0 || e.Column == 0 || e.File != file {
			t.Errorf("error without a position in %s: %#v", file, e)
		}
	}
	golden.AssertString(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error()+"\n")
}

func TestGoodScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, file := range files {
		s, err := Load(file)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, v := range s.VariantNames() {
			if _, err := s.Apply(v); err != nil {
				t.Errorf("%s: apply %s: %v", file, v, err)
			}
		}
	}
}
