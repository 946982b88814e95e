package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"liaison/auth"
	"liaison/scenarios"
)

// `liaison auth` writes the "need to know" users of a scenario: a
// nats-server configuration and one nkey seed file per user.

func init() {
	register(command{"auth", "[--variant V] [--node-names NAME,...] -o DIR FILE|NAME", "write nats-server users and nkeys: each agency publishes and subscribes only where it must",
		(*Main).auth})
}

func (m *Main) auth(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison auth", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	variant := fs.String("variant", "", "the variant whose channels decide who may talk to whom")
	out := fs.String("o", "", "write "+auth.ConfigFile+" and the <user>.nk seed files to `DIR`")
	force := fs.Bool("force", false, "replace files that are already there")
	nodeNames := fs.String("node-names", "", "also write a user for each node that hosts agencies in its own process (liaison node --name `NAME`), comma-separated: each may join and report only as itself")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(m.Stderr, "usage: liaison auth [--variant V] [--node-names NAME,...] [--force] -o DIR FILE|NAME")
		return exitInvalid
	}
	sc, err := scenarios.Open(pos[0])
	if err != nil {
		fmt.Fprintln(m.Stderr, err)
		return exitInvalid
	}
	applied, err := sc.Apply(*variant)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison auth: %v\n", err)
		return exitInvalid
	}
	var nodes []string
	if *nodeNames != "" {
		for _, n := range strings.Split(*nodeNames, ",") {
			nodes = append(nodes, strings.TrimSpace(n))
		}
	}
	p, err := auth.NewPlan(applied, nodes...)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison auth: %v\n", err)
		return exitInvalid
	}
	if err := p.WriteFiles(*out, *force); err != nil {
		fmt.Fprintf(m.Stderr, "liaison auth: %v\n", err)
		if errors.Is(err, auth.ErrExists) {
			return exitInvalid
		}
		return exitFailed
	}
	others := []string{auth.ServiceUser, auth.FacilitatorUser}
	for _, n := range nodes {
		others = append(others, auth.NodeUser(n))
	}
	fmt.Fprintf(m.Stdout, "%s: %d users (%d agencies, %s) in %s; seeds in %s\n",
		*out, len(p.Users), len(applied.Agencies), strings.Join(others, ", "),
		auth.ConfigFile, auth.SeedFile(*out, "<user>"))
	return exitOK
}
