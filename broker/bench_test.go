package broker_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"liaison/agents"
	"liaison/broker"
	"liaison/internal/benchtest"
	"liaison/scenarios"
	"liaison/sim"
)

// BenchmarkWindows runs a scenario whose lookahead is one millisecond, so
// that nearly every event has a window of its own, with the time service
// in process and its one node through the remote protocol (agents.Node.Run
// over the embedded server), for one and for four simulated days. The
// service's and the recorder's memory must not grow with the number of
// windows: peak-heap-MB stays flat while windows/run grows fourfold.
//
//	go test ./broker -run '^$' -bench Windows -benchtime 1x
func BenchmarkWindows(b *testing.B) {
	for _, days := range []int{1, 4} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			load := sim.Load{Agencies: 8, PerDay: 2000, Days: days, Floor: "1ms", LatencyMedian: "2m", Staff: 4, Handling: "3m"}
			sc, err := scenarios.Parse("windows.yaml", []byte(load.Scenario()))
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				windows, peak, took := distributedRun(b, sc)
				b.ReportMetric(float64(windows), "windows/run")
				b.ReportMetric(float64(windows)/took.Seconds(), "windows/s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			}
		})
	}
}

// distributedRun runs sc with one node in this process that joins the time
// service over NATS, and returns how many windows were granted, the peak
// heap in use and the wall time.
func distributedRun(b *testing.B, sc *scenarios.Scenario) (int64, uint64, time.Duration) {
	srv, err := broker.StartServer(broker.ServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	const runID = "windows"
	subj := broker.NewSubjects(runID)
	model, err := agents.Compile(sc, 1, subj)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := broker.Connect("", srv, "node")
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// Windows are counted as the nodes see them: grants on the wire.
	watch, err := broker.Connect("", srv, "watch")
	if err != nil {
		b.Fatal(err)
	}
	defer watch.Close()
	var windows atomic.Int64
	sub, err := watch.Subscribe(subj.Grant(), func(m *nats.Msg) {
		if len(m.Data) > 0 && m.Data[0] == 'G' {
			windows.Add(1)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	watch.Flush()
	hosted := make([]int32, len(sc.Agencies))
	for i := range hosted {
		hosted[i] = int32(i)
	}
	node := agents.NewNode(model, conn, subj, "n1", hosted)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var nodeErr error
	wg.Go(func() { nodeErr = node.Run(ctx) })
	runtime.GC()
	stop := make(chan struct{})
	peak := benchtest.PeakHeap(stop)
	start := time.Now()
	_, err = sim.Run(ctx, sim.Config{Scenario: sc, Seed: 1, Server: srv, ExternalNodes: 1, RunID: runID})
	took := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	if nodeErr != nil {
		b.Fatal(nodeErr)
	}
	// Every grant handed to the counter before it is read.
	if err := sub.Drain(); err != nil {
		b.Fatal(err)
	}
	for sub.IsValid() {
		time.Sleep(time.Millisecond)
	}
	return windows.Load(), peak(), took
}
