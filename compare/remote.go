package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Workers hands a comparison's replications to liaison worker processes
// over NATS. Requests go to JobsSubject, where the workers listen in one
// queue group: NATS gives each request to one of them, on whichever server
// of a cluster it is connected to. A worker answers at once that it took
// the request, then sends a heartbeat every second until the result. A
// request whose worker falls silent for Timeout (killed, cut off) is
// published again and so reaches another worker; results are kept by
// replication (row and seed), so a late answer from a slow worker that was
// not dead is a harmless duplicate, checked to be identical.
//
// Core NATS rather than a JetStream work queue: any server or cluster
// will do, with no stream to create or clean up, and what JetStream would
// add (redelivery) is the timeout and resend here, which results keyed by
// replication make safe. The comparison keeps no more replications in
// flight than the workers have slots (they answer pings with their
// count), and a worker whose slots are full says so, and the request goes
// out again a little later.
type Workers struct {
	Conn *nats.Conn
	// File and Data are the scenario's file name and bytes, as
	// scenarios.ReadSource gives them; the Scenario of the Config must be
	// what they parse to. Workers parse the very same bytes.
	File string
	Data []byte
	// Wait is how many workers must answer before the first request goes
	// out (at least 1), within WaitTimeout (default 30s). A comparison
	// whose workers have all been silent for WaitTimeout fails.
	Wait        int
	WaitTimeout time.Duration
	// Timeout is how long a replication's worker may be silent before the
	// request is sent again (default 10s; at least 2s, twice the
	// heartbeat).
	Timeout time.Duration
	// Notify, when set, hears of workers found and replications sent
	// again.
	Notify func(string)
}

const (
	heartbeat     = time.Second
	pingEvery     = 2 * time.Second
	busyBackoff   = 100 * time.Millisecond
	tick          = 50 * time.Millisecond
	defaultWait   = 30 * time.Second
	defaultSilent = 10 * time.Second
)

// flight is one replication on its way.
type flight struct {
	attempt   int
	heard     time.Time // the last word from a worker about it
	worker    string
	notBefore time.Time // a busy worker sent it back: publish again from then
	queued    bool      // waiting to be published (again)
}

// seen is a worker that answered a ping.
type seen struct {
	slots int
	at    time.Time
}

func (w *Workers) notify(format string, args ...any) {
	if w.Notify != nil {
		w.Notify(fmt.Sprintf(format, args...))
	}
}

// run publishes every replication of the plan and gathers the results
// into res, in row and seed order.
func (w *Workers) run(ctx context.Context, cfg Config, p *plan, res *Result) error {
	timeout := w.Timeout
	if timeout == 0 {
		timeout = defaultSilent
	}
	if timeout < 2*heartbeat {
		return fmt.Errorf("compare: the worker timeout is %v; expected at least %v, twice the workers' heartbeat", timeout, 2*heartbeat)
	}
	waitTimeout := w.WaitTimeout
	if waitTimeout == 0 {
		waitTimeout = defaultWait
	}
	nc := w.Conn
	inbox := nc.NewInbox()
	// A reply lost to a full channel (a slow consumer) costs only time: its
	// replication falls silent and is sent again.
	msgs := make(chan *nats.Msg, 1<<16)
	sub, err := nc.ChanSubscribe(inbox+".>", msgs)
	if err != nil {
		return fmt.Errorf("compare: subscribing to the workers' replies: %w", err)
	}
	defer sub.Unsubscribe()

	// Requests differ only in job and seed, row's variant and settings.
	base := request{Protocol: protocol, File: w.File, Data: w.Data, Digest: digest(w.Data)}
	publish := func(job int, f *flight) error {
		r := res.All[job]
		row := p.rows[r.Row]
		req := base
		req.Job, req.Variant, req.Seed = job, row.Variant, r.Seed
		for _, st := range row.Settings {
			req.Settings = append(req.Settings, wireSetting{st.Path, st.Value})
		}
		data, err := json.Marshal(req)
		if err != nil {
			return err
		}
		if int64(len(data)) > nc.MaxPayload() {
			return fmt.Errorf("compare: a request with the scenario is %d bytes; the NATS server takes at most %d", len(data), nc.MaxPayload())
		}
		f.attempt++
		f.heard, f.queued = time.Now(), false
		return nc.PublishMsg(&nats.Msg{Subject: JobsSubject, Reply: fmt.Sprintf("%s.%d.%d", inbox, job, f.attempt), Data: data})
	}

	workers := map[string]seen{}
	ping := func() error {
		return nc.PublishRequest(PingSubject, inbox+".ping", nil)
	}
	capacity := func() int {
		n := 0
		for _, s := range workers {
			if time.Since(s.at) < 3*pingEvery {
				n += s.slots
			}
		}
		return n
	}

	total := len(res.All)
	active := map[int]*flight{}  // sent, or waiting to be sent again, with no result yet
	got := make([]string, total) // digest of each result, once in
	done, next := 0, 0           // results in; the next job never sent
	start := time.Now()
	lastPing, lastWorker := time.Time{}, time.Now()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()

	handle := func(m *nats.Msg) error {
		tok := strings.Split(strings.TrimPrefix(m.Subject, inbox+"."), ".")
		if len(tok) == 1 && tok[0] == "ping" {
			var pr pingReply
			if json.Unmarshal(m.Data, &pr) != nil || pr.Worker == "" || pr.Slots < 1 {
				res.Rejected++
				return nil
			}
			if pr.Protocol != protocol {
				return fmt.Errorf("compare: worker %s speaks protocol %d, this comparison %d; expected workers of the same Liaison version", pr.Worker, pr.Protocol, protocol)
			}
			if _, known := workers[pr.Worker]; !known {
				w.notify("worker %s joined with %d %s", pr.Worker, pr.Slots, plural(pr.Slots, "slot", "slots"))
			}
			workers[pr.Worker] = seen{pr.Slots, time.Now()}
			lastWorker = time.Now()
			return nil
		}
		job, err1 := strconv.Atoi(tok[0])
		if len(tok) != 2 || err1 != nil || job < 0 || job >= next {
			res.Rejected++
			return nil
		}
		f := active[job]
		if m.Header.Get("Status") == "503" { // no responders: no worker listens right now
			if f != nil && !f.queued {
				f.queued, f.notBefore = true, time.Now().Add(busyBackoff)
			}
			return nil
		}
		var rp reply
		if err := json.Unmarshal(m.Data, &rp); err != nil || rp.Job != job {
			res.Rejected++
			return nil
		}
		r := &res.All[job]
		switch rp.Kind {
		case replyStarted, replyAlive:
			if f != nil {
				f.heard, f.worker = time.Now(), rp.Worker
			}
		case replyBusy:
			if f != nil && !f.queued && tok[1] == strconv.Itoa(f.attempt) {
				f.queued, f.notBefore = true, time.Now().Add(busyBackoff)
			}
		case replyGone:
			if f != nil && !f.queued && tok[1] == strconv.Itoa(f.attempt) {
				res.Retried++
				w.notify("worker %s stopped during %s, seed %d; sending it again", rp.Worker, res.Names[r.Row], r.Seed)
				f.queued, f.notBefore = true, time.Now()
			}
		case replyError:
			return fmt.Errorf("compare: %s, seed %d: worker %s: %s", res.Names[r.Row], r.Seed, rp.Worker, rp.Error)
		case replyResult:
			d := runDigest(rp.Run)
			if got[job] != "" {
				if d != got[job] {
					return fmt.Errorf("compare: %s, seed %d: two workers gave different results (one is %s); expected the same Liaison version everywhere", res.Names[r.Row], r.Seed, rp.Worker)
				}
				return nil
			}
			if err := fromWire(rp.Run, p.prepared[r.Row], r); err != nil {
				res.Rejected++
				w.notify("ignored a malformed result from worker %s: %v", rp.Worker, err)
				return nil
			}
			got[job] = d
			done++
			delete(active, job)
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
		default:
			res.Rejected++
		}
		return nil
	}

	if err := ping(); err != nil {
		return err
	}
	lastPing = time.Now()
	for len(workers) < max(w.Wait, 1) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			if err := handle(m); err != nil {
				return err
			}
		case <-ticker.C:
			if time.Since(start) > waitTimeout {
				return fmt.Errorf("compare: %d of %d workers answered within %v; start them with liaison worker --nats URL", len(workers), max(w.Wait, 1), waitTimeout)
			}
			if time.Since(lastPing) >= 250*time.Millisecond {
				if err := ping(); err != nil {
					return err
				}
				lastPing = time.Now()
			}
		}
	}

	for done < total {
		now := time.Now()
		// Publish what waits, new requests up to the workers' slots.
		for job, f := range active {
			if f.queued && !now.Before(f.notBefore) {
				if err := publish(job, f); err != nil {
					return err
				}
			}
		}
		for next < total && len(active) < max(capacity(), 1) {
			f := &flight{}
			active[next] = f
			next++
			if err := publish(next-1, f); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			if err := handle(m); err != nil {
				return err
			}
		case <-ticker.C:
			for job, f := range active {
				if f.queued || now.Sub(f.heard) < timeout {
					continue
				}
				r := res.All[job]
				who := "no worker took it"
				if f.worker != "" {
					who = "worker " + f.worker + " fell silent"
				}
				w.notify("%s, seed %d: %s for %v; sending it again", res.Names[r.Row], r.Seed, who, timeout.Round(time.Millisecond))
				res.Retried++
				f.queued, f.notBefore = true, now
			}
			if now.Sub(lastPing) >= pingEvery {
				if err := ping(); err != nil {
					return err
				}
				lastPing = now
			}
			if now.Sub(lastWorker) > waitTimeout {
				return fmt.Errorf("compare: no worker has answered for %v; %d of %d replications done", waitTimeout, done, total)
			}
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
