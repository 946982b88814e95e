package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"liaison/events"
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
	lg, err := ParseLog("run.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(lg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The report's figures agree with the summary of the same run.
func TestAgreesWithSummary(t *testing.T) {
	for _, c := range []struct {
		name, variant string
		seed          uint64
	}{{"ctg-threat-warning", "", 1}, {"sis-hit-oresund", "", 3},
		{"interpol-notice", "", 1}, {"ctg-research", "hub", 4}, {"siena-drug-case", "", 2}} {
		t.Run(c.name, func(t *testing.T) {
			log, sum := runLog(t, c.name, c.variant, c.seed)
			r := build(t, log)
			m, sm := r.Overview.Messages, sum.Messages
			if m.Sent != sm.Sent || m.Delivered != sm.Delivered || m.Dropped != sm.Dropped {
				t.Errorf("messages %+v, summary %+v", m, sm)
			}
			for k, v := range sm.DroppedBy {
				if m.DroppedBy[k] != v {
					t.Errorf("dropped %s: %d, summary %d", k, m.DroppedBy[k], v)
				}
			}
			if len(r.Items) != len(sum.Items) {
				t.Fatalf("%d items, summary %d", len(r.Items), len(sum.Items))
			}
			for i, it := range r.Items {
				s := sum.Items[i]
				if it.ID != string(s.ID) || it.Reached != s.Reached || !eqF(it.TimeToReachSeconds, s.TimeToReachSeconds) ||
					!eqF(it.DeadlineSeconds, s.DeadlineSeconds) || !eqB(it.DeadlineMet, s.DeadlineMet) {
					t.Errorf("item %s: reached %d ttr %v met %v; summary reached %d ttr %v met %v", it.ID, it.Reached,
						str(it.TimeToReachSeconds), it.DeadlineMet, s.Reached, str(s.TimeToReachSeconds), s.DeadlineMet)
				}
				if len(it.Learned) != s.Knowers {
					t.Errorf("item %s: %d learners, summary %d knowers", it.ID, len(it.Learned), s.Knowers)
				}
			}
			for i, ch := range r.Channels {
				s := sum.Channels[i]
				if ch.ID != string(s.ID) || ch.Messages != s.Messages || ch.LatencyP50Seconds != s.LatencyP50Seconds ||
					ch.LatencyP95Seconds != s.LatencyP95Seconds || ch.LatencyMeanSeconds != s.LatencyMeanSecond {
					t.Errorf("channel %+v, summary %+v", ch, s)
				}
			}
			for i, a := range r.Agencies {
				s := sum.Agencies[i]
				if a.ID != string(s.ID) || a.Handled != s.Handled || a.MaxQueue != s.MaxQueue ||
					a.MeanWaitSeconds != s.MeanWaitSeconds || a.Held != s.Held || a.Knows != s.Knows {
					t.Errorf("agency %+v, summary %+v", a, s)
				}
			}
			if r.Overview.EndSeconds != sum.EndSeconds {
				t.Errorf("end %v, summary %v", r.Overview.EndSeconds, sum.EndSeconds)
			}
		})
	}
}

func str(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
func eqF(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqB(a, b *bool) bool    { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

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

func TestBadLogs(t *testing.T) {
	log, _ := runLog(t, "interpol-notice", "", 1)
	lines := strings.SplitAfter(string(log), "\n")
	for _, c := range []struct {
		name, log, want string
	}{
		{"empty", "", "run.jsonl: empty event log"},
		{"no header", lines[1], "run.jsonl:1: "},
		{"bad json", lines[0] + lines[1] + "{nope\n", "run.jsonl:3: bad JSON"},
		{"unknown kind", lines[0] + `{"t":1,"kind":"teleport"}` + "\n", `run.jsonl:2: unknown event kind "teleport"`},
		{"missing field", lines[0] + `{"t":1,"kind":"deliver","agency":"x"}` + "\n", "run.jsonl:2: "},
		{"unknown field", lines[0] + `{"t":1,"kind":"skip","colour":"red"}` + "\n", `run.jsonl:2: bad JSON: json: unknown field "colour"`},
		{"time goes back", lines[0] + `{"t":5,"kind":"skip"}` + "\n" + `{"t":4,"kind":"skip"}` + "\n", "run.jsonl:3: time 4 goes back"},
	} {
		_, err := ParseLog("run.jsonl", strings.NewReader(c.log))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want prefix %q", c.name, err, c.want)
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
	for _, k := range []string{"overview", "items", "timeline", "channels", "agencies", "deadlines_missed", "drops", "findings"} {
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

// chromium finds the browser, or skips (fails under CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
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
		"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1280,3000",
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

func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	// The check must be able to fail: a page with a script error shows up.
	broken := filepath.Join(dir, "broken.html")
	os.WriteFile(broken, []byte(`<!DOCTYPE html><html><body><p>x</p><script>console.error("boom"); undefinedFn();</script></body></html>`), 0o644)
	if errs := consoleErrors(renderInBrowser(t, bin, broken, filepath.Join(dir, "broken.png"))); len(errs) == 0 {
		t.Fatal("the console check did not see a deliberate script error")
	}

	log, _ := runLog(t, "ctg-threat-warning", "", 1)
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
	shots, err := os.MkdirTemp("", "liaison-report-shot-")
	if err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(shots, "report.png")
	out := renderInBrowser(t, bin, file, png)
	if errs := consoleErrors(out); len(errs) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshot of the report: %s", png)
}

// onlySVGNamespaces reports whether every http:// in the page is an SVG or
// XLink namespace name (identifiers, not fetched).
func onlySVGNamespaces(html string) bool {
	rest := strings.NewReplacer(`"http://www.w3.org/2000/svg"`, "", `"http://www.w3.org/1999/xlink"`, "").Replace(html)
	return !strings.Contains(rest, "http://")
}
