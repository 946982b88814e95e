package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/stat/distuv"

	"liaison/broker"
	"liaison/internal/golden"
	"liaison/scenarios"
)

func research(t testing.TB) *scenarios.Scenario {
	sc, err := scenarios.Builtin("ctg-research")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Results do not depend on the number of workers: the CSV is byte-identical.
func TestParallelIdentical(t *testing.T) {
	sc := research(t)
	var csv [2]bytes.Buffer
	var table [2]bytes.Buffer
	for i, p := range []int{1, 3} {
		res, err := Compare(context.Background(), Config{Scenario: sc, Variants: []string{"", "mesh"}, Runs: 4, Parallel: p, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.WriteCSV(&csv[i]); err != nil {
			t.Fatal(err)
		}
		if err := res.WriteTable(&table[i]); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			var h bytes.Buffer
			if err := res.WriteHTML(&h); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{`data-chart="ecdf-I-1"`, `data-chart="bands-I-1"`, "<svg"} {
				if !strings.Contains(h.String(), id) {
					t.Errorf("HTML lacks %s", id)
				}
			}
		}
	}
	if !bytes.Equal(csv[0].Bytes(), csv[1].Bytes()) {
		t.Errorf("CSV differs between P=1 and P=3:\n%s\n---\n%s", csv[0].String(), csv[1].String())
	}
	if !bytes.Equal(table[0].Bytes(), table[1].Bytes()) {
		t.Error("table differs between P=1 and P=3")
	}
	// 2 variants × 4 runs × 2 injects, plus the header.
	if n := strings.Count(csv[0].String(), "\n"); n != 1+2*4*2 {
		t.Errorf("%d CSV lines, want %d", n, 1+2*4*2)
	}
	if !strings.Contains(table[0].String(), "censored") {
		t.Error("table does not say how censored runs are treated")
	}
}

// A 95% t interval for the mean covers the true mean in about 95% of
// trials; the Wilson interval likewise for a proportion.
func TestCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	norm := distuv.Normal{Mu: 10, Sigma: 3, Src: rng}
	const trials = 1000
	covered, wcovered, qcovered := 0, 0, 0
	for range trials {
		x := make([]float64, 12)
		k := 0
		for i := range x {
			x[i] = norm.Rand()
			if x[i] < 10 {
				k++
			}
		}
		if iv := MeanCI(x, DefaultLevel); iv.Lo <= 10 && 10 <= iv.Hi {
			covered++
		}
		big := make([]float64, 40)
		kb := 0
		for i := range big {
			big[i] = norm.Rand()
			if big[i] < 12 {
				kb++
			}
		}
		p := distuv.Normal{Mu: 10, Sigma: 3}.CDF(12)
		if iv := WilsonCI(kb, len(big), DefaultLevel); iv.Lo <= p && p <= iv.Hi {
			wcovered++
		}
		if iv := QuantileCI(big, 0.5, DefaultLevel); iv.Lo <= 10 && 10 <= iv.Hi {
			qcovered++
		}
		_ = k
	}
	for name, c := range map[string]int{"t mean": covered, "Wilson": wcovered} {
		if f := float64(c) / trials; f < 0.93 || f > 0.97 {
			t.Errorf("%s coverage %.3f, want 0.93..0.97", name, f)
		}
	}
	// Order-statistic intervals are conservative: at least 95%.
	if f := float64(qcovered) / trials; f < 0.93 || f > 0.995 {
		t.Errorf("median interval coverage %.3f, want at least 0.93", f)
	}
}

func TestCensoredQuantiles(t *testing.T) {
	inf := math.Inf(1)
	x := []float64{1, 2, 3, inf, inf, inf}
	if iv := QuantileCI(x, 0.5, DefaultLevel); iv.Est != 3 {
		t.Errorf("median %v, want 3", iv.Est)
	}
	if iv := QuantileCI(x, 0.95, DefaultLevel); !math.IsInf(iv.Est, 1) {
		t.Errorf("p95 %v, want +Inf (censored)", iv.Est)
	}
	if iv := MeanCI([]float64{5}, DefaultLevel); iv.Est != 5 || !math.IsNaN(iv.Lo) {
		t.Errorf("one value: %+v", iv)
	}
}

// sweep is a small factorial of ctg-research: the base and mesh, each with
// dk.pet's staff at the file's 2 and at 1.
func sweep(t testing.TB) Config {
	return Config{Scenario: research(t), Variants: []string{"", "mesh"},
		Sweeps: []Sweep{{"agencies[dk.pet].staff", []string{"2", "1"}}}, Runs: 3, Seed: 7}
}

// A sweep's table is what a user reads: it has a golden file, and every
// row's runs share their seeds (common random numbers), so a row that sets
// a value to what the file says repeats the plain variant run for run.
func TestSweep(t *testing.T) {
	res, err := Compare(context.Background(), sweep(t))
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/sweep-table.golden", table.Bytes())

	plain, err := Compare(context.Background(), Config{Scenario: research(t), Variants: []string{"", "mesh"}, Runs: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i, run := range plain.All {
		v := i / 3
		swept := res.All[2*v*3+i%3] // the row with staff=2 of the same variant
		if swept.Seed != run.Seed || !reflect.DeepEqual(swept.Items, run.Items) || !reflect.DeepEqual(swept.Summary, run.Summary) {
			t.Errorf("%s seed %d: the row with the file's own value differs from the plain variant", res.Names[swept.Row], run.Seed)
		}
	}
	var csv bytes.Buffer
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 1+4*3*2 || !strings.HasPrefix(lines[0], "scenario,variant,agencies[dk.pet].staff,seed,item,") ||
		!strings.HasPrefix(lines[len(lines)-1], "ctg-research,mesh,1,9,I-2,") {
		t.Errorf("CSV: %d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
	var page bytes.Buffer
	if err := res.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mesh · staff=1", "Who wins", "Open intervals", "every combination of variants (base), mesh; agencies[dk.pet].staff = 2 | 1"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// Replications handed to workers over NATS give the local comparison's
// results, byte for byte, even when a peer takes a request and vanishes
// after a malformed answer: the request goes out again (and is counted),
// the answer is ignored (and counted).
func TestWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a worker timeout")
	}
	cfg := Config{Scenario: research(t), Variants: []string{""}, Sweeps: []Sweep{{"agencies[dk.pet].staff", []string{"2", "1"}}}, Runs: 2, Seed: 3}
	local, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	connect := testServer(t, "test-workers")
	// The vanishing peer answers pings as a worker, takes the first
	// request, answers with a result that does not fit the scenario, and
	// is gone.
	peer := connect("vanishing")
	took := make(chan struct{})
	var jobs, pings *nats.Subscription
	pings, _ = peer.Subscribe(PingSubject, func(m *nats.Msg) {
		data, _ := json.Marshal(pingReply{Protocol: protocol, Worker: "vanishing", Slots: 1})
		peer.Publish(m.Reply, data)
	})
	jobs, _ = peer.QueueSubscribe(JobsSubject, QueueGroup, func(m *nats.Msg) {
		var req request
		json.Unmarshal(m.Data, &req)
		for _, r := range []reply{{Kind: replyStarted, Job: req.Job, Worker: "vanishing"},
			{Kind: replyResult, Job: req.Job, Worker: "vanishing", Run: &wireRun{Summary: local.All[0].Summary}}} {
			data, _ := json.Marshal(r)
			peer.Publish(m.Reply, data)
		}
		jobs.Unsubscribe()
		pings.Unsubscribe()
		close(took)
	})
	peer.Flush()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 2)
	go func() {
		<-took
		for _, name := range []string{"w1", "w2"} {
			w := &Worker{Conn: connect(name), Name: name, Slots: 1}
			go func() { served <- w.Serve(ctx) }()
		}
	}()
	var notes []string
	cfg.Workers = &Workers{Conn: connect("comparison"), File: "scenarios/ctg-research.yaml", Data: researchSource(t),
		Timeout: 2 * time.Second, Notify: func(s string) { notes = append(notes, s) }}
	remote, err := Compare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Retried < 1 || remote.Rejected < 1 {
		t.Errorf("%d retried, %d rejected; want at least one of each:\n%s", remote.Retried, remote.Rejected, strings.Join(notes, "\n"))
	}
	var a, b bytes.Buffer
	local.WriteCSV(&a)
	remote.WriteCSV(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
		t.Errorf("the comparison over workers differs from the local one:\n%s\n---\n%s", a.String(), b.String())
	}
	cancel()
	for range 2 {
		if err := <-served; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
}

// A worker that is stopped hands its replication back at once ("gone"),
// without waiting for the comparison's timeout, and another finishes it.
func TestWorkerStops(t *testing.T) {
	if testing.Short() {
		t.Skip("runs long replications")
	}
	connect := testServer(t, "test-stop")
	firstCtx, stopFirst := context.WithCancel(context.Background())
	started := make(chan struct{}, 16)
	first := &Worker{Conn: connect("first"), Name: "first", Slots: 1, Log: func(s string) {
		if !strings.HasSuffix(s, "done") {
			started <- struct{}{}
		}
	}}
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Serve(firstCtx) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		stopFirst()
		second := &Worker{Conn: connect("second"), Name: "second", Slots: 1}
		second.Serve(ctx)
	}()
	// Long replications (30 simulated days), and a timeout the test would
	// notice: only "gone" brings the replication back in time.
	cfg := Config{Scenario: research(t), Variants: []string{""}, Sweeps: []Sweep{{"duration", []string{"30d"}}}, Runs: 2, Seed: 3,
		Workers: &Workers{Conn: connect("comparison"), File: "scenarios/ctg-research.yaml", Data: researchSource(t), Timeout: time.Hour}}
	begin := time.Now()
	res, err := Compare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-firstDone; err != nil {
		t.Errorf("the stopped worker: %v", err)
	}
	if res.Retried != 1 || time.Since(begin) > 5*time.Minute {
		t.Errorf("%d sent again after %v; want 1, at once", res.Retried, time.Since(begin))
	}
}

func researchSource(t testing.TB) []byte {
	_, data, err := scenarios.ReadSource("ctg-research")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func benchRuns(b *testing.B, p int) {
	sc := research(b)
	b.ResetTimer()
	if _, err := Compare(context.Background(), Config{Scenario: sc, Variants: []string{""}, Runs: b.N, Parallel: p, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkRuns measures replications per second of ctg-research (base).
func BenchmarkRuns(b *testing.B) {
	b.Run("P=1", func(b *testing.B) { benchRuns(b, 1) })
	b.Run("P=2", func(b *testing.B) { benchRuns(b, 2) })
}

// testServer starts an embedded server for the test and returns how to
// connect to it; connections close when the test ends, before the server.
func testServer(t *testing.T, name string) func(client string) *nats.Conn {
	srv, err := broker.StartServer(broker.ServerOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return func(client string) *nats.Conn {
		c, err := broker.Connect("", srv, client)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c.Conn
	}
}
