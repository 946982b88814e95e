package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkOutputs checks, before a command does any work, the files that the
// flags outFlags of fs name for writing: each must be a file in an
// existing directory, not an input of the command (a run that wrote its
// event log over its own scenario would destroy it), and not another
// output (one would be lost to the other). A value that begins with "-"
// (other than "-" itself, stdout) is a flag that took the place of a
// missing file name. Inputs that are not files (built-in names, "-") are
// ignored. The error names the flags and says what was expected.
func checkOutputs(fs *flag.FlagSet, inputs []string, outFlags ...string) error {
	type named struct{ what, path string }
	var ins, outs []named
	for _, in := range inputs {
		if in != "" && in != "-" {
			ins = append(ins, named{in, in})
		}
	}
	for _, name := range outFlags {
		p := flagValue(fs, name)
		if p == "" || p == "-" {
			continue
		}
		what := "-" + name
		if len(name) > 1 {
			what = "--" + name
		}
		if strings.HasPrefix(p, "-") {
			return fmt.Errorf("%s %s: that is a flag, not a file name; expected a file after %s (write ./%s for a file of that name)", what, p, what, p)
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return fmt.Errorf("%s %s: is a directory; expected a file name", what, p)
		}
		dir := filepath.Dir(p)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("%s %s: no directory %s to write it in", what, p, dir)
		}
		cur := named{what, p}
		for _, in := range ins {
			if samePath(p, in.path) {
				return fmt.Errorf("%s %s: is the input %s; expected another file, or the command would overwrite what it reads", what, p, in.what)
			}
		}
		for _, o := range outs {
			if samePath(p, o.path) {
				return fmt.Errorf("%s %s: %s writes that file too; expected a file for each", what, p, o.what)
			}
		}
		outs = append(outs, cur)
	}
	return nil
}

// samePath reports whether two paths name one file: the same existing file
// (through links too), or the same place for a file not yet there.
func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	if errA == nil || errB == nil {
		return false
	}
	return place(a) == place(b)
}

// place is where a file that does not exist yet would be: its directory
// with links resolved, and its name.
func place(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	dir, name := filepath.Split(abs)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Join(dir, name)
}

// flagValue is the value of fs's flag name, or "" when it has none.
func flagValue(fs *flag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}
