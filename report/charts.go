package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one figure of the report: an inline SVG drawn by gonum/plot.
type Chart struct {
	ID    string
	Title string
	SVG   template.HTML
}

var svgProlog = regexp.MustCompile(`(?s)^.*?(<svg)`)

// SVG renders a plot as an inline SVG element (no XML prolog), scaled to
// its container by the page's CSS.
func SVG(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	return svgOf(c)
}

func svgOf(c *vgsvg.Canvas) (template.HTML, error) {
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := svgProlog.ReplaceAllString(b.String(), "$1")
	s = strings.Replace(s, "<svg ", `<svg role="img" preserveAspectRatio="xMidYMid meet" `, 1)
	return template.HTML(s), nil
}

func init() {
	// Sans-serif text, as on the rest of the page.
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
}

// Style applies the report's look to a plot.
func Style(p *plot.Plot) {
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.BackgroundColor = color.White
}

func hours(sec float64) float64 { return sec / 3600 }

// Accent colours for the report's lines.
var (
	ink      = color.RGBA{0x1f, 0x3b, 0x5c, 0xff}
	warn     = color.RGBA{0xc0, 0x39, 0x2b, 0xff}
	muted    = color.RGBA{0x88, 0x88, 0x88, 0xff}
	holdCol  = color.RGBA{0xe0, 0x8e, 0x2b, 0xff}
	queueCol = color.RGBA{0x3a, 0x7c, 0xa5, 0xff}
	consCol  = color.RGBA{0x8e, 0x44, 0xad, 0xff}
)

// calendarTicks labels an axis of simulated seconds with the scenario's
// calendar in its time zone: "Fri 18:00", or "Fri 6 Mar" for steps of a
// day or more. Ticks fall on round wall-clock times (every 2 hours from
// midnight, say), so that a reader can take times off the chart.
type calendarTicks struct {
	start time.Time
	loc   *time.Location
}

var calendarSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
	91 * 24 * time.Hour, 364 * 24 * time.Hour}

// maxTicks and maxCalendarTicks bound the labelled ticks of an axis:
// calendar labels ("Sat 12:00") are wide.
const (
	maxTicks         = 8
	maxCalendarTicks = 6
)

// calendarAxis puts the scenario's calendar on a plot's x axis.
func calendarAxis(r *Report, p *plot.Plot) {
	p.X.Label.Text = "calendar time (" + r.Overview.TimeZone + ")"
	p.X.Tick.Marker = calendarTicks{r.start, r.loc}
	p.X.Tick.Label.Font.Size = vg.Points(9)
}

func (t calendarTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	span := time.Duration((hi - lo) * float64(time.Second))
	for _, step := range calendarSteps {
		if span/step > 2*maxCalendarTicks && step != calendarSteps[len(calendarSteps)-1] {
			continue // far too many
		}
		if out = t.every(step, lo, hi); len(out) <= maxCalendarTicks {
			break
		}
	}
	return out
}

// every places a tick at each round wall-clock time of the step between
// lo and hi: times of day that are multiples of the step, or every few
// midnights from the first one in range.
func (t calendarTicks) every(step time.Duration, lo, hi float64) []plot.Tick {
	from := t.start.Add(time.Duration(lo * float64(time.Second))).In(t.loc)
	to := t.start.Add(time.Duration(hi * float64(time.Second)))
	layout := "Mon 15:04"
	if step >= 24*time.Hour {
		layout = "Mon 2 Jan"
	}
	var out []plot.Tick
	seen := map[int64]bool{}
	add := func(at time.Time) {
		if at.Before(from) || at.After(to) || seen[at.Unix()] {
			return
		}
		seen[at.Unix()] = true
		out = append(out, plot.Tick{Value: at.Sub(t.start).Seconds(), Label: at.In(t.loc).Format(layout)})
	}
	y, m, d := from.Date()
	if step >= 24*time.Hour {
		if time.Date(y, m, d, 0, 0, 0, 0, t.loc).Before(from) {
			d++ // the first midnight in range
		}
		days := int(step / (24 * time.Hour))
		for day := 0; !time.Date(y, m, d+day, 0, 0, 0, 0, t.loc).After(to); day += days {
			add(time.Date(y, m, d+day, 0, 0, 0, 0, t.loc))
		}
		return out
	}
	for day := 0; !time.Date(y, m, d+day, 0, 0, 0, 0, t.loc).After(to); day++ {
		// Wall-clock times of the day; time.Date places those that a
		// daylight-saving change skips.
		for sec := 0; sec < 24*3600; sec += int(step / time.Second) {
			add(time.Date(y, m, d+day, 0, 0, sec, 0, t.loc))
		}
	}
	return out
}

// countTicks labels a count axis with whole numbers only.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	a, b := math.Ceil(lo), math.Floor(hi)
	if b < a {
		return []plot.Tick{{Value: a, Label: strconv.Itoa(int(a))}}
	}
	step := 1.0
	for mag := 1.0; ; mag *= 10 {
		if s := wholeStep(b-a, mag); s > 0 {
			step = s
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(a/step) * step; v <= b; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return out
}

// wholeStep is the first of 1, 2 and 5 times mag that labels span with
// fewer than maxTicks ticks, or 0.
func wholeStep(span, mag float64) float64 {
	for _, f := range []float64{1, 2, 5} {
		if span/(f*mag) < maxTicks {
			return f * mag
		}
	}
	return 0
}

// newLegend returns a legend in the report's style, drawn beside the
// plotting area by figure.
func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = vg.Points(10)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(18)
	return &l
}

// legendGap separates the plotting area from its legend; legendSlack
// widens the legend's column beyond the width measured in the report's
// font.
const (
	legendGap   = vg.Length(10)
	legendSlack = 1.25
)

// legendLayout splits a figure's canvas: the plot on the left, its legend
// (if it has entries) in a column on the right whose top is level with
// the top of the plotting area, so that no entry ever covers data.
func legendLayout(p *plot.Plot, leg *plot.Legend, c draw.Canvas) (plotC draw.Canvas, legC *draw.Canvas) {
	if leg == nil {
		return c, nil
	}
	width := leg.Rectangle(c).Size().X
	if width <= 0 {
		return c, nil
	}
	// The SVG names its fonts without embedding them, and a browser
	// without Liberation Sans draws the text in a wider face: leave room.
	width = width*legendSlack + leg.ThumbnailWidth/2
	plotC = draw.Crop(c, 0, -(width + legendGap), 0, 0)
	top := vg.Length(0)
	if p.Title.Text != "" {
		top = p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	lc := draw.Crop(c, c.Size().X-width, 0, 0, -top)
	return plotC, &lc
}

// figure renders a plot with its legend beside it as an inline SVG.
func figure(p *plot.Plot, leg *plot.Legend, w, h vg.Length) (template.HTML, error) {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	plotC, legC := legendLayout(p, leg, dc)
	p.Draw(plotC)
	if legC != nil {
		leg.Draw(*legC)
	}
	return svgOf(c)
}

func reachChart(r *Report, it *ItemReport) (*Chart, error) {
	p, leg, err := reachPlot(r, it)
	if err != nil {
		return nil, err
	}
	svg, err := figure(p, leg, 17*vg.Centimeter, 8*vg.Centimeter)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "reach-" + it.ID, Title: p.Title.Text, SVG: svg}, nil
}

// reachPlot draws an item's reach over calendar time against its
// audience and deadline.
func reachPlot(r *Report, it *ItemReport) (*plot.Plot, *plot.Legend, error) {
	end := r.Overview.EndSeconds
	p := plot.New()
	Style(p)
	p.Title.Text = fmt.Sprintf("%s: audience reached over time", it.ID)
	calendarAxis(r, p)
	p.Y.Label.Text = "audience members who know"
	p.Y.Tick.Marker = countTicks{}
	horizon := end - it.AtSeconds
	if it.DeadlineSeconds != nil {
		horizon = max(min(horizon, 1.5*max(*it.DeadlineSeconds, it.Curve[len(it.Curve)-1].Seconds)), *it.DeadlineSeconds)
	}
	horizon = max(horizon, it.Curve[len(it.Curve)-1].Seconds*1.05, 60)
	at := it.AtSeconds
	pts := make(plotter.XYs, 0, len(it.Curve)+1)
	for _, c := range it.Curve {
		pts = append(pts, plotter.XY{X: at + c.Seconds, Y: float64(c.Reached)})
	}
	pts = append(pts, plotter.XY{X: at + horizon, Y: float64(it.Reached)})
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color, l.Width = ink, vg.Points(2)
	p.Add(plotter.NewGrid(), l)
	leg := newLegend()
	leg.Add("reached", l)
	aud, err := plotter.NewLine(plotter.XYs{{X: at, Y: float64(len(it.Audience))}, {X: at + horizon, Y: float64(len(it.Audience))}})
	if err != nil {
		return nil, nil, err
	}
	aud.Color, aud.Dashes = muted, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(aud)
	leg.Add(fmt.Sprintf("audience (%d)", len(it.Audience)), aud)
	if d := it.DeadlineSeconds; d != nil {
		dl, err := plotter.NewLine(plotter.XYs{{X: at + *d, Y: 0}, {X: at + *d, Y: float64(len(it.Audience))}})
		if err != nil {
			return nil, nil, err
		}
		dl.Color, dl.Width, dl.Dashes = warn, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(dl)
		leg.Add("deadline "+Human(*d), dl)
	}
	p.Y.Min, p.Y.Max = 0, float64(len(it.Audience))+0.5
	p.X.Min, p.X.Max = at, at+horizon
	return p, leg, nil
}

// agencyTicks labels a categorical axis with agency ids.
type agencyTicks []string

func (t agencyTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for i, s := range t {
		out = append(out, plot.Tick{Value: float64(i), Label: s})
	}
	return out
}

func timelineChart(r *Report) (*Chart, error) {
	p, leg, h, err := timelinePlot(r)
	if p == nil || err != nil {
		return nil, err
	}
	svg, err := figure(p, leg, 18*vg.Centimeter, h)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "timeline", Title: p.Title.Text, SVG: svg}, nil
}

// timelinePlot marks each agency learning each item on the calendar, one
// row per agency; nil when nobody learned anything.
func timelinePlot(r *Report) (*plot.Plot, *plot.Legend, vg.Length, error) {
	var ids []string
	row := map[string]int{}
	for _, l := range r.Timeline {
		if _, ok := row[l.Agency]; !ok {
			row[l.Agency] = len(ids)
			ids = append(ids, l.Agency)
		}
	}
	if len(ids) == 0 {
		return nil, nil, 0, nil
	}
	p := plot.New()
	Style(p)
	p.Title.Text = "Who knew what when"
	calendarAxis(r, p)
	p.Y.Tick.Marker = agencyTicks(ids)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	leg := newLegend()
	last := 0.0
	for i, it := range r.Items {
		var pts plotter.XYs
		for _, l := range it.Learned {
			pts = append(pts, plotter.XY{X: l.TSeconds, Y: float64(row[l.Agency])})
			last = max(last, l.TSeconds)
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, nil, 0, err
		}
		s.GlyphStyle.Color = plotutil.Color(i)
		s.GlyphStyle.Shape = plotutil.Shape(i)
		s.GlyphStyle.Radius = vg.Points(3.5)
		p.Add(s)
		leg.Add(it.ID, s)
	}
	p.Y.Min, p.Y.Max = -0.7, float64(len(ids))-0.3
	p.X.Min, p.X.Max = 0, max(last*1.03, 60)
	h := vg.Length(3+0.45*float64(max(len(ids), len(r.Items)))) * vg.Centimeter
	return p, leg, h, nil
}

func latencyChart(r *Report) (*Chart, error) {
	p := plot.New()
	Style(p)
	p.Title.Text = "Hop latency by channel"
	p.Y.Label.Text = "minutes"
	var names []string
	for _, c := range r.Channels {
		if len(c.latencies) == 0 {
			continue
		}
		vs := make(plotter.Values, len(c.latencies))
		for i, x := range c.latencies {
			vs[i] = x / 60
		}
		b, err := plotter.NewBoxPlot(vg.Points(28), float64(len(names)), vs)
		if err != nil {
			return nil, err
		}
		b.FillColor = color.RGBA{0xc9, 0xd9, 0xea, 0xff}
		p.Add(b)
		names = append(names, fmt.Sprintf("%s (%d)", c.ID, len(c.latencies)))
	}
	if len(names) == 0 {
		return nil, nil
	}
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	// Half a box's slot of room at either end, so that the first and last
	// labels, centred under their boxes, stay inside the chart.
	p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
	svg, err := SVG(p, vg.Length(max(10, 3.6*float64(len(names))))*vg.Centimeter, 8*vg.Centimeter)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "channel-latency", Title: p.Title.Text, SVG: svg}, nil
}

func waitsChart(r *Report) (*Chart, error) {
	var ids []string
	var hold, queue, cons plotter.Values
	for _, a := range r.Agencies {
		if a.HoldSeconds+a.QueueSeconds+a.ConsentWaitSeconds == 0 {
			continue
		}
		ids = append(ids, a.ID)
		hold = append(hold, hours(a.HoldSeconds))
		queue = append(queue, hours(a.QueueSeconds))
		cons = append(cons, hours(a.ConsentWaitSeconds))
	}
	if len(ids) == 0 {
		return nil, nil
	}
	p := plot.New()
	Style(p)
	p.Title.Text = "Waiting time by agency"
	p.X.Label.Text = "hours, summed over messages"
	w := vg.Points(10)
	bh, err := plotter.NewBarChart(hold, w)
	if err != nil {
		return nil, err
	}
	bq, err := plotter.NewBarChart(queue, w)
	if err != nil {
		return nil, err
	}
	bc, err := plotter.NewBarChart(cons, w)
	if err != nil {
		return nil, err
	}
	for _, b := range []*plotter.BarChart{bh, bq, bc} {
		b.Horizontal = true
		b.LineStyle.Width = 0
	}
	bh.Color, bq.Color, bc.Color = holdCol, queueCol, consCol
	bq.StackOn(bh)
	bc.StackOn(bq)
	p.Add(plotter.NewGrid(), bh, bq, bc)
	leg := newLegend()
	leg.Add("office-hours hold", bh)
	leg.Add("queue wait", bq)
	leg.Add("consent wait", bc)
	p.NominalY(ids...)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.X.Min = 0
	h := vg.Length(4+0.55*float64(len(ids))) * vg.Centimeter
	svg, err := figure(p, leg, 17*vg.Centimeter, h)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "agency-waits", Title: p.Title.Text, SVG: svg}, nil
}

// charts draws every chart of the report: one reach curve per item, the
// timeline, channel latencies and agency waits (the last three when there
// is something to draw).
func (r *Report) charts() (reach []*Chart, timeline, latency, waits *Chart, err error) {
	for i := range r.Items {
		c, err := reachChart(r, &r.Items[i])
		if err != nil {
			return nil, nil, nil, nil, err
		}
		reach = append(reach, c)
	}
	if timeline, err = timelineChart(r); err != nil {
		return
	}
	if latency, err = latencyChart(r); err != nil {
		return
	}
	waits, err = waitsChart(r)
	return
}
