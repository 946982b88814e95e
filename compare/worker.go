package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison/broker"
	"liaison/scenarios"
)

// Worker runs replications for comparisons elsewhere (liaison compare
// --nats): it listens on JobsSubject in the workers' queue group and runs
// each request it takes with sim.Run on its own embedded NATS server, as a
// comparison does in process, so that its results are the ones a local
// comparison would get. It runs at most Slots replications at once and
// answers requests beyond that with "busy".
type Worker struct {
	Conn  *nats.Conn
	Name  string
	Slots int
	// Log, when set, hears of each replication started and finished.
	Log func(string)
}

func (w *Worker) log(format string, args ...any) {
	if w.Log != nil {
		w.Log(fmt.Sprintf(format, args...))
	}
}

// Serve takes requests until ctx ends. Replications still running then
// are abandoned and their comparisons told ("gone"), so that they send
// them to another worker at once.
func (w *Worker) Serve(ctx context.Context) error {
	if w.Slots < 1 {
		return fmt.Errorf("compare: a worker needs at least one slot")
	}
	srv, err := broker.StartServer(broker.ServerOptions{Name: "liaison-worker"})
	if err != nil {
		return err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, w.Slots)
	cache := &scenarioCache{}
	// closed turns requests away once Serve is stopping: a callback may
	// still be running when the subscription ends.
	var mu sync.Mutex
	closed := false
	var wg sync.WaitGroup
	jobs, err := w.Conn.QueueSubscribe(JobsSubject, QueueGroup, func(m *nats.Msg) {
		if m.Reply == "" {
			return // nobody to answer
		}
		var req request
		if err := json.Unmarshal(m.Data, &req); err != nil {
			w.respond(m.Reply, reply{Kind: replyError, Job: -1, Error: "malformed request: " + err.Error()})
			return
		}
		if req.Protocol != protocol {
			w.respond(m.Reply, reply{Kind: replyError, Job: req.Job,
				Error: fmt.Sprintf("the request speaks protocol %d, this worker %d; expected the same Liaison version everywhere", req.Protocol, protocol)})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		select {
		case slots <- struct{}{}:
		default:
			w.respond(m.Reply, reply{Kind: replyBusy, Job: req.Job})
			return
		}
		if closed || ctx.Err() != nil {
			// Stopping: a request that arrives before the subscription
			// ends is turned away (busy, for another worker), not started
			// and abandoned at once.
			<-slots
			w.respond(m.Reply, reply{Kind: replyBusy, Job: req.Job})
			return
		}
		w.respond(m.Reply, reply{Kind: replyStarted, Job: req.Job})
		wg.Go(func() {
			defer func() { <-slots }()
			w.replicate(ctx, srv, cache, req, m.Reply)
		})
	})
	if err != nil {
		return fmt.Errorf("compare: subscribing to %s: %w", JobsSubject, err)
	}
	pings, err := w.Conn.Subscribe(PingSubject, func(m *nats.Msg) {
		if m.Reply != "" {
			data, _ := json.Marshal(pingReply{Protocol: protocol, Worker: w.Name, Slots: w.Slots})
			w.Conn.Publish(m.Reply, data)
		}
	})
	if err != nil {
		return fmt.Errorf("compare: subscribing to %s: %w", PingSubject, err)
	}
	if err := w.Conn.Flush(); err != nil {
		return err
	}
	<-ctx.Done()
	mu.Lock()
	closed = true
	mu.Unlock()
	jobs.Unsubscribe()
	pings.Unsubscribe()
	cancel()
	wg.Wait()
	w.Conn.Flush()
	return nil
}

func (w *Worker) respond(subject string, r reply) {
	r.Worker = w.Name
	data, err := json.Marshal(r)
	if err != nil {
		data, _ = json.Marshal(reply{Kind: replyError, Job: r.Job, Worker: w.Name, Error: "cannot encode the result: " + err.Error()})
	}
	w.Conn.Publish(subject, data)
}

// replicate runs one request, with a heartbeat on its reply subject until
// the result.
func (w *Worker) replicate(ctx context.Context, srv *server.Server, cache *scenarioCache, req request, to string) {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				w.respond(to, reply{Kind: replyAlive, Job: req.Job})
			}
		}
	}()
	sc, err := cache.prepare(req)
	if err != nil {
		w.respond(to, reply{Kind: replyError, Job: req.Job, Error: err.Error()})
		return
	}
	w.log("job %d: %s seed %d", req.Job, rowText(req), req.Seed)
	run := Run{Seed: req.Seed}
	if err := replicate(ctx, sc, req.Variant, srv, &run); err != nil {
		if ctx.Err() != nil {
			w.respond(to, reply{Kind: replyGone, Job: req.Job})
			return
		}
		w.respond(to, reply{Kind: replyError, Job: req.Job, Error: err.Error()})
		return
	}
	w.respond(to, reply{Kind: replyResult, Job: req.Job, Run: toWire(&run)})
	w.log("job %d: done", req.Job)
}

func rowText(req request) string {
	parts := []string{variantName(req.Variant)}
	for _, st := range req.Settings {
		parts = append(parts, st.Path+"="+st.Value)
	}
	return strings.Join(parts, " · ")
}

// scenarioCache keeps the scenarios requests name by digest, and each
// row's prepared scenario, so that a worker parses a file once per
// comparison. It holds a few comparisons' worth and starts afresh when
// full.
type scenarioCache struct {
	mu       sync.Mutex
	parsed   map[string]*scenarios.Scenario
	prepared map[string]*scenarios.Scenario
}

const cacheSize = 256

func (c *scenarioCache) prepare(req request) (*scenarios.Scenario, error) {
	if digest(req.Data) != req.Digest {
		return nil, fmt.Errorf("the scenario's bytes do not match their digest")
	}
	row := Row{Variant: req.Variant}
	for _, st := range req.Settings {
		row.Settings = append(row.Settings, scenarios.Setting{Path: st.Path, Value: st.Value})
	}
	keyBytes, _ := json.Marshal([]any{req.Digest, req.Variant, req.Settings})
	key := string(keyBytes)
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.prepared[key]; ok {
		return sc, nil
	}
	if len(c.prepared) >= cacheSize || c.prepared == nil {
		c.prepared = map[string]*scenarios.Scenario{}
	}
	if len(c.parsed) >= 8 || c.parsed == nil {
		c.parsed = map[string]*scenarios.Scenario{}
	}
	base, ok := c.parsed[req.Digest]
	if !ok {
		var err error
		if base, err = scenarios.Parse(req.File, req.Data); err != nil {
			return nil, err
		}
		c.parsed[req.Digest] = base
	}
	sc, err := prepare(base, row)
	if err != nil {
		return nil, err
	}
	c.prepared[key] = sc
	return sc, nil
}
