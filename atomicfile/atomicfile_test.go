package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := Write(path, func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "hello" {
		t.Fatalf("read %q, %v", b, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != Mode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), os.FileMode(Mode))
	}
	// A failed write leaves the old file and nothing else.
	boom := errors.New("boom")
	if err := Write(path, func(w io.Writer) error { io.WriteString(w, "partial"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "hello" {
		t.Fatalf("a failed write changed the file: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

// Errors name the file asked for, never the temporary one; nothing is left
// behind.
func TestErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "out.txt")
	if err := Write(missing, func(io.Writer) error { return nil }); err == nil || err.Error() != "create "+missing+": no such file or directory" {
		t.Errorf("missing directory: %v", err)
	}
	// Renaming onto a directory that holds a file fails at Commit.
	target := filepath.Join(dir, "out")
	os.MkdirAll(filepath.Join(target, "x"), 0o755)
	err := Write(target, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != target || pe.Op != "write" {
		t.Errorf("rename onto a directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
