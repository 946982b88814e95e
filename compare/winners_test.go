package compare

import (
	"bytes"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"liaison/events"
)

// synthetic builds a comparison of rows whose times to reach come from
// ttr(row, seed) (+Inf for never) against a deadline of 1h.
func synthetic(names []string, runs int, ttr func(row, seed int) float64) *Result {
	r := &Result{Scenario: "synthetic", Title: "Synthetic", Names: names, Runs: runs, Seed: 1, Level: 0.95}
	deadline := 3600.0
	for row := range names {
		r.Rows = append(r.Rows, Row{Variant: names[row]})
		for seed := range runs {
			t := ttr(row, seed)
			met := t <= deadline
			it := ItemRun{ID: "I-1", Audience: 4, Reached: 4, TimeToReach: t, Deadline: &deadline, DeadlineMet: &met, Horizon: 86400}
			if math.IsInf(t, 1) {
				it.Reached, it.Censored = 3, true
			}
			it.ReachedAtDeadline = it.Reached
			if !met {
				it.ReachedAtDeadline = 2
			}
			r.All = append(r.All, Run{Row: row, Seed: uint64(seed + 1), Summary: &events.Summary{}, Items: []ItemRun{it}})
		}
	}
	return r
}

func verdict(t *testing.T, r *Result, metric string) Verdict {
	t.Helper()
	items, _ := r.Stats()
	for _, v := range r.Verdicts(items) {
		if v.Metric == metric {
			return v
		}
	}
	t.Fatalf("no verdict on %s", metric)
	return Verdict{}
}

func TestVerdicts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]float64, 30)
	for i := range noise {
		noise[i] = 100 * rng.NormFloat64()
	}
	// slow and same are one system; fast saves about 10 minutes on every
	// seed; never has censored runs; late misses the deadline half the time.
	r := synthetic([]string{"slow", "fast", "same", "never", "late"}, 30, func(row, seed int) float64 {
		base := 3000 + noise[seed]
		switch row {
		case 1:
			return base - 600 + 30*float64(seed%3)
		case 3:
			if seed%5 == 0 {
				return math.Inf(1)
			}
			return base - 900
		case 4:
			return base + 1200*float64(seed%2)
		}
		return base
	})
	mean := verdict(t, r, MetricMean)
	if mean.Best != 1 || mean.Next != 0 || mean.Tie != nil || !mean.Significant || mean.Test != byPairedT || mean.Pairs != 30 {
		t.Errorf("mean: %+v; want fast ahead of slow, significant by a paired t test over 30 pairs", mean)
	}
	if !strings.Contains(mean.Note, "never reached do not compete") {
		t.Errorf("mean: the censored row's absence is not noted: %q", mean.Note)
	}
	// The row with censored runs is fastest when it reaches, and wins the
	// median, where "never" is just late.
	p50 := verdict(t, r, MetricP50)
	if p50.Best != 3 || p50.Next != 1 || p50.Test != byBootstrap || !p50.Significant {
		t.Errorf("p50: %+v; want never ahead of fast, significant by the bootstrap", p50)
	}
	p95 := verdict(t, r, MetricP95)
	if p95.Test != "" || !strings.Contains(p95.Note, "about 72 runs") {
		t.Errorf("p95 from 30 runs: %+v; want no test, and the 72 runs that would close the best's interval", p95)
	}
	// slow, fast and same always meet the deadline; never misses it in
	// its 6 censored runs, late in 15.
	met := verdict(t, r, MetricMet)
	if len(met.Tie) != 3 || met.Next != 3 || met.Test != byMcNemar || met.Pairs != 6 || !met.Significant {
		t.Errorf("met: %+v; want three rows tied ahead of never, 6 seeds disagreeing, significant", met)
	}
	// Identical rows tie, and no row wins.
	same := synthetic([]string{"a", "b"}, 10, func(row, seed int) float64 { return float64(1000 + seed) })
	if v := verdict(t, same, MetricMean); v.Tie == nil || v.Next != -1 || v.Significant {
		t.Errorf("identical rows: %+v; want a tie and no next", v)
	}
	// A single row has nothing to be compared with.
	one := synthetic([]string{"a"}, 10, func(row, seed int) float64 { return 1000 })
	items, _ := one.Stats()
	if v := one.Verdicts(items); v != nil {
		t.Errorf("one row: %d verdicts", len(v))
	}
}

// P(deadline met) is compared by McNemar's test over the seeds where the
// two rows disagree.
func TestVerdictDeadlineMet(t *testing.T) {
	r := synthetic([]string{"late", "on-time"}, 20, func(row, seed int) float64 {
		if row == 0 && seed%2 == 0 {
			return 5000 // misses the 1h deadline
		}
		return 1800 + float64(seed)
	})
	v := verdict(t, r, MetricMet)
	if v.Best != 1 || v.Test != byMcNemar || v.Pairs != 10 || math.Abs(v.P-2*math.Pow(0.5, 10)) > 1e-12 || !v.Significant {
		t.Errorf("%+v; want on-time ahead, 10 seeds disagreeing, p = 2/1024, significant", v)
	}
	if v.Lead.Est != 0.5 {
		t.Errorf("lead %v, want 0.5 (100%% against 50%%)", v.Lead.Est)
	}
	var b bytes.Buffer
	if err := r.WriteWinnersCSV(&b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+5 || strings.Join(recs[0], ",") != strings.Join(WinnersHeader, ",") {
		t.Fatalf("winners CSV: %d records, header %v", len(recs), recs[0])
	}
	last := recs[5]
	if last[2] != MetricMet || last[3] != "on-time" || last[11] != byMcNemar || last[15] != "true" {
		t.Errorf("winners CSV row for deadline met: %v", last)
	}
}

// The table says who wins and how many runs would close open intervals.
func TestTableVerdicts(t *testing.T) {
	r := synthetic([]string{"slow", "fast"}, 12, func(row, seed int) float64 {
		if row == 1 && seed == 0 {
			return math.Inf(1)
		}
		return float64(3000 - 900*row + 10*seed)
	})
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"WHO WINS",
		"mean time to reach  slow (50m55s)", // fast has a run that never reached
		"the only row that reached in every run",
		"OPEN INTERVALS (∞)",
		"I-1   p95                 slow",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
