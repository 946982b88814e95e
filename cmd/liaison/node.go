package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"liaison/agents"
	"liaison/auth"
	"liaison/broker"
	"liaison/scenarios"
)

// Scaling out: `liaison node` hosts some of a run's agencies in this process;
// `liaison broker` starts one NATS server, alone or as part of a cluster.

func init() {
	register(command{"node", "--nats URL [--agencies PATTERN,...] FILE|NAME", "host some agencies of a run whose time service is elsewhere",
		(*Main).node})
	register(command{"broker", "[--listen ADDR] [--cluster-listen ADDR] [--routes URL,...]", "run one NATS server node, alone or clustered",
		(*Main).broker})
}

func (m *Main) node(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison node", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	natsURL := fs.String("nats", "", "the NATS server(s) to connect to: `URL`[,URL...] (several for a cluster)")
	run := fs.String("run", "", "the run's `ID` (default: the scenario's name, as liaison run --nodes uses)")
	patterns := fs.String("agencies", "*", "host the agencies whose ids match these glob `PATTERNS`, comma-separated (e.g. dk.*,se.sapo)")
	variant := fs.String("variant", "", "the variant the run uses")
	seed := fs.Uint64("seed", 0, "the seed the run uses (default: the scenario's)")
	name := fs.String("name", "", "this node's `NAME` in the run (default: the host name and process id)")
	client := addClientFlags(fs)
	joinTimeout := fs.Duration("join-timeout", 0, "give up, exit 1, when no NATS server has answered, or then no time service has admitted this node, within `D` (default: wait for them)")
	resume := fs.Bool("resume", false, "keep what this node sends, so that a failed node of the run can be replaced (liaison run --resume); start a replacement with the same --agencies")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || *natsURL == "" {
		fmt.Fprintln(m.Stderr, "usage: liaison node --nats URL [--run ID] [--agencies PATTERN,...] [--variant V] [--seed N] FILE|NAME")
		return exitInvalid
	}
	sc, err := scenarios.Open(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	applied, err := sc.Apply(*variant)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison node: %v\n", err)
		return exitInvalid
	}
	s := seedOf(fs, *seed, sc)
	var hosted []int32
	var ids []string
	for i, a := range applied.Agencies {
		for _, p := range strings.Split(*patterns, ",") {
			ok, err := path.Match(strings.TrimSpace(p), string(a.ID))
			if err != nil {
				fmt.Fprintf(m.Stderr, "liaison node: bad pattern %q: %v\n", p, err)
				return exitInvalid
			}
			if ok {
				hosted = append(hosted, int32(i))
				ids = append(ids, string(a.ID))
				break
			}
		}
	}
	if len(hosted) == 0 {
		fmt.Fprintf(m.Stderr, "liaison node: no agency of %s matches %q\n", sc.Name, *patterns)
		return exitInvalid
	}
	runID := *run
	if runID == "" {
		runID = sc.Name
	}
	if *name == "" {
		*name = processName()
	}
	subj := broker.NewSubjects(broker.RunToken(runID))
	model, err := agents.Compile(applied, s, subj)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison node: %v\n", err)
		return exitInvalid
	}
	if *client.creds != "" && !flagGiven(fs, "name") {
		fmt.Fprintf(m.Stderr, "liaison node: with --creds, --name NAME says which node user to connect as (%s, which liaison auth --node-names NAME writes)\n",
			auth.SeedFile(*client.creds, auth.NodeUser("NAME")))
		return exitInvalid
	}
	if seed := auth.SeedFile(*client.creds, auth.NodeUser(*name)); *client.creds != "" {
		if _, err := os.Stat(seed); err != nil {
			fmt.Fprintf(m.Stderr, "liaison node: no user for node %s in %s (%s): liaison auth --node-names %s writes it\n",
				*name, *client.creds, filepath.Base(seed), *name)
			return exitInvalid
		}
	}
	nodeOpts, err := client.as(auth.NodeUser(*name))
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison node: %v\n", err)
		return exitInvalid
	}
	// A node may start before its NATS server as before its time service.
	conn, err := broker.ConnectWait(ctx, *natsURL, "liaison node "+*name, *joinTimeout, func() {
		fmt.Fprintf(m.Stderr, "liaison node %s: waiting for a NATS server at %s\n", *name, *natsURL)
	}, nodeOpts...)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison node: %v\n", err)
		return exitFailed
	}
	defer conn.Close()
	// With --creds every agency connects as its own user: the servers
	// enforce what each may hear and say.
	agencyConns := map[int32]*broker.Conn{}
	if *client.creds != "" {
		for _, ix := range hosted {
			id := string(applied.Agencies[ix].ID)
			opts, err := client.as(id)
			if err != nil {
				fmt.Fprintf(m.Stderr, "liaison node: %v\n", err)
				return exitInvalid
			}
			c, err := broker.Connect(*natsURL, nil, "liaison agency "+id, opts...)
			if err != nil {
				fmt.Fprintf(m.Stderr, "liaison node: %s: %v\n", id, err)
				return exitFailed
			}
			defer c.Close()
			agencyConns[ix] = c
		}
	}
	fmt.Fprintf(m.Stderr, "liaison node %s: hosting %s for run %s\n", *name, strings.Join(ids, ", "), runID)
	n := agents.NewNode(model, conn, subj, *name, hosted)
	n.Resilient()
	n.JoinTimeout = *joinTimeout
	if *resume {
		n.KeepSent()
	}
	if len(agencyConns) > 0 {
		n.UseAgencyConns(agencyConns)
	}
	if err := n.Run(ctx); err != nil {
		fmt.Fprintf(m.Stderr, "liaison node %s: %v\n", *name, err)
		return exitFailed
	}
	if n := conn.Errors.Total(); n > 0 {
		fmt.Fprintf(m.Stderr, "liaison node %s: NATS reported %d asynchronous errors: %s\n", *name, n, conn.Errors.Last())
		return exitFailed
	}
	return exitOK
}

func (m *Main) broker(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison broker", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	listen := fs.String("listen", "127.0.0.1:4222", "client `ADDR`ess (host:port)")
	cluster := fs.String("cluster-listen", "", "route `ADDR`ess for other servers of a cluster (host:port)")
	routes := fs.String("routes", "", "the other servers' route `URLS`, comma-separated (nats-route://host:port)")
	name := fs.String("name", "", "server `NAME` (default: generated)")
	tlsCert := fs.String("tls-cert", "", "serve clients and routes over TLS with this certificate (PEM `FILE`)")
	tlsKey := fs.String("tls-key", "", "the TLS certificate's private key (PEM `FILE`)")
	tlsCA := fs.String("tls-ca", "", "verify client certificates and other servers' routes against this CA (PEM `FILE`)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return exitInvalid
	}
	o := broker.ServerOptions{Listen: *listen, ClusterListen: *cluster, Name: *name}
	o.TLSCert, o.TLSKey, o.TLSCA = *tlsCert, *tlsKey, *tlsCA
	if *routes != "" {
		o.Routes = strings.Split(*routes, ",")
	}
	srv, err := broker.StartServer(o)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison broker: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(m.Stderr, "liaison broker: NATS server %s listening on %s", srv.Name(), srv.ClientURL())
	if *cluster != "" {
		fmt.Fprintf(m.Stderr, ", routes on %s", *cluster)
	}
	fmt.Fprintln(m.Stderr, "; interrupt to stop")
	<-ctx.Done()
	srv.Shutdown()
	srv.WaitForShutdown()
	return exitOK
}
