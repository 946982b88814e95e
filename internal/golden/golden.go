// Package golden compares text that users read (tables, help, error
// messages) with reviewed files under testdata/. Every golden test in
// Liaison goes through it, so one flag refreshes them all:
//
//	go test ./... -update
//
// rewrites each file with what the test produced; the diff is then
// reviewed like any other change.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with what the tests produce")

// Updating reports whether the tests run with -update.
func Updating() bool { return *update }

// Assert compares got with the golden file at path. With -update it writes
// got to the file (creating its directory) instead of failing.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, Diff(string(want), string(got)))
	}
}

// AssertString is Assert for a string.
func AssertString(t testing.TB, path, got string) {
	t.Helper()
	Assert(t, path, []byte(got))
}

// Diff describes where want and got part: the first differing line with
// a little context, marked - for want and + for got.
func Diff(want, got string) string {
	w, g := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	from := max(i-2, 0)
	for _, l := range w[from:i] {
		fmt.Fprintf(&b, "  %s", ensureNewline(l))
	}
	for j := i; j < min(i+3, len(w)); j++ {
		fmt.Fprintf(&b, "- %s", ensureNewline(w[j]))
	}
	for j := i; j < min(i+3, len(g)); j++ {
		fmt.Fprintf(&b, "+ %s", ensureNewline(g[j]))
	}
	fmt.Fprintf(&b, "(first difference at line %d; want %d lines, got %d)\n", i+1, len(w), len(g))
	return b.String()
}

func ensureNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "⏎(no newline)\n"
}
