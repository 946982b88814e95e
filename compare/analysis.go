package compare

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"liaison/report"
)

// ItemStats compares one item under one variant.
type ItemStats struct {
	Item     string
	Variant  string
	Runs     int
	Reached  int      // runs that reached the whole audience
	Mean     Interval // time to reach, over the runs that reached
	P50, P95 Interval // censored runs count as +Inf
	// ReachAtDeadline is the share of the audience that knew by the
	// deadline; Met the share of runs that met it. Both NaN without a
	// deadline.
	ReachAtDeadline Interval
	Met             Interval
	HasDeadline     bool
	// Diff is the paired difference of time to reach against the first
	// variant, over the seeds where both reached.
	Diff       Interval
	DiffPaired int
}

// ChannelStats is the mean number of messages per run on a channel.
type ChannelStats struct {
	Variant  string
	Channel  string
	Messages Interval
}

// Stats computes the comparison's statistics.
func (r *Result) Stats() ([]ItemStats, []ChannelStats) {
	var items []ItemStats
	byVariant := func(v string) []Run {
		i := slices.Index(r.Variants, v)
		return r.All[i*r.Runs : (i+1)*r.Runs]
	}
	ref := byVariant(r.Variants[0])
	if len(ref) == 0 || len(ref[0].Items) == 0 {
		return nil, r.channelStats()
	}
	for ii, it := range ref[0].Items {
		for _, v := range r.Variants {
			runs := byVariant(v)
			st := ItemStats{Item: it.ID, Variant: v, Runs: len(runs)}
			var ttr, all, reach, diffs []float64
			met := 0
			for k, run := range runs {
				ir := run.Items[ii]
				all = append(all, ir.TimeToReach)
				if !ir.Censored {
					st.Reached++
					ttr = append(ttr, ir.TimeToReach)
					if rr := ref[k].Items[ii]; !rr.Censored {
						diffs = append(diffs, ir.TimeToReach-rr.TimeToReach)
					}
				}
				if ir.Deadline != nil {
					st.HasDeadline = true
					reach = append(reach, float64(ir.ReachedAtDeadline)/float64(max(ir.Audience, 1)))
					if ir.DeadlineMet != nil && *ir.DeadlineMet {
						met++
					}
				}
			}
			st.Mean = MeanCI(ttr)
			st.P50, st.P95 = QuantileCI(all, 0.5), QuantileCI(all, 0.95)
			st.ReachAtDeadline = MeanCI(reach)
			st.ReachAtDeadline.Lo = max(st.ReachAtDeadline.Lo, 0) // a share stays in [0, 1]
			st.ReachAtDeadline.Hi = min(st.ReachAtDeadline.Hi, 1)
			st.Met = Interval{math.NaN(), math.NaN(), math.NaN(), 0}
			if st.HasDeadline {
				st.Met = WilsonCI(met, len(runs))
			}
			st.Diff, st.DiffPaired = MeanCI(diffs), len(diffs)
			items = append(items, st)
		}
	}
	return items, r.channelStats()
}

func (r *Result) channelStats() []ChannelStats {
	var out []ChannelStats
	for vi, v := range r.Variants {
		runs := r.All[vi*r.Runs : (vi+1)*r.Runs]
		var ids []string
		for _, run := range runs {
			for _, c := range run.Summary.Channels {
				if !slices.Contains(ids, string(c.ID)) {
					ids = append(ids, string(c.ID))
				}
			}
		}
		for _, id := range ids {
			var xs []float64
			for _, run := range runs {
				n := 0.0
				for _, c := range run.Summary.Channels {
					if string(c.ID) == id {
						n = float64(c.Messages)
					}
				}
				xs = append(xs, n)
			}
			out = append(out, ChannelStats{Variant: v, Channel: id, Messages: MeanCI(xs)})
		}
	}
	return out
}

// CensoringNote says how runs that never reached are treated.
const CensoringNote = "Runs that never reached the whole audience are censored at the run's end: " +
	"p50 and p95 count them as infinitely late (\"never\" when they decide the quantile; intervals are " +
	"distribution-free, from order statistics), the mean and the paired difference are over the runs " +
	"(pairs of runs with the same seed) that reached, with their number in brackets."

func dur(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case math.IsInf(x, 1):
		return "never"
	case math.IsInf(x, -1):
		return "-∞"
	}
	return report.Human(x)
}

func ci(iv Interval, f func(float64) string) string {
	if math.IsNaN(iv.Est) {
		return "–"
	}
	if math.IsNaN(iv.Lo) {
		return f(iv.Est)
	}
	bound := func(x float64) string {
		if math.IsInf(x, 1) {
			return "∞"
		}
		if math.IsInf(x, -1) {
			return "-∞"
		}
		return f(x)
	}
	return fmt.Sprintf("%s [%s, %s]", f(iv.Est), bound(iv.Lo), bound(iv.Hi))
}

func pct(x float64) string {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func signedDur(x float64) string {
	if x > 0 {
		return "+" + dur(x)
	}
	return dur(x)
}

// WriteTable prints the comparison for a person at a terminal.
func (r *Result) WriteTable(w io.Writer) error {
	items, chans := r.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n%d runs per variant, seeds %d..%d (common random numbers); 95%% confidence intervals in brackets\n\n",
		r.Scenario, r.Title, r.Runs, r.Seed, r.Seed+uint64(r.Runs)-1)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ITEM\tVARIANT\tREACHED\tMEAN TIME TO REACH\tP50\tP95\tREACH AT DEADLINE\tP(DEADLINE MET)\tVS %s (PAIRED)\n",
		strings.ToUpper(variantName(r.Variants[0])))
	for _, s := range items {
		diff := "–"
		if s.Variant != r.Variants[0] {
			diff = fmt.Sprintf("%s (%d)", ci(s.Diff, signedDur), s.DiffPaired)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s (%d)\t%s\t%s\t%s\t%s\t%s\n", s.Item, variantName(s.Variant), s.Reached, s.Runs,
			ci(s.Mean, dur), s.Mean.N, ci(s.P50, dur), ci(s.P95, dur), ci(s.ReachAtDeadline, pct), ci(s.Met, pct), diff)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "VARIANT\tCHANNEL\tMESSAGES PER RUN")
	for _, c := range chans {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", variantName(c.Variant), c.Channel,
			ci(c.Messages, func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n" + wrap(CensoringNote, 100) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return strings.Join(append(lines, line), "\n")
}

// CSVHeader is the header of the tidy per-run CSV.
var CSVHeader = []string{"scenario", "variant", "seed", "item", "audience", "reached", "reached_at_deadline",
	"time_to_reach_seconds", "censored", "deadline_seconds", "deadline_met", "messages_sent", "messages_dropped",
	"end_seconds", "channel_messages"}

// WriteCSV writes one row per run, variant and inject. A censored run has
// an empty time_to_reach_seconds and censored=true; channel_messages lists
// the run's messages per channel as id=count separated by semicolons.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, run := range r.All {
		var chans []string
		for _, c := range run.Summary.Channels {
			chans = append(chans, fmt.Sprintf("%s=%d", c.ID, c.Messages))
		}
		for _, it := range run.Items {
			ttr, dl, met, rad := "", "", "", ""
			if !it.Censored {
				ttr = num(it.TimeToReach)
			}
			if it.Deadline != nil {
				dl, rad = num(*it.Deadline), strconv.Itoa(it.ReachedAtDeadline)
				met = strconv.FormatBool(it.DeadlineMet != nil && *it.DeadlineMet)
			}
			m := run.Summary.Messages
			if err := cw.Write([]string{r.Scenario, run.Variant, strconv.FormatUint(run.Seed, 10), it.ID,
				strconv.Itoa(it.Audience), strconv.Itoa(it.Reached), rad, ttr, strconv.FormatBool(it.Censored), dl, met,
				strconv.FormatInt(m.Sent, 10), strconv.FormatInt(m.Dropped, 10), num(run.Summary.EndSeconds),
				strings.Join(chans, ";")}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
