package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
	"liaison/internal/golden"
)

// fakeRunner accepts every action at a fixed time, or refuses with err,
// and remembers what it was given.
type fakeRunner struct {
	mu   sync.Mutex
	at   liaison.Time
	err  error
	acts []broker.Action
}

func (f *fakeRunner) Act(a broker.Action) broker.ActionResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acts = append(f.acts, a)
	return broker.ActionResult{At: f.at, Err: f.err}
}

func (f *fakeRunner) last() (broker.Action, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.acts) == 0 {
		return broker.Action{}, 0
	}
	return f.acts[len(f.acts)-1], len(f.acts)
}

func dl(s float64) *float64 { return &s }

func testInfo() *events.RunInfo {
	return &events.RunInfo{Scenario: "tabletop-test", Title: "A tabletop exercise", Seed: 1,
		Start: "2026-03-07T02:00:00+01:00", TimeZone: "Europe/Stockholm", DurationSeconds: dl(6 * 3600),
		Agencies: []events.AgencyInfo{
			{ID: "dk.pet", Name: "PET", Country: "DK", Hours: "24/7", Staff: 2},
			{ID: "se.sapo", Name: "Säpo", Country: "SE", Hours: "24/7", Staff: 2},
			{ID: "no.pst", Name: "PST", Country: "NO", Hours: "24/7", Staff: 1},
			{ID: "se.sirene", Name: "Swedish SIRENE", Country: "SE", Hours: "24/7", Staff: 3},
		},
		Channels: []events.ChannelInfo{
			{ID: "ctg", Name: "CTG platform", Topology: "platform", Members: []string{"dk.pet", "se.sapo", "no.pst"}, Latency: "10m"},
			{ID: "sirene", Name: "SIRENE", Topology: "mesh", Members: []string{"se.sirene", "dk.pet"}, Latency: "2m"},
		},
		Items: []events.ItemDesc{
			{ID: "I-1", AtSeconds: 1800, To: "se.sirene", From: "border officers", Type: "sis-hit", Summary: "A hit at the bridge.",
				TLP: "GREEN", Originator: "se.sirene", Audience: []string{"se.sirene", "dk.pet"}, DeadlineSeconds: dl(7200),
				Objective: "Hit follow-up", Expected: "SIRENE tells PET."},
			{ID: "I-2", AtSeconds: 3600, To: "no.pst", Type: "warning", Summary: "Secret-B: only PST and Säpo.",
				TLP: "AMBER", OriginatorControl: true, Originator: "no.pst", Audience: []string{"se.sapo"}},
			{ID: "I-3", AtSeconds: 4 * 3600, To: "dk.pet", Type: "update", Summary: "A later update.", TLP: "GREEN",
				Originator: "dk.pet", Audience: []string{"se.sapo"}, Objective: "Hit follow-up"},
			{ID: "C-1", AtSeconds: 5 * 3600, To: "dk.pet", Type: "update", Summary: "A sighting, if wanted.", TLP: "GREEN",
				Originator: "dk.pet", Audience: []string{"se.sapo"}, When: "manual"},
		},
	}
}

// frozen is a wall clock that stands still unless moved.
type frozen struct {
	mu sync.Mutex
	t  time.Time
}

func (f *frozen) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

// newTest starts a console on the test run, seated by dk.pet and
// se.sapo, with a fake runner and a wall clock that stands still.
func newTest(t *testing.T) (*Console, *fakeRunner, map[string]string) {
	t.Helper()
	clock := &frozen{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := New(Options{Speed: 60, Now: clock.now, Rand: counting()})
	r := &fakeRunner{at: 2 * liaison.Hour}
	if err := c.Start(testInfo(), []liaison.AgencyID{"dk.pet", "se.sapo"}, dl(1800), r); err != nil {
		t.Fatal(err)
	}
	tok := map[string]string{}
	for _, s := range c.Seats() {
		tok[s.Role+":"+s.Agency] = s.Token
	}
	return c, r, tok
}

// counting is a deterministic source of distinct tokens, for golden files.
func counting() io.Reader {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return bytes.NewReader(b)
}

func sec(s float64) liaison.Time { return liaison.FromSeconds(s) }

// story is a run's events up to 1h30m: I-1 fires and reaches se.sirene,
// which passes it to dk.pet (a player, whose decision is due); I-2
// reaches no.pst and se.sapo (the other player), whose decision is due.
func story() []spec {
	return []spec{
		{t: sec(1800), kind: "inject", agency: "se.sirene", item: "I-1", typ: "sis-hit"},
		{t: sec(1800), kind: "handle_start", agency: "se.sirene", item: "I-1", typ: "sis-hit"},
		{t: sec(1800), kind: "know", agency: "se.sirene", item: "I-1", typ: "sis-hit"},
		{t: sec(2400), kind: "handle_end", agency: "se.sirene", item: "I-1", typ: "sis-hit"},
		{t: sec(2400), kind: "send", agency: "se.sirene", msg: "se.sirene#1", item: "I-1", typ: "sirene-G", peer: "dk.pet"},
		{t: sec(2520), kind: "deliver", agency: "dk.pet", msg: "se.sirene#1", channel: "sirene", item: "I-1", typ: "sirene-G", peer: "se.sirene", count: 1},
		{t: sec(2600), kind: "handle_start", agency: "dk.pet", msg: "se.sirene#1", item: "I-1", typ: "sirene-G", peer: "se.sirene"},
		{t: sec(2600), kind: "know", agency: "dk.pet", item: "I-1", typ: "sirene-G", peer: "se.sirene", msg: "se.sirene#1"},
		{t: sec(3000), kind: "handle_end", agency: "dk.pet", msg: "se.sirene#1", item: "I-1", typ: "sirene-G"},
		{t: sec(3000), kind: "decision_due", agency: "dk.pet", item: "I-1", typ: "sirene-G", msg: "se.sirene#1",
			raw: `"decision":{"id":1,"message":"se.sirene#1","item":"I-1","type":"sirene-G","from":"se.sirene","proposal":[{"action":"share","to":["se.sapo"],"type":"threat-warning"}]}`},
		{t: sec(3000), kind: "reached", item: "I-1", value: sec(1200), count: 2},
		{t: sec(3600), kind: "inject", agency: "no.pst", item: "I-2", typ: "warning"},
		{t: sec(3600), kind: "know", agency: "no.pst", item: "I-2", typ: "warning"},
		{t: sec(3700), kind: "deliver", agency: "se.sapo", msg: "no.pst#7", channel: "ctg", item: "I-2", typ: "warning", peer: "no.pst", count: 1},
		{t: sec(3700), kind: "hold", agency: "se.sapo", msg: "no.pst#7", item: "I-2", typ: "warning", value: sec(4000)},
		{t: sec(4000), kind: "handle_start", agency: "se.sapo", msg: "no.pst#7", item: "I-2", typ: "warning", count: 0},
		{t: sec(4000), kind: "know", agency: "se.sapo", item: "I-2", typ: "warning", msg: "no.pst#7"},
		{t: sec(4500), kind: "decision_due", agency: "se.sapo", item: "I-2", typ: "warning", msg: "no.pst#7",
			raw: `"decision":{"id":1,"message":"no.pst#7","item":"I-2","type":"warning","from":"no.pst","proposal":[{"action":"share","to":["se.sirene"],"type":"warning"}]}`},
		{t: sec(4600), kind: "deliver", agency: "se.sirene", msg: "no.pst#8", channel: "", typ: "routine", peer: "no.pst", count: 3},
	}
}

// spec is an event of a test run, written with names.
type spec struct {
	t                                           liaison.Time
	kind, agency, item, typ, channel, msg, peer string
	value                                       liaison.Time
	count                                       int32
	raw                                         string // the event's extra member
}

// testNames is the names table of the test run.
var testNames = func() *events.Names {
	n := &events.Names{Types: []liaison.MessageType{"sis-hit", "sirene-G", "warning", "routine", "update", "threat-warning"},
		Reasons: events.Reasons}
	for _, a := range testInfo().Agencies {
		n.Agencies = append(n.Agencies, liaison.AgencyID(a.ID))
	}
	for _, c := range testInfo().Channels {
		n.Channels = append(n.Channels, liaison.ChannelID(c.ID))
	}
	for _, it := range testInfo().Items {
		n.Items = append(n.Items, liaison.ItemID(it.ID))
	}
	return n
}()

func index[T ~string](names []T, s string) int32 {
	if s == "" {
		return -1
	}
	for i, x := range names {
		if string(x) == s {
			return int32(i)
		}
	}
	panic("no name " + s)
}

// event makes the events.Event of a spec, as the engine would.
func event(sp spec) *events.Event {
	e := &events.Event{T: sp.t, Agency: index(testNames.Agencies, sp.agency), MsgFrom: -1,
		Channel: index(testNames.Channels, sp.channel), Type: index(testNames.Types, sp.typ),
		Item: index(testNames.Items, sp.item), Peer: index(testNames.Agencies, sp.peer), Reason: -1,
		CauseFrom: -1, Value: sp.value, Count: sp.count, Raw: []byte(sp.raw)}
	for k := events.Kind(1); k < 100; k++ {
		if k.String() == sp.kind {
			e.Kind = k
		}
	}
	if e.Kind == 0 {
		panic("no kind " + sp.kind)
	}
	if from, seq, ok := strings.Cut(sp.msg, "#"); ok {
		e.MsgFrom = index(testNames.Agencies, from)
		fmt.Sscan(seq, &e.MsgSeq)
	}
	return e
}

func feed(c *Console, evs []spec) {
	for _, sp := range evs {
		c.Observe(event(sp), testNames)
	}
}

// call makes one API request with a token in the Authorization header.
func call(t *testing.T, h http.Handler, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func TestTokensAndRoles(t *testing.T) {
	c, _, tok := newTest(t)
	if len(tok) != 3 || tok["facilitator:"] == tok["player:dk.pet"] || tok["player:dk.pet"] == tok["player:se.sapo"] {
		t.Fatalf("tokens: %v", tok)
	}
	for _, v := range tok {
		if len(v) != 22 {
			t.Errorf("token %q: want 128 bits in 22 characters", v)
		}
	}
	cases := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"no token", "GET", "/api/state", "", "", 401, "no token"},
		{"wrong token", "GET", "/api/state", "not-a-token", "", 401, "unknown token"},
		{"facilitator session", "GET", "/api/session", tok["facilitator:"], "", 200, `{"role":"facilitator"}`},
		{"player session", "GET", "/api/session", tok["player:dk.pet"], "", 200, `{"role":"player","agency":{"id":"dk.pet","name":"PET","country":"DK"}}`},
		{"player pauses", "POST", "/api/pause", tok["player:dk.pet"], "{}", 403, "facilitator's action"},
		{"player skips", "POST", "/api/injects/I-3/skip", tok["player:se.sapo"], "{}", 403, "facilitator's action"},
		{"player notes", "POST", "/api/notes", tok["player:se.sapo"], `{"text":"x"}`, 403, "facilitator's action"},
		{"facilitator decides", "POST", "/api/decisions/1", tok["facilitator:"], `{"action":"hold"}`, 403, "only a player decides"},
		{"unknown endpoint", "GET", "/api/nothing", tok["facilitator:"], "", 404, "no endpoint /api/nothing"},
		{"wrong method", "GET", "/api/pause", tok["facilitator:"], "", 405, "use POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, c, tc.method, tc.path, tc.token, tc.body)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %s; want %d with %q", tc.method, tc.path, code, body, tc.status, tc.want)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("answer is not JSON: %s", body)
			}
		})
	}
	// An action with the token in the query, as a cross-site form could
	// send it, is refused.
	req := httptest.NewRequest("POST", "/api/pause?token="+tok["facilitator:"], strings.NewReader("{}"))
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "Authorization") {
		t.Errorf("query token on an action: %d %s", w.Code, w.Body)
	}
	// Reading with the token in the query works (pages, streams).
	req = httptest.NewRequest("GET", "/api/session?token="+tok["player:se.sapo"], nil)
	w = httptest.NewRecorder()
	c.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "se.sapo") {
		t.Errorf("query token on a read: %d %s", w.Code, w.Body)
	}
}

func TestNotStarted(t *testing.T) {
	c := New(Options{})
	code, body := call(t, c, "GET", "/api/state", "x", "")
	if code != 503 || !strings.Contains(body, "not started") {
		t.Errorf("before the run: %d %s", code, body)
	}
}

// TestActions runs every action through the API against a fake run and
// compares each request's answer and the action the run was given with a
// golden file.
func TestActions(t *testing.T) {
	c, r, tok := newTest(t)
	feed(c, story())
	fac, pet := tok["facilitator:"], tok["player:dk.pet"]
	steps := []struct {
		who, method, path, body string
		refuse                  error
	}{
		{"facilitator", "POST", "/api/pause", "{}", nil},
		{"facilitator", "POST", "/api/pause", "", nil},
		{"facilitator", "POST", "/api/resume", "", nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"by_seconds":1800}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"at_seconds":60}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"at_seconds":99999}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"at_seconds":60,"by_seconds":5}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"at_seconds":"soon"}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"by_seconds":-5}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/postpone", `{"by_seconds":0.0001}`, nil},
		{"facilitator", "POST", "/api/injects/I-3/fire", "", nil},
		{"facilitator", "POST", "/api/injects/I-3/skip", "", nil},
		{"facilitator", "POST", "/api/injects/I-3/skip", "", nil},
		{"facilitator", "POST", "/api/injects/I-1/skip", "", nil},
		{"facilitator", "POST", "/api/injects/I-9/skip", "", nil},
		{"facilitator", "POST", "/api/injects/C-1/skip", "", nil},
		{"facilitator", "POST", "/api/injects/C-1/postpone", `{"by_seconds":60}`, nil},
		{"facilitator", "POST", "/api/injects/C-1/fire", "", nil},
		{"facilitator", "POST", "/api/injects/C-1/fire", "", nil},
		{"facilitator", "POST", "/api/channels/ctg/cut", "", nil},
		{"facilitator", "POST", "/api/channels/ctg/cut", "", nil},
		{"facilitator", "POST", "/api/channels/sirene/restore", "", nil},
		{"facilitator", "POST", "/api/channels/ctg/restore", "{}", errors.New("broker: the run is over")},
		{"facilitator", "POST", "/api/channels/nope/cut", "", nil},
		{"facilitator", "POST", "/api/agencies/dk.pet/staff", `{"staff":3}`, nil},
		{"facilitator", "POST", "/api/agencies/dk.pet/staff", `{"staff":0}`, nil},
		{"facilitator", "POST", "/api/agencies/dk.pet/staff", `{"staff":2.5}`, nil},
		{"facilitator", "POST", "/api/agencies/dk.pet/staff", `{"staf":2}`, nil},
		{"facilitator", "POST", "/api/notes", `{"text":"  PET asked Säpo by phone first. ","objective":"Hit follow-up","agency":"dk.pet"}`, nil},
		{"facilitator", "POST", "/api/notes", `{"text":"   "}`, nil},
		{"facilitator", "POST", "/api/notes", `{"text":"bell\u0007"}`, nil},
		{"facilitator", "POST", "/api/notes", `{"text":"x"} {"text":"y"}`, nil},
		{"player", "POST", "/api/decisions/1", `{"action":"share","to":["se.sapo"],"channel":"ctg","type":"made-up-type"}`, nil},
		{"player", "POST", "/api/decisions/1", `{"action":"share","to":["se.sirene"],"channel":"ctg"}`, nil},
		{"player", "POST", "/api/decisions/1", `{"action":"share","to":["se.sapo","no.pst"],"channel":"ctg","type":"threat-warning"}`, nil},
		{"player", "POST", "/api/decisions/1", `{"action":"hold"}`, nil},
		{"player", "POST", "/api/decisions/2", `{"action":"hold"}`, nil},
		{"player", "POST", "/api/decisions/x", `{"action":"hold"}`, nil},
	}
	var out bytes.Buffer
	for _, s := range steps {
		token := fac
		if s.who == "player" {
			token = pet
		}
		r.err = s.refuse
		_, before := r.last()
		code, body := call(t, c, s.method, s.path, token, s.body)
		fmt.Fprintf(&out, "%s %s %s %s\n%d %s", s.who, s.method, s.path, s.body, code, body)
		if a, n := r.last(); n > before {
			fmt.Fprintf(&out, "  -> run action %s %s\n", a.Kind, a.Def)
		}
		out.WriteString("\n")
	}
	// Wrong content type and oversized bodies.
	req := httptest.NewRequest("POST", "/api/notes", strings.NewReader(`text=hello`))
	req.Header.Set("Authorization", "Bearer "+fac)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, req)
	fmt.Fprintf(&out, "facilitator POST /api/notes (form)\n%d %s\n", w.Code, w.Body)
	code, body := call(t, c, "POST", "/api/notes", fac, `{"text":"`+strings.Repeat("a", maxBody)+`"}`)
	fmt.Fprintf(&out, "facilitator POST /api/notes (too large)\n%d %s\n", code, body)
	code, body = call(t, c, "POST", "/api/notes", fac, "{\"text\":\"bad \xff byte\"}")
	fmt.Fprintf(&out, "facilitator POST /api/notes (a byte that is not UTF-8)\n%d %s\n", code, body)
	code, body = call(t, c, "POST", "/api/notes", fac, `[]`)
	fmt.Fprintf(&out, "facilitator POST /api/notes []\n%d %s\n", code, body)
	// The scheme's name in any case; a body announced too large is
	// refused unread.
	req = httptest.NewRequest("POST", "/api/notes", strings.NewReader(`{"text":"lower-case scheme"}`))
	req.Header.Set("Authorization", "bearer "+fac)
	w = httptest.NewRecorder()
	c.ServeHTTP(w, req)
	fmt.Fprintf(&out, "facilitator POST /api/notes (bearer)\n%d %s\n", w.Code, w.Body)
	req = httptest.NewRequest("POST", "/api/notes", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+fac)
	req.ContentLength = 50 << 20
	w = httptest.NewRecorder()
	c.ServeHTTP(w, req)
	fmt.Fprintf(&out, "facilitator POST /api/notes (50 MB announced)\n%d %s\n", w.Code, w.Body)
	code, body = call(t, c, "POST", "/api/notes", fac, `{"text":"`+strings.Repeat("é", maxNoteText+1)+`"}`)
	fmt.Fprintf(&out, "facilitator POST /api/notes (too long)\n%d %s", code, body)
	golden.Assert(t, "testdata/actions.golden", out.Bytes())

	c.End("completed")
	code, body = call(t, c, "POST", "/api/channels/ctg/restore", fac, "")
	if code != http.StatusGone || !strings.Contains(body, "ended") {
		t.Errorf("after the end: %d %s", code, body)
	}
}

// TestViews compares the facilitator's and a player's views of a run
// with golden files, before and after the log confirms actions taken
// through the console.
func TestViews(t *testing.T) {
	c, r, tok := newTest(t)
	feed(c, story())
	r.at = sec(4800)
	for _, a := range [][3]string{
		{tok["facilitator:"], "/api/injects/I-3/skip", ""},
		{tok["facilitator:"], "/api/channels/ctg/cut", ""},
		{tok["facilitator:"], "/api/notes", `{"text":"PET waited for Säpo.","objective":"Hit follow-up"}`},
		{tok["player:dk.pet"], "/api/decisions/1", `{"action":"share","to":["se.sapo"]}`},
	} {
		if code, body := call(t, c, "POST", a[1], a[0], a[2]); code != 200 {
			t.Fatalf("%s: %d %s", a[1], code, body)
		}
	}
	views := func(name string) {
		for _, who := range []string{"facilitator:", "player:dk.pet", "player:se.sapo"} {
			code, body := call(t, c, "GET", "/api/state", tok[who], "")
			if code != 200 {
				t.Fatalf("%s: %d %s", who, code, body)
			}
			var v bytes.Buffer
			json.Indent(&v, []byte(body), "", "  ")
			golden.Assert(t, "testdata/"+name+"-"+strings.Trim(strings.ReplaceAll(who, ":", "-"), "-")+".json", v.Bytes())
		}
	}
	views("pending")
	// The log confirms them; the decided event follows the decision.
	feed(c, []spec{
		{t: sec(4800), kind: "skip_inject", raw: `"action":{"id":"I-3"}`},
		{t: sec(4800), kind: "cut_channel", raw: `"action":{"channel":"ctg"}`},
		{t: sec(4800), kind: "note", raw: `"action":{"text":"PET waited for Säpo.","objective":"Hit follow-up"}`},
		{t: sec(4800), kind: "decision", raw: `"action":{"agency":"dk.pet","decision":1,"action":"share","to":["se.sapo"]}`},
		{t: sec(4800), kind: "decided", agency: "dk.pet", item: "I-1", msg: "se.sirene#1",
			raw: `"decided":{"id":1,"by":"player","action":"share","to":["se.sapo"]}`},
		{t: sec(5100), kind: "set_staff", raw: `"action":{"agency":"no.pst","staff":4}`},
		{t: sec(5400), kind: "decided", agency: "se.sapo", item: "I-2", msg: "no.pst#7",
			raw: `"decided":{"id":1,"by":"rules","action":"rules"}`},
	})
	views("logged")
}

// TestPlayerIsolation checks that a player's state and live stream hold
// nothing of another agency's traffic: a player's view is built from its
// own agency's events alone.
func TestPlayerIsolation(t *testing.T) {
	c, _, tok := newTest(t)
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.End("test over")
	// Open dk.pet's stream before anything happens, so that it sees every
	// update.
	req, _ := http.NewRequest("GET", srv.URL+"/api/events?token="+tok["player:dk.pet"], nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream content type %q", ct)
	}
	var stream bytes.Buffer
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			stream.WriteString(sc.Text() + "\n")
			if sc.Text() == "event: end" {
				return
			}
		}
	}()
	for _, o := range story() {
		c.Observe(event(o), testNames)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * streamEvery)
	c.End("completed")
	select {
	case <-streamDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end with the run")
	}
	// What dk.pet must not see: se.sapo's and no.pst's traffic.
	foreign := []string{"I-2", "Secret-B", "no.pst#7", "no.pst#8", "routine", `"warning"`}
	_, pet := call(t, c, "GET", "/api/state", tok["player:dk.pet"], "")
	_, sapo := call(t, c, "GET", "/api/state", tok["player:se.sapo"], "")
	for _, f := range foreign {
		if strings.Contains(pet, f) {
			t.Errorf("dk.pet's state holds %q: %s", f, pet)
		}
		if strings.Contains(stream.String(), f) {
			t.Errorf("dk.pet's stream holds %q", f)
		}
	}
	for _, f := range []string{"I-1", "se.sirene#1", "A hit at the bridge", "sirene-G"} {
		if !strings.Contains(pet, f) {
			t.Errorf("dk.pet's state lacks its own %q", f)
		}
		if strings.Contains(sapo, f) {
			t.Errorf("se.sapo's state holds dk.pet's %q", f)
		}
	}
	if n := strings.Count(stream.String(), "event: state"); n < 2 {
		t.Errorf("the stream sent %d states; want the first and at least one update:\n%s", n, stream.String())
	}
	if !strings.Contains(stream.String(), `"ended":true`) {
		t.Error("the stream's last state does not say the run ended")
	}
}

func TestStreamRefusesWithoutToken(t *testing.T) {
	c, _, _ := newTest(t)
	code, body := call(t, c, "GET", "/api/events?token=wrong", "", "")
	if code != 401 || strings.Contains(body, "event:") {
		t.Errorf("stream with a wrong token: %d %s", code, body)
	}
}

// TestBounds checks that what the console keeps stays bounded however
// long the run.
func TestBounds(t *testing.T) {
	c, _, tok := newTest(t)
	for i := range 2000 {
		feed(c, []spec{{t: sec(float64(i)), kind: "deliver", agency: "dk.pet", msg: fmt.Sprintf("se.sapo#%d", i),
			channel: "ctg", typ: "routine", peer: "se.sapo", count: 1}})
		feed(c, []spec{{t: sec(float64(i)), kind: "handle_start", agency: "dk.pet", msg: fmt.Sprintf("se.sapo#%d", i)}})
		feed(c, []spec{{t: sec(float64(i)), kind: "decision_due", agency: "dk.pet",
			raw: fmt.Sprintf(`"decision":{"id":%d,"type":"routine","proposal":[]}`, i+1)}})
		feed(c, []spec{{t: sec(float64(i)), kind: "decided", agency: "dk.pet",
			raw: fmt.Sprintf(`"decided":{"id":%d,"by":"rules","action":"rules"}`, i+1)}})
		feed(c, []spec{{t: sec(float64(i)), kind: "note", raw: `"action":{"text":"n"}`}})
	}
	var v PlayerView
	_, body := call(t, c, "GET", "/api/state", tok["player:dk.pet"], "")
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Inbox) != maxInbox || v.InboxOmitted != 2000-maxInbox || len(v.Decided) != maxDecided {
		t.Errorf("inbox %d (+%d omitted), decided %d", len(v.Inbox), v.InboxOmitted, len(v.Decided))
	}
	if v.Inbox[len(v.Inbox)-1].Status != "handling" {
		t.Errorf("the newest entry is %q; its handling started", v.Inbox[len(v.Inbox)-1].Status)
	}
	st := c.st.agIx["dk.pet"].player
	if len(st.byMsg) != maxInbox {
		t.Errorf("the message index holds %d entries; want %d", len(st.byMsg), maxInbox)
	}
	var f FacilitatorView
	_, body = call(t, c, "GET", "/api/state", tok["facilitator:"], "")
	json.Unmarshal([]byte(body), &f)
	if len(f.Actions) != maxActions || f.ActionsOmitted != 2000-maxActions {
		t.Errorf("actions %d (+%d omitted)", len(f.Actions), f.ActionsOmitted)
	}
}

// TestClock checks the clock between events: it runs at the run's pace,
// stands still while paused, and picks up where the pause left it.
func TestClock(t *testing.T) {
	wall := &frozen{t: time.Unix(0, 0)}
	c := New(Options{Speed: 60, Now: wall.now})
	if err := c.Start(testInfo(), nil, nil, &fakeRunner{}); err != nil {
		t.Fatal(err)
	}
	move := func(d time.Duration) { wall.mu.Lock(); wall.t = wall.t.Add(d); wall.mu.Unlock() }
	at := func() float64 { c.mu.Lock(); defer c.mu.Unlock(); return c.clock().Seconds }
	move(10 * time.Second)
	if s := at(); s != 600 {
		t.Errorf("after 10 wall seconds at 60×: %v", s)
	}
	c.Action(broker.ActionPause, sec(600))
	move(time.Hour)
	if s := at(); s != 600 {
		t.Errorf("paused: %v", s)
	}
	c.Action(broker.ActionResume, sec(600))
	move(time.Second)
	if s := at(); s != 660 {
		t.Errorf("a second after resuming: %v", s)
	}
	move(100 * time.Hour)
	if s := at(); s != 6*3600 {
		t.Errorf("past the end: %v", s)
	}
}

// TestPages checks that the page and its assets are served with a strict
// content security policy and load nothing from elsewhere.
func TestPages(t *testing.T) {
	c, _, _ := newTest(t)
	for _, p := range []string{"/", "/assets/app.js", "/assets/console.css"} {
		req := httptest.NewRequest("GET", p, nil)
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: content security policy %q", p, csp)
		}
	}
	urls := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	entries, _ := assets.ReadDir("assets")
	for _, e := range entries {
		b, _ := assets.ReadFile("assets/" + e.Name())
		// An XML namespace names, it does not fetch.
		b = bytes.ReplaceAll(b, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil)
		if m := urls.Find(b); m != nil {
			t.Errorf("%s refers to %s: the console must load nothing from elsewhere", e.Name(), m)
		}
	}
	for _, p := range []string{"/assets/", "/assets/nothing.js", "/other"} {
		req := httptest.NewRequest("GET", p, nil)
		w := httptest.NewRecorder()
		c.ServeHTTP(w, req)
		if w.Code != 404 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// TestStreamsPerSeat: one link may hold a few live pages at once, and no
// more, so that it can never take every slot: the facilitator's page still
// opens when a player's link holds all it may.
func TestStreamsPerSeat(t *testing.T) {
	c, _, tok := newTest(t)
	srv := httptest.NewServer(c)
	defer srv.Close()
	defer c.End("test over")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(token string) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events?token="+token, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for i := range maxSeatStreams {
		if resp := open(tok["player:se.sapo"]); resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d of a player: %s", i+1, resp.Status)
		}
	}
	resp := open(tok["player:se.sapo"])
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "live pages open already") {
		t.Errorf("one stream too many: %s %s", resp.Status, body)
	}
	if resp := open(tok["facilitator:"]); resp.StatusCode != http.StatusOK {
		t.Errorf("the facilitator's stream beside a full player's link: %s", resp.Status)
	}
}
