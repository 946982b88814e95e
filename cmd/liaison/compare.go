package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"liaison/atomicfile"
	"liaison/broker"
	"liaison/compare"
	"liaison/events"
	"liaison/scenarios"
)

func init() {
	register(command{"compare", "[flags] FILE|NAME", "replicate variants and parameter sweeps with common seeds, compare them and say who wins",
		(*Main).compare})
}

func (m *Main) compare(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison compare", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	variants := fs.String("variants", "", "comma-separated `LIST` of variants to compare, an empty entry for the base; the first is the reference (default: base and every variant)")
	var sweeps []compare.Sweep
	fs.Func("set", "sweep a value: `PATH=V1,V2,...`, the path as validation messages write it (agencies[dk.pet].staff=1,2,4); repeat for a full factorial; commas inside (), [] or {} belong to a value", func(s string) error {
		sw, err := compare.ParseSweep(s)
		if err == nil {
			sweeps = append(sweeps, sw)
		}
		return err
	})
	runs := fs.Int("runs", 20, "replications per row, `N`")
	par := fs.Int("parallel", 0, "`P` runs at once in this process (default GOMAXPROCS)")
	seed := fs.Uint64("seed", 1, "first seed `S`; runs use S..S+N-1")
	level := fs.Float64("level", compare.DefaultLevel, "confidence `LEVEL` of intervals and tests")
	csvPath := fs.String("csv", "", "write one row per run, row and inject to `FILE`")
	winnersPath := fs.String("winners-csv", "", "write who wins, per item and metric, to `FILE` (CSV)")
	htmlPath := fs.String("html", "", "write a page with the statistics and plots to `FILE`")
	natsURL := fs.String("nats", "", "hand the replications to liaison worker processes through the NATS server(s) at `URL`[,URL...]")
	workers := fs.Int("workers", 1, "with --nats, wait for `N` workers before starting")
	joinTimeout := fs.Duration("join-timeout", 30*time.Second, "with --nats, how long to wait for the workers (and to go on without any)")
	workerTimeout := fs.Duration("worker-timeout", 10*time.Second, "with --nats, send a replication again when its worker is silent this `LONG`")
	tls := addTLSFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(m.Stderr, "usage: liaison compare FILE|NAME [--variants a,b,c] [--set PATH=V1,V2...]... [--runs N] [--parallel P] [--seed S] [--level L] [--csv FILE] [--winners-csv FILE] [--html FILE] [--nats URL --workers N]")
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
	if *par < 0 || *workers < 1 || *natsURL == "" && (flagGiven(fs, "workers") || flagGiven(fs, "worker-timeout")) ||
		*natsURL != "" && flagGiven(fs, "parallel") {
		fmt.Fprintln(m.Stderr, "liaison compare: --parallel (not negative) is for runs in this process, each worker takes its own; --workers (at least 1) and --worker-timeout go with --nats")
		return exitInvalid
	}
	if flagGiven(fs, "level") && !(*level > 0 && *level < 1) {
		fmt.Fprintf(m.Stderr, "liaison compare: --level %v: the confidence level; expected a number between 0 and 1, such as 0.95\n", *level)
		return exitInvalid
	}
	if err := checkOutputs(fs, pos, "csv", "winners-csv", "html"); err != nil {
		fmt.Fprintf(m.Stderr, "liaison compare: %v\n", err)
		return exitInvalid
	}
	file, data, err := scenarios.ReadSource(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	sc, err := scenarios.Parse(file, data)
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	cfg := compare.Config{Scenario: sc, Sweeps: sweeps, Runs: *runs, Parallel: *par, Seed: *seed, Level: *level}
	if flagGiven(fs, "variants") {
		for _, v := range strings.Split(*variants, ",") {
			v = strings.TrimSpace(v)
			if v == "base" {
				v = ""
			}
			cfg.Variants = append(cfg.Variants, v)
		}
	}
	if err := cfg.Check(); err != nil {
		fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
		return exitInvalid
	}
	progress := m.progress()
	if progress != nil {
		cfg.Progress = progress.update
	}
	if *natsURL != "" {
		opts, err := tls.tls()
		if err != nil {
			fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
			return exitInvalid
		}
		conn, err := broker.Connect(*natsURL, nil, "liaison compare "+processName(), opts...)
		if err != nil {
			fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
			return exitFailed
		}
		defer conn.Close()
		cfg.Workers = &compare.Workers{Conn: conn.Conn, File: file, Data: data, Wait: *workers,
			WaitTimeout: *joinTimeout, Timeout: *workerTimeout,
			Notify: func(s string) { progress.println(m.Stderr, "liaison compare: "+s) }}
	}
	res, err := compare.Compare(ctx, cfg)
	if err != nil {
		progress.println(m.Stderr, "")
		fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
		return exitFailed
	}
	if cfg.Workers != nil {
		fmt.Fprintf(m.Stderr, "liaison compare: %d replications on workers; %d sent again after their worker fell silent or stopped",
			len(res.All), res.Retried)
		if res.Rejected > 0 {
			fmt.Fprintf(m.Stderr, "; %d malformed replies ignored", res.Rejected)
		}
		fmt.Fprintln(m.Stderr)
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*csvPath, res.WriteCSV}, {*winnersPath, res.WriteWinnersCSV}, {*htmlPath, res.WriteHTML}} {
		if out.path == "" {
			continue
		}
		if err := atomicfile.Write(out.path, out.write); err != nil {
			fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
			return exitFailed
		}
	}
	var b bytes.Buffer
	if err := res.WriteTable(&b); err != nil {
		fmt.Fprintln(m.Stderr, "liaison compare: "+strings.TrimPrefix(err.Error(), "compare: "))
		return exitFailed
	}
	m.Stdout.Write(b.Bytes())
	return exitOK
}

// progressLine shows a comparison's progress on one line of a terminal:
// runs done of the total and the time left at the pace so far.
type progressLine struct {
	w     io.Writer
	start time.Time
	shown bool
}

// progress returns a progress line when stderr is a terminal, else nil
// (whose methods do nothing but print messages).
func (m *Main) progress() *progressLine {
	if isTerminal(m.Stderr) {
		return &progressLine{w: m.Stderr, start: time.Now()}
	}
	return nil
}

func (p *progressLine) update(done, total int) {
	const width = 30
	n := width * done / total
	left := ""
	if done < total {
		rest := time.Duration(float64(time.Since(p.start)) / float64(done) * float64(total-done))
		left = ", about " + events.Human(rest.Round(time.Second).Seconds()) + " left"
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d runs%s", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, left)
	p.shown = done < total
	if done == total {
		fmt.Fprintln(p.w)
	}
}

// println prints a message on its own line, clearing the progress line
// first; on a nil progress line it just prints.
func (p *progressLine) println(w io.Writer, s string) {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	if s != "" {
		fmt.Fprintln(w, s)
	}
}
