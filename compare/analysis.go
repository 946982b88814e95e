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

// ItemStats compares one item under one row.
type ItemStats struct {
	Item    string
	Row     int // index in Result.Rows
	Runs    int
	Reached int      // runs that reached the whole audience
	Mean    Interval // time to reach, over the runs that reached
	P50     Interval // censored runs count as +Inf
	P95     Interval
	// ReachAtDeadline is the share of the audience that knew by the
	// deadline; Met the share of runs that met it. Both NaN without a
	// deadline.
	ReachAtDeadline Interval
	Met             Interval
	HasDeadline     bool
	// Diff is the paired difference of time to reach against the first
	// row, over the seeds where both reached.
	Diff       Interval
	DiffPaired int
}

// ChannelStats is the mean number of messages per run on a channel.
type ChannelStats struct {
	Row      int
	Channel  string
	Messages Interval
}

// byRow returns the runs of row i, in seed order.
func (r *Result) byRow(i int) []Run { return r.All[i*r.Runs : (i+1)*r.Runs] }

// level is the result's confidence level (results built by hand may
// leave it zero).
func (r *Result) level() float64 {
	if r.Level == 0 {
		return DefaultLevel
	}
	return r.Level
}

// Stats computes the comparison's statistics, per item and row.
func (r *Result) Stats() ([]ItemStats, []ChannelStats) {
	var items []ItemStats
	if len(r.Rows) == 0 {
		return nil, nil
	}
	ref := r.byRow(0)
	if len(ref) == 0 || len(ref[0].Items) == 0 {
		return nil, r.channelStats()
	}
	lv := r.level()
	for ii, it := range ref[0].Items {
		for row := range r.Rows {
			runs := r.byRow(row)
			st := ItemStats{Item: it.ID, Row: row, Runs: len(runs)}
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
					reach = append(reach, reachShare(ir))
					if ir.DeadlineMet != nil && *ir.DeadlineMet {
						met++
					}
				}
			}
			st.Mean = MeanCI(ttr, lv)
			st.P50, st.P95 = QuantileCI(all, 0.5, lv), QuantileCI(all, 0.95, lv)
			st.ReachAtDeadline = MeanCI(reach, lv)
			st.ReachAtDeadline.Lo = max(st.ReachAtDeadline.Lo, 0) // a share stays in [0, 1]
			st.ReachAtDeadline.Hi = min(st.ReachAtDeadline.Hi, 1)
			st.Met = noInterval(0)
			if st.HasDeadline {
				st.Met = WilsonCI(met, len(runs), lv)
			}
			st.Diff, st.DiffPaired = MeanCI(diffs, lv), len(diffs)
			items = append(items, st)
		}
	}
	return items, r.channelStats()
}

// reachShare is the share of the audience that knew by the deadline.
func reachShare(ir ItemRun) float64 {
	return float64(ir.ReachedAtDeadline) / float64(max(ir.Audience, 1))
}

func (r *Result) channelStats() []ChannelStats {
	var out []ChannelStats
	for row := range r.Rows {
		runs := r.byRow(row)
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
			out = append(out, ChannelStats{Row: row, Channel: id, Messages: MeanCI(xs, r.level())})
		}
	}
	return out
}

// rowWord is what the comparison calls its rows: variants, unless
// parameters are swept.
func (r *Result) rowWord() string {
	if len(r.Paths) == 0 {
		return "variant"
	}
	return "row"
}

// levelText prints a confidence level as a percentage: 95%, 99.9%.
func levelText(level float64) string {
	return strconv.FormatFloat(100*level, 'f', -1, 64) + "%"
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

// WriteTable prints the comparison for a person at a terminal: the
// statistics per item and row, who wins per item and metric, how many runs
// would close the open intervals, and messages per channel.
func (r *Result) WriteTable(w io.Writer) error {
	items, chans := r.Stats()
	word := r.rowWord()
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n%d runs per %s, seeds %d..%d (common random numbers); %s confidence intervals in brackets\n",
		r.Scenario, r.Title, r.Runs, word, r.Seed, r.Seed+uint64(r.Runs)-1, levelText(r.level()))
	if len(r.Paths) > 0 {
		fmt.Fprintf(&b, "%d rows: every combination of %s\n", len(r.Rows), r.sweptText())
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	ref := strings.ToUpper(r.Names[0])
	if len(r.Paths) > 0 {
		ref = "FIRST ROW"
	}
	fmt.Fprintf(tw, "ITEM\t%s\tREACHED\tMEAN TIME TO REACH\tP50\tP95\tREACH AT DEADLINE\tP(DEADLINE MET)\tVS %s (PAIRED)\n",
		strings.ToUpper(word), ref)
	for _, s := range items {
		diff := "–"
		if s.Row != 0 {
			diff = fmt.Sprintf("%s (%d)", ci(s.Diff, signedDur), s.DiffPaired)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s (%d)\t%s\t%s\t%s\t%s\t%s\n", s.Item, r.Names[s.Row], s.Reached, s.Runs,
			ci(s.Mean, dur), s.Mean.N, ci(s.P50, dur), ci(s.P95, dur), ci(s.ReachAtDeadline, pct), ci(s.Met, pct), diff)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if verdicts := r.Verdicts(items); len(verdicts) > 0 {
		fmt.Fprintf(&b, "\nWHO WINS (per item and metric: the best %s and whether its lead over the next is significant at %s)\n",
			word, levelText(r.level()))
		fmt.Fprintf(tw, "ITEM\tMETRIC\tBEST\tNEXT\tLEAD OVER NEXT\tVERDICT\n")
		for _, v := range verdicts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Item, v.Metric, r.bestText(v), r.nextText(v), v.leadText(), r.verdictText(v))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if open := r.OpenIntervals(items); len(open) > 0 {
		b.WriteString("\nOPEN INTERVALS (∞): runs per " + word + " that would close them\n")
		for _, o := range open {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Item, o.Metric, r.rowList(o.Rows), o.text())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(tw, "%s\tCHANNEL\tMESSAGES PER RUN\n", strings.ToUpper(word))
	for _, c := range chans {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Names[c.Row], c.Channel,
			ci(c.Messages, func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n" + wrap(CensoringNote+" "+WinnerNote, 100) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// sweptText lists the swept paths with their values.
func (r *Result) sweptText() string {
	var parts []string
	if vs := r.variants(); len(vs) > 1 || vs[0] != "" {
		var names []string
		for _, v := range vs {
			names = append(names, variantName(v))
		}
		parts = append(parts, "variants "+strings.Join(names, ", "))
	}
	for _, p := range r.Paths {
		var vals []string
		for _, row := range r.Rows {
			for _, st := range row.Settings {
				if st.Path == p && !slices.Contains(vals, st.Value) {
					vals = append(vals, st.Value)
				}
			}
		}
		parts = append(parts, p+" = "+strings.Join(vals, " | "))
	}
	return strings.Join(parts, "; ")
}

// variants lists the rows' variants in order, once each.
func (r *Result) variants() []string {
	var out []string
	for _, row := range r.Rows {
		if !slices.Contains(out, row.Variant) {
			out = append(out, row.Variant)
		}
	}
	return out
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

// CSVHeader is the header of the tidy per-run CSV; a sweep adds a column
// per swept path after variant, holding the row's value (see
// Result.CSVHeader).
var CSVHeader = []string{"scenario", "variant", "seed", "item", "audience", "reached", "reached_at_deadline",
	"time_to_reach_seconds", "censored", "deadline_seconds", "deadline_met", "messages_sent", "messages_dropped",
	"end_seconds", "channel_messages"}

// CSVHeader is the per-run CSV's header for this comparison: CSVHeader
// with a column for each swept path, named by the path.
func (r *Result) CSVHeader() []string {
	return slices.Concat(CSVHeader[:2], r.Paths, CSVHeader[2:])
}

// WriteCSV writes one row per run, row of the comparison and inject. A
// censored run has an empty time_to_reach_seconds and censored=true;
// channel_messages lists the run's messages per channel as id=count
// separated by semicolons.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.CSVHeader()); err != nil {
		return err
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, run := range r.All {
		row := r.Rows[run.Row]
		var chans []string
		for _, c := range run.Summary.Channels {
			chans = append(chans, fmt.Sprintf("%s=%d", c.ID, c.Messages))
		}
		var set []string
		for _, p := range r.Paths {
			v := ""
			for _, st := range row.Settings {
				if st.Path == p {
					v = st.Value
				}
			}
			set = append(set, v)
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
			rec := slices.Concat([]string{r.Scenario, row.Variant}, set, []string{strconv.FormatUint(run.Seed, 10), it.ID,
				strconv.Itoa(it.Audience), strconv.Itoa(it.Reached), rad, ttr, strconv.FormatBool(it.Censored), dl, met,
				strconv.FormatInt(m.Sent, 10), strconv.FormatInt(m.Dropped, 10), num(run.Summary.EndSeconds),
				strings.Join(chans, ";")})
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
