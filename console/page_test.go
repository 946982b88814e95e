package console

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"liaison/broker"
	"liaison/internal/browsertest"
)

// browser starts headless Chromium for a test, or skips the test when
// Chromium is missing (and fails under CI, which installs it).
func browser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Browser(t, browsertest.Chromium(t))
}

// page is one tab of the browser, whose script errors fail the test.
type page struct {
	*browsertest.Tab
	t *testing.T
}

func newPage(t *testing.T, b context.Context) *page {
	return &page{Tab: browsertest.NewTab(t, b), t: t}
}

// do runs steps, each within a bound, and fails the test on an error.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// text returns an element's text.
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// html returns the page as the browser has built it.
func (p *page) html() string {
	p.t.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.OuterHTML("html"))
	if err != nil {
		p.t.Fatalf("page: %v", err)
	}
	return s
}

// until waits for a script expression to be true.
func (p *page) until(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		p.shot("failed.png")
		main, _ := chromedp.Run(p.Ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		p.t.Fatalf("%s: %v\npage (screenshot in testdata/out/failed.png):\n%s", what, err, main)
	}
}

// shot keeps a screenshot in testdata/out (ignored by git) for people
// to look at.
func (p *page) shot(name string) {
	p.t.Helper()
	png, err := chromedp.Run(p.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	os.MkdirAll(filepath.Join("testdata", "out"), 0o755)
	if err := os.WriteFile(filepath.Join("testdata", "out", name), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *page) check() {
	p.t.Helper()
	for _, e := range p.Errors() {
		// Refusals the test asked for are answers, not errors.
		if strings.Contains(e, "status of 400") || strings.Contains(e, "status of 409") {
			continue
		}
		p.t.Errorf("page error: %s", e)
	}
}

// TestPagesInBrowser drives the facilitator's and a player's pages in
// Chromium, by keyboard, against a fake run: the facilitator skips an
// inject and cuts a channel, the player shares a message with one agency,
// and each action reaches the run as the live action it should be. The
// player's page never shows another seat's traffic.
func TestPagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	b := browser(t)
	c, r, tok := newTest(t)
	feed(c, story())
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.End("test over") // ends the pages' streams, so that the server can close

	fac := newPage(t, b)
	fac.do("open the facilitator's page", chromedp.Navigate(srv.URL+"/?token="+tok["facilitator:"]),
		chromedp.WaitVisible(`tr[data-inject="I-3"] button.skip`))
	// The token leaves the address bar once the page has it.
	if loc, _ := chromedp.Run(fac.Ctx, chromedp.Location()); strings.Contains(loc, "token") {
		t.Errorf("the address bar still shows the token: %s", loc)
	}
	fac.do("skip I-3 by keyboard", chromedp.Focus(`tr[data-inject="I-3"] button.skip`), chromedp.KeyEvent(kb.Enter))
	fac.until("the skip is accepted", `document.querySelector('tr[data-inject="I-3"] .result').textContent.startsWith('Accepted')`)
	if got := fac.text(`tr[data-inject="I-3"] .result`); !strings.Contains(got, "skipped I-3") {
		t.Errorf("skip result: %q", got)
	}
	if a, _ := r.last(); a.Kind != broker.ActionSkip || string(a.Def) != `{"id":"I-3"}` {
		t.Errorf("the run got %s %s; want skip_inject {\"id\":\"I-3\"}", a.Kind, a.Def)
	}
	fac.until("the MSEL shows it skipped", `document.querySelector('tr[data-inject="I-3"] .status').textContent === 'Skipped'`)
	fac.do("cut ctg", chromedp.Focus(`tr[data-channel="ctg"] button.toggle`), chromedp.KeyEvent(kb.Enter))
	fac.until("the cut is accepted", `document.querySelector('tr[data-channel="ctg"] .result').textContent.startsWith('Accepted')`)
	fac.until("the channel shows cut", `document.querySelector('tr[data-channel="ctg"] button.toggle').textContent === 'Restore'`)
	if a, _ := r.last(); a.Kind != broker.ActionCut || string(a.Def) != `{"channel":"ctg"}` {
		t.Errorf("the run got %s %s; want cut_channel", a.Kind, a.Def)
	}
	// A refusal is shown with its reason.
	fac.do("set no staff at no.pst", chromedp.SetValue(`tr[data-agency="no.pst"] input`, "0"),
		chromedp.Click(`tr[data-agency="no.pst"] button`))
	fac.until("the refusal is shown", `document.querySelector('tr[data-agency="no.pst"] .result').textContent.startsWith('Refused')`)
	if got := fac.text(`tr[data-agency="no.pst"] .result`); !strings.Contains(got, "staff must be a whole number from 1") {
		t.Errorf("refusal: %q", got)
	}
	fac.do("add a note", chromedp.SendKeys(`#note-text`, "PET shared before asking."), chromedp.Click(`#note-add`))
	fac.until("the note is accepted", `document.querySelector('#note-result').textContent.startsWith('Accepted')`)
	fac.until("the note is listed", `document.querySelector('#note-body').textContent.includes('PET shared before asking.')`)
	fac.shot("facilitator.png")

	pet := newPage(t, b)
	pet.do("open dk.pet's page", chromedp.Navigate(srv.URL+"/?token="+tok["player:dk.pet"]),
		chromedp.WaitVisible(`article[data-decision="1"]`))
	// The rules' choice is the default: share with se.sapo.
	checked, err := chromedp.Run(pet.Ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('article[data-decision="1"] input[type=checkbox]:checked')).map(x => x.value)`))
	if err != nil || len(checked) != 1 || checked[0] != "se.sapo" {
		t.Errorf("recipients checked by default: %v (%v); want the rules' se.sapo", checked, err)
	}
	pet.do("share with no.pst instead, by keyboard",
		chromedp.Focus(`article[data-decision="1"] input[value="se.sapo"]`), chromedp.KeyEvent(" "),
		chromedp.Focus(`article[data-decision="1"] input[value="no.pst"]`), chromedp.KeyEvent(" "),
		chromedp.Focus(`article[data-decision="1"] button[data-act="custom"]`), chromedp.KeyEvent(kb.Enter))
	pet.until("the decision is accepted", `document.querySelector('article[data-decision="1"] .result').textContent.startsWith('Accepted')`)
	if a, _ := r.last(); a.Kind != broker.ActionDecision ||
		string(a.Def) != `{"agency":"dk.pet","decision":1,"action":"share","to":["no.pst"],"type":"threat-warning"}` {
		t.Errorf("the run got %s %s", a.Kind, a.Def)
	}
	// The log records it: the card leaves, the decision is listed.
	feed(c, []spec{{t: sec(7200), kind: "decided", agency: "dk.pet",
		raw: `"decided":{"id":1,"by":"player","action":"share","to":["no.pst"]}`}})
	pet.until("the decision is made", `!document.querySelector('article[data-decision="1"]') && document.querySelector('#decided-body').textContent.includes('no.pst')`)
	pet.shot("player-dk.pet.png")
	for _, f := range []string{"I-2", "Secret-B", "no.pst#7", "no.pst#8"} {
		if strings.Contains(pet.html(), f) {
			t.Errorf("dk.pet's page shows %q, another seat's traffic", f)
		}
	}
	sapo := newPage(t, b)
	sapo.do("open se.sapo's page", chromedp.Navigate(srv.URL+"/?token="+tok["player:se.sapo"]),
		chromedp.WaitVisible(`article[data-decision="1"]`))
	if html := sapo.html(); !strings.Contains(html, "Secret-B") || strings.Contains(html, "A hit at the bridge") {
		t.Error("se.sapo's page lacks its own message or shows dk.pet's")
	}
	sapo.shot("player-se.sapo.png")

	// A wrong link says so.
	bad := newPage(t, b)
	bad.do("open a wrong link", chromedp.Navigate(srv.URL+"/?token=wrong"), chromedp.WaitVisible(`.problem`))
	if got := bad.text(".problem"); !strings.Contains(got, "unknown token") {
		t.Errorf("wrong link: %q", got)
	}
	c.End("completed")
	fac.until("the page says the run ended", `document.querySelector('#runstate').textContent.startsWith('Run ended')`)
	fac.check()
	pet.check()
	sapo.check()
}
