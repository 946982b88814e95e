package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"liaison/internal/browsertest"
)

func TestConsoleFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--console", "127.0.0.1:0", "testdata/tabletop-oresund.yaml"}, "--console needs --speed N"},
		{[]string{"run", "--speed", "60", "--console", "0.0.0.0:0", "testdata/tabletop-oresund.yaml"}, "would serve other machines"},
		{[]string{"run", "--speed", "60", "--console", "nonsense", "testdata/tabletop-oresund.yaml"}, `--console "nonsense"`},
		{[]string{"run", "--speed", "60", "--console", ":0", "--players", "se.sirene,nope", "testdata/tabletop-oresund.yaml"}, `--players: no agency "nope" in tabletop-oresund`},
		{[]string{"run", "--players", "se.sirene", "testdata/tabletop-oresund.yaml"}, "--players seats people at the console"},
		{[]string{"run", "--console-public", "testdata/tabletop-oresund.yaml"}, "--console-public needs --console"},
		{[]string{"run", "--speed", "60", "--console", ":0", "--replay", "testdata/tabletop-oresund.yaml", "testdata/tabletop-oresund.yaml"}, "replay without --console"},
	} {
		code, _, stderr := cli(t, tc.args...)
		if code != exitInvalid || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

// tab is a browser tab; script errors on it fail the test.
type tab struct {
	*browsertest.Tab
	t *testing.T
}

func newTab(t *testing.T, browser context.Context) *tab {
	return &tab{Tab: browsertest.NewTab(t, browser), t: t}
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.Ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.shot("failed.png")
		tb.t.Fatalf("%s: %v", what, err)
	}
}

func (tb *tab) until(what, expr string) {
	tb.t.Helper()
	tb.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second)))
}

func (tb *tab) eval(expr string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		tb.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

func (tb *tab) shot(name string) {
	png, err := chromedp.Run(tb.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(filepath.Join("testdata", "out"), 0o755)
	os.WriteFile(filepath.Join("testdata", "out", name), png, 0o644)
}

func (tb *tab) check() {
	tb.t.Helper()
	for _, e := range tb.Errors() {
		tb.t.Errorf("page error: %s", e)
	}
}

type logLine struct {
	Kind   string          `json:"kind"`
	T      float64         `json:"t"`
	Agency string          `json:"agency"`
	Item   string          `json:"item"`
	Msg    string          `json:"msg"`
	Action json.RawMessage `json:"action"`
}

var linkLine = regexp.MustCompile(`(?m)^\s+(facilitator|player (\S+)):\s+(http://\S+)$`)

// TestConsoleExercise runs a tabletop exercise with the real program and
// real headless Chromium: liaison run --speed --console on a scenario
// with four player seats. On the facilitator's page the facilitator skips
// an inject and cuts a channel; on the Swedish SIRENE bureau's page the
// player, who has received the hit, shares it with the German bureau
// alone. The log holds exactly those three live actions, each doing what
// it says; no player's page ever shows traffic that did not reach its own
// agency; and liaison run --replay of the log gives the same log byte for
// byte. Screenshots are kept in testdata/out (ignored by git).
func TestConsoleExercise(t *testing.T) {
	if testing.Short() {
		t.Skip("a paced run in a browser")
	}
	bin := browsertest.Chromium(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "exercise.jsonl")
	var stderr syncBuffer
	done := make(chan int, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr}
		done <- m.Run(ctx, []string{"run", "--speed", "360", "--console", "127.0.0.1:0", "--events", log,
			"testdata/tabletop-oresund.yaml"})
	}()
	links := map[string]string{}
	for deadline := time.Now().Add(20 * time.Second); len(links) < 5 && time.Now().Before(deadline); {
		for _, m := range linkLine.FindAllStringSubmatch(stderr.String(), -1) {
			who := m[1]
			if m[2] != "" {
				who = m[2]
			}
			links[who] = m[3]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(links) != 5 {
		t.Fatalf("links printed: %v\n%s", links, stderr.String())
	}

	browser := browsertest.Browser(t, bin)

	seats := []string{"se.sirene", "de.sirene", "se.sapo", "dk.pet"}
	players := map[string]*tab{}
	for _, p := range seats {
		players[p] = newTab(t, browser)
		players[p].do("open "+p+"'s page", chromedp.Navigate(links[p]), chromedp.WaitVisible(`#inbox-body`))
	}
	fac := newTab(t, browser)
	fac.do("open the facilitator's page", chromedp.Navigate(links["facilitator"]),
		chromedp.WaitVisible(`tr[data-inject="I-2"] button.skip`))
	fac.do("skip I-2 by keyboard", chromedp.Focus(`tr[data-inject="I-2"] button.skip`), chromedp.KeyEvent(kb.Enter))
	fac.until("the skip is accepted", `document.querySelector('tr[data-inject="I-2"] .result').textContent.startsWith('Accepted')`)
	fac.do("cut de-national by keyboard", chromedp.Focus(`tr[data-channel="de-national"] button.toggle`), chromedp.KeyEvent(kb.Enter))
	fac.until("the cut is accepted", `document.querySelector('tr[data-channel="de-national"] .result').textContent.startsWith('Accepted')`)

	// The Swedish bureau's player receives the hit and, when its decision
	// is due, shares it with the German bureau alone.
	sirene := players["se.sirene"]
	sirene.until("the hit reaches se.sirene", `document.querySelector('#inbox-body').textContent.includes('I-1')`)
	const card = `article[data-decision]`
	sirene.until("its decision is due", `!!document.querySelector('`+card+`')`)
	if got := sirene.eval(`document.querySelector('` + card + `').textContent`); !strings.Contains(got, "sis-hit-art36") {
		t.Fatalf("the decision is not about the hit: %s", got)
	}
	for _, other := range []string{"eu.europol", "se.sapo"} {
		sel := card + ` input[value="` + other + `"]`
		if sirene.eval(`String(document.querySelector('`+sel+`').checked)`) == "true" {
			sirene.do("leave out "+other, chromedp.Focus(sel), chromedp.KeyEvent(" "))
		}
	}
	sirene.do("share with de.sirene", chromedp.Focus(card+` button[data-act="custom"]`), chromedp.KeyEvent(kb.Enter))
	sirene.until("the decision is accepted", `document.querySelector('`+card+` .result').textContent.startsWith('Accepted')`)
	sirene.until("the log records it", `!document.querySelector('`+card+`') && document.querySelector('#decided-body').textContent.includes('de.sirene')`)
	fac.until("the MSEL shows I-2 skipped", `document.querySelector('tr[data-inject="I-2"] .status').textContent === 'Skipped'`)
	fac.until("the channel shows cut", `document.querySelector('tr[data-channel="de-national"] button.toggle').textContent === 'Restore'`)

	// Until the run ends, look at every player's page once a second.
	pages := map[string][]string{}
	look := func() {
		for _, p := range seats {
			html, err := chromedp.Run(players[p].Ctx, chromedp.OuterHTML("html"))
			if err == nil {
				pages[p] = append(pages[p], html)
			}
		}
	}
	var code int
	limit := time.After(2 * time.Minute)
wait:
	for {
		look()
		select {
		case code = <-done:
			break wait
		case <-time.After(time.Second):
		case <-limit:
			t.Fatal("the run did not end")
		}
	}
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr.String())
	}
	fac.until("the page says the run ended", `document.querySelector('#runstate').textContent.startsWith('Run ended')`)
	look()
	fac.shot("console-facilitator.png")
	for _, p := range seats {
		players[p].shot("console-" + p + ".png")
	}

	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var lines []logLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}

	// Exactly the three live actions, and they did what they say.
	var actions []string
	liveKinds := []string{"live_inject", "pause", "resume", "skip_inject", "postpone_inject", "fire_inject",
		"cut_channel", "restore_channel", "set_staff", "note", "decision"}
	for _, l := range lines {
		if slices.Contains(liveKinds, l.Kind) {
			actions = append(actions, l.Kind+" "+string(l.Action))
		}
	}
	slices.Sort(actions)
	want := []string{`cut_channel {"channel":"de-national"}`,
		`decision {"agency":"se.sirene","decision":1,"action":"share","to":["de.sirene"],"type":"sirene-G"}`,
		`skip_inject {"id":"I-2"}`}
	if !slices.Equal(actions, want) {
		t.Errorf("live actions in the log:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	knows := map[string]bool{}
	for _, l := range lines {
		switch {
		case l.Kind == "inject" && l.Item == "I-2":
			t.Error("the skipped inject I-2 fired")
		case l.Kind == "know":
			knows[l.Agency+" "+l.Item] = true
		}
	}
	if !knows["de.sirene I-1"] || knows["eu.europol I-1"] || knows["se.sapo I-1"] || knows["dk.pet I-1"] {
		t.Errorf("who learned I-1: %v; want de.sirene, which the player alone shared it with", knows)
	}

	// No page shows traffic that did not reach its own agency: a message
	// delivered elsewhere, or an item it never received.
	summaries := map[string]string{}
	var info struct {
		Items []struct{ ID, Summary string }
	}
	json.Unmarshal(data[:bytes.IndexByte(data, '\n')], &info)
	for _, it := range info.Items {
		summaries[it.ID] = it.Summary
	}
	mine := map[string]map[string]bool{}
	for _, l := range lines {
		if (l.Kind == "deliver" || l.Kind == "inject") && mine[l.Agency] == nil {
			mine[l.Agency] = map[string]bool{}
		}
		if l.Kind == "deliver" {
			mine[l.Agency][l.Msg] = true
		}
		if l.Kind == "deliver" || l.Kind == "inject" {
			mine[l.Agency][l.Item] = true
		}
	}
	for _, p := range seats {
		if len(pages[p]) < 3 {
			t.Errorf("%s's page was read %d times", p, len(pages[p]))
		}
		for _, l := range lines {
			if l.Kind != "deliver" || l.Agency == p || mine[p][l.Msg] {
				continue
			}
			for _, html := range pages[p] {
				if strings.Contains(html, ">"+l.Msg+"<") || strings.Contains(html, " "+l.Msg+" ") || strings.Contains(html, "("+l.Msg+")") {
					t.Errorf("%s's page shows message %s, delivered to %s", p, l.Msg, l.Agency)
					break
				}
			}
		}
		for id, s := range summaries {
			if mine[p][id] {
				continue
			}
			for _, html := range pages[p] {
				if strings.Contains(html, domEscape(s)) {
					t.Errorf("%s's page shows the summary of %s, which never reached it", p, id)
					break
				}
			}
		}
	}
	if !strings.Contains(pages["de.sirene"][len(pages["de.sirene"])-1], "sirene-G") {
		t.Error("de.sirene's page does not show the G form it received")
	}

	// The replay: the same log, byte for byte.
	again := filepath.Join(dir, "again.jsonl")
	if code, _, stderr := cli(t, "run", "--replay", log, "--events", again, "--quiet", "testdata/tabletop-oresund.yaml"); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	replayed, _ := os.ReadFile(again)
	if !bytes.Equal(data, replayed) {
		t.Error("the replay's log differs from the exercise's")
	}
	fac.check()
	for _, p := range seats {
		players[p].check()
	}
}

// domEscape escapes text as the browser serialises it.
func domEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;").Replace(s)
}
