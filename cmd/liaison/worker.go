package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"

	"liaison/broker"
	"liaison/compare"
)

func init() {
	register(command{"worker", "--nats URL[,URL...]", "run replications for comparisons on other machines (liaison compare --nats)",
		(*Main).worker})
}

// worker serves comparisons until interrupted: `liaison compare --nats URL`
// hands its replications to every worker on the same NATS server or
// cluster.
func (m *Main) worker(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison worker", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	natsURL := fs.String("nats", "", "the NATS server(s) to connect to: `URL`[,URL...] (several for a cluster)")
	par := fs.Int("parallel", runtime.GOMAXPROCS(0), "run `P` replications at once")
	name := fs.String("name", "", "this worker's `NAME` in comparisons' messages (default: the host name and process id)")
	verbose := fs.Bool("verbose", false, "print a line for each replication started and finished")
	tls := addTLSFlags(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 || *natsURL == "" || *par < 1 {
		fmt.Fprintln(m.Stderr, "usage: liaison worker --nats URL[,URL...] [--parallel P] [--name NAME] [--verbose]")
		return exitInvalid
	}
	if *name == "" {
		*name = processName()
	}
	opts, err := tls.tls()
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison worker: %v\n", err)
		return exitInvalid
	}
	// A worker may start before its NATS server.
	conn, err := broker.ConnectWait(ctx, *natsURL, "liaison worker "+*name, 0, func() {
		fmt.Fprintf(m.Stderr, "liaison worker %s: waiting for a NATS server at %s\n", *name, *natsURL)
	}, opts...)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison worker: %v\n", err)
		return exitFailed
	}
	defer conn.Close()
	w := &compare.Worker{Conn: conn.Conn, Name: *name, Slots: *par}
	if *verbose {
		w.Log = func(s string) { fmt.Fprintf(m.Stderr, "liaison worker %s: %s\n", *name, s) }
	}
	fmt.Fprintf(m.Stderr, "liaison worker %s: %d slots on %s; interrupt to stop\n", *name, *par, conn.ConnectedUrlRedacted())
	if err := w.Serve(ctx); err != nil {
		fmt.Fprintf(m.Stderr, "liaison worker %s: %v\n", *name, err)
		return exitFailed
	}
	if n := conn.Errors.Total(); n > 0 {
		fmt.Fprintf(m.Stderr, "liaison worker %s: NATS reported %d asynchronous errors: %s\n", *name, n, conn.Errors.Last())
		return exitFailed
	}
	return exitOK
}
