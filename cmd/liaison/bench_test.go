package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"liaison/sim"
)

// Benchmarks of the whole program, each run as its own process: what a
// user waits for and what the machine holds, start-up and exit included.
// They are not tests (no timing is asserted); the README keeps their
// figures.

// runProcess runs the program and returns its wall time and maximum
// resident set size.
func runProcess(b *testing.B, bin string, args ...string) (time.Duration, int64, []byte) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.Bytes())
	}
	wall := time.Since(start)
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	return wall, rss, stderr.Bytes()
}

// BenchmarkProcess runs `liaison run siena-drug-case` (about 5,000
// messages over two weeks) as a process, start to exit, and in the same
// benchmark `liaison --version`, the cost of starting the program at all.
//
//	go test ./cmd/liaison -run '^$' -bench Process -benchtime 20x
func BenchmarkProcess(b *testing.B) {
	bin := buildBinary(b)
	var run, start time.Duration
	for i := 0; i < b.N; i++ {
		w, _, _ := runProcess(b, bin, "run", "--quiet", "siena-drug-case")
		run += w
		w, _, _ = runProcess(b, bin, "--version")
		start += w
	}
	b.ReportMetric(run.Seconds()/float64(b.N)*1000, "ms/run")
	b.ReportMetric(start.Seconds()/float64(b.N)*1000, "ms/start")
}

// BenchmarkScale runs the routine load (one mesh, 144 messages a day per
// agency, queues half busy) for a week with 1,000 to 10,000 agencies, about
// a thousand messages per agency (10 million at 10,000), each as a process,
// and reports its wall time, maximum resident set size and delivered
// messages per second: memory and time should grow in proportion.
//
//	go test ./cmd/liaison -run '^$' -bench Scale -benchtime 1x -timeout 30m
func BenchmarkScale(b *testing.B) {
	bin := buildBinary(b)
	for _, n := range []int{1000, 2000, 4000, 10000} {
		b.Run(fmt.Sprintf("agencies=%d", n), func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "load.yaml")
			l := sim.Load{Agencies: n, PerDay: 144, Days: 7, Floor: "30s", LatencyMedian: "5m", Staff: 1, Handling: "5m"}
			if err := os.WriteFile(file, []byte(l.Scenario()), 0o644); err != nil {
				b.Fatal(err)
			}
			var wall time.Duration
			var rss int64
			for i := 0; i < b.N; i++ {
				w, r, _ := runProcess(b, bin, "run", "--quiet", file)
				wall += w
				rss = max(rss, r)
			}
			msgs := float64(n) * 144 * 7
			b.ReportMetric(wall.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(float64(rss)/(1<<20), "max-rss-MiB")
			b.ReportMetric(msgs*float64(b.N)/wall.Seconds(), "msgs/s")
			b.ReportMetric(float64(rss)/float64(n)/1024, "KiB/agency")
		})
	}
}

var pacedSpeed = flag.Float64("paced-speed", 3600, "BenchmarkPacedLag: simulated seconds per wall second")

// BenchmarkPacedLag runs siena-drug-case paced (3,600 simulated seconds
// per wall second by default: two weeks in about 5.6 minutes) and reports
// the worst lag of simulated time behind the scaled wall clock over the
// whole run, absolute and as a share of the elapsed wall time.
//
//	go test ./cmd/liaison -run '^$' -bench PacedLag -benchtime 1x -timeout 20m [-paced-speed 36000]
func BenchmarkPacedLag(b *testing.B) {
	bin := buildBinary(b)
	worst := regexp.MustCompile(`at worst it was ([0-9.]+[µmn]?s) behind \(([0-9.]+)% of`)
	var lag time.Duration
	var share float64
	for i := 0; i < b.N; i++ {
		_, _, stderr := runProcess(b, bin, "run", "--speed", strconv.FormatFloat(*pacedSpeed, 'g', -1, 64), "siena-drug-case")
		m := worst.FindSubmatch(stderr)
		if m == nil {
			b.Fatalf("no lag in the run's report:\n%s", stderr)
		}
		d, err := time.ParseDuration(string(m[1]))
		if err != nil {
			b.Fatal(err)
		}
		pct, _ := strconv.ParseFloat(string(m[2]), 64)
		lag, share = max(lag, d), max(share, pct)
	}
	b.ReportMetric(lag.Seconds()*1000, "worst-lag-ms")
	b.ReportMetric(share, "lag-%-of-wall")
}
