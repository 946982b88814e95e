// Package sim runs a scenario: it starts (or joins) a NATS server, the time
// service, the nodes that host the agencies and the recorder, and returns
// the summary. It is the one place that wires the engine's parts together;
// the CLI and the tests drive runs through it.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"liaison"
	"liaison/agents"
	"liaison/auth"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
)

// Config describes one run.
type Config struct {
	// Scenario is the loaded scenario; Variant names the overlay to apply
	// ("" for the base).
	Scenario *scenarios.Scenario
	Variant  string
	// Seed for every random draw of the run.
	Seed uint64
	// NATSURL joins an external NATS server or cluster; empty starts an
	// embedded server in process, unless Server is given.
	NATSURL string
	Server  *server.Server
	// Events receives the event log as JSON Lines; nil for none.
	Events io.Writer
	// Nodes splits the agencies over this many in-process nodes, each on
	// its own NATS connection (default 1). Results do not depend on it.
	Nodes int
	// Observers see every event in log order, on the recorder's goroutine
	// (metrics, live views). They must not keep the event.
	Observers []func(*events.Event, *events.Names)
	// OnStart functions are called once the run is set up, before time
	// starts.
	OnStart []func(Started)
	// Speed, when positive, paces the run: Speed simulated seconds per
	// wall second (1 is real time). Zero runs as fast as possible.
	Speed float64
	// OnAction hear of every live action (broker.ActionInject,
	// ActionPause, ActionResume) as the run takes it, with the simulated
	// time it takes effect at, in order: a live view can show a pause at
	// once.
	OnAction []func(kind string, at liaison.Time)
	// Replay holds the live actions of an earlier run (ReadActions), to
	// take effect again at the same simulated times.
	Replay []broker.Action
	// Listen exposes the embedded server on host:port, so that other
	// processes (liaison inject, liaison control, nats sub) can join.
	Listen string
	// Drift, when not nil, receives how far the paced clock ended from
	// the scaled wall clock; Lag, the worst delay behind the scaled wall
	// clock while the run went on (runs in one process).
	Drift *time.Duration
	Lag   *time.Duration
	// ExternalNodes, when positive, hosts no agencies here: the run waits
	// for that many nodes (liaison node, in other processes) to join and
	// host every agency exactly once, within JoinTimeout (default 30s).
	ExternalNodes int
	JoinTimeout   time.Duration
	// PendingLimit caps each agency subscription's pending messages (zero:
	// no limit); a node that overflows fails the run.
	PendingLimit int
	// NeedToKnow connects every agency as its own NATS user, allowed only
	// the subjects of its channels: on the embedded server with a plan
	// made for the run (Tamper, for tests, may change it first); on an
	// external server with the users in Creds (liaison auth's seed files).
	NeedToKnow bool
	Creds      string
	Tamper     func(*auth.Plan)
	// ConnectOptions are added to every connection the run makes (TLS).
	ConnectOptions []nats.Option
	// StallTimeout bounds how long the time service waits for any report
	// in a window before it gives up (default 2m).
	StallTimeout time.Duration
	// Resume waits for a replacement of a node process that fails
	// (liaison node --resume for the same agencies) instead of ending the
	// run; Notify hears of failures and recoveries.
	Resume bool
	Notify func(string)
	// Players seats people at these agencies besides the scenario's
	// players: they decide what the agencies' rules would (Started.Act).
	Players []liaison.AgencyID
	// Replication marks one unattended replication of many that share the
	// process (a comparison): it takes no facilitator's actions, each node
	// uses one connection, and nodes do not yield to NATS before waiting,
	// which helps a run that has the cores to itself but costs when runs
	// compete for them.
	Replication bool
	// RunID fixes the token in the run's subjects; empty picks a unique
	// one. Nodes in other processes must know it.
	RunID string
}

// Started describes a run that is about to begin, for observers that need
// more than events: the header, the names, the NATS connections (for
// their error counts) and the embedded server, if any.
type Started struct {
	Info   *events.RunInfo
	Names  *events.Names
	Conns  []*broker.Conn
	Server *server.Server
	RunID  string // the token in the run's subjects, for liaison inject --run
	// Act submits a live action (a facilitator's or a player's) and waits
	// until the run takes it, at the simulated time in the result, or
	// refuses it, saying why.
	Act func(broker.Action) broker.ActionResult
	// Players are the agencies people seat in this run.
	Players []liaison.AgencyID
}

// Run runs the scenario to its end and returns the summary. It fails, and
// returns no summary, when any message is unaccounted for.
func Run(ctx context.Context, cfg Config) (*events.Summary, error) {
	sc, err := cfg.Scenario.Apply(cfg.Variant)
	if err != nil {
		return nil, err
	}
	if sc, err = seatPlayers(sc, cfg.Players); err != nil {
		return nil, err
	}
	creds, plan, err := credentials(cfg, sc)
	if err != nil {
		return nil, err
	}
	srv := cfg.Server
	if srv == nil && cfg.NATSURL == "" {
		so := broker.ServerOptions{Name: "liaison", Listen: cfg.Listen}
		if plan != nil {
			so.Options = plan.ServerOptions
		}
		srv, err = broker.StartServer(so)
		if err != nil {
			return nil, err
		}
		defer func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		}()
	}
	runID := broker.RunToken(sc.Name) + "-" + nuid.Next()
	if cfg.RunID != "" {
		runID = broker.RunToken(cfg.RunID)
	}
	subj := broker.NewSubjects(runID)
	model, err := agents.Compile(sc, cfg.Seed, subj)
	if err != nil {
		return nil, err
	}

	nodes := max(cfg.Nodes, 1)
	nodes = min(nodes, len(sc.Agencies))
	parts := make([][]int32, nodes)
	for i := range sc.Agencies {
		parts[i%nodes] = append(parts[i%nodes], int32(i))
	}
	if cfg.ExternalNodes > 0 {
		nodes, parts = cfg.ExternalNodes, nil
	}

	svcOpts, err := creds(auth.ServiceUser)
	if err != nil {
		return nil, err
	}
	svcConn, err := broker.Connect(cfg.NATSURL, srv, "liaison time service "+runID, svcOpts...)
	if err != nil {
		return nil, err
	}
	defer svcConn.Close()
	var conns []*broker.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range parts {
		// Nodes in this process need no link to a time service: under
		// need to know their agencies speak on connections of their own,
		// and the node's connection publishes nothing. It uses the
		// service's user (node users are for nodes in other processes).
		nodeOpts, err := creds(auth.ServiceUser)
		if err != nil {
			return nil, err
		}
		c, err := broker.Connect(cfg.NATSURL, srv, fmt.Sprintf("liaison node %d %s", i, runID), nodeOpts...)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}
	// In one process each node also listens on a connection of its own:
	// publishing and receiving on one connection contend for its lock.
	var listens []*broker.Conn
	if cfg.ExternalNodes == 0 && !cfg.NeedToKnow && cfg.Creds == "" && !cfg.Replication {
		for i := range parts {
			c, err := broker.Connect(cfg.NATSURL, srv, fmt.Sprintf("liaison node %d listening %s", i, runID), cfg.ConnectOptions...)
			if err != nil {
				return nil, err
			}
			listens = append(listens, c)
		}
		conns = append(conns, listens...)
	}

	hdr := events.Header{Scenario: sc.Name, Title: sc.Title, Seed: cfg.Seed, Variant: cfg.Variant,
		Info: runInfo(sc, cfg.Seed, cfg.Variant)}
	// The recorder keeps its own tables: live injects extend them on its
	// goroutine while the nodes extend theirs.
	recModel := model.ForNode()
	rec := events.NewRecorder(&recModel.Names, hdr, model.Items(), cfg.Events)
	// The check of live actions follows players' decisions as they are
	// logged, ahead of the observers that show them (a console): a
	// decision a player sees waiting is known to the check.
	check := newActionCheck(model)
	obs := cfg.Observers
	if len(sc.Players) > 0 {
		obs = append([]func(*events.Event, *events.Names){check.observe}, obs...)
	}
	if len(obs) > 0 {
		names := &recModel.Names
		rec.OnEvent = func(e *events.Event) {
			for _, o := range obs {
				o(e, names)
			}
		}
	}
	var live <-chan broker.Action
	ctl := &actor{live: make(chan broker.Action), onAction: cfg.OnAction, model: model}
	if !cfg.Replication {
		stopControl, err := serveControl(svcConn, runID, sc, cfg.Speed, ctl)
		if err != nil {
			return nil, err
		}
		live = ctl.live
		defer stopControl()
	}
	for _, f := range cfg.OnStart {
		f(Started{Info: hdr.Info, Names: &recModel.Names, Conns: append([]*broker.Conn{svcConn}, conns...),
			Server: srv, RunID: runID, Act: ctl.Act, Players: sc.Players})
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Under need to know every agency connects as its own user.
	connectAgencies := func(part []int32) (map[int32]*broker.Conn, error) {
		agencyConns := map[int32]*broker.Conn{}
		for _, ix := range part {
			id := string(model.Names.Agencies[ix])
			opts, err := creds(id)
			if err != nil {
				return nil, err
			}
			c, err := broker.Connect(cfg.NATSURL, srv, "liaison agency "+id+" "+runID, opts...)
			if err != nil {
				return nil, fmt.Errorf("sim: connecting %s as its own user: %w", id, err)
			}
			conns = append(conns, c)
			agencyConns[ix] = c
		}
		return agencyConns, nil
	}
	var nodeErrs []error
	var svcErr, recErr error
	if cfg.ExternalNodes == 0 {
		nodeErrs, svcErr, recErr = runLocal(ctx, cfg, model, recModel, rec, conns, listens, subj, parts, live, check.accept, connectAgencies)
	} else {
		svcErr, recErr = runRemote(ctx, cfg, model, recModel, rec, svcConn, subj, nodes, live, check.accept)
	}
	if err := errors.Join(append([]error{svcErr, recErr}, nodeErrs...)...); err != nil {
		return nil, err
	}
	for _, c := range append(conns, svcConn) {
		// Refused publishes are drops with reason permission, in the log
		// and the summary; anything else the connections saw is a fault.
		if n := c.Errors.Total() - c.Errors.Permission.Load(); n > 0 {
			return nil, fmt.Errorf("sim: NATS reported %d asynchronous errors on %s: %s", n, c.Opts.Name, c.Errors.Last())
		}
	}
	return rec.Close(model.End)
}

// runLocal runs every node in this process under in-process
// synchronisation, with the recorder merging their streams on its own
// goroutine so that recording overlaps the simulation.
func runLocal(ctx context.Context, cfg Config, model, recModel *agents.Model, rec *events.Recorder,
	conns, listens []*broker.Conn, subj broker.Subjects, parts [][]int32, live <-chan broker.Action, accept func(broker.Action) error,
	connectAgencies func(part []int32) (map[int32]*broker.Conn, error)) ([]error, error, error) {
	hosts := make([]int, len(model.Names.Agencies))
	for i, part := range parts {
		for _, ix := range part {
			hosts[ix] = i
		}
	}
	out := make(chan agents.Batch, 64)
	free := make(chan []events.Event, 64)
	loc := &agents.Local{Nodes: len(parts), Hosts: hosts, End: model.End, Lookahead: model.Lookahead,
		Clock: broker.NewClock(cfg.Speed, model.End, live, cfg.Replay), Out: out, Free: free}
	loc.Clock.Accept = accept
	var onWindow func(liaison.Time)
	if trig := model.Triggers(); len(trig) > 0 {
		onWindow = watchTriggers(loc, rec, recModel, trig)
	}
	recDone := make(chan error, 1)
	go func() { recDone <- record(out, free, len(parts), model.End, recModel, rec, onWindow) }()
	nodeErrs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		n := agents.NewNode(model, conns[i], subj, fmt.Sprintf("node-%d", i), parts[i])
		if listens != nil {
			n.ListenOn(listens[i])
		}
		n.PendingLimit = cfg.PendingLimit
		n.Yield = !cfg.Replication
		if cfg.NeedToKnow || cfg.Creds != "" {
			agencyConns, err := connectAgencies(parts[i])
			if err != nil {
				nodeErrs[i] = err
				loc.Fail(err)
				break
			}
			n.UseAgencyConns(agencyConns)
		}
		wg.Go(func() { nodeErrs[i] = n.RunLocal(ctx, loc, i) })
	}
	svcErr := loc.Run(ctx)
	wg.Wait()
	close(out)
	recErr := <-recDone
	if cfg.Drift != nil {
		*cfg.Drift = loc.Drift
	}
	if cfg.Lag != nil {
		*cfg.Lag = loc.Lag
	}
	for i, err := range nodeErrs {
		if errors.Is(err, agents.ErrAborted) {
			nodeErrs[i] = nil
		}
	}
	return nodeErrs, svcErr, recErr
}

// record feeds the recorder from the nodes' batches: it merges them into
// the canonical order, turns live actions into their events, and hands
// event buffers back for reuse. After a failure it goes on draining, so
// that no node blocks on it.
func record(out <-chan agents.Batch, free chan<- []events.Event, nodes int, end liaison.Time,
	recModel *agents.Model, rec *events.Recorder, onWindow func(liaison.Time)) error {
	merge := events.NewMerge(nodes + 1)
	var err error
	var acts []events.Event
	for b := range out {
		if err != nil {
			continue
		}
		src, evs := b.Source, b.Events
		if src == agents.Coordinator {
			src = nodes
			// A fresh slice: the merge may hold on to it.
			acts = make([]events.Event, 0, len(b.Actions))
			for _, a := range b.Actions {
				var e events.Event
				if e, err = actionEvent(a, recModel, rec); err != nil {
					break
				}
				acts = append(acts, e)
			}
			evs = acts
		}
		if err != nil {
			continue
		}
		ready, w, kept := merge.Add(src, evs, b.Through)
		if end != liaison.Never {
			w = min(w, end+1)
		}
		err = rec.Window(ready, w)
		if onWindow != nil && err == nil {
			onWindow(w)
		}
		if b.Events != nil && !kept {
			select {
			case free <- b.Events[:0]:
			default:
			}
		}
	}
	return err
}

// runRemote runs the time service for nodes in other processes, which
// report their events over NATS window by window.
func runRemote(ctx context.Context, cfg Config, model, recModel *agents.Model, rec *events.Recorder,
	svcConn *broker.Conn, subj broker.Subjects, nodes int, live <-chan broker.Action, accept func(broker.Action) error) (error, error) {
	var evs []events.Event
	record := func(chunks [][]byte, until liaison.Time, actions []broker.Action) error {
		evs = evs[:0]
		var err error
		for _, c := range chunks {
			if evs, err = events.DecodeBatch(evs, c); err != nil {
				return err
			}
		}
		for _, a := range actions {
			e, err := actionEvent(a, recModel, rec)
			if err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return rec.Window(evs, until)
	}
	svc := &broker.Service{
		Conn: svcConn, Subjects: subj, Nodes: nodes, Agencies: model.Names.Agencies,
		Lookahead: model.Lookahead, End: model.End, Digest: model.Digest(), JoinTimeout: cfg.JoinTimeout,
		Resume: cfg.Resume, Notify: cfg.Notify, StallTimeout: cfg.StallTimeout,
		Speed: cfg.Speed, Live: live, Script: cfg.Replay, Accept: accept,
	}
	run := func() error {
		_, err := svc.Run(ctx)
		if cfg.Drift != nil {
			*cfg.Drift = svc.Drift
		}
		return err
	}
	if triggers := model.Triggers(); len(triggers) > 0 {
		// Conditional injects: the recorder, which watches their
		// conditions, must have each window before the next is granted,
		// so it records on the service's goroutine (see Service.Watch).
		fired := watchFired(rec, recModel, triggers)
		svc.Window = record
		svc.Watch = func() ([]broker.Action, liaison.Time) { return fired(), rec.NextCheck() }
		return run(), nil
	}
	// Otherwise the recorder decodes and writes one window while the nodes
	// run the next: the pipeline keeps both cores busy.
	type window struct {
		chunks  [][]byte
		until   liaison.Time
		actions []broker.Action
	}
	windows := make(chan window, 4)
	recErr := make(chan error, 1)
	go func() {
		var err error
		for w := range windows {
			if err == nil {
				err = record(w.chunks, w.until, w.actions)
			}
		}
		recErr <- err
	}()
	svc.Window = func(chunks [][]byte, until liaison.Time, actions []broker.Action) error {
		windows <- window{chunks, until, actions}
		return nil
	}
	svcErr := run()
	close(windows)
	return svcErr, <-recErr
}

// credentials returns the connect options for each user of the run, and the
// plan an embedded server enforces (nil when none).
func credentials(cfg Config, sc *scenarios.Scenario) (func(id string) ([]nats.Option, error), *auth.Plan, error) {
	switch {
	case cfg.Creds != "":
		return func(id string) ([]nats.Option, error) {
			o, err := auth.Option(auth.SeedFile(cfg.Creds, id))
			if err != nil {
				return nil, err
			}
			return append([]nats.Option{o}, cfg.ConnectOptions...), nil
		}, nil, nil
	case cfg.NeedToKnow && cfg.NATSURL == "" && cfg.Server == nil && cfg.ExternalNodes > 0:
		return nil, nil, errors.New("sim: need to know on the embedded server keeps its users in memory, where nodes in other processes cannot have them: write them with liaison auth --node-names, start a server with its configuration, and give every process --creds")
	case cfg.NeedToKnow && cfg.NATSURL == "" && cfg.Server == nil:
		plan, err := auth.NewPlan(sc)
		if err != nil {
			return nil, nil, err
		}
		if cfg.Tamper != nil {
			cfg.Tamper(plan)
		}
		return func(id string) ([]nats.Option, error) {
			o, err := plan.Option(id)
			if err != nil {
				return nil, err
			}
			return append([]nats.Option{o}, cfg.ConnectOptions...), nil
		}, plan, nil
	case cfg.NeedToKnow:
		return nil, nil, errors.New("sim: need to know on a server this run did not start needs the users' seed files (Creds; liaison auth writes them)")
	}
	return func(string) ([]nats.Option, error) { return cfg.ConnectOptions, nil }, nil, nil
}
