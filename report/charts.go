package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"regexp"
	"strings"

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

func reachChart(it *ItemReport, end float64) (*Chart, error) {
	p := plot.New()
	Style(p)
	p.Title.Text = fmt.Sprintf("%s: audience reached over time", it.ID)
	p.X.Label.Text = "hours since the inject"
	p.Y.Label.Text = "audience members who know"
	horizon := end - it.AtSeconds
	if it.DeadlineSeconds != nil {
		horizon = max(min(horizon, 1.5*max(*it.DeadlineSeconds, it.Curve[len(it.Curve)-1].Seconds)), *it.DeadlineSeconds)
	}
	horizon = max(horizon, it.Curve[len(it.Curve)-1].Seconds*1.05, 60)
	pts := make(plotter.XYs, 0, len(it.Curve)+1)
	for _, c := range it.Curve {
		pts = append(pts, plotter.XY{X: hours(c.Seconds), Y: float64(c.Reached)})
	}
	pts = append(pts, plotter.XY{X: hours(horizon), Y: float64(it.Reached)})
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color, l.Width = ink, vg.Points(2)
	p.Add(plotter.NewGrid(), l)
	p.Legend.Add("reached", l)
	aud, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(len(it.Audience))}, {X: hours(horizon), Y: float64(len(it.Audience))}})
	if err != nil {
		return nil, err
	}
	aud.Color, aud.Dashes = muted, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(aud)
	p.Legend.Add(fmt.Sprintf("audience (%d)", len(it.Audience)), aud)
	if d := it.DeadlineSeconds; d != nil {
		dl, err := plotter.NewLine(plotter.XYs{{X: hours(*d), Y: 0}, {X: hours(*d), Y: float64(len(it.Audience))}})
		if err != nil {
			return nil, err
		}
		dl.Color, dl.Width, dl.Dashes = warn, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)}
		p.Add(dl)
		p.Legend.Add("deadline "+Human(*d), dl)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(20)
	p.Y.Min, p.Y.Max = 0, float64(len(it.Audience))+0.5
	p.X.Min, p.X.Max = 0, hours(horizon)
	svg, err := SVG(p, 16*vg.Centimeter, 8*vg.Centimeter)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "reach-" + it.ID, Title: p.Title.Text, SVG: svg}, nil
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
	var ids []string
	row := map[string]int{}
	for _, l := range r.Timeline {
		if _, ok := row[l.Agency]; !ok {
			row[l.Agency] = len(ids)
			ids = append(ids, l.Agency)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	p := plot.New()
	Style(p)
	p.Title.Text = "Who knew what when"
	p.X.Label.Text = "hours since the start of the exercise"
	p.Y.Tick.Marker = agencyTicks(ids)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	for i, it := range r.Items {
		var pts plotter.XYs
		for _, l := range it.Learned {
			pts = append(pts, plotter.XY{X: hours(l.TSeconds), Y: float64(row[l.Agency])})
		}
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle.Color = plotutil.Color(i)
		s.GlyphStyle.Shape = plotutil.Shape(i)
		s.GlyphStyle.Radius = vg.Points(3.5)
		p.Add(s)
		p.Legend.Add(it.ID, s)
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = -0.7, float64(len(ids))-0.3
	p.X.Min = 0
	h := vg.Length(3+0.45*float64(len(ids))) * vg.Centimeter
	svg, err := SVG(p, 18*vg.Centimeter, h)
	if err != nil {
		return nil, err
	}
	return &Chart{ID: "timeline", Title: p.Title.Text, SVG: svg}, nil
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
	svg, err := SVG(p, vg.Length(max(10, 3.2*float64(len(names))))*vg.Centimeter, 8*vg.Centimeter)
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
	p.Legend.Add("office-hours hold", bh)
	p.Legend.Add("queue wait", bq)
	p.Legend.Add("consent wait (third-party rule)", bc)
	p.Legend.Top = true
	p.NominalY(ids...)
	p.Y.Tick.Label.Font.Size = vg.Points(8)
	p.X.Min = 0
	h := vg.Length(4+0.55*float64(len(ids))) * vg.Centimeter
	svg, err := SVG(p, 16*vg.Centimeter, h)
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
		c, err := reachChart(&r.Items[i], r.Overview.EndSeconds)
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
