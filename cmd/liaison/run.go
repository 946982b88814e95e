package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"liaison/atomicfile"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

// parseFlags parses a command's flags (see parseInterleaved) and returns
// its positional arguments; when it returns !ok the command ends with code:
// 0 after -h, 2 after bad flags (the flag package has said what is wrong).
//
// A bad flag gets one line that says what is wrong and what the flag
// takes, not the whole usage, which -h prints.
func parseFlags(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	pos, err := parseInterleaved(fs, args)
	fs.Usage = usage
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		if usage != nil {
			usage()
		} else {
			fs.PrintDefaults()
		}
		return nil, exitOK, false
	case err != nil:
		what := fs.Name() + " -h lists the flags"
		if m := badFlag.FindStringSubmatch(err.Error()); m != nil {
			if f := fs.Lookup(m[1]); f != nil {
				name, use := flag.UnquoteUsage(f)
				what = fmt.Sprintf("--%s expects %s: %s", f.Name, name, use)
			}
		}
		fmt.Fprintf(out, "%s: %v; %s\n", fs.Name(), err, what)
		return nil, exitInvalid, false
	}
	return pos, exitOK, true
}

// badFlag finds the flag in the flag package's errors: `invalid value "x"
// for flag -seed: ...` and `flag needs an argument: -seed`.
var badFlag = regexp.MustCompile(`(?:for flag|needs an argument:) -+([\w.-]+)`)

// parseInterleaved parses flags wherever they stand among the positional
// arguments, so `liaison run NAME --seed 3` works like `run --seed 3 NAME`.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (m *Main) run(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison run", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	seed := fs.Uint64("seed", 0, "random seed (default: the scenario's seed)")
	variant := fs.String("variant", "", "variant to run (default: the base scenario)")
	eventsPath := fs.String("events", "", "write the event log as JSON Lines to `FILE` (- for stdout)")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout instead of a table")
	natsURL := fs.String("nats", "", "use the NATS server at `URL` instead of an embedded one")
	quiet := fs.Bool("quiet", false, "print nothing but errors (and what --json or --events - ask for)")
	split := fs.Int("split", 1, "split the agencies over `N` nodes in this process, each with its own NATS connection")
	nodes := fs.Int("nodes", 0, "host no agencies here: wait for `N` liaison node processes to join and host them all")
	runID := fs.String("run", "", "the run's `ID` in NATS subjects (default: the scenario's name with --nodes, else unique)")
	joinTimeout := fs.Duration("join-timeout", 30*time.Second, "with --nodes, how long to wait for the nodes to join")
	resume := fs.Bool("resume", false, "with --nodes, wait for a replacement of a node that fails (liaison node --resume for the same agencies) instead of ending the run")
	var exts []runExtension
	for _, mk := range runExtensions {
		e := mk(fs)
		if b, ok := e.(interface{ bind(*Main) }); ok {
			b.bind(m)
		}
		exts = append(exts, e)
	}
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: liaison run [flags] FILE|NAME")
		fs.PrintDefaults()
	}
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "liaison run: name exactly one scenario file or built-in name (see liaison list)")
		return exitInvalid
	}
	if err := checkOutputs(fs, []string{pos[0], flagValue(fs, "replay")}, "events", "report", "openmetrics"); err != nil {
		fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
		return exitInvalid
	}
	if *asJSON && *eventsPath == "-" {
		fmt.Fprintln(m.Stderr, "liaison run: --json and --events - would both write to stdout; give --events a file")
		return exitInvalid
	}
	if *split < 1 || *nodes < 0 {
		fmt.Fprintln(m.Stderr, "liaison run: --split must be at least 1 and --nodes at least 0")
		return exitInvalid
	}
	switch {
	case *nodes > 0 && flagGiven(fs, "split"):
		fmt.Fprintln(m.Stderr, "liaison run: --split splits the agencies in this process, --nodes hands them all to node processes; expected one of them")
		return exitInvalid
	case *nodes == 0 && (*resume || flagGiven(fs, "join-timeout")):
		fmt.Fprintln(m.Stderr, "liaison run: --resume and --join-timeout go with --nodes N")
		return exitInvalid
	case *joinTimeout <= 0:
		fmt.Fprintf(m.Stderr, "liaison run: --join-timeout %v: expected a positive duration, such as 30s\n", *joinTimeout)
		return exitInvalid
	}
	sc, err := scenarios.Open(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	if _, err := sc.Apply(*variant); err != nil {
		fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
		return exitInvalid
	}
	if n := len(sc.Agencies); *nodes > n {
		fmt.Fprintf(m.Stderr, "liaison run: --nodes %d: %s has %d agencies; expected at most one node per agency\n", *nodes, sc.Name, n)
		return exitInvalid
	}
	s := seedOf(fs, *seed, sc)

	cfg := sim.Config{Scenario: sc, Variant: *variant, Seed: s, NATSURL: *natsURL, Nodes: *split,
		ExternalNodes: *nodes, RunID: *runID, JoinTimeout: *joinTimeout, Resume: *resume,
		Notify: func(msg string) { fmt.Fprintln(m.Stderr, "liaison run:", msg) }}
	if *nodes > 0 && cfg.RunID == "" {
		cfg.RunID = sc.Name
	}
	// The event log goes to a temporary file renamed into place only when
	// the run succeeds: a failed or stopped run leaves no partial log.
	var logFile *atomicfile.File
	switch *eventsPath {
	case "":
	case "-":
		cfg.Events = m.Stdout
	default:
		logFile, err = atomicfile.Create(*eventsPath)
		if err != nil {
			fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
			return exitFailed
		}
		defer logFile.Abort()
		cfg.Events = logFile
	}
	defer func() {
		for _, e := range exts {
			if c, ok := e.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	for _, e := range exts {
		if err := e.Configure(&cfg); err != nil {
			fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
			return exitInvalid
		}
	}
	sum, err := sim.Run(ctx, cfg)
	for _, e := range exts {
		if s, ok := e.(runStopper); ok {
			s.Stop(err)
		}
	}
	// The run's record first, the event log and the summary: nothing that
	// comes after (a report, metrics) can cost them.
	if logFile != nil && err == nil {
		err = logFile.Commit()
	}
	if err != nil {
		for _, e := range exts {
			e.Finish(ctx, nil, err, m.Stderr)
		}
		if ctx.Err() != nil {
			fmt.Fprintf(m.Stderr, "liaison run: %s: stopped (%v); no event log, summary or report was written\n",
				sc.Name, context.Cause(ctx))
		} else {
			fmt.Fprintf(m.Stderr, "liaison run: %s: %v\n", sc.Name, err)
		}
		return exitFailed
	}
	switch {
	case *asJSON:
		b, _ := json.MarshalIndent(sum, "", "  ")
		m.Stdout.Write(append(b, '\n'))
	case *quiet:
	case *eventsPath == "-":
		sum.WriteTable(m.Stderr)
	default:
		sum.WriteTable(m.Stdout)
	}
	code = exitOK
	for _, e := range exts {
		p, ok := e.(runPublisher)
		if !ok || p.What() == "" {
			continue
		}
		err := ctx.Err()
		if err == nil {
			err = p.Publish(ctx, sum)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			fmt.Fprintf(m.Stderr, "liaison run: stopped (%v) before %s was written; the event log and the summary are complete\n",
				context.Cause(ctx), p.What())
			code = exitFailed
		default:
			fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
			code = exitFailed
		}
	}
	for _, e := range exts {
		if err := e.Finish(ctx, sum, nil, m.Stderr); err != nil {
			fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
			code = exitFailed
		}
	}
	return code
}

// runExtension adds a feature to `liaison run` from its own file: it
// registers its flags, adjusts the run's configuration, and acts when the
// run is over (serve metrics until interrupted, write a report, …).
type runExtension interface {
	// Configure is called after the flags are parsed, before the run; an
	// error is a usage error.
	Configure(cfg *sim.Config) error
	// Finish is called after the run with its summary (nil when it
	// failed) and error, once the run's record is written; an error fails
	// the command.
	Finish(ctx context.Context, sum *events.Summary, runErr error, stderr io.Writer) error
}

// runStopper is an extension with something to stop as soon as the run is
// over, before anything else is printed (a progress line); runErr is the
// run's error.
type runStopper interface {
	Stop(runErr error)
}

// runPublisher is an extension that makes something from the run's record
// (a report): Publish is called once the event log and the summary are
// written, so that its failure never costs them; it fails the command
// (exit 1) but leaves them in place. What names the output for messages,
// "" when the command line asked for none.
type runPublisher interface {
	Publish(ctx context.Context, sum *events.Summary) error
	What() string
}

// runExtensions make the extensions of one `liaison run`; files register
// theirs in init.
var runExtensions []func(fs *flag.FlagSet) runExtension
