package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"liaison/scenarios"
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

// command is one verb of the CLI. Each lives in its own file and registers
// itself in init, so that the verbs stay independent of one another.
type command struct {
	name, args, help string
	run              func(m *Main, ctx context.Context, args []string) int
}

var commands []command

func register(c command) { commands = append(commands, c) }

func init() {
	register(command{"list", "", "list the built-in scenarios",
		func(m *Main, _ context.Context, _ []string) int { return m.list() }})
	register(command{"validate", "FILE|NAME...", "check scenarios; prints ok or every problem as file:line:column",
		func(m *Main, _ context.Context, args []string) int { return m.validate(args) }})
	register(command{"run", "[flags] FILE|NAME", "run a scenario on an embedded NATS server and print a summary",
		(*Main).run})
	register(command{"schema", "", "print the JSON Schema of scenario files",
		func(m *Main, _ context.Context, _ []string) int { m.Stdout.Write(scenarios.Schema()); return exitOK }})
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: liaison COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %-20s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run 'liaison COMMAND -h' for a command's flags.")
}

// Run executes one command line and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return exitInvalid
	}
	switch args[0] {
	case "help", "-h", "--help":
		m.usage(m.Stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(m, ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "liaison: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
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
		for _, w := range sc.Warnings {
			fmt.Fprintln(m.Stderr, w)
		}
	}
	return code
}

// flagGiven reports whether the command line set the flag (rather than it
// keeping its default).
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// flagBool reads a boolean flag of the same command line, for extensions
// that need another feature's flag (such as --quiet).
func flagBool(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Value.String() == "true"
}

// seedOf is the run's seed: --seed when given, else the scenario's.
func seedOf(fs *flag.FlagSet, seed uint64, sc *scenarios.Scenario) uint64 {
	if flagGiven(fs, "seed") {
		return seed
	}
	return sc.Seed
}
