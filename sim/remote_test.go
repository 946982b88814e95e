package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"liaison/agents"
	"liaison/broker"
	"liaison/sim"
)

// runAcross runs cfg with the time service here and its agencies in nodes
// that follow it over the time protocol (agents.Node.Run, as liaison node
// does), each hosting the agencies of one part, and returns the event log.
func runAcross(t *testing.T, cfg sim.Config, parts [][]int32) []byte {
	t.Helper()
	srv, err := broker.StartServer(broker.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	const runID = "across"
	subj := broker.NewSubjects(runID)
	sc, err := cfg.Scenario.Apply(cfg.Variant)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, part := range parts {
		model, err := agents.Compile(sc, cfg.Seed, subj)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := broker.Connect("", srv, fmt.Sprintf("node %d", i))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		n := agents.NewNode(model, conn, subj, fmt.Sprintf("n%d", i+1), part)
		n.Resilient()
		wg.Go(func() { errs[i] = n.Run(ctx) })
	}
	var log bytes.Buffer
	cfg.Server, cfg.ExternalNodes, cfg.RunID, cfg.Events = srv, len(parts), runID, &log
	cfg.StallTimeout = 10 * time.Second // a stall is a failure here, not a slow machine
	_, err = sim.Run(ctx, cfg)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	return log.Bytes()
}

// TestActionsAcrossProcesses: every kind of live action (a player's
// decision, skip, postpone, fire, cut, restore, staff, note) replayed with
// the agencies on nodes that follow the time service over NATS gives the
// log of the exercise in one process: grants carry every action that
// changes what agencies do, with its kind, and a window starts no later
// than the earliest action.
func TestActionsAcrossProcesses(t *testing.T) {
	sc := load(t, "testdata/exercise.yaml")
	x := &exerciseScript{t: t, done: map[string]bool{}}
	_, log := run(t, x.config(sc))
	x.wg.Wait()
	actions, err := sim.ReadActions("exercise.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 8 {
		t.Fatalf("%d actions in the exercise's log, want 8", len(actions))
	}
	// dk.pet (the player's agency) and se.sapo on one node, the national
	// channel's others on another.
	across := runAcross(t, sim.Config{Scenario: sc, Seed: 3, Replay: actions}, [][]int32{{0, 2}, {1, 3}})
	// Byte for byte: event batches between processes carry the members
	// agencies' events hold (a decision's proposal, what was decided).
	sameAcross(t, log, across)
}

// sameAcross fails the test unless the log across the time protocol is
// the one-process log byte for byte, naming the first line that differs.
func sameAcross(t *testing.T, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	w, g := bytes.Split(want, []byte("\n")), bytes.Split(got, []byte("\n"))
	for i := range min(len(w), len(g)) {
		if !bytes.Equal(w[i], g[i]) {
			t.Fatalf("line %d differs across the time protocol:\n got %s\nwant %s", i+1, g[i], w[i])
		}
	}
	t.Fatalf("across the time protocol the log has %d lines, in one process %d", len(g), len(w))
}
