package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"liaison/events"
	"liaison/metrics"
	"liaison/metrics/promtest"
)

func TestMetricsListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":9464":          "127.0.0.1:9464",
		"0.0.0.0:9464":   "0.0.0.0:9464",
		"localhost:9464": "localhost:9464",
		"[::1]:9464":     "[::1]:9464",
		":0":             "127.0.0.1:0",
	} {
		got, err := metricsListenAddr(in)
		if err != nil || got != want {
			t.Errorf("metricsListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := metricsListenAddr("9464"); err == nil {
		t.Error("metricsListenAddr(\"9464\"): no error for an address without a colon")
	}
}

func TestMetricsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--hold", "ctg-threat-warning"},
		{"run", "--openmetrics", "x.om", "--openmetrics-interval", "0s", "ctg-threat-warning"},
		{"run", "--metrics-addr", "9464", "ctg-threat-warning"},
	} {
		code, _, stderr := cli(t, args...)
		if code != exitInvalid || stderr == "" {
			t.Errorf("liaison %s: exit %d, stderr %q; want exit 2 and a message", strings.Join(args, " "), code, stderr)
		}
	}
	// Two years sampled every minute would be gigabytes: refused before
	// the run, with an interval that fits.
	dir := t.TempDir()
	sc, err := os.ReadFile("../../scenarios/ctg-threat-warning.yaml")
	if err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "long.yaml")
	os.WriteFile(long, bytes.Replace(sc, []byte("\nduration: 72h\n"), []byte("\nduration: 20000h\n"), 1), 0o644)
	code, _, stderr := cli(t, "run", "--openmetrics", filepath.Join(dir, "x.om"), long)
	if code != exitInvalid || !strings.Contains(stderr, "more than 600000 samples") || !strings.Contains(stderr, "such as 3m0s") {
		t.Errorf("two years at one-minute samples: exit %d, %q; want exit 2 and a longer interval", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files, want only the scenario", len(entries))
	}
}

// syncBuffer is a bytes.Buffer safe to read while the program writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// held starts `liaison run --metrics-addr 127.0.0.1:0 --hold --json ARGS`
// in process and waits until the run is over and still serving. stop ends
// the hold and returns the exit code and the summary.
func held(t *testing.T, args ...string) (url string, stop func() (int, *events.Summary)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	m := &Main{Stdout: &out, Stderr: &errb}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, append([]string{"run", "--metrics-addr", "127.0.0.1:0", "--hold", "--json"}, args...))
	}()
	holding := regexp.MustCompile(`still serving final metrics at (http://\S+/metrics)`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := holding.FindStringSubmatch(errb.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("liaison run exited (%d) before holding; stderr:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("liaison run not holding after 60s; stderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	stop = func() (int, *events.Summary) {
		if stopped {
			return -1, nil
		}
		stopped = true
		cancel()
		code := <-done
		var s events.Summary
		if err := json.Unmarshal([]byte(out.String()), &s); err != nil {
			t.Fatalf("summary: %v\n%s", err, out.String())
		}
		return code, &s
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

func scrape(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, resp.Status)
	}
	return body
}

// TestMetricsHold: --hold keeps /metrics up after the run, on the loopback
// interface; the last scrape agrees with the summary, and promtool check
// metrics has nothing to say about it.
func TestMetricsHold(t *testing.T) {
	url, stop := held(t, "ctg-threat-warning")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("serving at %s, want the loopback interface", url)
	}
	body := scrape(t, url)
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	total := func(name string) float64 {
		var v float64
		for _, m := range fams[name].GetMetric() {
			v += m.GetCounter().GetValue()
		}
		return v
	}
	code, sum := stop()
	if code != exitOK {
		t.Fatalf("exit %d after the hold", code)
	}
	for name, want := range map[string]int64{
		metrics.MessagesSent: sum.Messages.Sent, metrics.MessagesDelivered: sum.Messages.Delivered,
		metrics.MessagesDropped: sum.Messages.Dropped,
	} {
		if got := total(name); got != float64(want) {
			t.Errorf("%s = %v on the last scrape, summary says %d", name, got, want)
		}
	}
	if got := fams[metrics.SimTime].GetMetric()[0].GetGauge().GetValue(); got != sum.EndSeconds {
		t.Errorf("%s = %v on the last scrape, want the end %v", metrics.SimTime, got, sum.EndSeconds)
	}

	promtool := promtest.Tool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestOpenMetricsFile: --openmetrics writes the file, dated in the recent
// past (the scenario's March dates are older than Prometheus keeps) with a
// note on stderr; a file that cannot be written fails the run and leaves
// nothing behind.
func TestOpenMetricsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.om")
	code, _, stderr := cli(t, "run", "--quiet", "--openmetrics", path, "--openmetrics-interval", "30m", "ctg-threat-warning")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "samples are dated") {
		t.Errorf("no note on stderr about moving the calendar: %q", stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("\n# EOF\n")) || !bytes.Contains(b, []byte("# TYPE liaison_inject_reach gauge")) {
		t.Errorf("%s: not an OpenMetrics file of the run:\n%.300s", path, b)
	}
	om, err := promtest.ReadOpenMetrics(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// 72 simulated hours every 30 minutes: 145 samples, each a new
	// simulated time, repeated in between within Prometheus's lookback.
	st := om.Series[metrics.SimTime]
	values := map[float64]bool{}
	for i, smp := range st {
		values[smp.V] = true
		if i > 0 && smp.T-st[i-1].T > metrics.Repeat.Milliseconds() {
			t.Errorf("%s: %v between two samples, more than %v", metrics.SimTime, time.Duration(smp.T-st[i-1].T)*time.Millisecond, metrics.Repeat)
		}
	}
	if len(values) != 145 {
		t.Errorf("%d values of %s, want 145", len(values), metrics.SimTime)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in %s, want only run.om (no temporary files left)", len(entries), dir)
	}

	bad := filepath.Join(dir, "missing", "run.om")
	code, _, stderr = cli(t, "run", "--quiet", "--openmetrics", bad, "ctg-threat-warning")
	if code != exitInvalid || !strings.Contains(stderr, "no directory") {
		t.Errorf("--openmetrics in no directory: exit %d, stderr %q; want exit 2 before the run, and why", code, stderr)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("%s exists after a failed run", bad)
	}
}
