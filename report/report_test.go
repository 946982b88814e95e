package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"liaison"
	"liaison/agents"
	"liaison/broker"
	"liaison/events"
	"liaison/internal/browsertest"
	"liaison/internal/golden"
	"liaison/scenarios"
	"liaison/sim"
)

// runLog runs a built-in scenario and returns its event log and summary.
func runLog(t *testing.T, name, variant string, seed uint64) ([]byte, *events.Summary) {
	t.Helper()
	sc, err := scenarios.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	sum, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Variant: variant, Seed: seed, Events: &buf})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sum
}

func build(t *testing.T, log []byte) *Report {
	t.Helper()
	lg, err := Read(context.Background(), "run.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(lg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Every learner's path adds up: its segments sum to the time since the
// inject, and it starts at the inject's recipient.
func TestPathsAddUp(t *testing.T) {
	log, _ := runLog(t, "ctg-threat-warning", "", 1)
	r := build(t, log)
	sawConsent, sawHold := false, false
	for _, it := range r.Items {
		for _, l := range it.Learned {
			sum := 0.0
			for _, s := range l.Segments {
				sum += s.Seconds
				sawConsent = sawConsent || s.Kind == SegConsent
				sawHold = sawHold || s.Kind == SegHold
			}
			if d := sum - l.SinceInject; d > 0.01 || d < -0.01 {
				t.Errorf("%s at %s: segments sum to %.3f s, learned after %.3f s: %+v", it.ID, l.Agency, sum, l.SinceInject, l.Segments)
			}
			if len(l.Path) > 0 && (l.Path[0].From != it.To || l.Path[len(l.Path)-1].To != l.Agency) {
				t.Errorf("%s at %s: path %s does not run from %s", it.ID, l.Agency, PathText(&l), it.To)
			}
		}
	}
	if !sawConsent || !sawHold {
		t.Errorf("expected consent and office-hours segments in ctg-threat-warning (consent %v, hold %v)", sawConsent, sawHold)
	}
	if len(r.Findings) == 0 || r.Findings[0].Kind != SegHold {
		t.Errorf("expected office hours as the top bottleneck, got %+v", r.Findings)
	}
}

// TestTransitApart: a hop's transit on a path is its channel's latency
// alone; the sender's fan-out delay (ctg-research's mesh variant drafts a
// share's 31 messages one minute apart) and the wait for a channel's outage to end
// (twg-pwgt's Council working party, which meets only now and then) are
// segments of their own, charged to the sender and to the channel; the
// path still adds up; and the channel table has the summary's outage
// waits.
func TestTransitApart(t *testing.T) {
	saw := map[string]bool{}
	for _, run := range []struct{ name, variant string }{{"ctg-research", "mesh"}, {"twg-pwgt", ""}} {
		name := run.name
		log, sum := runLog(t, name, run.variant, 1)
		lg, err := Read(context.Background(), name+".jsonl", bytes.NewReader(log))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Build(lg)
		if err != nil {
			t.Fatal(err)
		}
		sends, delivers := map[string]*events.Record{}, map[string]*events.Record{}
		for _, e := range lg.Events {
			id := events.MessageID(lg.Names.Agencies[max(e.MsgFrom, 0)], e.MsgSeq)
			switch e.Kind {
			case events.Send:
				sends[id] = e
			case events.Deliver:
				delivers[id] = e
			}
		}
		for i, c := range r.Channels {
			if c.OutageWaits != sum.Channels[i].OutageWaits || c.OutageWaitSeconds != sum.Channels[i].OutageWaitSeconds {
				t.Errorf("%s: channel %s waited %d times %vs for outages, the summary says %d, %vs", name, c.ID,
					c.OutageWaits, c.OutageWaitSeconds, sum.Channels[i].OutageWaits, sum.Channels[i].OutageWaitSeconds)
			}
		}
		for _, it := range r.Items {
			for _, l := range it.Learned {
				total := 0.0
				byMsg := map[string]map[string]Segment{}
				for _, s := range l.Segments {
					total += s.Seconds
					if byMsg[s.Msg] == nil {
						byMsg[s.Msg] = map[string]Segment{}
					}
					byMsg[s.Msg][s.Kind] = s
					saw[s.Kind] = true
				}
				if d := total - l.SinceInject; d > 0.01 || d < -0.01 {
					t.Errorf("%s %s at %s: segments sum to %.3f s, learned after %.3f s", name, it.ID, l.Agency, total, l.SinceInject)
				}
				for _, h := range l.Path {
					if consentTypes[h.Type] {
						continue
					}
					s, d := sends[h.Msg], delivers[h.Msg]
					segs := byMsg[h.Msg]
					for _, c := range []struct {
						kind, where string
						want        float64
					}{
						{SegTransit, h.Channel, d.Value.Seconds()},
						{SegOutage, h.Channel, d.OutageWait.Seconds()},
						{SegFanout, h.From, s.Value.Seconds()},
					} {
						got := segs[c.kind]
						if got.Seconds != events.Round3(c.want) || c.want > 0 && chargedTo(&got) != c.where {
							t.Errorf("%s %s at %s, message %s: %s segment %+v, want %vs charged to %s",
								name, it.ID, l.Agency, h.Msg, c.kind, got, c.want, c.where)
						}
					}
				}
			}
		}
	}
	if !saw[SegFanout] || !saw[SegOutage] || !saw[SegTransit] {
		t.Errorf("segment kinds seen on the paths: %v; want fan-out, outage and transit", saw)
	}
}

// A bad log is refused with the reader's error (file:line), and a log
// whose summary cannot be recomputed too: the report never shows figures
// the run did not have.
func TestBadLogs(t *testing.T) {
	log, _ := runLog(t, "interpol-notice", "", 1)
	lines := strings.SplitAfter(string(log), "\n")
	for _, c := range []struct {
		name, log, want string
	}{
		{"empty", "", "run.jsonl: empty event log"},
		{"no header", lines[1], "run.jsonl:1: "},
		{"bad json", lines[0] + lines[1] + "{nope\n", "run.jsonl:3:2: bad JSON"},
		{"unknown kind", lines[0] + `{"t":1,"kind":"teleport"}` + "\n", `run.jsonl:2:8: unknown event kind "teleport"`},
		{"cut short", strings.Join(lines[:slices.IndexFunc(lines, func(l string) bool {
			return strings.Contains(l, `"kind":"send"`)
		})+1], ""), "run.jsonl: 1 messages unaccounted for"},
	} {
		_, err := Read(context.Background(), "run.jsonl", strings.NewReader(c.log))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want prefix %q", c.name, err, c.want)
		}
	}
}

// storedLog returns the log of a run kept in testdata/NAME.jsonl. With
// -update it runs again (run) and rewrites the file; otherwise reports
// are made from the stored log, so an engine change does not move the
// golden files made from it.
func storedLog(t *testing.T, name string, run func() []byte) []byte {
	t.Helper()
	path := "testdata/" + name + ".jsonl"
	if golden.Updating() {
		if err := os.WriteFile(path, run(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to make it)", err)
	}
	return log
}

// liveLog returns the log of a live exercise on ctg-threat-warning: the
// facilitator pauses the clock, delivers an inject (through the checks a
// live inject goes through) and resumes.
func liveLog(t *testing.T) []byte {
	t.Helper()
	return storedLog(t, "live", func() []byte {
		sc, err := scenarios.Builtin("ctg-threat-warning")
		if err != nil {
			t.Fatal(err)
		}
		in, err := sc.ParseInject("update.yaml", []byte("id: L-1\nto: dk.pet\nfrom: PET surveillance team\n"+
			"type: threat-warning\nsummary: The vehicle was seen near Malmö\ntlp: AMBER\n"+
			"audience: [se.sapo, no.pst, dk.police]\ndeadline: 3h\n"))
		if err != nil {
			t.Fatal(err)
		}
		def, err := json.Marshal(agents.DefOf(in))
		if err != nil {
			t.Fatal(err)
		}
		at := 30 * liaison.Hour
		var buf bytes.Buffer
		_, err = sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Events: &buf, Replay: []broker.Action{
			{Kind: broker.ActionPause, At: at}, {Kind: broker.ActionInject, At: at, Def: def},
			{Kind: broker.ActionResume, At: at}}})
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	})
}

// TestMarkdownGolden: the Markdown reports that a person reviewed: a live
// exercise (a live inject, a pause and a resume), and two built-in
// scenarios whose injects serve objectives, one with objectives performed
// with some and without challenges, one with major challenges (audience
// members that TLP kept from learning).
func TestMarkdownGolden(t *testing.T) {
	for _, name := range []string{"live", "ctg-threat-warning", "dk-national-circle"} {
		t.Run(name, func(t *testing.T) {
			var log []byte
			if name == "live" {
				log = liveLog(t)
			} else {
				log = storedLog(t, name, func() []byte { b, _ := runLog(t, name, "", 1); return b })
			}
			r := build(t, log)
			if name == "live" && (len(r.Live) != 3 || !r.Items[len(r.Items)-1].Live) {
				t.Fatalf("the live actions are not in the report: %+v", r.Live)
			}
			var md bytes.Buffer
			if err := r.Render(&md, "md"); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/"+name+".md", md.Bytes())
		})
	}
}

// Every kind of event, live actions included, is reportable, in every
// format.
func TestEveryKind(t *testing.T) {
	log, err := os.ReadFile("../events/testdata/every-kind.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	r := build(t, log)
	if len(r.Live) != 3 || len(r.Items) != 2 || !r.Items[1].Live || len(r.Drops) != 1 || len(r.Deadlines) != 2 {
		t.Errorf("report: live %+v, %d items, %d drops, %d deadlines", r.Live, len(r.Items), len(r.Drops), len(r.Deadlines))
	}
	for _, f := range Formats {
		var b bytes.Buffer
		if err := r.Render(&b, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if !strings.Contains(b.String(), "L-1") {
			t.Errorf("%s: the live inject is missing", f)
		}
	}
}

// The JSON form is stable (the same log gives the same bytes) and carries
// the same content as the Markdown.
func TestFormats(t *testing.T) {
	log, _ := runLog(t, "sis-hit-oresund", "", 1)
	r := build(t, log)
	var j1, j2, md bytes.Buffer
	if err := r.Render(&j1, "json"); err != nil {
		t.Fatal(err)
	}
	if err := build(t, log).Render(&j2, "json"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(j1.Bytes(), j2.Bytes()) {
		t.Error("JSON report differs between two renderings of the same log")
	}
	var back map[string]any
	if err := json.Unmarshal(j1.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"executive_summary", "overview", "objectives", "findings", "items", "timeline", "channels",
		"agencies", "deadlines_missed", "drops"} {
		if _, ok := back[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	if err := r.Render(&md, "md"); err != nil {
		t.Fatal(err)
	}
	for _, it := range r.Items {
		if !strings.Contains(md.String(), "### "+it.ID) {
			t.Errorf("Markdown lacks item %s", it.ID)
		}
	}
	for _, f := range r.Findings {
		if !strings.Contains(md.String(), f.Text) {
			t.Errorf("Markdown lacks finding %q", f.Text)
		}
	}
	if err := r.Render(&md, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

var consoleLine = regexp.MustCompile(`(?m)^.*(CONSOLE|console).*$`)

// renderInBrowser loads an HTML file in headless Chromium, takes a
// screenshot and returns Chromium's log (console messages included).
func renderInBrowser(t *testing.T, bin, page, png string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1280,4000",
		"--screenshot="+png, "file://"+page)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() < 10000 {
		t.Fatalf("no screenshot from chromium (%v)\n%s", err, out)
	}
	return string(out)
}

func consoleErrors(log string) []string {
	return consoleLine.FindAllString(log, -1)
}

// dumpDOM loads an HTML file in headless Chromium and returns the DOM as
// the browser built it.
func dumpDOM(t *testing.T, bin, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, errs.String())
	}
	return out.String()
}

// domText escapes text as Chromium serialises it in a DOM dump.
func domText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;").Replace(s)
}

var (
	h2Tag      = regexp.MustCompile(`(?s)<h2[^>]*>(.*?)</h2>`)
	h4Tag      = regexp.MustCompile(`(?s)<h4[^>]*>(.*?)</h4>`)
	ratingSpan = regexp.MustCompile(`data-rating="([A-Z]+)"`)
)

// TestHTMLInBrowser renders the report of a built-in scenario whose injects
// serve objectives, one of them rated by the evaluators, in Chromium, and
// checks the page the browser built: the HSEEP sections in order
// (executive summary first), every objective with its expected actions,
// what happened, rating, strengths and areas for improvement, and the
// ratings in the objective and in the summary table. It keeps a
// screenshot in testdata/out (ignored by git) for a person to look at.
func TestHTMLInBrowser(t *testing.T) {
	bin := browsertest.Chromium(t)
	dir := t.TempDir()
	// The check must be able to fail: a page with a script error shows up.
	broken := filepath.Join(dir, "broken.html")
	os.WriteFile(broken, []byte(`<!DOCTYPE html><html><body><p>x</p><script>console.error("boom"); undefinedFn();</script></body></html>`), 0o644)
	if errs := consoleErrors(renderInBrowser(t, bin, broken, filepath.Join(dir, "broken.png"))); len(errs) == 0 {
		t.Fatal("the console check did not see a deliberate script error")
	}

	const evaluated = "Respect for TLP and the third-party rule under time pressure."
	log := ratedLog(t, scenarios.ObjectiveRating{Objective: evaluated, Rating: "M",
		Reason: "Säpo's attempts to pass the identity on show that the handling caveat was not understood"})
	r := build(t, log)
	var page bytes.Buffer
	if err := r.Render(&page, "html"); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, bad := range []string{"<script", "http://", "https://", "@import", "<link"} {
		if strings.Contains(html, bad) && !(bad == "http://" && onlySVGNamespaces(html)) {
			t.Errorf("report is not self-contained: contains %q", bad)
		}
	}
	want := []string{"timeline", "channel-latency", "agency-waits"}
	for _, it := range r.Items {
		want = append(want, "reach-"+it.ID)
	}
	for _, id := range want {
		if !regexp.MustCompile(`data-chart="` + regexp.QuoteMeta(id) + `"><svg[^>]*>(?s:.*?)<path`).MatchString(html) {
			t.Errorf("chart %s missing or empty", id)
		}
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := dumpDOM(t, bin, file)
	var sections []string
	for _, m := range h2Tag.FindAllStringSubmatch(dom, -1) {
		sections = append(sections, m[1])
	}
	wantSections := []string{"1. Executive summary", "2. Exercise overview", "3. Analysis of objectives",
		"4. Improvement plan", "5. Supporting analysis", "6. Methodology"}
	if !slices.Equal(sections, wantSections) {
		t.Errorf("sections in the browser: %q\nwant %q", sections, wantSections)
	}
	summary := dom[strings.Index(dom, `<section id="summary">`):strings.Index(dom, `<section id="overview">`)]
	if len(r.Objectives) != 2 {
		t.Fatalf("ctg-threat-warning has two objectives; the report has %d", len(r.Objectives))
	}
	for _, o := range r.Objectives {
		if o.Objective == "" || !liaison.Rating(o.Rating).Valid() {
			t.Errorf("objective %s: %q rated %q", o.ID, o.Objective, o.Rating)
		}
		start := strings.Index(dom, `<article class="objective" id="objective-`+o.ID+`"`)
		if start < 0 {
			t.Errorf("objective %s is not on the page", o.ID)
			continue
		}
		art := dom[start : start+strings.Index(dom[start:], "</article>")]
		if !strings.Contains(art, "Objective "+o.ID+": "+domText(o.Objective)) {
			t.Errorf("objective %s: its heading does not name %q", o.ID, o.Objective)
		}
		var heads []string
		for _, m := range h4Tag.FindAllStringSubmatch(art, -1) {
			heads = append(heads, m[1])
		}
		if want := []string{"Expected actions", "What happened", "Rating", "Strengths", "Areas for improvement"}; !slices.Equal(heads, want) {
			t.Errorf("objective %s: parts %q, want %q", o.ID, heads, want)
		}
		for _, it := range o.Items {
			var item *ItemReport
			for i := range r.Items {
				if r.Items[i].ID == it {
					item = &r.Items[i]
				}
			}
			if !strings.Contains(art, domText(item.Expected)) {
				t.Errorf("objective %s: the expected action of %s is missing", o.ID, it)
			}
		}
		if m := ratingSpan.FindStringSubmatch(art); m == nil || m[1] != o.Rating {
			t.Errorf("objective %s: rating on the page %v, want %s", o.ID, m, o.Rating)
		}
		if !strings.Contains(art, liaison.Rating(o.Rating).Text()) {
			t.Errorf("objective %s: the rating's words %q are missing", o.ID, liaison.Rating(o.Rating).Text())
		}
		row := regexp.MustCompile(`(?s)<tr data-objective="` + o.ID + `">.*?</tr>`).FindString(summary)
		if m := ratingSpan.FindStringSubmatch(row); m == nil || m[1] != o.Rating || !strings.Contains(row, domText(o.Objective)) {
			t.Errorf("objective %s: the summary's row %q does not give %s %s", o.ID, row, o.Objective, o.Rating)
		}
	}
	if o := r.Objectives[1]; o.Objective != evaluated || o.Rating != "M" || !o.Evaluated || !strings.Contains(dom, "Rated by the evaluators") {
		t.Errorf("the evaluators' rating is not shown: %+v", o)
	}

	shots := filepath.Join("testdata", "out")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := filepath.Abs(filepath.Join(shots, "ctg-threat-warning.png"))
	if err != nil {
		t.Fatal(err)
	}
	out := renderInBrowser(t, bin, file, png)
	if errs := consoleErrors(out); len(errs) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshot of the report: %s", png)
}

// ratedLog runs ctg-threat-warning (seed 1) with the evaluators' ratings
// added to the scenario.
func ratedLog(t *testing.T, ratings ...scenarios.ObjectiveRating) []byte {
	t.Helper()
	sc, err := scenarios.Builtin("ctg-threat-warning")
	if err != nil {
		t.Fatal(err)
	}
	rated := *sc
	rated.Ratings = append(slices.Clone(sc.Ratings), ratings...)
	var buf bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: &rated, Seed: 1, Events: &buf}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onlySVGNamespaces reports whether every http:// in the page is an SVG or
// XLink namespace name (identifiers, not fetched).
func onlySVGNamespaces(html string) bool {
	rest := strings.NewReplacer(`"http://www.w3.org/2000/svg"`, "", `"http://www.w3.org/1999/xlink"`, "").Replace(html)
	return !strings.Contains(rest, "http://")
}

// TestFacilitatorActions: a replayed exercise's facilitator actions (skip,
// postpone, fire, cut, restore, staff) are all in the report with what they
// named, and a postponed inject is measured from when it was injected,
// not from its planned time.
func TestFacilitatorActions(t *testing.T) {
	sc, err := scenarios.Open("../sim/testdata/exercise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	act := func(at float64, kind, def string) broker.Action {
		return broker.Action{At: liaison.FromSeconds(at), Kind: kind, Def: []byte(def)}
	}
	script := []broker.Action{
		act(1800, broker.ActionCut, `{"channel":"national"}`),
		act(5400, broker.ActionRestore, `{"channel":"national"}`),
		act(7200, broker.ActionStaff, `{"agency":"dk.police","staff":3}`),
		act(9000, broker.ActionSkip, `{"id":"I-2"}`),
		act(10800, broker.ActionPostpone, `{"id":"I-3","at_seconds":64800}`),
		act(72000, broker.ActionFire, `{"id":"C-1"}`),
	}
	var buf bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Events: &buf, Replay: script}); err != nil {
		t.Fatal(err)
	}
	r := build(t, buf.Bytes())
	var got []string
	for _, l := range r.Live {
		got = append(got, fmt.Sprintf("%v %s %s %s", l.TSeconds, l.Action, l.Item, l.Detail))
	}
	want := []string{
		"1800 cut_channel  national",
		"5400 restore_channel  national",
		"7200 set_staff  dk.police to 3",
		"9000 skip_inject I-2 ",
		"10800 postpone_inject I-3 to " + r.wall(64800),
		"72000 fire_inject C-1 ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("facilitator's actions:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, it := range r.Items {
		if it.ID != "I-3" {
			continue
		}
		if it.AtSeconds != 64800 {
			t.Errorf("I-3 measured from %vs, want 64800s (postponed)", it.AtSeconds)
		}
		for _, l := range it.Learned {
			if l.SinceInject != l.TSeconds-64800 {
				t.Errorf("%s learned I-3 %vs after the inject, want %v", l.Agency, l.SinceInject, l.TSeconds-64800)
			}
		}
	}
}

// TestDropSender: a drop names the sender of the message, whoever logged
// it: one still in transit at the end is logged at its recipient.
func TestDropSender(t *testing.T) {
	log, _ := runLog(t, "club-de-berne", "", 8) // its own seed: one message in transit at the end
	r := build(t, log)
	runEnd := 0
	for _, d := range r.Drops {
		if d.Reason == "run_end" {
			runEnd++
		}
		if d.Msg != "" && !strings.HasPrefix(d.Msg, d.Agency+"#") {
			t.Errorf("drop of %s (%s) at %s, want its sender", d.Msg, d.Reason, d.Agency)
		}
	}
	if runEnd == 0 {
		t.Error("no message in transit at the end: the test shows nothing")
	}
}

// TestDecisionWait: on the path of an item through a player's agency, the
// wait for the player's decision is its own segment, not handling.
func TestDecisionWait(t *testing.T) {
	sc, err := scenarios.Open("../sim/testdata/exercise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// I-1 reaches dk.pet (a player's seat) at 1h; handled in 10m, it
	// waits for the player, who shares it at 2h.
	script := []broker.Action{{At: liaison.FromSeconds(7200), Kind: broker.ActionDecision,
		Def: []byte(`{"agency":"dk.pet","decision":1,"action":"share","to":["dk.police","se.sapo"]}`)}}
	var buf bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Events: &buf, Replay: script}); err != nil {
		t.Fatal(err)
	}
	r := build(t, buf.Bytes())
	found := false
	for _, it := range r.Items {
		for _, l := range it.Learned {
			if it.ID != "I-1" || l.Agency != "se.sapo" {
				continue
			}
			var kinds []string
			for _, s := range l.Segments {
				kinds = append(kinds, fmt.Sprintf("%s %s %v", s.Kind, s.Agency, s.Seconds))
				if s.Kind == SegDecision {
					found = s.Agency == "dk.pet" && s.Start == 4200 && s.Seconds == 3000
				}
			}
			if !found {
				t.Errorf("se.sapo's path of I-1: %s; want 3000s of dk.pet's decision from 4200s", strings.Join(kinds, ", "))
			}
		}
	}
	if !found {
		t.Error("se.sapo never learned I-1")
	}
}

// TestWithheld: an audience member that a player chose not to pass an item
// to, where the rules would have, is a finding about that player's
// decision, not about missing rules.
func TestWithheld(t *testing.T) {
	sc, err := scenarios.Open("../sim/testdata/exercise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// dk.pet's rules share I-1 with dk.police and se.sapo; the player
	// shares it with se.sapo alone. dk.police would have passed it to
	// dk.fe: both never learn it.
	script := []broker.Action{{At: liaison.FromSeconds(7200), Kind: broker.ActionDecision,
		Def: []byte(`{"agency":"dk.pet","decision":1,"action":"share","to":["se.sapo"]}`)}}
	var buf bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Events: &buf, Replay: script}); err != nil {
		t.Fatal(err)
	}
	r := build(t, buf.Bytes())
	var got []string
	for _, f := range r.Findings {
		if f.Item == "I-1" && (f.Kind == "withheld" || f.Kind == "unreached") {
			got = append(got, f.Kind+": "+f.Text)
		}
	}
	want := "withheld: I-1 never reached dk.police (1 of its 3 audience members): the player at dk.pet chose not to pass it to them (decided " +
		r.wall(7200) + "), though the agency's rules would have."
	if len(got) == 0 || got[0] != want {
		t.Errorf("findings about I-1:\n%s\nwant first\n%s", strings.Join(got, "\n"), want)
	}
}
