package sim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"liaison/auth"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

func load(t *testing.T, path string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// run runs a scenario through the real embedded NATS server and returns the
// summary and the event log.
func run(t *testing.T, cfg sim.Config) (*events.Summary, []byte) {
	t.Helper()
	var log bytes.Buffer
	cfg.Events = &log
	sum, err := sim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum, log.Bytes()
}

type line struct {
	T           float64 `json:"t"`
	Kind        string  `json:"kind"`
	Agency      string  `json:"agency"`
	Channel     string  `json:"channel"`
	Msg         string  `json:"msg"`
	Item        string  `json:"item"`
	Type        string  `json:"type"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Reason      string  `json:"reason"`
	Latency     float64 `json:"latency"`
	OutageWait  float64 `json:"outage_wait"`
	FanoutDelay float64 `json:"fanout_delay"`
}

func parseLog(t *testing.T, b []byte) []line {
	t.Helper()
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// firstTime returns the time of the first event of kind at agency.
func firstTime(lines []line, kind, agency string) float64 {
	for _, l := range lines {
		if l.Kind == kind && l.Agency == agency {
			return l.T
		}
	}
	return math.NaN()
}

// TestChainKnownAnswer: fixed 10m hops and 5m handling along a→b→c→d give
// exact knowledge times.
func TestChainKnownAnswer(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: load(t, "testdata/chain.yaml"), Seed: 1})
	lines := parseLog(t, log)
	for agency, want := range map[string]float64{"x.a": 0, "x.b": 900, "x.c": 1800, "x.d": 2700} {
		if got := firstTime(lines, "know", agency); got != want {
			t.Errorf("%s knows at %vs, want %vs", agency, got, want)
		}
	}
	it := sum.Items[0]
	if it.TimeToReachSeconds == nil || *it.TimeToReachSeconds != 2700 || !*it.DeadlineMet {
		t.Errorf("item summary: %+v", it)
	}
	if m := sum.Messages; m.Sent != 3 || m.Delivered != 3 || m.Dropped != 0 {
		t.Errorf("messages: %+v", m)
	}
}

// TestOfficeHoursHold: a message that arrives at a closed office at 17:00 on
// a Friday is handled at 08:00:00 on Monday, to the second.
func TestOfficeHoursHold(t *testing.T) {
	_, log := run(t, sim.Config{Scenario: load(t, "testdata/hours.yaml")})
	lines := parseLog(t, log)
	if got := firstTime(lines, "deliver", "dk.police"); got != 3600 {
		t.Fatalf("delivered at %vs, want 3600 (Friday 17:00)", got)
	}
	if got := firstTime(lines, "hold", "dk.police"); got != 3600 {
		t.Fatalf("held at %vs, want 3600", got)
	}
	// Friday 16:00 + 64h = Monday 08:00.
	if got := firstTime(lines, "handle_start", "dk.police"); got != 64*3600 {
		t.Fatalf("handled at %vs, want %d (Monday 08:00)", got, 64*3600)
	}
}

// TestMM1 checks queueing against the M/M/1 formula: λ = 0.5/min, μ = 1/min
// give a mean wait in queue of 1 minute. The run has about 100,000 arrivals.
func TestMM1(t *testing.T) {
	if testing.Short() {
		t.Skip("long run")
	}
	sc := load(t, "testdata/mm1.yaml")
	sum, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	var desk events.AgencySummary
	for _, a := range sum.Agencies {
		if a.ID == "q.desk" {
			desk = a
		}
	}
	if desk.Handled < 90000 {
		t.Fatalf("only %d handled; the run is too short to compare", desk.Handled)
	}
	const want = 60.0
	if rel := math.Abs(desk.MeanWaitSeconds-want) / want; rel > 0.05 {
		t.Fatalf("mean wait %.2fs, M/M/1 gives %.0fs (%.1f%% off, allowed 5%%)", desk.MeanWaitSeconds, want, rel*100)
	}
	t.Logf("mean wait %.2fs over %d jobs (M/M/1: %.0fs)", desk.MeanWaitSeconds, desk.Handled, want)
}

// TestDeterminism: the same scenario, seed and variant give a byte-identical
// event log and summary with one node or two, with GOMAXPROCS 1 or 2.
func TestDeterminism(t *testing.T) {
	sc := load(t, "testdata/mixed.yaml")
	for _, variant := range []string{"", "mesh"} {
		var refLog, refSum []byte
		for _, c := range []struct {
			procs, nodes int
		}{{1, 1}, {2, 1}, {2, 2}, {1, 3}} {
			prev := runtime.GOMAXPROCS(c.procs)
			sum, log := run(t, sim.Config{Scenario: sc, Variant: variant, Seed: 11, Nodes: c.nodes})
			runtime.GOMAXPROCS(prev)
			js, _ := json.Marshal(sum)
			if refLog == nil {
				refLog, refSum = log, js
				if m := sum.Messages; m.Sent == 0 || m.Sent != m.Delivered+m.Dropped {
					t.Fatalf("variant %q: accounting %+v", variant, m)
				}
				continue
			}
			if !bytes.Equal(log, refLog) {
				t.Fatalf("variant %q: event log differs with GOMAXPROCS=%d and %d nodes", variant, c.procs, c.nodes)
			}
			if !bytes.Equal(js, refSum) {
				t.Fatalf("variant %q: summary differs with GOMAXPROCS=%d and %d nodes", variant, c.procs, c.nodes)
			}
		}
	}
}

// TestMixedStory checks that the mixed scenario exercises what it claims:
// consent round trips, TLP drops, relays, holds and a liaison reply.
func TestMixedStory(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: load(t, "testdata/mixed.yaml"), Seed: 3})
	kinds := map[string]int{}
	for _, l := range parseLog(t, log) {
		kinds[l.Kind]++
	}
	for _, k := range []string{"inject", "send", "deliver", "handle_start", "handle_end", "know",
		"consent_request", "consent_grant", "drop", "hold"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event in the log", k)
		}
	}
	if sum.Messages.DroppedBy["tlp"] == 0 {
		t.Errorf("no TLP drops: %+v", sum.Messages)
	}
	for _, c := range sum.Channels {
		if c.Messages == 0 {
			t.Errorf("channel %s carried nothing", c.ID)
		}
	}
}

// TestLogIsOrdered: events come by time, then a stable key, and every
// built-in gives the same log however its agencies are split over nodes.
func TestLogIsOrdered(t *testing.T) {
	paths := []string{"testdata/mixed.yaml", "testdata/end.yaml"}
	for _, b := range scenarios.List() {
		paths = append(paths, b.Name)
	}
	for _, p := range paths {
		sc := load(t, p)
		var ref []byte
		for split := 1; split <= 3; split++ {
			_, log := run(t, sim.Config{Scenario: sc, Seed: 5, Nodes: split})
			prev, derivedAt := -1.0, -1.0
			for i, l := range parseLog(t, log) {
				if l.T < prev {
					t.Fatalf("%s, %d nodes: line %d goes back in time: %v after %v", p, split, i+1, l.T, prev)
				}
				// What the recorder derives (reach, missed deadlines) comes
				// after everything the agencies did at the same instant.
				switch l.Kind {
				case "reached", "deadline_missed":
					derivedAt = l.T
				case "run":
				default:
					if l.T == derivedAt && l.Agency != "" {
						t.Fatalf("%s, %d nodes: line %d (%s at %s) comes after a derived event at the same time", p, split, i+1, l.Kind, l.Agency)
					}
				}
				prev = l.T
			}
			if ref == nil {
				ref = log
			} else if !bytes.Equal(ref, log) {
				t.Fatalf("%s: the log with %d nodes differs from the one with 1", p, split)
			}
		}
	}
}

// TestExternalServer: a run through a NATS server reached over TCP (as with
// --nats URL) gives the same log as one on the in-process embedded server.
func TestExternalServer(t *testing.T) {
	srv, err := broker.StartServer(broker.ServerOptions{Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	sc := load(t, "testdata/mixed.yaml")
	_, embedded := run(t, sim.Config{Scenario: sc, Seed: 2})
	_, external := run(t, sim.Config{Scenario: sc, Seed: 2, NATSURL: srv.ClientURL(), Nodes: 2})
	if !bytes.Equal(embedded, external) {
		t.Fatal("the event log through an external server differs from the embedded run")
	}
}

// TestPlatformPost: a rule that shares with three members of a platform
// posts once; the post reaches those three (three copies) and not the
// fifth member, through the hub when there is one (one hop to the hub,
// then three).
func TestPlatformPost(t *testing.T) {
	sc := load(t, "testdata/platform.yaml")
	for variant, want := range map[string]int64{"": 3, "hub": 4} {
		sum, log := run(t, sim.Config{Scenario: sc, Variant: variant})
		if got := sum.Messages.Sent; got != want {
			t.Errorf("variant %q: %d messages, want %d", variant, got, want)
		}
		if it := sum.Items[0]; it.Reached != 3 {
			t.Errorf("variant %q: reached %d of 3", variant, it.Reached)
		}
		if !math.IsNaN(firstTime(parseLog(t, log), "deliver", "p.e")) {
			t.Errorf("variant %q: the post reached p.e, which the rule does not name", variant)
		}
	}
	sum, _ := run(t, sim.Config{Scenario: sc})
	if ttr := *sum.Items[0].TimeToReachSeconds; ttr != 360 {
		t.Errorf("time to reach %vs, want 360 (1m handling + 5m post)", ttr)
	}
}

// TestLiveInjectAndReplay: a paced run takes a facilitator's inject and a
// pause over NATS; the log records them; replaying the log's actions in a
// fast run gives the same log byte for byte.
func TestLiveInjectAndReplay(t *testing.T) {
	srv, err := broker.StartServer(broker.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	sc := load(t, "testdata/live.yaml")
	runIDs := make(chan string, 1)
	var logBuf bytes.Buffer
	done := make(chan error, 1)
	var drift time.Duration
	const speed = 7200 // two simulated hours in one wall second
	start := time.Now()
	go func() {
		_, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Server: srv, Speed: speed,
			Events: &logBuf, Drift: &drift,
			OnStart: []func(sim.Started){func(s sim.Started) { runIDs <- s.RunID }}})
		done <- err
	}()
	runID := <-runIDs
	c, err := broker.Connect("", srv, "facilitator")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	request := func(verb string, body string) string {
		t.Helper()
		m, err := c.Request(sim.ControlSubject(runID, verb), []byte(body), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Data)
	}
	bad := request("inject", "live.yaml\nid: L-1\nto: x.nowhere\ntype: warning\nsummary: s\n")
	if !strings.HasPrefix(bad, "invalid: live.yaml:2:5: ") {
		t.Fatalf("a bad inject got %q", bad)
	}
	time.Sleep(100 * time.Millisecond)
	if r := request("pause", ""); !strings.HasPrefix(r, "ok ") {
		t.Fatalf("pause: %q", r)
	}
	if r := request("inject", "live.yaml\nid: L-1\nto: x.b\ntype: warning\nsummary: Live\naudience: [x.c, x.d]\n"); !strings.HasPrefix(r, "ok ") {
		t.Fatalf("inject: %q", r)
	}
	time.Sleep(200 * time.Millisecond)
	if r := request("resume", ""); !strings.HasPrefix(r, "ok ") {
		t.Fatalf("resume: %q", r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	// Pacing holds the run back: two simulated hours cannot take less
	// than one wall second (plus the pause).
	if wall < time.Second {
		t.Fatalf("a paced run of 2h at speed %d took %v", speed, wall)
	}
	t.Logf("paced run: %v wall, drift at the end %v", wall, drift)
	live := logBuf.Bytes()
	kinds := map[string]int{}
	for _, l := range parseLog(t, live) {
		kinds[l.Kind]++
	}
	if kinds["live_inject"] != 1 || kinds["pause"] != 1 || kinds["resume"] != 1 {
		t.Fatalf("live actions in the log: %v", kinds)
	}
	actions, err := sim.ReadActions("live.jsonl", bytes.NewReader(live))
	if err != nil || len(actions) != 3 {
		t.Fatalf("read %d actions: %v", len(actions), err)
	}
	_, replayed := run(t, sim.Config{Scenario: sc, Seed: 1, Replay: actions})
	if !bytes.Equal(live, replayed) {
		t.Fatalf("replay differs from the live run:\n--- live\n%s--- replay\n%s", live, replayed)
	}
}

// TestSlowConsumerReported: when a subscription's pending buffer is too
// small for a window's burst, the client drops messages; the run fails
// with a message that says so instead of printing figures.
func TestSlowConsumerReported(t *testing.T) {
	sc, err := scenarios.Parse("generated.yaml", []byte(generated(30, 20000, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, PendingLimit: 1})
	if err == nil || !strings.Contains(err.Error(), "slow consumer") {
		t.Fatalf("run with a pending limit of 1: %v; want a slow consumer error", err)
	}
}

// TestNeedToKnow: with every agency connected as its own NATS user, allowed
// only its channels' subjects, a run gives the same log as without; when
// the server refuses an agency a channel, its messages there are dropped
// with reason permission, counted, and the log is still deterministic.
func TestNeedToKnow(t *testing.T) {
	sc := load(t, "testdata/mixed.yaml")
	_, plain := run(t, sim.Config{Scenario: sc, Seed: 4})
	_, ntk := run(t, sim.Config{Scenario: sc, Seed: 4, NeedToKnow: true, Nodes: 2})
	if !bytes.Equal(plain, ntk) {
		t.Fatal("the need-to-know run differs from the plain one")
	}
	// Take away PET's right to publish on the CTG platform.
	tamper := func(p *auth.Plan) {
		u := p.User("dk.pet")
		var keep []string
		for _, s := range u.Publish {
			if !strings.Contains(s, ".ctg.") {
				keep = append(keep, s)
			}
		}
		u.Publish = keep
	}
	var logs [][]byte
	for range 2 {
		sum, log := run(t, sim.Config{Scenario: sc, Seed: 4, NeedToKnow: true, Tamper: tamper})
		if n := sum.Messages.DroppedBy["permission"]; n == 0 {
			t.Fatalf("no permission drops with PET barred from the platform: %+v", sum.Messages)
		}
		logs = append(logs, log)
	}
	if !bytes.Equal(logs[0], logs[1]) {
		t.Fatal("runs with refused publishes are not deterministic")
	}
	// Users kept in memory cannot reach nodes in other processes: such a
	// run is refused before it waits for them.
	_, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 4, NeedToKnow: true, ExternalNodes: 2})
	if err == nil || !strings.Contains(err.Error(), "liaison auth --node-names") {
		t.Fatalf("need to know on the embedded server with nodes elsewhere: %v, want a refusal pointing at liaison auth", err)
	}
}

// TestSemantics: a platform post of an AMBER item by a holder other than
// the originator reaches only the target (here under amber: country); a
// message waits out outages listed in any order; a share that needs a
// consent nobody can be asked for is dropped (no_consent_route), not left
// pending, and the request that could not go is dropped as no_route.
func TestSemantics(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: load(t, "testdata/semantics.yaml")})
	lines := parseLog(t, log)
	for _, l := range lines {
		if l.Kind == "know" && l.Agency == "no.pst" {
			t.Errorf("no.pst learned %s: an AMBER post from se.sapo reached Norway", l.Item)
		}
	}
	if got := firstTime(lines, "deliver", "se.police"); math.IsNaN(got) {
		t.Error("se.police never got the AMBER item")
	}
	// Sent at 70m+0s: outages 30m–3h and 2h–4h in either order hold it to
	// 4h; one minute of transit.
	if got := firstTime(lines, "deliver", "x.b"); got != 4*3600+60 {
		t.Errorf("the message sent during overlapping outages arrived at %vs, want %d", got, 4*3600+60)
	}
	if d := sum.Messages.DroppedBy; d["no_route"] != 1 || d["no_consent_route"] != 1 {
		t.Errorf("drops %v: want the unaskable consent request as no_route and the share that waited for it as no_consent_route", d)
	}
}

// TestPacedQuietStretch: in a paced run, waiting for the wall clock between
// events is not a stall, however long it is.
func TestPacedQuietStretch(t *testing.T) {
	// Ten simulated minutes between events is half a wall second at this
	// speed, longer than the stall timeout.
	_, err := sim.Run(context.Background(), sim.Config{Scenario: load(t, "testdata/chain.yaml"), Seed: 1,
		Speed: 1200, StallTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPlatformHubTarget: a share addressed to a platform's hub reaches it
// as a message it reads (and so learns), not only as a post it relays.
func TestPlatformHubTarget(t *testing.T) {
	_, log := run(t, sim.Config{Scenario: load(t, "testdata/platform.yaml"), Variant: "hub-target"})
	if math.IsNaN(firstTime(parseLog(t, log), "know", "p.hub")) {
		t.Fatal("the hub, a target of the rule, never learned the item")
	}
}
