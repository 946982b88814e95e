// Package atomicfile writes output files that appear under their names only
// once complete: a run, report or export that fails leaves no partial file
// behind, and one that succeeds replaces the old file in one step.
//
// The output goes to a temporary file in the same directory as the target,
// renamed over it on Commit; every failure path removes the temporary file.
//
// Where the name points decides what is written, as with a shell's `>`:
//
//   - A symbolic link is followed, through any chain of links, and the file
//     it points to is replaced; the link itself stays. A dangling link
//     creates the file it points to. Replacing the link instead would cut a
//     user's link and leave the file they meant untouched.
//   - An existing target that is neither a regular file nor a directory (a
//     FIFO, a character device such as /dev/null or /dev/stdout, a /dev/fd/N
//     pipe from a shell's `>(cmd)`) is opened and written directly, with no
//     temporary file and no rename: a stream cannot be replaced in one step,
//     and renaming over it would replace the FIFO or device node, or fail.
//     Opening a FIFO waits for a reader, as `>` does. Atomicity does not
//     apply here: what was written before a failure has been read already,
//     and Abort only closes the stream.
//   - A directory is refused at Create, saying so, rather than at Commit
//     with a confusing rename error.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Mode is the permission of the files written: readable by all, as files a
// user asked for on the command line usually are.
const Mode = 0o644

// maxLinks bounds the symbolic links followed through a dangling chain, so
// that a loop ends in an error instead of spinning; it matches Linux's
// MAXSYMLINKS order of magnitude.
const maxLinks = 255

// File is an output file being written: a temporary file beside its final
// name, or the target itself when that is a stream (see the package doc).
type File struct {
	f      *os.File
	path   string // the name the caller gave, for errors
	target string // where the temporary file is renamed to; "" when direct
	done   bool
}

// Create starts writing path. Errors name path, not the temporary file or
// the resolved target, since path is the name the user knows.
func Create(path string) (*File, error) {
	// Stat follows links in the kernel, which also understands the magic
	// links of /dev/fd/N and /proc/self/fd/N that EvalSymlinks cannot.
	st, err := os.Stat(path)
	var target string
	switch {
	case err == nil && st.IsDir():
		return nil, &fs.PathError{Op: "create", Path: path, Err: syscall.EISDIR}
	case err == nil && !st.Mode().IsRegular():
		// A stream: write it in place. No O_CREATE, so a node that vanished
		// since Stat is an error rather than a new regular file.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, pathError("create", path, err)
		}
		return &File{f: f, path: path}, nil
	case err == nil:
		target, err = filepath.EvalSymlinks(path)
	case errors.Is(err, fs.ErrNotExist):
		// A new file, or a dangling link to one.
		target, err = resolveMissing(path)
	}
	if err != nil {
		return nil, pathError("create", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return nil, pathError("create", path, err)
	}
	return &File{f: tmp, path: path, target: target}, nil
}

// resolveMissing returns where a write to path, which does not exist as far
// as Stat can tell, creates a file: path itself, or the end of the chain of
// dangling links that starts at path. EvalSymlinks cannot tell, as it fails
// on the missing end of the chain. Each hop's directory is resolved first,
// so that a relative link with ".." is read from the directory it is really
// in, not lexically from the name that led to it.
func resolveMissing(path string) (string, error) {
	p := path
	for range maxLinks {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return "", err
		}
		p = filepath.Join(dir, filepath.Base(p))
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			// It appeared since Create's Stat; replace it like any file.
			return p, nil
		}
		link, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(dir, link)
		}
		p = link
	}
	return "", syscall.ELOOP
}

// pathError says what went wrong with path, whatever file the error came
// from: a user knows the name they gave, not the temporary one.
func pathError(op, path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

// Write writes to the file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Commit closes the file and moves it into place. For a stream it only
// closes it.
func (f *File) Commit() error {
	f.done = true
	if f.target == "" {
		if err := f.f.Close(); err != nil {
			return pathError("write", f.path, err)
		}
		return nil
	}
	err := f.f.Chmod(Mode)
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.f.Name(), f.target)
	}
	if err != nil {
		os.Remove(f.f.Name())
		return pathError("write", f.path, err)
	}
	return nil
}

// Abort discards the file; a stream is only closed, as what was written to
// it cannot be taken back. It does nothing after Commit, so it can be
// deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	if f.target != "" {
		os.Remove(f.f.Name())
	}
}

// Write writes path with write, all or nothing (but see the package doc for
// streams).
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}
