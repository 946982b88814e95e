package sim_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/broker"
	"liaison/internal/benchtest"
	"liaison/scenarios"
	"liaison/sim"
)

// rawRuns is how many times the engine benchmarks measure raw NATS (the
// best counts); zero leaves it out, for a CPU profile of the engine alone:
//
//	go test ./sim -run '^$' -bench Engine/floor=30s/traffic=light -benchtime 1x -raw 0 -cpuprofile cpu.prof
var rawRuns = flag.Int("raw", 3, "raw NATS measurements per engine benchmark (0: none)")

func generated(n, perDay, days int) string { return sim.LoadScenario(n, perDay, days) }

// rawRate measures plain NATS publish-to-subscribe through an embedded server
// like the one runs use: one connection publishes count messages of size
// bytes round-robin over the subjects of n agencies, another receives them on
// one subscription per agency. It returns messages per second, from the
// first publish to the last receipt.
func rawRate(b *testing.B, n, count, size int) float64 {
	srv, err := broker.StartServer(broker.ServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	pub, err := broker.Connect("", srv, "raw pub")
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := broker.Connect("", srv, "raw sub")
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	subj := broker.NewSubjects("raw")
	subjects := make([]string, n)
	var got atomic.Int64
	done := make(chan struct{})
	for i := range subjects {
		to, from := liaison.AgencyID(scenariosAgency(i)), liaison.AgencyID(scenariosAgency((i+1)%n))
		subjects[i] = subj.Message("net", to, from)
	}
	// One subscription takes the whole channel, as a node hosting every
	// agency does.
	s, err := sub.Subscribe(subj.ChannelAll("net"), func(*nats.Msg) {
		if got.Add(1) == int64(count) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	s.SetPendingLimits(-1, -1)
	sub.Flush()
	payload := make([]byte, size)
	start := time.Now()
	for i := 0; i < count; i++ {
		if err := pub.Publish(subjects[i%n], payload); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	return float64(count) / time.Since(start).Seconds()
}

func scenariosAgency(i int) string { return fmt.Sprintf("g.a%03d", i) }

// BenchmarkEngine runs generated scenarios of 200 agencies with about a
// million delivered messages each on the embedded server, over a matrix of
// latency floors (the lookahead: 1s, 30s, 5m) and traffic (light: 144
// messages a day per agency, handling 5m; heavy: 1,440 a day, handling
// 30s; one handler each, so queues are about half busy either way), and in
// the same benchmark measures raw NATS publish-to-subscribe through a fresh
// embedded server. It reports delivered messages per second, the raw rate
// (best of three, which makes the ratio conservative), their ratio, and the
// peak heap. floor=30s/traffic=light is sim.Routine. Run it several times
// and compare with benchstat:
//
//	go test ./sim -run '^$' -bench Engine -benchtime 1x -count 5 | tee new.txt
func BenchmarkEngine(b *testing.B) {
	for _, floor := range []string{"1s", "30s", "5m"} {
		for _, tr := range []struct {
			name     string
			perDay   int
			handling string
			days     int
		}{{"light", 144, "5m", 35}, {"heavy", 1440, "30s", 4}} {
			l := sim.Load{Agencies: 200, PerDay: tr.perDay, Days: tr.days, Floor: floor, LatencyMedian: "5m",
				Staff: 1, Handling: tr.handling}
			b.Run(fmt.Sprintf("floor=%s/traffic=%s", floor, tr.name), func(b *testing.B) { benchLoad(b, l, 1) })
		}
	}
}

// BenchmarkSplit runs the routine load with its agencies split over 1, 2
// and 3 nodes in one process: the cost of in-process synchronisation.
//
//	go test ./sim -run '^$' -bench Split -benchtime 1x
func BenchmarkSplit(b *testing.B) {
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) { benchLoad(b, sim.Routine, nodes) })
	}
}

func benchLoad(b *testing.B, l sim.Load, nodes int) {
	sc, err := scenarios.Parse("load.yaml", []byte(l.Scenario()))
	if err != nil {
		b.Fatal(err)
	}
	var delivered int64
	var elapsed time.Duration
	var peak uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		stop := make(chan struct{})
		wait := benchtest.PeakHeap(stop)
		start := time.Now()
		sum, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: uint64(i + 1), Nodes: nodes})
		elapsed += time.Since(start)
		close(stop)
		peak = max(peak, wait())
		if err != nil {
			b.Fatal(err)
		}
		delivered += sum.Messages.Delivered
	}
	rate := float64(delivered) / elapsed.Seconds()
	b.ReportMetric(rate, "delivered/s")
	if *rawRuns > 0 {
		var raw float64
		for range *rawRuns {
			raw = max(raw, rawRate(b, l.Agencies, 1_000_000, 40))
		}
		b.ReportMetric(raw, "raw-nats/s")
		b.ReportMetric(rate/raw, "ratio")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(delivered)/float64(b.N), "delivered/run")
}
