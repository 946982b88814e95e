package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"liaison/scenarios"
	"liaison/sim"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitInvalid = 2
)

// Main is the program with its standard streams, so that tests drive the
// real CLI in process. Only main calls os.Exit.
type Main struct {
	Stdout, Stderr io.Writer
}

const usage = `usage: liaison COMMAND [flags] [args]

commands:
  list                      list the built-in scenarios
  validate FILE|NAME...     check scenarios; prints ok or every problem as file:line:column
  run [flags] FILE|NAME     run a scenario on an embedded NATS server and print a summary
  schema                    print the JSON Schema of scenario files

run 'liaison run -h' for the run flags.
`

// Run executes one command line and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitInvalid
	}
	switch args[0] {
	case "list":
		return m.list()
	case "validate":
		return m.validate(args[1:])
	case "run":
		return m.run(ctx, args[1:])
	case "schema":
		m.Stdout.Write(scenarios.Schema())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	}
	fmt.Fprintf(m.Stderr, "liaison: unknown command %q\n\n%s", args[0], usage)
	return exitInvalid
}

func (m *Main) list() int {
	for _, s := range scenarios.List() {
		fmt.Fprintf(m.Stdout, "%-24s %s\n", s.Name, s.Title)
	}
	return exitOK
}

func (m *Main) validate(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, "liaison validate: name at least one scenario file or built-in name")
		return exitInvalid
	}
	code := exitOK
	for _, a := range args {
		sc, err := scenarios.Open(a)
		if err != nil {
			fmt.Fprintln(m.Stderr, err)
			code = exitInvalid
			continue
		}
		fmt.Fprintf(m.Stdout, "%s: ok (%d agencies, %d channels, %d injects, %d variants)\n",
			a, len(sc.Agencies), len(sc.Channels), len(sc.Injects), len(sc.Variants))
	}
	return code
}

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
	nodes := fs.Int("nodes", 1, "split the agencies over `N` nodes in this process, each with its own NATS connection")
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: liaison run [flags] FILE|NAME")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalid
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "liaison run: name exactly one scenario file or built-in name (see liaison list)")
		return exitInvalid
	}
	if *asJSON && *eventsPath == "-" {
		fmt.Fprintln(m.Stderr, "liaison run: --json and --events - would both write to stdout; give --events a file")
		return exitInvalid
	}
	if *nodes < 1 {
		fmt.Fprintln(m.Stderr, "liaison run: --nodes must be at least 1")
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
	s := sc.Seed
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if seedSet {
		s = *seed
	}

	cfg := sim.Config{Scenario: sc, Variant: *variant, Seed: s, NATSURL: *natsURL, Nodes: *nodes}
	// The event log goes to a temporary file renamed into place only when
	// the run succeeds: a failed run leaves no partial log behind.
	var tmp *os.File
	switch *eventsPath {
	case "":
	case "-":
		cfg.Events = m.Stdout
	default:
		tmp, err = os.CreateTemp(filepath.Dir(*eventsPath), "."+filepath.Base(*eventsPath)+".*")
		if err != nil {
			fmt.Fprintf(m.Stderr, "liaison run: %v\n", err)
			return exitFailed
		}
		defer os.Remove(tmp.Name())
		cfg.Events = tmp
	}
	sum, err := sim.Run(ctx, cfg)
	if tmp != nil {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), *eventsPath)
		}
	}
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison run: %s: %v\n", sc.Name, err)
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
	return exitOK
}
