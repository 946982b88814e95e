package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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

// reportExtension is `liaison run --report FILE`: it keeps a copy of the
// event log in memory and renders the report from it when the run is over.
type reportExtension struct {
	path *string
	buf  bytes.Buffer
}

func newReportExtension(fs *flag.FlagSet) runExtension {
	return &reportExtension{path: fs.String("report", "",
		"write an after-action report to `FILE` when the run succeeds (.html, .md or .json)")}
}

func (x *reportExtension) Configure(cfg *sim.Config) error {
	if *x.path == "" {
		return nil
	}
	if report.FormatOf(*x.path) == "" {
		return fmt.Errorf("--report %s: the file name must end in .html, .md or .json", *x.path)
	}
	if cfg.Events != nil {
		cfg.Events = io.MultiWriter(cfg.Events, &x.buf)
	} else {
		cfg.Events = &x.buf
	}
	return nil
}

func (x *reportExtension) Finish(_ context.Context, sum *events.Summary, runErr error, _ io.Writer) error {
	if *x.path == "" || runErr != nil || sum == nil {
		return nil
	}
	lg, err := report.Read(context.Background(), "event log", &x.buf)
	if err != nil {
		return fmt.Errorf("report: %v", err)
	}
	r, err := report.Build(lg)
	if err != nil {
		return fmt.Errorf("report: %v", err)
	}
	if err := r.WriteFile(*x.path, report.FormatOf(*x.path)); err != nil {
		return fmt.Errorf("report: %v", strings.TrimPrefix(err.Error(), "open "))
	}
	return nil
}
