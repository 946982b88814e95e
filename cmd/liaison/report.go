package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"liaison/events"
	"liaison/report"
	"liaison/sim"
)

func init() {
	register(command{"report", "[flags] EVENTS.jsonl", "after-action report (HTML, Markdown or JSON) from an event log",
		(*Main).report})
	runExtensions = append(runExtensions, newReportExtension)
}

func (m *Main) report(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison report", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	format := fs.String("format", "", "output `FORMAT`: html, md or json (default: from -o's extension, else html)")
	out := fs.String("o", "", "write the report to `FILE` (default: stdout)")
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: liaison report [--format html|md|json] [-o FILE] EVENTS.jsonl")
		fs.PrintDefaults()
	}
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "liaison report: name exactly one event log (written by liaison run --events FILE)")
		return exitInvalid
	}
	if err := checkOutputs(fs, pos, "o"); err != nil {
		fmt.Fprintf(m.Stderr, "liaison report: %v\n", err)
		return exitInvalid
	}
	f := *format
	if f == "" {
		f = report.FormatOf(*out)
	}
	if f == "" {
		if *out != "" {
			fmt.Fprintf(m.Stderr, "liaison report: cannot tell the format from %q; give --format html, md or json\n", *out)
			return exitInvalid
		}
		f = "html"
	}
	if !validFormat(f) {
		fmt.Fprintf(m.Stderr, "liaison report: unknown format %q; expected html, md or json\n", f)
		return exitInvalid
	}
	var in io.Reader
	name := pos[0]
	if name == "-" {
		in, name = os.Stdin, "stdin"
	} else {
		file, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(m.Stderr, "liaison report: %v\n", err)
			return exitInvalid
		}
		defer file.Close()
		in = file
	}
	lg, err := report.Read(ctx, name, in)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison report: %v\n", err)
		if ctx.Err() != nil {
			return exitFailed // stopped by a signal, not a bad log
		}
		return exitInvalid
	}
	r, err := report.Build(lg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison report: %s: %v\n", name, err)
		return exitInvalid
	}
	if *out == "" {
		var b bytes.Buffer
		if err := r.Render(&b, f); err != nil {
			fmt.Fprintf(m.Stderr, "liaison report: %v\n", err)
			return exitFailed
		}
		m.Stdout.Write(b.Bytes())
		return exitOK
	}
	if err := r.WriteFile(*out, f); err != nil {
		fmt.Fprintf(m.Stderr, "liaison report: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func validFormat(f string) bool {
	for _, x := range report.Formats {
		if x == f {
			return true
		}
	}
	return false
}

// reportExtension is `liaison run --report FILE`: once the event log and
// the summary are written, it reads the log back (the one written with
// --events FILE, or a temporary copy beside the report) and renders the
// report from it, as `liaison report` would. A report that fails says why
// and fails the command; the log and the summary stay.
type reportExtension struct {
	fs      *flag.FlagSet
	path    *string
	logPath string   // the event log to read once the run is over
	tmp     *os.File // the copy of the log, when --events names no file
}

func newReportExtension(fs *flag.FlagSet) runExtension {
	return &reportExtension{fs: fs, path: fs.String("report", "",
		"write an after-action report to `FILE` when the run succeeds (.html, .md or .json)")}
}

func (x *reportExtension) Configure(cfg *sim.Config) error {
	if *x.path == "" {
		return nil
	}
	if report.FormatOf(*x.path) == "" {
		return fmt.Errorf("--report %s: the file name must end in .html, .md or .json", *x.path)
	}
	// Its directory was checked before the run (checkOutputs): a report
	// that cannot be written says so before an exercise, not after it.
	dir := filepath.Dir(*x.path)
	if ev := x.fs.Lookup("events").Value.String(); ev != "" && ev != "-" {
		x.logPath = ev
		return nil
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(*x.path)+".events-*.jsonl")
	if err != nil {
		return fmt.Errorf("--report %s: a copy of the event log cannot be kept in %s: %w", *x.path, dir, errors.Unwrap(err))
	}
	x.tmp, x.logPath = tmp, tmp.Name()
	if cfg.Events != nil {
		cfg.Events = io.MultiWriter(cfg.Events, tmp)
	} else {
		cfg.Events = tmp
	}
	return nil
}

func (x *reportExtension) What() string {
	if *x.path == "" {
		return ""
	}
	return "the report " + *x.path
}

func (x *reportExtension) Publish(ctx context.Context, _ *events.Summary) error {
	f, err := os.Open(x.logPath)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	name := x.logPath
	if x.tmp != nil {
		name = "event log"
	}
	lg, err := report.Read(ctx, name, f)
	if err != nil {
		return fmt.Errorf("report %s: %w", *x.path, err)
	}
	r, err := report.Build(lg)
	if err != nil {
		return fmt.Errorf("report %s: %w", *x.path, err)
	}
	if err := r.WriteFile(*x.path, report.FormatOf(*x.path)); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (x *reportExtension) Finish(context.Context, *events.Summary, error, io.Writer) error {
	return nil
}

// Close removes the copy of the log.
func (x *reportExtension) Close() error {
	if x.tmp == nil {
		return nil
	}
	x.tmp.Close()
	return os.Remove(x.tmp.Name())
}
