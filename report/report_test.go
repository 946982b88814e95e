package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
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

var update = flag.Bool("update", false, "rewrite the golden files, and the live run's log they are made from")

// liveLog returns the log of a live exercise on ctg-threat-warning: the
// facilitator pauses the clock, delivers an inject (through the checks a
// live inject goes through) and resumes. With -update it runs the exercise
// again, replaying the actions, and rewrites testdata/live.jsonl; otherwise
// the report is made from the stored log, so an engine change does not
// move the golden file.
func liveLog(t *testing.T) []byte {
	t.Helper()
	const path = "testdata/live.jsonl"
	if *update {
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
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to make it)", err)
	}
	return log
}

// TestMarkdownGolden: the Markdown report of a live exercise, whose log
// holds a live inject, a pause and a resume, is what a person reviewed.
func TestMarkdownGolden(t *testing.T) {
	r := build(t, liveLog(t))
	if len(r.Live) != 3 || !r.Items[len(r.Items)-1].Live {
		t.Fatalf("the live actions are not in the report: %+v", r.Live)
	}
	var md bytes.Buffer
	if err := r.Render(&md, "md"); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/live.md", md.Bytes())
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (rerun with -update after reviewing):\n--- got\n%s", path, got)
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
