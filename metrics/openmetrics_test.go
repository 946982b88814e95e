package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liaison"
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

// TestBackfill writes a run as OpenMetrics, loads it into a Prometheus
// TSDB with promtool, serves that storage with a real prometheus and reads
// each inject's reach curve back: it climbs to the audience size.
func TestBackfill(t *testing.T) {
	promtool := promtest.Tool(t, "promtool")
	promtest.Tool(t, "prometheus")
	c, s, sum := run(t, "ctg-threat-warning", 10*time.Minute)
	end := liaison.Time(sum.EndSeconds * 1000)
	if err := s.Finish(end); err != nil {
		t.Fatal(err)
	}
	scStart := time.Date(2026, 3, 6, 16, 0, 0, 0, time.FixedZone("CET", 3600))
	placed, _ := metrics.Calendar(scStart, end, time.Now())
	dir := t.TempDir()
	om := filepath.Join(dir, "run.om")
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
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
	srv := promtest.Start(t, data, "global: {scrape_interval: 1m}\nscrape_configs: []\n",
		"--storage.tsdb.retention.time=3650d")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
			at := placed.Add(time.Duration((injected+*it.TimeToReachSeconds)*float64(time.Second)) + 10*time.Minute)
			v, err := srv.Query(ctx, q, at)
			if err != nil || len(v) != 1 || v[0].Values[0].V != float64(len(it.Audience)) {
				t.Errorf("%s at %v (reached after %vs): %+v %v", q, at, *it.TimeToReachSeconds, v, err)
			}
		}
	}
}
