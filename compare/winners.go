package compare

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The metrics a verdict is about.
const (
	MetricMean  = "mean time to reach"
	MetricP50   = "p50"
	MetricP95   = "p95"
	MetricReach = "reach at deadline"
	MetricMet   = "P(deadline met)"
)

// The tests behind a verdict.
const (
	byPairedT   = "paired t"
	byBootstrap = "paired bootstrap"
	byMcNemar   = "McNemar exact"
)

// Verdict says, for one item and metric, which row is best and whether its
// lead over the next best row is significant at the comparison's level.
// Rows ran with the same seeds, so the tests are paired.
type Verdict struct {
	Item   string
	Metric string
	// Best and Next are row indices: Next is the best row with another
	// estimate, -1 when there is none. Tie lists every row that shares
	// the best estimate when more than one does; the lead and test are
	// then the tied rows' (Best is the first of them) over Next.
	Best, Next       int
	Tie              []int
	BestEst, NextEst float64
	// Lead is how much better Best is than Next (a time saved, or a
	// share gained), with its interval; NaN bounds when the test gives
	// none. P is the test's two-sided p-value, NaN for the bootstrap.
	Lead        Interval
	P           float64
	Test        string
	Pairs       int
	Significant bool
	Note        string // why there is no verdict, or what limits it
	time        bool   // the metric is a time (lower is better)
}

// WinnerNote says how the verdicts are reached, for the table and page.
const WinnerNote = "Who wins: per item and metric, the row with the best estimate (shortest time, highest share) " +
	"against the next best, over the same seeds: the mean by a paired t test on the runs that all reached " +
	"(rows with runs that never reached do not compete on the mean), p50 and p95 by a paired bootstrap that " +
	"resamples seeds (\"never\" counts as later than any time; no verdict while the best row's interval is open), reach at the deadline by a paired t test, " +
	"and P(deadline met) by McNemar's exact test on the seeds where the two rows disagree. A lead is significant " +
	"when its interval excludes 0 (for McNemar, when p is below one minus the level). Picking the best of many " +
	"rows first favours a lead a little; treat a narrow verdict among many rows with care."

// Verdicts computes who wins, per item and metric, from the statistics
// Stats returned. It returns nothing for a comparison of one row.
func (r *Result) Verdicts(items []ItemStats) []Verdict {
	if len(r.Rows) < 2 || len(r.All) == 0 {
		return nil
	}
	var out []Verdict
	lv := r.level()
	for ii, it := range r.All[0].Items {
		st := items[ii*len(r.Rows) : (ii+1)*len(r.Rows)]
		values := func(row int, f func(ItemRun) float64) []float64 {
			var xs []float64
			for _, run := range r.byRow(row) {
				xs = append(xs, f(run.Items[ii]))
			}
			return xs
		}
		ttr := func(ir ItemRun) float64 { return ir.TimeToReach }

		// The mean, among the rows whose runs all reached.
		var full []int
		for row, s := range st {
			if s.Reached == s.Runs {
				full = append(full, row)
			}
		}
		v := rank(it.ID, MetricMean, full, func(row int) float64 { return st[row].Mean.Est }, true)
		switch {
		case len(full) == 0:
			v.Note = "no row reached in every run; see p50 and p95"
		case len(full) == 1:
			v.Note = "the only row that reached in every run; the others have runs that never reached"
		case len(full) < len(st):
			v.Note = "rows with runs that never reached do not compete"
		}
		if v.Next >= 0 {
			a, b := values(v.Next, ttr), values(v.Best, ttr)
			v.Lead, v.P = PairedT(subtract(a, b), lv)
			v.Test, v.Pairs = byPairedT, len(a)
			v.Significant = v.Lead.Lo > 0
		}
		out = append(out, v)

		for _, q := range quantileMetrics {
			v := rank(it.ID, q.metric, allRows(len(st)), func(row int) float64 { return q.iv(st[row]).Est }, true)
			if v.Next >= 0 && q.iv(st[v.Best]).open() {
				// Too few runs pin the best row's quantile down (the
				// bootstrap of an extreme order statistic from few runs
				// would claim more than it knows).
				if n, ok := RunsToClose(r.Runs, r.Runs-st[v.Best].Reached, q.q, lv); ok {
					v.Note = fmt.Sprintf("the best's interval is open; about %d runs would close it", n)
				} else {
					v.Note = "the best's interval is open, and stays open: too many runs never reached"
				}
			} else if v.Next >= 0 {
				v.Lead = PairedQuantileDiff(values(v.Next, ttr), values(v.Best, ttr), q.q, lv)
				v.P, v.Test, v.Pairs = math.NaN(), byBootstrap, r.Runs
				v.Significant = v.Lead.Lo > 0
			}
			out = append(out, v)
		}

		if !st[0].HasDeadline {
			continue
		}
		v = rank(it.ID, MetricReach, allRows(len(st)), func(row int) float64 { return st[row].ReachAtDeadline.Est }, false)
		if v.Next >= 0 {
			a, b := values(v.Best, reachShare), values(v.Next, reachShare)
			v.Lead, v.P = PairedT(subtract(a, b), lv)
			v.Lead.Lo, v.Lead.Hi = max(v.Lead.Lo, -1), min(v.Lead.Hi, 1)
			v.Test, v.Pairs = byPairedT, len(a)
			v.Significant = v.Lead.Lo > 0
		}
		out = append(out, v)

		v = rank(it.ID, MetricMet, allRows(len(st)), func(row int) float64 { return st[row].Met.Est }, false)
		if v.Next >= 0 {
			met := func(ir ItemRun) float64 {
				if ir.DeadlineMet != nil && *ir.DeadlineMet {
					return 1
				}
				return 0
			}
			a, b := values(v.Best, met), values(v.Next, met)
			bestOnly, nextOnly := 0, 0
			for k := range a {
				switch {
				case a[k] > b[k]:
					bestOnly++
				case a[k] < b[k]:
					nextOnly++
				}
			}
			v.Lead = Interval{v.BestEst - v.NextEst, math.NaN(), math.NaN(), len(a)}
			v.P, v.Test, v.Pairs = McNemar(bestOnly, nextOnly), byMcNemar, bestOnly+nextOnly
			v.Significant = v.P < 1-lv
		}
		out = append(out, v)
	}
	return out
}

func allRows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func subtract(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// rank orders the candidate rows by their estimate (lowest first for
// times, highest for shares; +Inf, "never", is the worst time) and fills
// the verdict's best, next and tie. Rows with no estimate (NaN) do not
// compete.
func rank(item, metric string, rows []int, est func(int) float64, lowerBetter bool) Verdict {
	v := Verdict{Item: item, Metric: metric, Best: -1, Next: -1, Lead: noInterval(0), P: math.NaN(), time: lowerBetter}
	var cands []int
	for _, row := range rows {
		if !math.IsNaN(est(row)) {
			cands = append(cands, row)
		}
	}
	slices.SortStableFunc(cands, func(a, b int) int {
		ea, eb := est(a), est(b)
		if !lowerBetter {
			ea, eb = -ea, -eb
		}
		switch {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return 0
	})
	if len(cands) == 0 {
		return v
	}
	v.Best, v.BestEst = cands[0], est(cands[0])
	for _, c := range cands {
		if est(c) == v.BestEst {
			v.Tie = append(v.Tie, c)
		} else if v.Next < 0 {
			v.Next, v.NextEst = c, est(c)
		}
	}
	if len(v.Tie) < 2 {
		v.Tie = nil
	}
	return v
}

// bestText names the best row with its estimate, or the rows that tie.
func (r *Result) bestText(v Verdict) string {
	switch {
	case v.Best < 0:
		return "–"
	case len(v.Tie) > 3 && len(v.Tie) < len(r.Rows):
		return fmt.Sprintf("tie: %d %ss (%s)", len(v.Tie), r.rowWord(), v.estText(v.BestEst))
	case v.Tie != nil:
		return "tie: " + r.rowList(v.Tie) + " (" + v.estText(v.BestEst) + ")"
	}
	return r.Names[v.Best] + " (" + v.estText(v.BestEst) + ")"
}

func (r *Result) nextText(v Verdict) string {
	if v.Next < 0 {
		return "–"
	}
	return r.Names[v.Next] + " (" + v.estText(v.NextEst) + ")"
}

func (v Verdict) estText(x float64) string {
	if v.time {
		return dur(x)
	}
	return pct(x)
}

// leadText is the best row's lead over the next, with its interval.
func (v Verdict) leadText() string {
	if v.Next < 0 {
		return "–"
	}
	f := dur
	if !v.time {
		f = func(x float64) string {
			if math.IsInf(x, 0) || math.IsNaN(x) {
				return "–"
			}
			return strconv.FormatFloat(math.Round(100*x), 'f', -1, 64) + " pts"
		}
	}
	return ci(v.Lead, f)
}

// verdictText says whether the lead is significant, by which test.
func (r *Result) verdictText(v Verdict) string {
	lv := levelText(r.level())
	switch {
	case v.Best < 0:
		return v.Note
	case v.Next < 0 && v.Tie != nil:
		return "no winner: a tie"
	case v.Next < 0:
		return v.Note
	case v.Test == "":
		return "cannot tell: " + v.Note
	}
	var evidence string
	switch v.Test {
	case byMcNemar:
		verb := "disagree"
		if v.Pairs == 1 {
			verb = "disagrees"
		}
		evidence = fmt.Sprintf("%s, p %s, %d of %d seeds %s", v.Test, pValue(v.P), v.Pairs, v.Lead.N, verb)
	case byPairedT:
		evidence = fmt.Sprintf("%s, p %s, %d pairs", v.Test, pValue(v.P), v.Pairs)
	default:
		evidence = fmt.Sprintf("%s, %d pairs", v.Test, v.Pairs)
	}
	if v.Note != "" {
		evidence += "; " + v.Note
	}
	if v.Tie != nil {
		evidence = "the tied rows' lead; " + evidence
	}
	switch {
	case v.Test != byMcNemar && math.IsNaN(v.Lead.Lo):
		return "cannot tell: too few pairs (" + evidence + ")"
	case v.Significant:
		return "significant at " + lv + " (" + evidence + ")"
	}
	return "not significant at " + lv + " (" + evidence + ")"
}

func pValue(p float64) string {
	switch {
	case math.IsNaN(p):
		return "= –"
	case p < 0.001:
		return "< 0.001"
	}
	return "= " + strconv.FormatFloat(p, 'f', 3, 64)
}

func (r *Result) rowList(rows []int) string {
	if len(rows) == len(r.Rows) && len(rows) > 1 {
		return "every " + r.rowWord()
	}
	var names []string
	for _, row := range rows {
		names = append(names, r.Names[row])
	}
	return strings.Join(names, ", ")
}

// Open is a group of rows whose interval for an item's quantile is open
// (∞), with how many runs per row would close it.
type Open struct {
	Item   string
	Metric string
	Rows   []int
	// Runs per row that would close the intervals, estimated by
	// RunsToClose; 0 when no number of runs can, because the quantile
	// lies beyond the run's end (Censored lists each row's share of runs
	// that never reached).
	Runs     int
	Censored []float64
}

// quantileMetrics are the quantiles of the time to reach the audience
// that comparisons rank, with the interval each item's statistics give.
var quantileMetrics = []struct {
	metric string
	q      float64
	iv     func(ItemStats) Interval
}{{MetricP50, 0.5, func(s ItemStats) Interval { return s.P50 }}, {MetricP95, 0.95, func(s ItemStats) Interval { return s.P95 }}}

// OpenIntervals lists, per item and quantile, the rows whose interval is
// open, grouped by the number of runs that would close it.
func (r *Result) OpenIntervals(items []ItemStats) []Open {
	var out []Open
	for _, q := range quantileMetrics {
		for _, s := range items {
			if !q.iv(s).open() {
				continue
			}
			runs, ok := RunsToClose(s.Runs, s.Runs-s.Reached, q.q, r.level())
			if !ok {
				runs = 0
			}
			at := slices.IndexFunc(out, func(o Open) bool { return o.Item == s.Item && o.Metric == q.metric && o.Runs == runs })
			if at < 0 {
				out = append(out, Open{Item: s.Item, Metric: q.metric, Runs: runs})
				at = len(out) - 1
			}
			out[at].Rows = append(out[at].Rows, s.Row)
			out[at].Censored = append(out[at].Censored, float64(s.Runs-s.Reached)/float64(s.Runs))
		}
	}
	slices.SortStableFunc(out, func(a, b Open) int { return strings.Compare(a.Item, b.Item) })
	return out
}

func (o Open) text() string {
	if o.Runs > 0 {
		return fmt.Sprintf("about %d runs", o.Runs)
	}
	var shares []string
	for _, c := range o.Censored {
		shares = append(shares, pct(c))
	}
	return fmt.Sprintf("no number of runs: %s of runs never reached, so the %s lies beyond the run's end (a longer duration would show it)",
		strings.Join(shares, ", "), o.Metric)
}

// WinnersHeader is the header of the verdicts CSV.
var WinnersHeader = []string{"scenario", "item", "metric", "best", "best_estimate", "next", "next_estimate", "tie",
	"lead", "lead_lo", "lead_hi", "test", "p_value", "pairs", "level", "significant", "note"}

// WriteWinnersCSV writes one row per item and metric: the best row, the
// next, the lead with its interval, the test and whether the lead is
// significant. Times are in seconds, shares from 0 to 1; rows are named
// as in the table; an estimate of "never" is written +Inf.
func (r *Result) WriteWinnersCSV(w io.Writer) error {
	items, _ := r.Stats()
	cw := csv.NewWriter(w)
	if err := cw.Write(WinnersHeader); err != nil {
		return err
	}
	num := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	name := func(row int) string {
		if row < 0 {
			return ""
		}
		return r.Names[row]
	}
	for _, v := range r.Verdicts(items) {
		var tie []string
		for _, row := range v.Tie {
			tie = append(tie, r.Names[row])
		}
		nextEst := v.NextEst
		if v.Next < 0 {
			nextEst = math.NaN()
		}
		bestEst := v.BestEst
		if v.Best < 0 {
			bestEst = math.NaN()
		}
		sig := ""
		if v.Test != "" {
			sig = strconv.FormatBool(v.Significant)
		}
		pairs := ""
		if v.Test != "" {
			pairs = strconv.Itoa(v.Pairs)
		}
		if err := cw.Write([]string{r.Scenario, v.Item, v.Metric, name(v.Best), num(bestEst), name(v.Next), num(nextEst),
			strings.Join(tie, ";"), num(v.Lead.Est), num(v.Lead.Lo), num(v.Lead.Hi), v.Test, num(v.P), pairs,
			num(r.level()), sig, v.Note}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
