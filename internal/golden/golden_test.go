package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps failures instead of reporting them,
// so that the test can check Assert fails when it should.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msg = format
	_ = args
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Fatal(args ...any)                 { r.failed = true }

func TestAssert(t *testing.T) {
	if Updating() {
		t.Skip("checks comparison, not rewriting")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "x.golden")
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		got  string
		fail bool
	}{{"a\nb\n", false}, {"a\nc\n", true}, {"a\nb", true}, {"", true}} {
		r := &recorder{TB: t}
		AssertString(r, path, c.got)
		if r.failed != c.fail {
			t.Errorf("got %q: failed %v, want %v", c.got, r.failed, c.fail)
		}
	}
	r := &recorder{TB: t}
	AssertString(r, filepath.Join(dir, "missing.golden"), "x")
	if !r.failed {
		t.Error("a missing golden file passed")
	}
}

func TestDiff(t *testing.T) {
	d := Diff("one\ntwo\nthree\n", "one\ntwo\n3\n")
	for _, want := range []string{"  two\n", "- three\n", "+ 3\n", "line 3"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
}
