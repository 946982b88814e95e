// Package atomicfile writes output files that appear under their names only
// once complete: a run, report or export that fails leaves no partial file
// behind, and one that succeeds replaces the old file in one step.
package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Mode is the permission of the files written: readable by all, as files a
// user asked for on the command line usually are.
const Mode = 0o644

// File is an output file being written beside its final name.
type File struct {
	tmp  *os.File
	path string
	done bool
}

// Create starts writing path. Errors name path, not the temporary file.
func Create(path string) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, pathError("create", path, err)
	}
	return &File{tmp: tmp, path: path}, nil
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
func (f *File) Write(p []byte) (int, error) { return f.tmp.Write(p) }

// Commit closes the file and moves it into place.
func (f *File) Commit() error {
	f.done = true
	err := f.tmp.Chmod(Mode)
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.tmp.Name())
		return pathError("write", f.path, err)
	}
	return nil
}

// Abort discards the file. It does nothing after Commit, so it can be
// deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// Write writes path with write, all or nothing.
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
