package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"liaison"
	"liaison/dashboards"
	"liaison/events"
	"liaison/metrics"
	"liaison/metrics/promtest"
	"liaison/sim"
)

// TestSampleTimes: a sample at time b holds every event at or before b and
// none after; simulated time reads b; the last sample is at the end.
func TestSampleTimes(t *testing.T) {
	names := &events.Names{Agencies: []liaison.AgencyID{"a", "b"}, Channels: []liaison.ChannelID{"x"},
		Types: []liaison.MessageType{"m"}, Reasons: events.Reasons}
	info := &events.RunInfo{Scenario: "s", Start: "2026-03-06T16:00:00+01:00"}
	c := metrics.New()
	s := c.Sample(time.Minute)
	c.Start(sim.Started{Info: info, Names: names})
	send := func(at liaison.Time) {
		c.Observe(&events.Event{T: at, Kind: events.Send, Agency: 0, MsgFrom: 0, Channel: 0, Type: 0,
			Item: -1, Peer: 1, Reason: -1, CauseFrom: -1}, names)
	}
	send(0)
	send(liaison.Minute)       // at a sample time: counts in that sample
	send(liaison.Minute + 1)   // just after: counts from the next one on
	send(4*liaison.Minute + 5) // passes samples at 2, 3 and 4 minutes
	if err := s.Finish(4*liaison.Minute + 30*liaison.Second); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	start := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	if err := s.WriteOpenMetrics(&b, start); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	base := start.Unix()
	for _, want := range []string{
		fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 1 %d`+"\n", base),
		fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 2 %d`+"\n", base+60),
		fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 3 %d`+"\n", base+240),
		fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 3 %d`+"\n", base+120),
		fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 4 %d`+"\n", base+270),
		fmt.Sprintf(`liaison_sim_time_seconds 180 %d`+"\n", base+180),
		fmt.Sprintf(`liaison_sim_time_seconds 270 %d`+"\n", base+270),
		"# TYPE liaison_messages_sent counter\n",
		"# TYPE liaison_queue_wait_seconds histogram\n",
		`liaison_queue_wait_seconds_bucket{agency="a",le="+Inf"} 0 `,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if n := s.Samples(); n != 6 {
		t.Errorf("%d samples, want 6 (0 to 4 minutes, and the end)", n)
	}
	if !strings.HasSuffix(out, "\n# EOF\n") {
		t.Error("does not end with # EOF")
	}
	if strings.Count(out, "# TYPE liaison_messages_sent ") != 1 {
		t.Error("a family's metadata appears more than once")
	}
	// 3 from 2 to 4 minutes: written at the first and the last sample of
	// the stretch, not in between.
	if bad := fmt.Sprintf(`liaison_messages_sent_total{channel="x",type="m"} 3 %d`, base+180); strings.Contains(out, bad) {
		t.Errorf("an unchanged value written in the middle of its stretch: %q", bad)
	}
	if _, err := promtest.ReadOpenMetrics(strings.NewReader(out)); err != nil {
		t.Errorf("not valid OpenMetrics: %v", err)
	}
}

// writeOM writes a Sampler's file and reads it back, checked, as it is
// written; it returns the file and its size.
func writeOM(t *testing.T, s *metrics.Sampler, start time.Time) (*promtest.OMFile, int64) {
	t.Helper()
	pr, pw := io.Pipe()
	cw := &counter{w: pw}
	go func() { pw.CloseWithError(s.WriteOpenMetrics(cw, start)) }()
	f, err := promtest.ReadOpenMetrics(pr)
	pr.Close()
	if err != nil {
		t.Fatalf("not valid OpenMetrics: %v", err)
	}
	return f, cw.n
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TestWrittenByChange: a series is written when its value changes and
// repeated within Prometheus's lookback, so that at every time of the run,
// on the sample grid or between, a query of the latest value finds in the
// file what it finds with every sample written (sis-hit-oresund: two days,
// 500 messages): the same value, seen
// through a lookback window closed at its start (Prometheus 2) or open
// (Prometheus 3), and nothing from Lookback after the end. A series that
// never changes takes one sample per Repeat.
func TestWrittenByChange(t *testing.T) {
	lookback, repeat := metrics.Lookback.Milliseconds(), metrics.Repeat.Milliseconds()
	for _, interval := range []time.Duration{2 * time.Minute, 7 * time.Minute} {
		t.Run(interval.String(), func(t *testing.T) {
			_, s, sum := run(t, "sis-hit-oresund", interval)
			end := liaison.Time(sum.EndSeconds * 1000)
			if err := s.Finish(end); err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
			sparse, size := writeOM(t, s, start)
			dense, denseSize := writeOM(t, s.Dense(), start)
			t.Logf("%d bytes written by change, %d with every sample", size, denseSize)
			if len(sparse.Series) != len(dense.Series) {
				t.Fatalf("%d series written by change, %d with every sample", len(sparse.Series), len(dense.Series))
			}
			stop := start.Add(end.Duration()).UnixMilli()
			for key, ds := range dense.Series {
				ss := sparse.Series[key]
				if len(ss) == 0 || ss[0] != ds[0] || ss[len(ss)-1] != ds[len(ds)-1] || ds[len(ds)-1].T != stop {
					t.Fatalf("%s: first or last sample differs, or is not at the end", key)
				}
				for i := 1; i < len(ss); i++ {
					if ss[i].T-ss[i-1].T > repeat {
						t.Fatalf("%s: %v without a sample from %d", key, time.Duration(ss[i].T-ss[i-1].T)*time.Millisecond, ss[i-1].T)
					}
				}
				const probe = 37 * 1000 // off the sample grid
				// the latest dense and sparse samples at or before at
				di, si := 0, 0
				for at := ds[0].T; at < stop+lookback+probe; at += probe {
					for di+1 < len(ds) && ds[di+1].T <= at {
						di++
					}
					for si+1 < len(ss) && ss[si+1].T <= at {
						si++
					}
					got, want := ss[si], ds[di]
					seen := got.T > at-lookback // Prometheus 3; Prometheus 2 also at at-lookback
					switch {
					case at >= stop+lookback:
						if seen {
							t.Fatalf("%s: seen at %d, after the end and the lookback", key, at)
						}
					case !seen || got.V != want.V && !(math.IsNaN(got.V) && math.IsNaN(want.V)):
						t.Fatalf("%s at %d: %+v (seen: %v), want %v", key, at, got, seen, want.V)
					}
				}
			}
			info := sparse.Series[`liaison_run_info{scenario="sis-hit-oresund",seed="2",variant=""}`]
			if want := int((end.Duration().Milliseconds()+repeat-1)/repeat) + 1; len(info) != want {
				t.Errorf("run info: %d samples, want %d (the first, one per Repeat, the end)", len(info), want)
			}
		})
	}
}

func TestCalendar(t *testing.T) {
	now := time.Date(2026, 11, 23, 20, 5, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name  string
		start time.Time
		dur   liaison.Time
		shift bool
	}{
		{"recent", now.Add(-5 * day), 3 * liaison.Day, false},
		{"old", time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC), 3 * liaison.Day, true},
		{"future", now.Add(2 * day), liaison.Day, true},
		{"running past now", now.Add(-time.Hour), 3 * liaison.Hour, true},
		{"long and old", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), 30 * liaison.Day, true},
	} {
		placed, shift := metrics.Calendar(tc.start, tc.dur, now)
		if (shift != 0) != tc.shift {
			t.Errorf("%s: shift %v, want a shift: %v", tc.name, shift, tc.shift)
		}
		if !placed.Equal(tc.start.Add(shift)) || shift%(7*day) != 0 {
			t.Errorf("%s: placed %v with shift %v: not whole weeks", tc.name, placed, shift)
		}
		end := placed.Add(tc.dur.Duration())
		if tc.shift && (end.After(now) || end.Before(now.Add(-7*day))) {
			t.Errorf("%s: placed to end at %v, want within the week before %v", tc.name, end, now)
		}
	}
}

// backfill writes a Sampler's file, loads it into a Prometheus TSDB with
// promtool (in blocks of a day, as the README suggests) and serves that
// storage with a real prometheus.
func backfill(t *testing.T, s *metrics.Sampler, placed time.Time, name string) *promtest.Server {
	t.Helper()
	promtool := promtest.Tool(t, "promtool")
	dir := t.TempDir()
	om := filepath.Join(dir, name+".om")
	f, err := os.Create(om)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteOpenMetrics(f, placed); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", om, data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	return promtest.Start(t, data, "global: {scrape_interval: 1m}\nscrape_configs: []\n",
		"--storage.tsdb.retention.time=3650d")
}

// TestBackfill writes a run as OpenMetrics twice, by change and with every
// sample, loads both into Prometheus with promtool and serves each with a
// real prometheus. Each inject's reach curve climbs to the audience size;
// every series is there at every step of the run; and every panel of
// every dashboard draws the same from both, off the sample grid, except
// rates (rate() over a stretch without change has fewer samples to
// extrapolate from).
func TestBackfill(t *testing.T) {
	promtest.Tool(t, "promtool")
	promtest.Tool(t, "prometheus")
	c, s, sum := run(t, "ctg-threat-warning", 2*time.Minute)
	end := liaison.Time(sum.EndSeconds * 1000)
	if err := s.Finish(end); err != nil {
		t.Fatal(err)
	}
	scStart := time.Date(2026, 3, 6, 16, 0, 0, 0, time.FixedZone("CET", 3600))
	placed, _ := metrics.Calendar(scStart, end, time.Now())
	srv := backfill(t, s, placed, "changes")
	ref := backfill(t, s.Dense(), placed, "every")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := placed.Add(end.Duration())
	for _, it := range sum.Items {
		q := fmt.Sprintf(`%s{inject=%q}`, metrics.InjectReach, it.ID)
		res, err := srv.QueryRange(ctx, q, placed, stop, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || len(res[0].Values) < 10 {
			t.Fatalf("%s: %d series (want 1) or too few points: %+v", q, len(res), res)
		}
		pts := res[0].Values
		if pts[0].V != 0 {
			t.Errorf("%s: reach %v at the start, want 0", q, pts[0].V)
		}
		for i := 1; i < len(pts); i++ {
			if pts[i].V < pts[i-1].V {
				t.Errorf("%s: reach falls from %v to %v at %v", q, pts[i-1].V, pts[i].V, pts[i].T)
			}
		}
		if last := pts[len(pts)-1].V; last != float64(len(it.Audience)) {
			t.Errorf("%s: reach ends at %v, want the audience size %d", q, last, len(it.Audience))
		}
		if it.TimeToReachSeconds != nil {
			// The curve reaches the audience within one sample of the
			// time the summary gives.
			injected := sumOf(families(t, c)[metrics.InjectAt], map[string]string{"inject": string(it.ID)})
			at := placed.Add(time.Duration((injected+*it.TimeToReachSeconds)*float64(time.Second)) + 2*time.Minute)
			v, err := srv.Query(ctx, q, at)
			if err != nil || len(v) != 1 || v[0].Values[0].V != float64(len(it.Audience)) {
				t.Errorf("%s at %v (reached after %vs): %+v %v", q, at, *it.TimeToReachSeconds, v, err)
			}
		}
	}

	// From 17 s into the run (off the sample grid) every 3m13s to the end
	// and past it: Grafana asks at such steps.
	from, step, to := placed.Add(17*time.Second), 3*time.Minute+13*time.Second, stop.Add(10*time.Minute)
	all := `count({__name__=~"liaison_.+"})`
	want, err := ref.QueryRange(ctx, all, from, stop, step)
	if err != nil {
		t.Fatal(err)
	}
	got, err := srv.QueryRange(ctx, all, from, stop, step)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 1 || len(got) != 1 || !slices.Equal(got[0].Values, want[0].Values) {
		t.Errorf("%s differs from every sample: %v, want %v", all, got, want)
	}
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	compared, rates := 0, 0
	for _, d := range ds {
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				q := grafanaQuery(tg.Expr, d, step)
				want, err1 := ref.QueryRange(ctx, q, from, to, step)
				got, err2 := srv.QueryRange(ctx, q, from, to, step)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v %v", q, err1, err2)
				}
				if strings.Contains(q, "rate(") {
					rates++
					continue
				}
				compared++
				if diff := diffSeries(got, want); diff != "" {
					t.Errorf("%s: panel %q, query %s: %s", d.File, p.Title, q, diff)
				}
			}
		}
	}
	t.Logf("%d panel queries draw the same, %d rate queries not compared", compared, rates)
	if compared < 20 {
		t.Errorf("only %d panel queries compared", compared)
	}
}

// grafanaQuery replaces Grafana's variables as Grafana would for a graph
// of the whole run: every template variable by its "All" value, the
// intervals by the step and the step plus the data source's 5 s.
func grafanaQuery(expr string, d dashboards.Dashboard, step time.Duration) string {
	for _, v := range d.Templating.List {
		if v.AllValue != "" {
			expr = strings.ReplaceAll(expr, "${"+v.Name+"}", v.AllValue)
			expr = strings.ReplaceAll(expr, "$"+v.Name, v.AllValue)
		}
	}
	return strings.NewReplacer("$__rate_interval", fmt.Sprintf("%ds", int((step+5*time.Second).Seconds())),
		"$__interval", fmt.Sprintf("%ds", int(step.Seconds()))).Replace(expr)
}

// diffSeries says how two query results differ, or "".
func diffSeries(got, want []promtest.Sample) string {
	key := func(m map[string]string) string {
		var kv []string
		for k, v := range m {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		return strings.Join(kv, ",")
	}
	byKey := map[string][]promtest.Point{}
	for _, g := range got {
		byKey[key(g.Metric)] = g.Values
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for _, w := range want {
		g, ok := byKey[key(w.Metric)]
		if !ok {
			return fmt.Sprintf("no series %v", w.Metric)
		}
		if len(g) != len(w.Values) {
			return fmt.Sprintf("%v: %d points, want %d", w.Metric, len(g), len(w.Values))
		}
		for i := range g {
			if !g[i].T.Equal(w.Values[i].T) || g[i].V != w.Values[i].V && !(math.IsNaN(g[i].V) && math.IsNaN(w.Values[i].V)) {
				return fmt.Sprintf("%v at %v: %v, want %v", w.Metric, w.Values[i].T, g[i], w.Values[i])
			}
		}
	}
	return ""
}

// BenchmarkOpenMetrics writes the OpenMetrics file of ctg-research (eight
// days, 33 agencies) at the default interval and reports its size; with
// promtool installed, it then loads the file once as the README says and
// reports promtool's wall and processor time and peak memory, with the default 2-hour
// blocks and with blocks of a day:
//
//	go test ./metrics -run '^$' -bench OpenMetrics -benchtime 1x
func BenchmarkOpenMetrics(b *testing.B) {
	_, s, sum := run(b, "ctg-research", time.Minute)
	end := liaison.Time(sum.EndSeconds * 1000)
	if err := s.Finish(end); err != nil {
		b.Fatal(err)
	}
	placed, _ := metrics.Calendar(time.Date(2026, 3, 2, 0, 0, 0, 0, time.FixedZone("CET", 3600)), end, time.Now())
	om := filepath.Join(b.TempDir(), "ctg-research.om")
	var size int64
	for b.Loop() {
		f, err := os.Create(om)
		if err != nil {
			b.Fatal(err)
		}
		cw := &counter{w: f}
		if err := s.WriteOpenMetrics(cw, placed); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		b.Logf("promtool not installed: no backfill figures")
		return
	}
	for _, blocks := range []string{"2h", "24h"} {
		data := filepath.Join(b.TempDir(), "data")
		cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration="+blocks, om, data)
		began := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("promtool: %v\n%s", err, out)
		}
		ps := cmd.ProcessState
		b.ReportMetric(time.Since(began).Seconds(), "s/backfill-"+blocks)
		b.ReportMetric((ps.UserTime() + ps.SystemTime()).Seconds(), "cpu-s/backfill-"+blocks)
		if kb, ok := maxRSS(ps); ok {
			b.ReportMetric(float64(kb)/1024, "MB-RSS/backfill-"+blocks)
		}
	}
}
