//go:build unix

package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// noTemp fails if a temporary file is left anywhere under dir: every path,
// good or bad, must clean up after itself.
func noTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// isLink checks path is still a symbolic link to want: writing through a
// link must not replace the link.
func isLink(t *testing.T, path, want string) {
	t.Helper()
	if got, err := os.Readlink(path); err != nil || got != want {
		t.Errorf("link %s -> %q, %v; want -> %q", path, got, err, want)
	}
}

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// setup makes the tree under dir and returns the path to write.
		setup func(t *testing.T, dir string) string
		write func(io.Writer) error
		// check looks at the result; err is what Write returned.
		check func(t *testing.T, dir string, err error)
	}{{
		name:  "new file",
		setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "out") },
		write: writeString("hello"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "out")
			holds(t, p, "hello")
			if st, _ := os.Stat(p); st.Mode().Perm() != Mode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), fs.FileMode(Mode))
			}
		},
	}, {
		name: "regular file is replaced",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out")
			os.WriteFile(p, []byte("old, and longer"), 0o600)
			return p
		},
		write: writeString("new"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "out")
			holds(t, p, "new")
			if st, _ := os.Stat(p); st.Mode().Perm() != Mode {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), fs.FileMode(Mode))
			}
		},
	}, {
		name: "failed write keeps the old file",
		setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "out")
			os.WriteFile(p, []byte("old"), 0o644)
			return p
		},
		write: func(w io.Writer) error { io.WriteString(w, "partial"); return boom },
		check: func(t *testing.T, dir string, err error) {
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want %v", err, boom)
			}
			holds(t, filepath.Join(dir, "out"), "old")
		},
	}, {
		name: "symlink to a file writes the file",
		setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "lk"), 0o755)
			os.WriteFile(filepath.Join(dir, "lk", "real.jsonl"), []byte("old"), 0o644)
			os.Symlink("lk/real.jsonl", filepath.Join(dir, "evlink.jsonl"))
			return filepath.Join(dir, "evlink.jsonl")
		},
		write: writeString("new"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			isLink(t, filepath.Join(dir, "evlink.jsonl"), "lk/real.jsonl")
			holds(t, filepath.Join(dir, "lk", "real.jsonl"), "new")
		},
	}, {
		name: "failed write through a symlink keeps the old file",
		setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "lk"), 0o755)
			os.WriteFile(filepath.Join(dir, "lk", "real"), []byte("old"), 0o644)
			os.Symlink("lk/real", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		},
		write: func(w io.Writer) error { io.WriteString(w, "partial"); return boom },
		check: func(t *testing.T, dir string, err error) {
			if !errors.Is(err, boom) {
				t.Fatalf("got %v, want %v", err, boom)
			}
			isLink(t, filepath.Join(dir, "link"), "lk/real")
			holds(t, filepath.Join(dir, "lk", "real"), "old")
		},
	}, {
		name: "dangling symlink creates its target",
		setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "lk"), 0o755)
			os.Symlink("lk/new", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		},
		write: writeString("hello"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			isLink(t, filepath.Join(dir, "link"), "lk/new")
			holds(t, filepath.Join(dir, "lk", "new"), "hello")
		},
	}, {
		name: "dangling symlink into a missing directory fails",
		setup: func(t *testing.T, dir string) string {
			os.Symlink("nowhere/new", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		},
		write: writeString("hello"),
		check: func(t *testing.T, dir string, err error) {
			want := "create " + filepath.Join(dir, "link") + ": no such file or directory"
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
			isLink(t, filepath.Join(dir, "link"), "nowhere/new")
		},
	}, {
		name: "symlink chain",
		setup: func(t *testing.T, dir string) string {
			os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
			os.WriteFile(filepath.Join(dir, "a", "real"), []byte("old"), 0o644)
			os.Symlink("../real", filepath.Join(dir, "a", "b", "l2"))
			os.Symlink("a/b/l2", filepath.Join(dir, "l1"))
			return filepath.Join(dir, "l1")
		},
		write: writeString("new"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			isLink(t, filepath.Join(dir, "l1"), "a/b/l2")
			isLink(t, filepath.Join(dir, "a", "b", "l2"), "../real")
			holds(t, filepath.Join(dir, "a", "real"), "new")
		},
	}, {
		// The ".." in the last link is taken from the directory the link
		// is really in (x/y), not from the name that led to it (d).
		name: "dangling chain through a linked directory",
		setup: func(t *testing.T, dir string) string {
			os.MkdirAll(filepath.Join(dir, "x", "y"), 0o755)
			os.Symlink("x/y", filepath.Join(dir, "d"))
			os.Symlink("../new", filepath.Join(dir, "x", "y", "l2"))
			os.Symlink("d/l2", filepath.Join(dir, "l1"))
			return filepath.Join(dir, "l1")
		},
		write: writeString("hello"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			holds(t, filepath.Join(dir, "x", "new"), "hello")
			isLink(t, filepath.Join(dir, "l1"), "d/l2")
		},
	}, {
		name: "symlink loop fails",
		setup: func(t *testing.T, dir string) string {
			os.Symlink("b", filepath.Join(dir, "a"))
			os.Symlink("a", filepath.Join(dir, "b"))
			return filepath.Join(dir, "a")
		},
		write: writeString("hello"),
		check: func(t *testing.T, dir string, err error) {
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != filepath.Join(dir, "a") || pe.Op != "create" {
				t.Errorf("got %v", err)
			}
		},
	}, {
		name: "directory is refused at create",
		setup: func(t *testing.T, dir string) string {
			os.MkdirAll(filepath.Join(dir, "out", "x"), 0o755)
			return filepath.Join(dir, "out")
		},
		write: writeString("x"),
		check: func(t *testing.T, dir string, err error) {
			want := "create " + filepath.Join(dir, "out") + ": is a directory"
			if err == nil || err.Error() != want || !errors.Is(err, syscall.EISDIR) {
				t.Errorf("got %v, want %s", err, want)
			}
		},
	}, {
		name: "symlink to a directory is refused at create",
		setup: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "d"), 0o755)
			os.Symlink("d", filepath.Join(dir, "link"))
			return filepath.Join(dir, "link")
		},
		write: writeString("x"),
		check: func(t *testing.T, dir string, err error) {
			if !errors.Is(err, syscall.EISDIR) {
				t.Errorf("got %v", err)
			}
			isLink(t, filepath.Join(dir, "link"), "d")
		},
	}, {
		name:  "missing directory",
		setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "out") },
		write: writeString("x"),
		check: func(t *testing.T, dir string, err error) {
			want := "create " + filepath.Join(dir, "missing", "out") + ": no such file or directory"
			if err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
		},
	}, {
		name: "/dev/null is written, not replaced",
		setup: func(t *testing.T, dir string) string {
			// Make sure first that nothing would be renamed over the
			// device: run as root, a regression would replace the
			// machine's /dev/null with a regular file.
			f, err := Create(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			f.Abort()
			if f.target != "" {
				t.Fatalf("Create(%s) would rename onto %s", os.DevNull, f.target)
			}
			return os.DevNull
		},
		write: writeString("discarded"),
		check: func(t *testing.T, dir string, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
				t.Errorf("%s is now %v, %v", os.DevNull, st.Mode(), err)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			tt.check(t, dir, Write(path, tt.write))
			noTemp(t, dir)
		})
	}
}

// A FIFO is written in place, as `>` would: the reader gets the output and
// the FIFO stays a FIFO.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	os.Symlink("fifo", filepath.Join(dir, "link"))
	for _, path := range []string{fifo, filepath.Join(dir, "link")} {
		got := make(chan string)
		go func() {
			b, err := os.ReadFile(fifo)
			if err != nil {
				t.Error(err)
			}
			got <- string(b)
		}()
		if err := Write(path, writeString("through the pipe")); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through the pipe" {
			t.Errorf("%s: reader got %q", path, s)
		}
		if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
			t.Errorf("%s: fifo is now %v, %v", path, st.Mode(), err)
		}
	}
	noTemp(t, dir)
}

// /dev/fd/N, what a shell's `>(cmd)` passes, is a link the kernel resolves
// to a pipe that has no name; it must be written, not replaced or resolved.
func TestDevFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	path := "/dev/fd/" + strconv.Itoa(int(w.Fd()))
	if _, err := os.Stat(path); err != nil {
		t.Skip(err)
	}
	got := make(chan string)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	if err := Write(path, writeString("to the pipe")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if s := <-got; s != "to the pipe" {
		t.Errorf("reader got %q", s)
	}
}

// A failure at Commit names the path asked for, not the temporary file,
// and removes the temporary file.
func TestCommitFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	io.WriteString(f, "x")
	// A non-empty directory appears where the file was going: the rename
	// fails.
	os.MkdirAll(filepath.Join(path, "x"), 0o755)
	err = f.Commit()
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != path || pe.Op != "write" {
		t.Errorf("got %v", err)
	}
	noTemp(t, dir)
}

// Abort removes the temporary file and leaves the target as it was.
func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	os.WriteFile(path, []byte("old"), 0o644)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "new")
	f.Abort()
	f.Abort()
	holds(t, path, "old")
	noTemp(t, dir)
}

// holds checks that the file at path reads want.
func holds(t *testing.T, path, want string) {
	t.Helper()
	if got := readFile(t, path); got != want {
		t.Errorf("%s holds %q, want %q", path, got, want)
	}
}
