package report

import (
	"bytes"
	stdhtml "html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"liaison"
	"liaison/scenarios"
)

func f64(x float64) *float64 { return &x }
func intp(n int) *int        { return &n }
func boolp(b bool) *bool     { return &b }

// TestItemRatings: the rating rule, case by case, with the figures its
// basis names.
func TestItemRatings(t *testing.T) {
	aud := []string{"a", "b", "c", "d"}
	learned := func(waits float64) []Learning {
		return []Learning{{Agency: "d", InAudience: true, SinceInject: 100,
			Segments: []Segment{{Kind: SegHold, Agency: "d", Seconds: waits}, {Kind: SegHandling, Agency: "x", Seconds: 100 - waits}}}}
	}
	for _, c := range []struct {
		name      string
		it        ItemReport
		replies   int
		rating    string
		basisHint string
	}{
		{"all in time", ItemReport{Audience: aud, Reached: 4, ReachedAtDeadline: intp(4), DeadlineSeconds: f64(600),
			TimeToReachSeconds: f64(500), DeadlineMet: boolp(true), NeverLearned: []string{}}, 0, "P", "all 4 audience members learned it within its 10m00s deadline"},
		{"a late reply", ItemReport{Audience: aud, Reached: 4, ReachedAtDeadline: intp(4), DeadlineSeconds: f64(600),
			TimeToReachSeconds: f64(500), DeadlineMet: boolp(true), NeverLearned: []string{}}, 2, "S", "2 answers about it missed the reply deadline"},
		{"half late", ItemReport{Audience: aud, Reached: 4, ReachedAtDeadline: intp(2), DeadlineSeconds: f64(600),
			TimeToReachSeconds: f64(900), DeadlineMet: boolp(false), NeverLearned: []string{}}, 0, "S", "2 of its 4 audience members learned it after its 10m00s deadline"},
		{"most late", ItemReport{Audience: aud, Reached: 4, ReachedAtDeadline: intp(1), DeadlineSeconds: f64(600),
			TimeToReachSeconds: f64(900), DeadlineMet: boolp(false), NeverLearned: []string{}}, 0, "M", "3 of its 4 audience members, more than half"},
		{"one never", ItemReport{Audience: aud, Reached: 3, ReachedAtDeadline: intp(3), DeadlineSeconds: f64(600),
			DeadlineMet: boolp(false), NeverLearned: []string{"d"}}, 0, "M", "1 of its 4 audience members never learned it"},
		{"none", ItemReport{Audience: aud, Reached: 0, ReachedAtDeadline: intp(0), DeadlineSeconds: f64(600),
			DeadlineMet: boolp(false), NeverLearned: aud}, 0, "U", "none of its 4 audience members learned it"},
		{"no deadline, short waits", ItemReport{Audience: aud, Reached: 4, TimeToReachSeconds: f64(100), Critical: "d",
			Learned: learned(40), NeverLearned: []string{}}, 0, "P", "the last after 1m40s (it has no deadline)"},
		{"no deadline, long waits", ItemReport{Audience: aud, Reached: 4, TimeToReachSeconds: f64(100), Critical: "d",
			Learned: learned(60), NeverLearned: []string{}}, 0, "S", "took 60% of that time"},
		{"no audience", ItemReport{Audience: []string{}, NeverLearned: []string{}}, 0, "P", "no audience"},
		{"no audience, a late reply", ItemReport{Audience: []string{}, NeverLearned: []string{}}, 1, "S", "1 answer about it missed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.it.ID = "I-1"
			r := &Report{}
			for range c.replies {
				r.Deadlines = append(r.Deadlines, DeadlineMissed{Item: "I-1", Agency: "x", DeadlineSeconds: 3600})
			}
			r.Deadlines = append(r.Deadlines, DeadlineMissed{Item: "I-2", Agency: "x"}) // another item's
			rateItem(r, &c.it)
			if c.it.Rating != c.rating || !strings.Contains(c.it.RatingBasis, c.basisHint) {
				t.Errorf("rated %s (%s); want %s, with %q", c.it.Rating, c.it.RatingBasis, c.rating, c.basisHint)
			}
		})
	}
}

// TestObjectiveRatings: an objective takes its injects' worst rating, but
// is unable to be performed only when all of them are.
func TestObjectiveRatings(t *testing.T) {
	for _, c := range []struct {
		ratings []string
		want    liaison.Rating
	}{
		{[]string{"P"}, "P"},
		{[]string{"P", "S"}, "S"},
		{[]string{"S", "M", "P"}, "M"},
		{[]string{"U", "P"}, "M"},
		{[]string{"U", "U"}, "U"},
	} {
		var items []*ItemReport
		for i, r := range c.ratings {
			items = append(items, &ItemReport{ID: "I-" + strconv.Itoa(i+1), Rating: r, RatingBasis: "because"})
		}
		got, basis := rateObjective(items)
		if got != c.want {
			t.Errorf("%v: rated %s (%s), want %s", c.ratings, got, basis, c.want)
		}
		for _, it := range items {
			if !strings.Contains(basis, it.ID) {
				t.Errorf("%v: the basis %q does not name %s", c.ratings, basis, it.ID)
			}
		}
	}
}

// TestObjectives: the injects of a built-in scenario are grouped by
// objective with their expected actions, the evaluators' rating replaces
// the computed one (which the report keeps), a rating of an objective no
// inject carries is listed as not applied, and the executive summary
// comes first in every format.
func TestObjectives(t *testing.T) {
	const tlp = "Respect for TLP and the third-party rule under time pressure."
	r := build(t, ratedLog(t,
		scenarios.ObjectiveRating{Objective: tlp, Rating: "U", Reason: "The evaluators saw no release request."},
		scenarios.ObjectiveRating{Objective: "Keep the ministers informed.", Rating: "P"}))
	if len(r.Objectives) != 2 {
		t.Fatalf("objectives: %+v", r.Objectives)
	}
	for i, o := range r.Objectives {
		it := r.Items[i]
		if o.Objective != it.Objective || !slices.Equal(o.Items, []string{it.ID}) || len(o.Expected) != 1 ||
			o.Expected[0].Text != it.Expected || !strings.HasPrefix(it.Expected, "PET ") {
			t.Errorf("objective %d: %+v (item %s: %q, %q)", i, o, it.ID, it.Objective, it.Expected)
		}
		if o.Computed != it.Rating || !liaison.Rating(o.Computed).Valid() {
			t.Errorf("objective %d computed %q, its only inject %q", i, o.Computed, it.Rating)
		}
		if o.Observations == nil || len(o.Observations) != 0 {
			t.Errorf("objective %d: observations %v; the log records none", i, o.Observations)
		}
	}
	o := r.Objectives[1]
	if o.Objective != tlp || o.Rating != "U" || !o.Evaluated || o.Reason != "The evaluators saw no release request." ||
		r.Summary.Objectives[1].Rating != "U" || !r.Summary.Objectives[1].Evaluated {
		t.Errorf("the evaluators' rating: %+v; summary %+v", o, r.Summary.Objectives[1])
	}
	if r.Objectives[0].Evaluated || r.Objectives[0].Rating != r.Objectives[0].Computed {
		t.Errorf("an objective the evaluators did not rate: %+v", r.Objectives[0])
	}
	if len(r.Unrated) != 1 || r.Unrated[0].Objective != "Keep the ministers informed." {
		t.Errorf("ratings not applied: %+v", r.Unrated)
	}
	var md, html bytes.Buffer
	if err := r.Render(&md, "md"); err != nil {
		t.Fatal(err)
	}
	if err := r.Render(&html, "html"); err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string]string{"md": md.String(), "html": stdhtml.UnescapeString(html.String())} {
		sum, obj, plan := strings.Index(page, "1. Executive summary"), strings.Index(page, "3. Analysis of objectives"), strings.Index(page, "4. Improvement plan")
		if sum < 0 || obj < sum || plan < obj || strings.Contains(page[:sum], "Findings") {
			t.Errorf("%s: sections out of order (summary %d, objectives %d, plan %d)", name, sum, obj, plan)
		}
		for _, want := range []string{"Rated by the evaluators (the scenario's ratings): The evaluators saw no release request",
			"Computed from the run: " + o.Computed, "Keep the ministers informed.", "Player decisions and evaluator notes"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}

// TestFindings: findings name their evidence, leave out trivial stretches,
// make one finding per item and kind (not one per agency), and are ranked
// by priority, then by their share of an audience member's time to learn
// the item, never by totals across injects.
func TestFindings(t *testing.T) {
	for _, name := range []string{"ctg-threat-warning", "dk-national-circle", "club-de-berne", "twg-pwgt"} {
		t.Run(name, func(t *testing.T) {
			log, _ := runLog(t, name, "", 1)
			r := build(t, log)
			seen := map[string]bool{}
			for i, f := range r.Findings {
				if f.Rank != i+1 || len(f.Evidence) == 0 || len(f.Responsible) == 0 || f.Action == "" {
					t.Errorf("finding %d: %+v", i+1, f)
				}
				if k := f.Item + "/" + f.Kind; seen[k] && f.Kind != "drop" && f.Kind != "reply" {
					t.Errorf("two %s findings for %s", f.Kind, f.Item)
				} else {
					seen[k] = true
				}
				var it *ItemReport
				for j := range r.Items {
					if r.Items[j].ID == f.Item {
						it = &r.Items[j]
					}
				}
				if it == nil || it.Objective != f.Objective {
					t.Fatalf("finding %d is about %q, not an item with its objective", f.Rank, f.Item)
				}
				late := it.DeadlineMet != nil && !*it.DeadlineMet
				for _, e := range f.Evidence {
					if !strings.Contains(f.Text, e.Where) || !strings.Contains(f.Text, e.Learner) {
						t.Errorf("finding %d does not name its evidence %+v: %s", f.Rank, e, f.Text)
					}
					if slices.Contains(segKinds, f.Kind) {
						min := minShareInTime
						if late {
							min = minShareLate
						}
						if e.Seconds <= 0 || e.Share < min || !strings.Contains(f.Text, Human(e.Seconds)) {
							t.Errorf("finding %d has trivial evidence (under %.0f%%): %+v", f.Rank, 100*min, e)
						}
					}
				}
				if i > 0 {
					p := r.Findings[i-1]
					if priorityRank(p.Priority) > priorityRank(f.Priority) ||
						p.Priority == f.Priority && p.Share < f.Share {
						t.Errorf("finding %d (%s, %.2f) ranked after %d (%s, %.2f)", f.Rank, f.Priority, f.Share, p.Rank, p.Priority, p.Share)
					}
				}
			}
			if name == "ctg-threat-warning" {
				f := r.Findings[0]
				var who []string
				for _, e := range f.Evidence {
					who = append(who, e.Where)
					if !e.Decisive || e.Until == "" {
						t.Errorf("office hours that alone made %s late: %+v", e.Learner, e)
					}
				}
				slices.Sort(who)
				if f.Kind != SegHold || f.Item != "I-1" || f.Priority != PriorityHigh ||
					!slices.Equal(who, []string{"dk.cfcs", "dk.fe", "se.fra", "se.must", "se.nct"}) {
					t.Errorf("the top finding of ctg-threat-warning: %+v", f)
				}
				if len(r.Summary.KeyFindings) < 1 || r.Summary.KeyFindings[0].Text != f.Text {
					t.Errorf("the summary's key findings: %+v", r.Summary.KeyFindings)
				}
			}
		})
	}
}

// TestStrengths: a whole audience reached in time is a strength, and a
// channel or agency named as a strength passed the item fast and is named
// by none of the item's findings.
func TestStrengths(t *testing.T) {
	log, _ := runLog(t, "club-de-berne", "", 1)
	r := build(t, log)
	n := 0
	for _, o := range r.Objectives {
		for _, s := range o.Strengths {
			n++
			var it *ItemReport
			for i := range r.Items {
				if r.Items[i].ID == s.Item {
					it = &r.Items[i]
				}
			}
			switch s.Kind {
			case "reach":
				if it.DeadlineMet == nil || !*it.DeadlineMet {
					t.Errorf("a reach strength of %s, which missed its deadline: %s", it.ID, s.Text)
				}
			case "channel", "relay":
				for _, f := range r.Findings {
					if f.Item == s.Item && strings.Contains(f.Where, s.Where) {
						t.Errorf("%s is both a strength (%s) and a finding (%s)", s.Where, s.Text, f.Text)
					}
				}
				if !strings.Contains(s.Text, s.Where) {
					t.Errorf("the strength does not name %s: %s", s.Where, s.Text)
				}
			default:
				t.Errorf("strength of kind %q", s.Kind)
			}
		}
	}
	if n == 0 || len(r.Summary.Strengths) == 0 || len(r.Summary.Strengths) > maxStrengths {
		t.Errorf("%d strengths; summary %v", n, r.Summary.Strengths)
	}
}

// TestCalendarTicks: axes read the scenario's calendar at round wall-clock
// times, across a day, over days, and across the spring change to summer
// time (02:00 CET is 03:00 CEST: one tick, not two).
func TestCalendarTicks(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 3, 6, 16, 0, 0, 0, cph)
	sat := time.Date(2026, 3, 28, 22, 0, 0, 0, cph)
	for _, c := range []struct {
		start  time.Time
		lo, hi float64
		want   []string
	}{
		{fri, 2 * 3600, 6 * 3600, []string{"Fri 18:00", "Fri 19:00", "Fri 20:00", "Fri 21:00", "Fri 22:00"}},
		{fri, 0, 72 * 3600, []string{"Sat 00:00", "Sat 12:00", "Sun 00:00", "Sun 12:00", "Mon 00:00", "Mon 12:00"}},
		{fri, 0, 14 * 24 * 3600, []string{"Sat 7 Mar", "Tue 10 Mar", "Fri 13 Mar", "Mon 16 Mar", "Thu 19 Mar"}},
		{sat, 2 * 3600, 6 * 3600, []string{"Sun 00:00", "Sun 01:00", "Sun 03:00", "Sun 04:00", "Sun 05:00"}},
	} {
		ticks := calendarTicks{c.start, cph}.Ticks(c.lo, c.hi)
		var got []string
		for i, tk := range ticks {
			got = append(got, tk.Label)
			if tk.Value < c.lo || tk.Value > c.hi || i > 0 && tk.Value <= ticks[i-1].Value {
				t.Errorf("tick %q at %v outside [%v, %v] or out of order", tk.Label, tk.Value, c.lo, c.hi)
			}
			if at := c.start.Add(time.Duration(tk.Value * float64(time.Second))).In(cph); !strings.HasPrefix(tk.Label, at.Format("Mon")) {
				t.Errorf("tick %q is at %v", tk.Label, at)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("from %v, [%v, %v]: ticks %q, want %q", c.start, c.lo, c.hi, got, c.want)
		}
	}
}

// TestCountTicks: a count axis reads whole numbers only.
func TestCountTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 3.5, "0 1 2 3"},
		{0, 7.5, "0 1 2 3 4 5 6 7"},
		{0, 12.5, "0 2 4 6 8 10 12"},
		{0, 250, "0 50 100 150 200 250"},
		{0, 0.5, "0"},
	} {
		var got []string
		for _, tk := range (countTicks{}).Ticks(c.lo, c.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("[%v, %v]: %q, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

var calendarLabel = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d\d:\d\d|\d{1,2} [A-Z][a-z]{2})$`)

// TestChartAxesAndLegends: the report's charts put calendar times on
// their time axes and whole numbers on their count axes, and draw their
// legends beside the plotting area, never over the data.
func TestChartAxesAndLegends(t *testing.T) {
	log, _ := runLog(t, "ctg-threat-warning", "", 1)
	r := build(t, log)
	c := draw.New(vgsvg.New(17*vg.Centimeter, 8*vg.Centimeter))
	for i := range r.Items {
		p, leg, err := reachPlot(r, &r.Items[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
			if _, err := strconv.Atoi(tk.Label); err != nil && tk.Label != "" {
				t.Errorf("%s: count axis label %q", r.Items[i].ID, tk.Label)
			}
		}
		checkCalendarAxis(t, r.Items[i].ID, p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max))
		checkLegendOutside(t, r.Items[i].ID, p, leg, c)
	}
	p, leg, _, err := timelinePlot(r)
	if err != nil || p == nil {
		t.Fatal(err)
	}
	checkCalendarAxis(t, "timeline", p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max))
	checkLegendOutside(t, "timeline", p, leg, c)
}

func checkCalendarAxis(t *testing.T, name string, ticks []plot.Tick) {
	t.Helper()
	if len(ticks) < 2 {
		t.Errorf("%s: %d ticks on the time axis", name, len(ticks))
	}
	for _, tk := range ticks {
		if !calendarLabel.MatchString(tk.Label) {
			t.Errorf("%s: time axis label %q is not a calendar time", name, tk.Label)
		}
	}
}

func checkLegendOutside(t *testing.T, name string, p *plot.Plot, leg *plot.Legend, c draw.Canvas) {
	t.Helper()
	plotC, legC := legendLayout(p, leg, c)
	if legC == nil {
		t.Fatalf("%s: no legend", name)
	}
	data := p.DataCanvas(plotC)
	if legC.Min.X < data.Max.X || legC.Max.X > c.Max.X {
		t.Errorf("%s: legend from x=%v to %v, the data end at %v (canvas %v)", name, legC.Min.X, legC.Max.X, data.Max.X, c.Max.X)
	}
}

// TestUnreachedByReason: audience members whose messages were dropped make
// one finding per reason, which says why and what to do, and names who can
// act: the senders for a missing route, the originator and the holders
// for a consent no channel could ask for, the originator otherwise.
func TestUnreachedByReason(t *testing.T) {
	for _, tc := range []struct {
		reason, says, action string
		responsible          []string
	}{
		{"no_consent_route", "had no channel to ask the originator a for consent", "no channel joins the holder to the originator", []string{"a", "b"}},
		{"no_route", "no channel joins the sender and them", "add a channel", []string{"b"}},
		{"tlp", "TLP:AMBER does not let holders pass it", "release it at a lower level", []string{"a"}},
		{"consent_refused", "refused the release", "agree in advance", []string{"a"}},
	} {
		r := &Report{Drops: []Drop{{Agency: "b", To: "c", Item: "I-1", Reason: tc.reason}}}
		it := &ItemReport{ID: "I-1", TLP: "AMBER", Originator: "a", Audience: []string{"c", "d"}, NeverLearned: []string{"c"}}
		fs := unreachedFindings(r, it)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings", tc.reason, len(fs))
		}
		f := fs[0]
		if f.Kind != "drop" || f.Where != tc.reason || f.Priority != PriorityHigh || !strings.Contains(f.Text, tc.says) ||
			!strings.Contains(f.Action, tc.action) || !slices.Equal(f.Responsible, tc.responsible) {
			t.Errorf("%s: %+v", tc.reason, f)
		}
	}
}
