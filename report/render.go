package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"liaison/atomicfile"
	"path/filepath"
	"strings"
)

// Formats are the report's output formats.
var Formats = []string{"html", "md", "json"}

// FormatOf returns the format a file name asks for by its extension
// (.html/.htm, .md/.markdown, .json), or "" for none of them.
func FormatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		return "html"
	case ".md", ".markdown":
		return "md"
	case ".json":
		return "json"
	}
	return ""
}

// Render writes the report in the format ("html", "md" or "json").
func (r *Report) Render(w io.Writer, format string) error {
	switch format {
	case "html":
		return r.HTML(w)
	case "md":
		return r.Markdown(w)
	case "json":
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	return fmt.Errorf("unknown report format %q; expected one of %s", format, strings.Join(Formats, ", "))
}

// WriteFile renders the report into path through a temporary file renamed
// into place, so that a failure leaves no partial file.
func (r *Report) WriteFile(path, format string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return r.Render(w, format) })
}

// PathText writes a path as hops: dk.pet ─ctg→ ctg.platform ─ctg→ se.sapo.
func PathText(l *Learning) string {
	if len(l.Path) == 0 {
		return l.Agency + " (received the inject)"
	}
	var b strings.Builder
	b.WriteString(l.Path[0].From)
	for _, h := range l.Path {
		label := h.Channel
		if consentTypes[h.Type] {
			label += " " + h.Type
		}
		fmt.Fprintf(&b, " ─%s→ %s", label, h.To)
	}
	return b.String()
}

func slowestText(s *Segment) string {
	if s == nil {
		return "–"
	}
	return s.Where() + ", " + Human(s.Seconds)
}

func optHuman(p *float64) string {
	if p == nil {
		return "never"
	}
	return Human(*p)
}

func metText(p *bool) string {
	switch {
	case p == nil:
		return "no deadline"
	case *p:
		return "met"
	}
	return "missed"
}

func variantName(v string) string {
	if v == "" {
		return "(base)"
	}
	return v
}

// liveText names a facilitator's action for people.
func liveText(kind string) string {
	switch kind {
	case "live_inject":
		return "inject delivered"
	case "pause":
		return "clock paused"
	case "resume":
		return "clock resumed"
	case "skip_inject":
		return "inject skipped"
	case "postpone_inject":
		return "inject postponed"
	case "fire_inject":
		return "contingency inject fired"
	case "cut_channel":
		return "channel cut"
	case "restore_channel":
		return "channel restored"
	case "set_staff":
		return "staff changed"
	}
	return kind
}

func liveMark(live bool) string {
	if live {
		return " (live inject)"
	}
	return ""
}

var funcs = template.FuncMap{
	"live": liveText, "livemark": liveMark,
	"human": Human, "opt": optHuman, "met": metText, "path": PathText, "slowest": slowestText,
	"variant": variantName, "join": strings.Join, "pct": pct, "priority": priorityText,
	"ratingclass": ratingClass, "ratingline": ratingLine,
	"deref": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
	"val": func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	},
}

type htmlData struct {
	R          *Report
	Objectives []objectiveView
	Method     []string
	Timeline   *Chart
	Latency    *Chart
	Waits      *Chart
}

// HTML writes the report as one self-contained page: no scripts, no
// fonts or styles from elsewhere, charts as inline SVG.
func (r *Report) HTML(w io.Writer) error {
	reach, timeline, latency, waits, err := r.charts()
	if err != nil {
		return err
	}
	byItem := map[string]*Chart{}
	for i, c := range reach {
		byItem[r.Items[i].ID] = c
	}
	d := htmlData{R: r, Objectives: r.objectiveViews(byItem), Method: Methodology(),
		Timeline: timeline, Latency: latency, Waits: waits}
	return pageTmpl.Execute(w, d)
}

// CSS is the stylesheet of the report pages, for screen and print.
const CSS = `
:root { --ink:#1f3b5c; --muted:#666; --line:#d8dde3; --warn:#c0392b; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { font: 15px/1.5 "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif; color:#222; margin:0; background:#f4f6f8; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; background:#fff; }
header.top { border-bottom: 3px solid var(--ink); margin-bottom: 16px; }
h1 { font-size: 26px; color: var(--ink); margin: 8px 0 4px; }
h2 { font-size: 20px; color: var(--ink); border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 16px; margin: 24px 0 6px; }
h4 { font-size: 14px; margin: 18px 0 4px; color: var(--ink); text-transform: uppercase; letter-spacing: .04em; }
h5 { font-size: 14px; margin: 14px 0 4px; }
.sub { color: var(--muted); margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 16px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
figure.chart { margin: 12px 0 20px; }
figure.chart svg { width: 100%; max-width: 760px; height: auto; display: block; }
figure.chart figcaption { color: var(--muted); font-size: 13px; }
.bad { color: var(--warn); font-weight: 600; } .good { color: var(--ok); font-weight: 600; }
.path { font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 12px; }
ol.findings li { margin-bottom: 10px; } .action { color: var(--muted); display:block; }
nav.toc { font-size: 13px; } nav.toc a { margin-right: 12px; color: var(--ink); }
.item { border-left: 4px solid var(--line); padding-left: 14px; margin: 16px 0; }
article.objective { border-left: 4px solid var(--ink); padding-left: 16px; margin: 28px 0; }
.rating { display: inline-block; min-width: 1.6em; text-align: center; font-weight: 700; border-radius: 3px; padding: 0 6px; color: #fff; }
.rating-p { background: #2e7d32; } .rating-s { background: #b7950b; } .rating-m { background: #d35400; } .rating-u { background: #922b21; }
.prio-high { color: var(--warn); font-weight: 600; } .prio-medium { color: #b9770e; font-weight: 600; } .prio-low { color: var(--muted); }
.expected { background: #f6f8fa; padding: 6px 10px; border-radius: 3px; }
@media print {
  body { background: #fff; font-size: 11pt; } main { max-width: none; padding: 0; }
  nav.toc { display: none; } h2, h3, h4 { break-after: avoid; } figure.chart, .item h5, tr, li { break-inside: avoid; }
}
`

var pageTmpl = template.Must(template.New("page").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>After-action report: {{.R.Overview.Scenario}}, seed {{.R.Overview.Seed}}</title>
<style>` + CSS + `</style>
</head>
<body>
<main>
{{with .R.Summary}}
<header class="top">
<p class="sub">After-action report and improvement plan · Liaison simulation</p>
<h1>{{.Title}}</h1>
<p class="sub">{{.Scenario}} · seed {{.Seed}} · variant {{variant .Variant}}</p>
</header>
<nav class="toc"><a href="#summary">Executive summary</a><a href="#overview">Exercise overview</a><a href="#objectives">Analysis of objectives</a><a href="#plan">Improvement plan</a><a href="#analysis">Supporting analysis</a><a href="#method">Methodology</a></nav>
<section id="summary">
<h2>1. Executive summary</h2>
<dl class="facts">
<dt>Scenario</dt><dd>{{.Title}} ({{.Scenario}}, variant {{variant .Variant}}, seed {{.Seed}})</dd>
<dt>Exercised</dt><dd>{{.Exercised}}</dd>
<dt>Injects</dt><dd>{{.Injects}}</dd>
<dt>Participating agencies</dt><dd>{{.Agencies}}: {{range $i, $c := .Countries}}{{if $i}}; {{end}}<strong>{{$c.Country}}</strong> {{join $c.Agencies ", "}}{{end}}</dd>
</dl>
<h3>Objectives and ratings</h3>
<table class="ratings"><tr><th class="num">#</th><th>objective</th><th>rating</th></tr>
{{range .Objectives}}<tr data-objective="{{.ID}}"><td class="num">{{.ID}}</td><td>{{.Objective}}</td><td><span class="{{ratingclass .Rating}}" data-rating="{{.Rating}}">{{.Rating}}</span> {{.RatingText}}{{if .Evaluated}} (evaluators' rating){{end}}</td></tr>
{{end}}</table>
<h3>Major strengths</h3>
{{if .Strengths}}<ul>{{range .Strengths}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>None by the rules of the methodology note.</p>{{end}}
<h3>Most important findings</h3>
{{if .KeyFindings}}<ol class="findings">{{range .KeyFindings}}<li><span class="prio-{{.Priority}}">{{priority .Priority}}</span> · <strong>{{.Text}}</strong><span class="action">{{.Action}}</span></li>
{{end}}</ol>{{else}}<p>No area for improvement: every audience learned every inject in time, and no stretch of time stood out.</p>{{end}}
</section>
{{end}}
{{with .R.Overview}}
<section id="overview">
<h2>2. Exercise overview</h2>
<dl class="facts">
<dt>Scenario</dt><dd>{{.Scenario}} — {{.Title}}</dd>
<dt>Seed, variant</dt><dd>{{.Seed}}, {{variant .Variant}}</dd>
<dt>Calendar span</dt><dd>{{.Start}} to {{.End}} ({{.TimeZone}}; {{human .EndSeconds}} simulated)</dd>
<dt>Messages</dt><dd>{{.Messages.Sent}} sent, {{.Messages.Delivered}} delivered, {{.Messages.Dropped}} dropped{{range $k, $v := .Messages.DroppedBy}} ({{$k}} {{$v}}){{end}}</dd>
<dt>Participants</dt><dd>{{len .Agencies}} agencies, {{len .Channels}} channels</dd>
</dl>
<h3>Participating agencies</h3>
<table><tr><th>id</th><th>name</th><th>country</th><th>kind</th><th>hours</th><th class="num">staff</th></tr>
{{range .Agencies}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Country}}</td><td>{{.Kind}}</td><td>{{.Hours}}</td><td class="num">{{.Staff}}</td></tr>
{{end}}</table>
<h3>Channels</h3>
<table><tr><th>id</th><th>name</th><th>topology</th><th>relay</th><th>members</th><th>latency</th></tr>
{{range .Channels}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Topology}}</td><td>{{.Relay}}</td><td>{{join .Members ", "}}</td><td>{{.Latency}}</td></tr>
{{end}}</table>
{{end}}
{{if .R.Live}}<h3>Facilitator's actions</h3>
<table><tr><th>time</th><th>action</th><th>item</th><th>detail</th></tr>
{{range .R.Live}}<tr><td>{{.At}}</td><td>{{live .Action}}</td><td>{{.Item}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{end}}
</section>
<section id="objectives">
<h2>3. Analysis of objectives</h2>
{{range .Objectives}}{{$o := .O}}
<article class="objective" id="objective-{{$o.ID}}" data-objective="{{$o.ID}}">
<h3>Objective {{$o.ID}}: {{$o.Title}} <span class="{{ratingclass $o.Rating}}" data-rating="{{$o.Rating}}">{{$o.Rating}}</span></h3>
<h4>Expected actions</h4>
<ul class="expected">{{range $o.Expected}}<li><strong>{{.Item}}</strong>: {{.Text}}</li>{{end}}</ul>
<h4>What happened</h4>
{{range .Items}}{{$it := .It}}
<div class="item">
<h5>{{$it.ID}} — {{$it.Summary}}{{livemark $it.Live}}</h5>
<dl class="facts">
<dt>Delivered</dt><dd>{{$it.At}} to {{$it.To}} ({{$it.Type}}, TLP:{{$it.TLP}}{{if $it.OriginatorControl}}, originator control by {{$it.Originator}}{{end}})</dd>
<dt>Reach</dt><dd>{{$it.Reached}}/{{len $it.Audience}} of the audience{{if $it.ReachedAtDeadline}}; {{deref $it.ReachedAtDeadline}}/{{len $it.Audience}} by the deadline{{end}}</dd>
<dt>Time to reach</dt><dd>{{opt $it.TimeToReachSeconds}}{{if $it.DeadlineSeconds}}, deadline {{human (val $it.DeadlineSeconds)}}: {{if eq (met $it.DeadlineMet) "met"}}<span class="good">met</span>{{else}}<span class="bad">missed</span>{{end}}{{end}}</dd>
<dt>Inject rating</dt><dd><span class="{{ratingclass $it.Rating}}">{{$it.Rating}}</span> {{$it.RatingBasis}}</dd>
{{with .Last}}<dt>Last to learn</dt><dd>{{.Agency}} after {{human .SinceInject}}, by <span class="path">{{path .}}</span>; slowest link: <strong>{{slowest .Slowest}}</strong></dd>{{end}}
{{if $it.NeverLearned}}<dt>Never learned</dt><dd class="bad">{{join $it.NeverLearned ", "}}</dd>{{end}}
{{if .Drops}}<dt>Drops</dt><dd>{{range .Drops}}{{.}}<br>{{end}}</dd>{{end}}
{{if .Replies}}<dt>Late answers</dt><dd>{{range .Replies}}{{.Agency}} at {{.At}} (deadline {{human .DeadlineSeconds}})<br>{{end}}</dd>{{end}}
</dl>
{{with .Chart}}<figure class="chart" data-chart="{{.ID}}">{{.SVG}}<figcaption>{{.Title}}: the step line counts audience members who know; dashed lines mark the audience size and the deadline.</figcaption></figure>{{end}}
<table><tr><th>agency</th><th>learned</th><th class="num">after</th><th>path</th><th>slowest link</th></tr>
{{range $it.Learned}}<tr><td>{{.Agency}}{{if not .InAudience}} <small>(not in audience)</small>{{end}}</td><td>{{.At}}</td><td class="num">{{human .SinceInject}}</td><td class="path">{{path .}}</td><td>{{slowest .Slowest}}</td></tr>
{{end}}</table>
</div>
{{end}}
{{if $o.Facilitator}}<h5>Facilitator's actions meanwhile</h5>
<ul>{{range $o.Facilitator}}<li>{{.At}}: {{live .Action}}{{if .Item}} {{.Item}}{{end}}{{if .Detail}} {{.Detail}}{{end}}</li>{{end}}</ul>{{end}}
<h5>Player decisions and evaluator notes</h5>
{{if $o.Observations}}<ul>{{range $o.Observations}}<li>{{.At}} · {{.Kind}}{{if .Agency}} · {{.Agency}}{{end}}: {{.Text}}</li>{{end}}</ul>{{else}}<p class="sub">None recorded in the event log.</p>{{end}}
<h4>Rating</h4>
<p class="rating-line"><span class="{{ratingclass $o.Rating}}" data-rating="{{$o.Rating}}">{{$o.Rating}}</span> <strong>{{$o.RatingText}}</strong>. {{ratingline $o}}</p>
<h4>Strengths</h4>
{{if $o.Strengths}}<ul>{{range $o.Strengths}}<li>{{.Text}}</li>{{end}}</ul>{{else}}<p class="sub">None by the rules of the methodology note.</p>{{end}}
<h4>Areas for improvement</h4>
{{if .Findings}}<ul>{{range .Findings}}<li><a href="#finding-{{.Rank}}">#{{.Rank}}</a> <span class="prio-{{.Priority}}">{{priority .Priority}}</span> · {{.Text}}</li>{{end}}</ul>{{else}}<p class="sub">None.</p>{{end}}
</article>
{{end}}
{{if .R.Unrated}}<p class="bad">The scenario rates objectives that no inject carries (not applied): {{range .R.Unrated}}“{{.Objective}}” {{.Rating}}; {{end}}</p>{{end}}
</section>
<section id="plan">
<h2>4. Improvement plan</h2>
{{if .R.Findings}}<table class="plan"><tr><th class="num">#</th><th>objective</th><th>issue (area for improvement)</th><th>recommendation</th><th>responsible agency</th><th>priority</th></tr>
{{range .R.Findings}}<tr id="finding-{{.Rank}}"><td class="num">{{.Rank}}</td><td>{{if .Objective}}{{.Objective}}{{else}}General{{end}}</td><td>{{.Text}}</td><td>{{.Action}}</td><td>{{join .Responsible ", "}}</td><td class="prio-{{.Priority}}">{{priority .Priority}}</td></tr>
{{end}}</table>{{else}}<p>Nothing to improve by the rules of the methodology note.</p>{{end}}
</section>
<section id="analysis">
<h2>5. Supporting analysis</h2>
<h3 id="timeline">5.1 Timeline: who knew what when</h3>
{{with .Timeline}}<figure class="chart" data-chart="{{.ID}}">{{.SVG}}<figcaption>Each mark is an agency learning an item, on the scenario's calendar.</figcaption></figure>{{end}}
<table><tr><th>time</th><th>item</th><th>agency</th><th class="num">after inject</th></tr>
{{range .R.Timeline}}<tr><td>{{.At}}</td><td>{{.Item}}</td><td>{{.Agency}}</td><td class="num">{{human .SinceInject}}</td></tr>
{{end}}</table>
<h3 id="channels">5.2 Channels</h3>
<p>Transit is the channel's latency alone; messages that waited for the channel to come back from an outage are counted apart, with their total wait.</p>
<table><tr><th>channel</th><th>topology</th><th class="num">messages</th><th class="num">delivered</th><th class="num">transit mean</th><th class="num">p50</th><th class="num">p95</th><th class="num">max</th><th class="num">outage waits</th><th class="num">waited</th></tr>
{{range .R.Channels}}<tr><td>{{.ID}}</td><td>{{.Topology}}</td><td class="num">{{.Messages}}</td><td class="num">{{.Delivered}}</td><td class="num">{{human .LatencyMeanSeconds}}</td><td class="num">{{human .LatencyP50Seconds}}</td><td class="num">{{human .LatencyP95Seconds}}</td><td class="num">{{human .LatencyMaxSeconds}}</td><td class="num">{{.OutageWaits}}</td><td class="num">{{human .OutageWaitSeconds}}</td></tr>
{{end}}</table>
{{with .Latency}}<figure class="chart" data-chart="{{.ID}}">{{.SVG}}<figcaption>Latency of each hop (deliveries in brackets): box from the 25th to the 75th percentile, median line, whiskers and outliers.</figcaption></figure>{{end}}
<h3 id="agencies">5.3 Agencies: queues, office hours and consent</h3>
<table><tr><th>agency</th><th>hours</th><th class="num">staff</th><th class="num">handled</th><th class="num">max queue</th><th class="num" title="arrived but not handled when the run ended">unfinished</th><th class="num">mean wait</th><th class="num">held</th><th class="num">hold time</th><th class="num">queue time</th><th class="num">consent asked</th><th class="num">consent wait</th><th class="num">granted/refused</th></tr>
{{range .R.Agencies}}<tr><td>{{.ID}}</td><td>{{.Hours}}</td><td class="num">{{.Staff}}</td><td class="num">{{.Handled}}</td><td class="num">{{.MaxQueue}}</td><td class="num">{{.Unfinished}}</td><td class="num">{{human .MeanWaitSeconds}}</td><td class="num">{{.Held}}</td><td class="num">{{human .HoldSeconds}}</td><td class="num">{{human .QueueSeconds}}</td><td class="num">{{.ConsentRequests}}</td><td class="num">{{human .ConsentWaitSeconds}}</td><td class="num">{{.ConsentGranted}}/{{.ConsentRefused}}</td></tr>
{{end}}</table>
{{with .Waits}}<figure class="chart" data-chart="{{.ID}}">{{.SVG}}<figcaption>Time messages waited at each agency: for opening hours, for staff, and (at the asking agency) for the originator's consent under the third-party rule.</figcaption></figure>{{end}}
<h3 id="problems">5.4 Deadlines missed and drops</h3>
{{if .R.Deadlines}}<table><tr><th>time</th><th>item</th><th>agency</th><th class="num">deadline</th><th class="num">reached by then</th></tr>
{{range .R.Deadlines}}<tr><td>{{.At}}</td><td>{{.Item}}</td><td>{{if .Agency}}{{.Agency}} (reply){{else}}audience{{end}}</td><td class="num">{{human .DeadlineSeconds}}</td><td class="num">{{.Reached}}{{if .Audience}}/{{.Audience}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>No deadline was missed.</p>{{end}}
{{if .R.Drops}}<table><tr><th>time</th><th>at</th><th>to</th><th>item</th><th>type</th><th>reason</th></tr>
{{range .R.Drops}}<tr><td>{{.At}}</td><td>{{.Agency}}</td><td>{{.To}}</td><td>{{.Item}}</td><td>{{.Type}}</td><td class="bad">{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p>No message was dropped.</p>{{end}}
</section>
<section id="method">
<h2>6. Methodology</h2>
{{range .Method}}<p>{{.}}</p>
{{end}}</section>
</main>
</body>
</html>
`))
