package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"liaison"
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
		func(m *Main, _ context.Context, args []string) int {
			if !m.noArgs("list", args) {
				return exitInvalid
			}
			return m.list()
		}})
	register(command{"validate", "FILE|NAME...", "check scenarios; prints ok or every problem as file:line:column",
		func(m *Main, _ context.Context, args []string) int { return m.validate(args) }})
	register(command{"run", "[flags] FILE|NAME", "run a scenario on an embedded NATS server and print a summary",
		(*Main).run})
	register(command{"schema", "", "print the JSON Schema of scenario files",
		func(m *Main, _ context.Context, args []string) int {
			if !m.noArgs("schema", args) {
				return exitInvalid
			}
			m.Stdout.Write(scenarios.Schema())
			return exitOK
		}})
}

// noArgs reports whether a command that takes no arguments was given none,
// and says so when it was.
func (m *Main) noArgs(cmd string, args []string) bool {
	if len(args) == 0 {
		return true
	}
	fmt.Fprintf(m.Stderr, "liaison %s: takes no arguments; got %q\n", cmd, strings.Join(args, " "))
	return false
}

// subcommands lists the verbs of a command that has them (msel), for
// help; the command itself dispatches to them.
var subcommands = map[string][]command{}

func registerSub(parent string, c command) { subcommands[parent] = append(subcommands[parent], c) }

// flagless names the commands that take no flags: help must not run them
// to learn their flags. Every other command parses its flags first thing,
// so that running it with -h only prints them.
var flagless = map[string]bool{"list": true, "validate": true, "schema": true}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: liaison COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "'liaison help COMMAND' or 'liaison COMMAND -h' shows a command's arguments and flags;")
	fmt.Fprintln(w, "'liaison --version' shows the version.")
}

// Run executes one command line and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return exitInvalid
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if args[0] == "help" && len(args) > 1 {
			return m.help(ctx, args[1:])
		}
		m.usage(m.Stdout)
		return exitOK
	case "version", "-version", "--version":
		fmt.Fprintln(m.Stdout, version())
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			if words, ok := helpWanted(c, args[1:]); ok {
				return m.help(ctx, words)
			}
			return c.run(m, ctx, args[1:])
		}
	}
	fmt.Fprintf(m.Stderr, "liaison: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return exitInvalid
}

// helpWanted reports whether a command line asks for help (-h, -help or
// --help before any --), and for which command or subcommand.
func helpWanted(c command, args []string) ([]string, bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" {
			words := []string{c.name}
			if len(args) > 0 && findCommand(subcommands[c.name], args[0]) != nil {
				words = append(words, args[0])
			}
			return words, true
		}
	}
	return nil, false
}

func findCommand(list []command, name string) *command {
	for i := range list {
		if list[i].name == name {
			return &list[i]
		}
	}
	return nil
}

// help prints a command's (or subcommand's) usage on stdout: its
// arguments, what it does, and its flags, which it learns by running the
// command with -h and its output captured.
func (m *Main) help(ctx context.Context, words []string) int {
	c := findCommand(commands, words[0])
	if c == nil {
		fmt.Fprintf(m.Stderr, "liaison help: unknown command %q\n\n", words[0])
		m.usage(m.Stderr)
		return exitInvalid
	}
	name, args, what, run := c.name, c.args, c.help, c.run
	subs := subcommands[c.name]
	if len(words) > 1 {
		sub := findCommand(subs, words[1])
		if sub == nil {
			fmt.Fprintf(m.Stderr, "liaison help: %s has no subcommand %q\n", c.name, words[1])
			return exitInvalid
		}
		name, args, what = c.name+" "+sub.name, sub.args, sub.help
		parentRun := c.run
		run = func(m *Main, ctx context.Context, a []string) int {
			return parentRun(m, ctx, append([]string{sub.name}, a...))
		}
		subs = nil
	}
	fmt.Fprintf(m.Stdout, "usage: %s\n\n%s\n", strings.TrimSpace("liaison "+name+" "+args), capitalise(what))
	if len(subs) > 0 {
		fmt.Fprintln(m.Stdout, "\nsubcommands:")
		for _, s := range subs {
			fmt.Fprintf(m.Stdout, "  %-7s %-32s %s\n", s.name, s.args, s.help)
		}
		fmt.Fprintf(m.Stdout, "\n'liaison help %s SUBCOMMAND' shows a subcommand's flags.\n", c.name)
		return exitOK
	}
	if flagless[c.name] {
		return exitOK
	}
	var buf bytes.Buffer
	run(&Main{Stdout: io.Discard, Stderr: &buf}, ctx, []string{"-h"})
	if flags := flagLines(buf.String()); flags != "" {
		fmt.Fprintf(m.Stdout, "\nflags:\n%s", flags)
	}
	return exitOK
}

// flagLines keeps what flag.PrintDefaults wrote: from the first line that
// names a flag on.
func flagLines(out string) string {
	if i := strings.Index(out, "\n  -"); i >= 0 {
		return out[i+1:]
	}
	if strings.HasPrefix(out, "  -") {
		return out
	}
	return ""
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// version names this build: the module version and, for a build from a
// checkout, the commit, its time and whether the tree had changes, as the
// go command records them; then the Go version.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "liaison (version unknown: built without module information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "development build"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	out := "liaison " + v
	if rev != "" {
		out += ", commit " + rev[:min(12, len(rev))]
		if at != "" {
			out += " of " + at
		}
		if modified {
			out += " with local changes"
		}
	}
	return out + ", " + bi.GoVersion
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
		fmt.Fprintf(m.Stdout, "%s: ok (%s, %s, %s, %s)\n", a,
			liaison.Plural(len(sc.Agencies), "agency", "agencies"), liaison.Plural(len(sc.Channels), "channel", "channels"),
			liaison.Plural(len(sc.Injects), "inject", "injects"), liaison.Plural(len(sc.Variants), "variant", "variants"))
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
