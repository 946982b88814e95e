package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"liaison/atomicfile"
	"os"
	"strings"

	"golang.org/x/term"

	"liaison/compare"
	"liaison/scenarios"
)

func init() {
	register(command{"compare", "[flags] FILE|NAME", "replicate variants with common seeds and compare time to reach, with confidence intervals",
		(*Main).compare})
}

func (m *Main) compare(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison compare", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	variants := fs.String("variants", "", "comma-separated `LIST` of variants to compare, an empty entry for the base; the first is the reference (default: base and every variant)")
	runs := fs.Int("runs", 20, "replications per variant, `N`")
	par := fs.Int("parallel", 0, "`P` runs at once (default GOMAXPROCS)")
	seed := fs.Uint64("seed", 1, "first seed `S`; runs use S..S+N-1")
	csvPath := fs.String("csv", "", "write one row per run, variant and inject to `FILE`")
	htmlPath := fs.String("html", "", "write a page with the statistics and plots to `FILE`")
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: liaison compare FILE|NAME [--variants a,b,c] [--runs N] [--parallel P] [--seed S] [--csv FILE] [--html FILE]")
		fs.PrintDefaults()
	}
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "liaison compare: name exactly one scenario file or built-in name (see liaison list)")
		return exitInvalid
	}
	if *runs < 1 || *par < 0 {
		fmt.Fprintln(m.Stderr, "liaison compare: --runs must be at least 1 and --parallel not negative")
		return exitInvalid
	}
	sc, err := scenarios.Open(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	cfg := compare.Config{Scenario: sc, Runs: *runs, Parallel: *par, Seed: *seed}
	if fs.Lookup("variants").Value.String() != "" || flagGiven(fs, "variants") {
		for _, v := range strings.Split(*variants, ",") {
			v = strings.TrimSpace(v)
			if v == "base" {
				v = ""
			}
			cfg.Variants = append(cfg.Variants, v)
		}
	}
	for _, v := range cfg.Variants {
		if _, err := sc.Apply(v); err != nil {
			fmt.Fprintf(m.Stderr, "liaison compare: %v\n", err)
			return exitInvalid
		}
	}
	if f, ok := m.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = func(done, total int) {
			const width = 30
			n := width * done / total
			fmt.Fprintf(m.Stderr, "\r[%s%s] %d/%d runs", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
			if done == total {
				fmt.Fprintln(m.Stderr)
			}
		}
	}
	res, err := compare.Compare(ctx, cfg)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison compare: %v\n", err)
		return exitFailed
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*csvPath, res.WriteCSV}, {*htmlPath, res.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if err := atomicfile.Write(out.path, out.write); err != nil {
			fmt.Fprintf(m.Stderr, "liaison compare: %v\n", err)
			return exitFailed
		}
	}
	var b bytes.Buffer
	res.WriteTable(&b)
	m.Stdout.Write(b.Bytes())
	return exitOK
}
