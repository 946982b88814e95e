// Package console serves the web console of a tabletop exercise: a paced
// run with people in it. The facilitator's page shows the clock, the MSEL
// with each inject's status and reach, who knows what since when and the
// agencies' queues, and steers the run (pause, resume, skip, postpone or
// fire injects, cut or restore channels, change staff, add evaluator
// notes); each player's page shows one agency's inbox and the decisions its
// rules would otherwise make. Every action goes to the run as a live
// action, which the engine applies and logs at the simulated time it takes
// effect, so a replay of the log gives the same log.
//
// The console keeps what it shows from the run's events (it is an
// observer) within fixed bounds per run, and serves embedded pages and a
// small JSON API (see the README) that the pages use and scripts may too.
// Each person holds a secret token: the facilitator's, or one per player
// seat, which sees and acts for that agency alone.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Runner takes the console's live actions: it blocks until the run has
// accepted the action, at the simulated time it takes effect, or refused
// it with a reason.
type Runner interface {
	Act(broker.Action) broker.ActionResult
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(broker.Action) broker.ActionResult

// Act calls f.
func (f RunnerFunc) Act(a broker.Action) broker.ActionResult { return f(a) }

// Options tune a console; the zero value serves.
type Options struct {
	// Speed is the run's pace, simulated seconds per wall second, for the
	// clock between events.
	Speed float64
	// Now is the wall clock (time.Now when nil); Rand the source of the
	// tokens (crypto/rand when nil).
	Now  func() time.Time
	Rand io.Reader
	// ActTimeout bounds how long an action waits for the run's answer
	// (default 40s).
	ActTimeout time.Duration
}

// Seat is a person's access to the console: the facilitator's, or a
// player's for one agency.
type Seat struct {
	Role   string // facilitator or player
	Agency string // the player's agency
	Token  string
}

// Console is the state and the HTTP handler of one run's console. Make
// it with New, give it the run with Start, feed it with Observe.
type Console struct {
	opts  Options
	actMu sync.Mutex // one action at a time, checked against the state it changes

	mu      sync.Mutex
	st      *state
	runner  Runner
	seats   []Seat
	started bool
	ended   bool
	outcome string
	// The clock: paused at pausedAt, or anchorT at wall time anchorW.
	paused   bool
	pausedAt liaison.Time
	anchorT  liaison.Time
	anchorW  time.Time
	ver      uint64
	changed  chan struct{} // closed and replaced on every change
	streams  int
	// Live streams by seat token, each bounded by maxSeatStreams.
	seatStreams map[string]int
}

// New returns a console waiting for its run.
func New(opts Options) *Console {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.ActTimeout <= 0 {
		opts.ActTimeout = 40 * time.Second
	}
	return &Console{opts: opts, changed: make(chan struct{})}
}

// Start gives the console its run: the header, the agencies seated by
// players, the decision timeout (nil for none) and where its actions go.
// It makes the tokens, one for the facilitator and one per player seat.
func (c *Console) Start(info *events.RunInfo, players []liaison.AgencyID, timeout *float64, r Runner) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("console: started twice")
	}
	ids := map[string]bool{}
	for _, a := range info.Agencies {
		ids[a.ID] = true
	}
	var seats []string
	for _, p := range players {
		if !ids[string(p)] {
			return fmt.Errorf("console: player agency %q is not in the scenario", p)
		}
		if !slices.Contains(seats, string(p)) {
			seats = append(seats, string(p))
		}
	}
	tok, err := c.token()
	if err != nil {
		return err
	}
	c.seats = []Seat{{Role: "facilitator", Token: tok}}
	for _, p := range seats {
		if tok, err = c.token(); err != nil {
			return err
		}
		for _, s := range c.seats {
			if s.Token == tok {
				return errors.New("console: the random source gave the same token twice")
			}
		}
		c.seats = append(c.seats, Seat{Role: "player", Agency: p, Token: tok})
	}
	c.st = newState(info, seats, timeout)
	c.runner, c.started = r, true
	c.anchorW = c.opts.Now()
	c.bump()
	return nil
}

// token returns a new secret: 128 random bits, URL-safe.
func (c *Console) token() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(c.opts.Rand, b); err != nil {
		return "", fmt.Errorf("console: making a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Seats returns the facilitator's seat first, then the players' in
// order.
func (c *Console) Seats() []Seat {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seats)
}

// Observe takes one event of the run, in log order (sim.Config.Observers).
func (c *Console) Observe(e *events.Event, n *events.Names) {
	c.observe(observed(e, n))
}

func (c *Console) observe(o obs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == nil {
		return
	}
	c.st.apply(o)
	c.bump()
}

// Action hears of a pause or resume as the run takes it (sim.Config.
// OnAction), so that the clock stands still at once: the log records a
// pause only when time moves on.
func (c *Console) Action(kind string, at liaison.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clockAction(kind, at)
}

func (c *Console) clockAction(kind string, at liaison.Time) {
	switch {
	case kind == broker.ActionPause && !c.paused:
		c.paused, c.pausedAt = true, at
	case kind == broker.ActionResume && c.paused:
		c.paused, c.anchorT, c.anchorW = false, at, c.opts.Now()
	default:
		return
	}
	c.bump()
}

// End tells the console that the run is over; outcome says how
// ("completed", or what failed). Pages show it, streams end, and actions
// are refused.
func (c *Console) End(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended, c.outcome = true, outcome
	c.bump()
}

// bump marks a change for the streams. Callers hold mu.
func (c *Console) bump() {
	c.ver++
	close(c.changed)
	c.changed = make(chan struct{})
}

// now is the simulated time the console shows. Callers hold mu.
func (c *Console) now() liaison.Time {
	st := c.st
	switch {
	case st == nil:
		return 0
	case c.ended:
		if st.end != liaison.Never {
			return max(st.last, st.end)
		}
		return st.last
	case c.paused:
		return max(c.pausedAt, 0)
	case c.opts.Speed > 0:
		wall := c.opts.Now().Sub(c.anchorW)
		t := c.anchorT + liaison.FromDuration(time.Duration(float64(wall)*c.opts.Speed))
		t = max(t, st.last)
		if st.end != liaison.Never {
			t = min(t, st.end)
		}
		return t
	}
	return st.last
}

func (c *Console) clock() Clock {
	return Clock{Seconds: secs(c.now()), Speed: c.opts.Speed, Paused: c.paused && !c.ended, Ended: c.ended,
		Outcome: c.outcome}
}

func (c *Console) scenario() Scenario {
	i := c.st.info
	return Scenario{Name: i.Scenario, Title: i.Title, Start: i.Start, TimeZone: i.TimeZone,
		DurationSeconds: i.DurationSeconds}
}

// seat returns the seat a token stands for, comparing in constant time.
func (c *Console) seat(token string) (Seat, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var found Seat
	ok := false
	for _, s := range c.seats {
		if subtle.ConstantTimeCompare([]byte(s.Token), []byte(token)) == 1 {
			found, ok = s, true
		}
	}
	return found, ok
}

// facilitatorView is what the facilitator sees. Callers hold mu.
func (c *Console) facilitatorView() *FacilitatorView {
	st := c.st
	v := &FacilitatorView{Role: "facilitator", Scenario: c.scenario(), Clock: c.clock(),
		Injects: []InjectView{}, Agencies: []AgencyView{}, Channels: []ChannelView{}, Objectives: []string{},
		Notes: []NoteView{}, Actions: []ActionView{}, ActionsOmitted: st.omitted}
	for _, it := range st.items {
		d := it.desc
		iv := InjectView{ID: d.ID, PlannedSeconds: d.AtSeconds, AtSeconds: secs(it.at), To: d.To, From: d.From,
			Type: d.Type, Summary: d.Summary, TLP: d.TLP, Audience: d.Audience, DeadlineSeconds: d.DeadlineSeconds,
			Objective: d.Objective, Expected: d.Expected, Live: it.live, Contingency: it.contingency,
			Status: it.status, Pending: it.pending, Known: it.known, DeadlineMissed: it.missed,
			Dropped: it.dropped, Knowers: slices.Clone(it.knowers)}
		if iv.Audience == nil {
			iv.Audience = []string{}
		}
		if iv.Knowers == nil {
			iv.Knowers = []Knower{}
		}
		if it.statusSet {
			iv.StatusSeconds = ptr(it.statusAt)
		}
		if it.reachedSet {
			iv.ReachedSeconds = ptr(it.reached)
		}
		v.Injects = append(v.Injects, iv)
		if d.Objective != "" && !slices.Contains(v.Objectives, d.Objective) {
			v.Objectives = append(v.Objectives, d.Objective)
		}
	}
	for _, ag := range st.agencies {
		av := AgencyView{ID: ag.info.ID, Name: ag.info.Name, Country: ag.info.Country, Staff: ag.staff,
			Queue: ag.queue, Knows: ag.knows, Player: ag.player != nil}
		if p := ag.player; p != nil {
			av.Pending, av.Decided = len(p.order)+p.overflown, len(p.decided)+p.dropped
		}
		v.Agencies = append(v.Agencies, av)
	}
	for _, ch := range st.channels {
		cv := ChannelView{ID: ch.info.ID, Name: ch.info.Name, Topology: ch.info.Topology,
			Members: ch.info.Members, Up: ch.up}
		if cv.Members == nil {
			cv.Members = []string{}
		}
		if ch.changedOK {
			cv.ChangedSecond = ptr(ch.changed)
		}
		v.Channels = append(v.Channels, cv)
	}
	for _, r := range st.records {
		v.Actions = append(v.Actions, ActionView{Seconds: secs(r.at), Kind: r.kind, What: r.what, Pending: r.pending})
		if n := r.noteView(); n != nil {
			v.Notes = append(v.Notes, *n)
		}
	}
	return v
}

// playerView is what one player seat sees: its agency's traffic and
// decisions alone. Callers hold mu.
func (c *Console) playerView(agency string) *PlayerView {
	st := c.st
	ag := st.agIx[agency]
	p := ag.player
	v := &PlayerView{Role: "player", Agency: AgencyRef{ID: ag.info.ID, Name: ag.info.Name, Country: ag.info.Country},
		Scenario: c.scenario(), Clock: c.clock(), DecisionTimeoutSeconds: st.timeout,
		Inbox: make([]InboxEntry, 0, len(p.inbox)), InboxOmitted: p.omitted, Pending: []DecisionView{},
		Decided: slices.Clone(p.decided), DecidedOmitted: p.dropped, Recipients: []AgencyRef{},
		Channels: []ChannelRef{}, Types: slices.Clone(p.types), Actions: decisionActions,
		Staff: ag.staff, Queue: ag.queue, Items: slices.Clone(p.known)}
	for _, e := range p.inbox {
		v.Inbox = append(v.Inbox, *e)
	}
	for _, k := range p.order {
		d := *p.pending[k]
		d.Proposal = slices.Clone(d.Proposal)
		v.Pending = append(v.Pending, d)
	}
	if v.Decided == nil {
		v.Decided = []DecidedView{}
	}
	if v.Types == nil {
		v.Types = []string{}
	}
	if v.Items == nil {
		v.Items = []PlayerKnown{}
	}
	for _, o := range st.agencies {
		if o != ag {
			v.Recipients = append(v.Recipients, AgencyRef{ID: o.info.ID, Name: o.info.Name, Country: o.info.Country})
		}
	}
	for _, id := range ag.members {
		ch := st.chIx[id]
		v.Channels = append(v.Channels, ChannelRef{ID: id, Name: ch.info.Name, Up: ch.up})
	}
	return v
}

// decisionActions are what a player may decide: let the rules act, share
// the item, reply to the sender, or hold it.
var decisionActions = []string{"rules", "share", "reply", "hold"}

// view returns the JSON of what a seat sees now, and the state's version.
func (c *Console) view(s Seat) ([]byte, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil, c.ver, errNotStarted
	}
	var v any
	if s.Role == "facilitator" {
		v = c.facilitatorView()
	} else {
		v = c.playerView(s.Agency)
	}
	b, err := json.Marshal(v)
	return b, c.ver, err
}

// apiError is an answer other than success: an HTTP status and a
// sentence that says what is wrong.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

var (
	errNotStarted = errorf(http.StatusServiceUnavailable, "the run has not started yet; try again in a moment")
	errEnded      = errorf(http.StatusGone, "the run has ended; the console takes no more actions")
)

// submit checks an action against what the console knows, hands it to
// the run, and on acceptance shows its effect until the log confirms it.
func (c *Console) submit(ctx context.Context, s Seat, kind string, d events.ActionDef) (*Result, *apiError) {
	c.actMu.Lock()
	defer c.actMu.Unlock()
	c.mu.Lock()
	if !c.started {
		c.mu.Unlock()
		return nil, errNotStarted
	}
	if c.ended {
		c.mu.Unlock()
		return nil, errEnded
	}
	what, aerr := c.check(s, kind, &d)
	runner := c.runner
	c.mu.Unlock()
	if aerr != nil {
		return nil, aerr
	}
	a := broker.Action{Kind: kind}
	if kind != broker.ActionPause && kind != broker.ActionResume {
		a.Def, _ = json.Marshal(d)
	}
	done := make(chan broker.ActionResult, 1)
	go func() { done <- runner.Act(a) }()
	var r broker.ActionResult
	t := time.NewTimer(c.opts.ActTimeout)
	defer t.Stop()
	select {
	case r = <-done:
	case <-t.C:
		return nil, errorf(http.StatusGatewayTimeout, "the run did not answer within %v", c.opts.ActTimeout)
	case <-ctx.Done():
		return nil, errorf(http.StatusServiceUnavailable, "the request was cancelled before the run answered")
	}
	if r.Err != nil {
		return nil, errorf(http.StatusConflict, "the run refused: %s", strings.TrimPrefix(r.Err.Error(), "broker: "))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case broker.ActionPause, broker.ActionResume:
		c.clockAction(kind, r.At)
		c.st.action(kind, r.At, events.ActionDef{}, nil, true)
	default:
		c.st.action(kind, r.At, d, a.Def, true)
		if kind == broker.ActionDecision {
			if p := c.st.agIx[s.Agency].player.pending[*d.Decision]; p != nil {
				p.Submitted = ptr(r.At)
			}
		}
	}
	c.bump()
	return &Result{OK: true, Kind: kind, Seconds: secs(r.At), What: what + " at " + clockText(r.At)}, nil
}
