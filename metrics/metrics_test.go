package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"liaison"
	"liaison/events"
	"liaison/metrics"
	"liaison/scenarios"
	"liaison/sim"
)

// kinds counts the events of the latest run by kind, independently of the
// Collector.
var kinds map[events.Kind]int

// run runs a built-in scenario with a Collector attached (and a Sampler,
// when interval is positive).
func run(t testing.TB, name string, interval time.Duration) (*metrics.Collector, *metrics.Sampler, *events.Summary) {
	t.Helper()
	sc, err := scenarios.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	c := metrics.New()
	var s *metrics.Sampler
	if interval > 0 {
		s = c.Sample(interval)
	}
	cfg := sim.Config{Scenario: sc, Seed: sc.Seed}
	c.Attach(&cfg)
	kinds = map[events.Kind]int{}
	cfg.Observers = append(cfg.Observers, func(e *events.Event, _ *events.Names) { kinds[e.Kind]++ })
	sum, err := sim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, s, sum
}

func families(t testing.TB, c *metrics.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := c.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// sumOf adds up a family's values over the series whose labels match.
func sumOf(mf *dto.MetricFamily, match map[string]string) float64 {
	var total float64
	for _, m := range mf.GetMetric() {
		ok := true
		for _, lp := range m.GetLabel() {
			if v, has := match[lp.GetName()]; has && v != lp.GetValue() {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			total += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			total += m.GetGauge().GetValue()
		case dto.MetricType_HISTOGRAM:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func TestLint(t *testing.T) {
	c, _, _ := run(t, "ctg-threat-warning", 0)
	problems, err := testutil.GatherAndLint(c.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestSpecs: the registry holds exactly the metrics the table names, with
// the table's types and labels, and every name follows the conventions.
func TestSpecs(t *testing.T) {
	c, _, _ := run(t, "ctg-threat-warning", 0)
	fams := families(t, c)
	for _, s := range metrics.Specs {
		if !strings.HasPrefix(s.Name, "liaison_") {
			t.Errorf("%s: name does not start with liaison_", s.Name)
		}
		if (s.Type == metrics.Counter) != strings.HasSuffix(s.Name, "_total") {
			t.Errorf("%s: counters, and only counters, end in _total", s.Name)
		}
		mf := fams[s.Name]
		if mf == nil {
			t.Errorf("%s: in the table, not in the registry after ctg-threat-warning", s.Name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != string(s.Type) {
			t.Errorf("%s: type %s, table says %s", s.Name, got, s.Type)
		}
		for _, m := range mf.GetMetric() {
			var names []string
			for _, lp := range m.GetLabel() {
				names = append(names, lp.GetName())
				if lp.GetName() == "msg" || strings.Contains(lp.GetValue(), "#") {
					t.Errorf("%s: label %s=%q looks like a message id", s.Name, lp.GetName(), lp.GetValue())
				}
			}
			if strings.Join(names, ",") != strings.Join(sortedCopy(s.Labels), ",") {
				t.Errorf("%s: labels %v, table says %v", s.Name, names, s.Labels)
			}
		}
		delete(fams, s.Name)
	}
	for n := range fams {
		t.Errorf("%s: in the registry, not in the table", n)
	}
}

// TestHelpSaysWhatIsCounted: the help of drops names every reason a run
// can report, and the help of the delivery latency says it is the transit
// alone (the deliver event's latency), as the event log and the summary do.
func TestHelpSaysWhatIsCounted(t *testing.T) {
	c, _, _ := run(t, "ctg-threat-warning", 0)
	fams := families(t, c)
	drops := fams[metrics.MessagesDropped].GetHelp()
	for _, r := range events.Reasons {
		if !strings.Contains(drops, r) {
			t.Errorf("%s help %q does not name reason %s", metrics.MessagesDropped, drops, r)
		}
	}
	lat := fams[metrics.DeliveryLatency].GetHelp()
	for _, want := range []string{"Transit", "fan-out", "outage"} {
		if !strings.Contains(lat, want) {
			t.Errorf("%s help %q does not say %q", metrics.DeliveryLatency, lat, want)
		}
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// TestAgreesWithSummary: the metrics count what the summary counts.
func TestAgreesWithSummary(t *testing.T) {
	for _, name := range []string{"ctg-threat-warning", "siena-drug-case"} {
		t.Run(name, func(t *testing.T) {
			c, _, s := run(t, name, 0)
			f := families(t, c)
			check := func(what string, got, want float64) {
				t.Helper()
				if got != want {
					t.Errorf("%s: metrics say %v, summary %v", what, got, want)
				}
			}
			check("sent", sumOf(f[metrics.MessagesSent], nil), float64(s.Messages.Sent))
			check("delivered", sumOf(f[metrics.MessagesDelivered], nil), float64(s.Messages.Delivered))
			check("dropped", sumOf(f[metrics.MessagesDropped], nil), float64(s.Messages.Dropped))
			for r, n := range s.Messages.DroppedBy {
				check("dropped "+r, sumOf(f[metrics.MessagesDropped], map[string]string{"reason": r}), float64(n))
			}
			for _, ch := range s.Channels {
				check("latency observations on "+string(ch.ID),
					sumOf(f[metrics.DeliveryLatency], map[string]string{"channel": string(ch.ID)}),
					sumOf(f[metrics.MessagesDelivered], map[string]string{"channel": string(ch.ID)}))
			}
			for _, a := range s.Agencies {
				m := map[string]string{"agency": string(a.ID)}
				check("handled by "+string(a.ID), sumOf(f[metrics.Handled], m), float64(a.Handled))
				check("holds at "+string(a.ID), sumOf(f[metrics.Holds], m), float64(a.Held))
				check("items known by "+string(a.ID), sumOf(f[metrics.ItemsKnown], m), float64(a.Knows))
				check("knows of "+string(a.ID), sumOf(f[metrics.Knows], m), float64(a.Knows))
			}
			for _, it := range s.Items {
				m := map[string]string{"inject": string(it.ID)}
				check("reach of "+string(it.ID), sumOf(f[metrics.InjectReach], m), float64(it.Reached))
				check("audience of "+string(it.ID), sumOf(f[metrics.InjectAudience], m), float64(len(it.Audience)))
				check("time-to-know observations of "+string(it.ID), sumOf(f[metrics.TimeToKnow], m), float64(it.Reached))
				missed := 0.0
				if it.DeadlineMet != nil && !*it.DeadlineMet {
					missed = 1
				}
				check("audience deadlines missed for "+string(it.ID),
					sumOf(f[metrics.DeadlinesMissed], map[string]string{"inject": string(it.ID), "source": "audience"}), missed)
				if it.TimeToReachSeconds != nil {
					check("time to reach of "+string(it.ID), sumOf(f[metrics.InjectTimeToReach], m), *it.TimeToReachSeconds)
				}
			}
			check("consent requests", sumOf(f[metrics.ConsentRequests], nil), float64(kinds[events.ConsentRequest]))
			check("consent answers", sumOf(f[metrics.ConsentAnswers], nil), float64(kinds[events.ConsentGrant]+kinds[events.ConsentRefuse]))
			check("deadlines missed", sumOf(f[metrics.DeadlinesMissed], nil), float64(kinds[events.DeadlineMissed]))
			check("handling starts", sumOf(f[metrics.QueueWait], nil), float64(kinds[events.HandleStart]))
			c.End(liaison.Time(s.EndSeconds * 1000))
			check("simulated time at the end", sumOf(families(t, c)[metrics.SimTime], nil), s.EndSeconds)

			var want strings.Builder
			want.WriteString("# HELP liaison_inject_reach Audience members that know the inject's item.\n# TYPE liaison_inject_reach gauge\n")
			for _, it := range s.Items {
				fmt.Fprintf(&want, "liaison_inject_reach{inject=%q} %d\n", it.ID, it.Reached)
			}
			if err := testutil.GatherAndCompare(c.Registry(), strings.NewReader(want.String()), metrics.InjectReach); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestLiveInject: an inject added during the run gets its audience, reach
// and deadline series from the live_inject event that carries it.
func TestLiveInject(t *testing.T) {
	names := &events.Names{Agencies: []liaison.AgencyID{"a", "b", "c"}, Types: []liaison.MessageType{"m"},
		Reasons: events.Reasons}
	c := metrics.New()
	c.Start(sim.Started{Info: &events.RunInfo{Scenario: "s"}, Names: names})
	names.Items = append(names.Items, "L-1") // as the recorder's tables grow
	ev := func(k events.Kind, t liaison.Time, agency int32) *events.Event {
		return &events.Event{T: t, Kind: k, Agency: agency, MsgFrom: -1, Channel: -1, Type: 0, Item: 0,
			Peer: -1, Reason: -1, CauseFrom: -1}
	}
	live := ev(events.LiveInject, liaison.Hour, -1)
	live.Raw = []byte(`"inject":{"id":"L-1","to":"a","type":"m","audience":["b","c"],"deadline_seconds":600}`)
	c.Observe(live, names)
	know := ev(events.Know, liaison.Hour+5*liaison.Minute, 1)
	know.Value = 5 * liaison.Minute
	c.Observe(know, names)
	c.Observe(ev(events.Know, liaison.Hour, 0), names) // the recipient: not in the audience
	want := `
# HELP liaison_inject_audience Agencies in the inject's audience.
# TYPE liaison_inject_audience gauge
liaison_inject_audience{inject="L-1"} 2
# HELP liaison_inject_deadline_seconds Time the inject's audience has to learn it, in seconds after the inject.
# TYPE liaison_inject_deadline_seconds gauge
liaison_inject_deadline_seconds{inject="L-1"} 600
# HELP liaison_inject_reach Audience members that know the inject's item.
# TYPE liaison_inject_reach gauge
liaison_inject_reach{inject="L-1"} 1
# HELP liaison_inject_time_seconds Simulated time of the inject, in seconds since the start.
# TYPE liaison_inject_time_seconds gauge
liaison_inject_time_seconds{inject="L-1"} 3600
`
	if err := testutil.GatherAndCompare(c.Registry(), strings.NewReader(want), metrics.InjectAudience,
		metrics.InjectDeadline, metrics.InjectReach, metrics.InjectAt); err != nil {
		t.Error(err)
	}
	if n, _ := testutil.GatherAndCount(c.Registry(), metrics.Knows); n != 3 {
		t.Errorf("%d %s series, want one per agency", n, metrics.Knows)
	}
}

// TestZeroSeries: counters whose labels are known before the run start at
// 0 (Prometheus's "avoid missing metrics"), so that a panel of drops by
// reason shows 0 for a reason that never occurred rather than "No data".
func TestZeroSeries(t *testing.T) {
	c, _, s := run(t, "interpol-notice", 0)
	f := families(t, c)
	has := func(family string, labels map[string]string) bool {
		for _, m := range f[family].GetMetric() {
			match := 0
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
					match++
				}
			}
			if match == len(labels) {
				return true
			}
		}
		return false
	}
	channels := []string{metrics.NoChannel}
	for _, ch := range s.Channels {
		channels = append(channels, string(ch.ID))
	}
	for _, ch := range channels {
		for _, r := range events.Reasons {
			if !has(metrics.MessagesDropped, map[string]string{"channel": ch, "reason": r}) {
				t.Errorf("no %s series for channel %s, reason %s", metrics.MessagesDropped, ch, r)
			}
		}
		for _, fam := range []string{metrics.MessagesSent, metrics.MessagesDelivered} {
			if ch != metrics.NoChannel && !has(fam, map[string]string{"channel": ch}) {
				t.Errorf("no %s series for channel %s", fam, ch)
			}
		}
	}
	if got := sumOf(f[metrics.MessagesDropped], map[string]string{"reason": "permission"}); got != 0 {
		t.Errorf("permission drops in a run without need to know: %v", got)
	}
}
