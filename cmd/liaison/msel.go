package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"liaison/atomicfile"
	"os"

	"liaison/msel"
	"liaison/scenarios"
)

func init() {
	register(command{"msel", "export|import ...", "convert injects to and from an exercise planner's MSEL spreadsheet (CSV)",
		(*Main).msel})
	registerSub("msel", command{"export", "[-o FILE] FILE|NAME", "write the scenario's injects as an MSEL CSV", nil})
	registerSub("msel", command{"import", "--into FILE injects.csv", "replace the injects of a scenario file with the rows of an MSEL CSV (comma, semicolon or tab separated)", nil})
}

func (m *Main) msel(_ context.Context, args []string) int {
	usage := func() {
		fmt.Fprintln(m.Stderr, "usage: liaison msel export [-o FILE] FILE|NAME")
		fmt.Fprintln(m.Stderr, "       liaison msel import --into FILE injects.csv")
	}
	if len(args) == 0 {
		usage()
		return exitInvalid
	}
	switch args[0] {
	case "export":
		return m.mselExport(args[1:])
	case "import":
		return m.mselImport(args[1:])
	}
	fmt.Fprintf(m.Stderr, "liaison msel: unknown subcommand %q\n", args[0])
	usage()
	return exitInvalid
}

func (m *Main) mselExport(args []string) int {
	fs := flag.NewFlagSet("liaison msel export", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	out := fs.String("o", "", "write the CSV to `FILE` (default: stdout)")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "liaison msel export: name exactly one scenario file or built-in name")
		return exitInvalid
	}
	if err := checkOutputs(fs, pos, "o"); err != nil {
		fmt.Fprintf(m.Stderr, "liaison msel export: %v\n", err)
		return exitInvalid
	}
	sc, err := scenarios.Open(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	if *out == "" {
		var b bytes.Buffer
		if err := msel.Export(sc, &b); err != nil {
			fmt.Fprintf(m.Stderr, "liaison msel export: %v\n", err)
			return exitFailed
		}
		m.Stdout.Write(b.Bytes())
		return exitOK
	}
	if err := atomicfile.Write(*out, func(w io.Writer) error { return msel.Export(sc, w) }); err != nil {
		fmt.Fprintf(m.Stderr, "liaison msel export: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func (m *Main) mselImport(args []string) int {
	fs := flag.NewFlagSet("liaison msel import", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	into := fs.String("into", "", "the scenario `FILE` whose injects the CSV replaces")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || *into == "" {
		fmt.Fprintln(m.Stderr, "usage: liaison msel import --into FILE injects.csv")
		return exitInvalid
	}
	if err := checkOutputs(fs, pos, "into"); err != nil {
		fmt.Fprintf(m.Stderr, "liaison msel import: %v\n", err)
		return exitInvalid
	}
	csvFile, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison msel import: %v\n", err)
		return exitInvalid
	}
	defer csvFile.Close()
	yamlData, err := os.ReadFile(*into)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison msel import: %v (--into takes a scenario file; for a built-in, save it first with liaison msel export and copy scenarios/NAME.yaml)\n", err)
		return exitInvalid
	}
	fi, _ := os.Stat(*into)
	// The new file is written beside the old one and moved into place only
	// when every row has passed: a bad row leaves the file as it was.
	var invalid bool
	err = atomicfile.Write(*into, func(w io.Writer) error {
		err := msel.Import(pos[0], csvFile, *into, yamlData, w)
		invalid = err != nil
		return err
	})
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		fmt.Fprintf(m.Stderr, "liaison msel import: %s left unchanged\n", *into)
		if invalid {
			return exitInvalid
		}
		return exitFailed
	}
	if fi != nil {
		os.Chmod(*into, fi.Mode().Perm())
	}
	fmt.Fprintf(m.Stderr, "%s: injects replaced from %s\n", *into, pos[0])
	return exitOK
}
