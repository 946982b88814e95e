package compare

import (
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"liaison/report"
)

type chart struct {
	ID, Title, Caption string
	SVG                template.HTML
}

// ecdfChart plots, per variant, the share of runs that had reached the
// whole audience by each time: censored runs keep the curve below 1.
func (r *Result) ecdfChart(item int) (*chart, error) {
	p := plot.New()
	report.Style(p)
	id := r.All[0].Items[item].ID
	p.Title.Text = id + ": time to reach the whole audience (ECDF)"
	p.X.Label.Text = "hours since the inject"
	p.Y.Label.Text = "share of runs reached"
	p.Add(plotter.NewGrid())
	horizon := 0.0
	for _, run := range r.All {
		it := run.Items[item]
		if !it.Censored {
			horizon = max(horizon, it.TimeToReach)
		}
	}
	horizon = max(horizon*1.05, 60)
	for vi, name := range r.Names {
		runs := r.byRow(vi)
		var ts []float64
		for _, run := range runs {
			if it := run.Items[item]; !it.Censored {
				ts = append(ts, it.TimeToReach)
			}
		}
		slices.Sort(ts)
		pts := plotter.XYs{{X: 0, Y: 0}}
		for i, t := range ts {
			pts = append(pts, plotter.XY{X: t / 3600, Y: float64(i+1) / float64(len(runs))})
		}
		pts = append(pts, plotter.XY{X: horizon / 3600, Y: float64(len(ts)) / float64(len(runs))})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Width = plotutil.Color(vi), vg.Points(2)
		l.Dashes = plotutil.Dashes(vi)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	return shareChart(p, horizon, "ecdf-"+id,
		"Share of runs in which the whole audience knew the item by each time; a curve that stays below 1 has runs that never reached it.")
}

// bandChart plots the mean share of the audience reached over time per
// variant, with a band from the 10th to the 90th percentile over runs.
func (r *Result) bandChart(item int) (*chart, error) {
	p := plot.New()
	report.Style(p)
	id := r.All[0].Items[item].ID
	p.Title.Text = id + ": audience reached over time"
	p.X.Label.Text = "hours since the inject"
	p.Y.Label.Text = "share of the audience"
	p.Add(plotter.NewGrid())
	horizon := 0.0
	for _, run := range r.All {
		it := run.Items[item]
		if len(it.Learned) > 0 {
			horizon = max(horizon, it.Learned[len(it.Learned)-1])
		}
	}
	horizon = max(horizon*1.05, 60)
	const steps = 120
	for vi, name := range r.Names {
		runs := r.byRow(vi)
		var mean, lo, hi plotter.XYs
		share := make([]float64, len(runs))
		for s := 0; s <= steps; s++ {
			t := horizon * float64(s) / steps
			for k, run := range runs {
				it := run.Items[item]
				n, _ := slices.BinarySearch(it.Learned, math.Nextafter(t, math.Inf(1)))
				share[k] = float64(n) / float64(max(it.Audience, 1))
			}
			sorted := slices.Clone(share)
			slices.Sort(sorted)
			m := 0.0
			for _, x := range share {
				m += x
			}
			x := t / 3600
			mean = append(mean, plotter.XY{X: x, Y: m / float64(len(share))})
			lo = append(lo, plotter.XY{X: x, Y: quantileSorted(sorted, 0.1)})
			hi = append(hi, plotter.XY{X: x, Y: quantileSorted(sorted, 0.9)})
		}
		c := plotutil.Color(vi)
		band := append(slices.Clone(lo), reversed(hi)...)
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return nil, err
		}
		rr, g, b, _ := c.RGBA()
		poly.Color = color.NRGBA{uint8(rr >> 8), uint8(g >> 8), uint8(b >> 8), 0x40}
		poly.LineStyle.Width = 0
		l, err := plotter.NewLine(mean)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = c, vg.Points(2), plotutil.Dashes(vi)
		p.Add(poly, l)
		p.Legend.Add(name, l)
	}
	return shareChart(p, horizon, "bands-"+id,
		"Mean share of the audience that knew the item, with a band from the 10th to the 90th percentile over runs.")
}

// shareChart finishes a plot of a share (0 to 1) over the hours of a run,
// with the variants' legend at the bottom right, as an inline SVG chart.
func shareChart(p *plot.Plot, horizon float64, id, caption string) (*chart, error) {
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(20)
	p.Y.Min, p.Y.Max = 0, 1.02
	p.X.Min, p.X.Max = 0, horizon/3600
	svg, err := report.SVG(p, 16*vg.Centimeter, 8*vg.Centimeter)
	if err != nil {
		return nil, err
	}
	return &chart{ID: id, Title: p.Title.Text, SVG: svg, Caption: caption}, nil
}

func quantileSorted(s []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func reversed(xy plotter.XYs) plotter.XYs {
	out := slices.Clone(xy)
	slices.Reverse(out)
	return out
}

type row struct {
	Item, Row, Reached, Mean, P50, P95, Reach, Met, Diff string
}

type verdictRow struct {
	Item, Metric, Best, Next, Lead, Verdict string
	Significant                             bool
}

type openRow struct{ Item, Metric, Rows, Runs string }

// WriteHTML writes the comparison as one self-contained page with the
// statistics, who wins, the open intervals and, per item, an ECDF of time
// to reach and reach-over-time bands.
func (r *Result) WriteHTML(w io.Writer) error {
	items, chans := r.Stats()
	var rows []row
	for _, s := range items {
		diff := "reference"
		if s.Row != 0 {
			diff = fmt.Sprintf("%s (%d pairs)", ci(s.Diff, signedDur), s.DiffPaired)
		}
		rows = append(rows, row{s.Item, r.Names[s.Row], fmt.Sprintf("%d/%d", s.Reached, s.Runs),
			fmt.Sprintf("%s (%d)", ci(s.Mean, dur), s.Mean.N), ci(s.P50, dur), ci(s.P95, dur),
			ci(s.ReachAtDeadline, pct), ci(s.Met, pct), diff})
	}
	var verdicts []verdictRow
	for _, v := range r.Verdicts(items) {
		verdicts = append(verdicts, verdictRow{v.Item, v.Metric, r.bestText(v), r.nextText(v), v.leadText(), r.verdictText(v), v.Significant})
	}
	var open []openRow
	for _, o := range r.OpenIntervals(items) {
		open = append(open, openRow{o.Item, o.Metric, r.rowList(o.Rows), o.text()})
	}
	type crow struct{ Row, Channel, Messages string }
	var crows []crow
	for _, c := range chans {
		crows = append(crows, crow{r.Names[c.Row], c.Channel, ci(c.Messages, func(x float64) string { return fmt.Sprintf("%.1f", x) })})
	}
	var charts []*chart
	if len(r.All) > 0 {
		for i := range r.All[0].Items {
			e, err := r.ecdfChart(i)
			if err != nil {
				return err
			}
			b, err := r.bandChart(i)
			if err != nil {
				return err
			}
			charts = append(charts, e, b)
		}
	}
	word := r.rowWord()
	return compareTmpl.Execute(w, map[string]any{"R": r, "Rows": rows, "Verdicts": verdicts, "Open": open,
		"Chans": crows, "Charts": charts, "Note": CensoringNote, "WinnerNote": WinnerNote, "Word": word,
		"Swept": r.sweptText(), "Level": levelText(r.level()), "Last": r.Seed + uint64(r.Runs) - 1})
}

var compareTmpl = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Topology comparison: {{.R.Scenario}}</title>
<style>` + report.CSS + `
tr.significant td { font-weight: 600; }</style>
</head>
<body>
<main>
<header class="top">
<p class="sub">Topology comparison · Liaison simulation</p>
<h1>{{.R.Title}}</h1>
<p class="sub">{{.R.Scenario}} · {{if .R.Paths}}{{len .R.Rows}} rows: every combination of {{.Swept}}{{else}}variants {{range $i, $v := .R.Names}}{{if $i}}, {{end}}{{$v}}{{end}}{{end}} · {{.R.Runs}} runs each, seeds {{.R.Seed}}..{{.Last}} (common random numbers)</p>
</header>
<section>
<h2>Time to reach and deadlines</h2>
<p class="sub">{{.Level}} confidence intervals in brackets. {{.Note}}</p>
<table><tr><th>item</th><th>{{.Word}}</th><th class="num">reached</th><th class="num">mean time to reach</th><th class="num">p50</th><th class="num">p95</th><th class="num">reach at deadline</th><th class="num">P(deadline met)</th><th class="num">paired difference</th></tr>
{{range .Rows}}<tr><td>{{.Item}}</td><td>{{.Row}}</td><td class="num">{{.Reached}}</td><td class="num">{{.Mean}}</td><td class="num">{{.P50}}</td><td class="num">{{.P95}}</td><td class="num">{{.Reach}}</td><td class="num">{{.Met}}</td><td class="num">{{.Diff}}</td></tr>
{{end}}</table>
</section>
{{if .Verdicts}}<section>
<h2>Who wins</h2>
<p class="sub">Significance at {{.Level}}. {{.WinnerNote}}</p>
<table><tr><th>item</th><th>metric</th><th>best</th><th>next</th><th class="num">lead over next</th><th>verdict</th></tr>
{{range .Verdicts}}<tr{{if .Significant}} class="significant"{{end}}><td>{{.Item}}</td><td>{{.Metric}}</td><td>{{.Best}}</td><td>{{.Next}}</td><td class="num">{{.Lead}}</td><td>{{.Verdict}}</td></tr>
{{end}}</table>
</section>
{{end}}{{if .Open}}<section>
<h2>Open intervals</h2>
<p class="sub">Intervals with an open end (∞), and how many runs per {{.Word}} would close them, estimated from the share of runs that never reached.</p>
<table><tr><th>item</th><th>metric</th><th>{{.Word}}s</th><th>runs that would close them</th></tr>
{{range .Open}}<tr><td>{{.Item}}</td><td>{{.Metric}}</td><td>{{.Rows}}</td><td>{{.Runs}}</td></tr>
{{end}}</table>
</section>
{{end}}
<section>
<h2>Charts</h2>
{{range .Charts}}<figure class="chart" data-chart="{{.ID}}">{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}
</section>
<section>
<h2>Messages per channel</h2>
<table><tr><th>{{.Word}}</th><th>channel</th><th class="num">messages per run</th></tr>
{{range .Chans}}<tr><td>{{.Row}}</td><td>{{.Channel}}</td><td class="num">{{.Messages}}</td></tr>
{{end}}</table>
</section>
</main>
</body>
</html>
`))
