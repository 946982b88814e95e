package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"liaison"
	"liaison/agents"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
)

// actionCheck decides whether a facilitator's or player's action may take
// effect when the clock would place it: an inject skipped or postponed must
// not have fired, a contingency inject fires once, a channel is cut only
// when up and restored only when cut. It follows what it accepted, and runs
// on the clock's goroutine.
type actionCheck struct {
	m      *agents.Model
	at     map[int32]liaison.Time // injects' times as they stand; Never once skipped
	manual map[int32]bool         // contingency injects not yet fired
	cut    map[int32]bool

	// Players' decisions, as the recorder logs them (observe, on its
	// goroutine): each waiting one with the time its rules act (Never
	// without a time limit), and those made.
	mu      sync.Mutex
	waiting map[decisionKey]liaison.Time
	made    map[decisionKey]bool
}

type decisionKey struct {
	agency liaison.AgencyID
	id     uint64
}

func newActionCheck(m *agents.Model) *actionCheck {
	c := &actionCheck{m: m, at: map[int32]liaison.Time{}, manual: map[int32]bool{}, cut: map[int32]bool{},
		waiting: map[decisionKey]liaison.Time{}, made: map[decisionKey]bool{}}
	for i, it := range m.Items() {
		c.at[int32(i)] = it.At
		c.manual[int32(i)] = it.Manual
	}
	return c
}

// observe follows players' decisions in the log: when one falls due and
// when its rules would act, and when one is made.
func (c *actionCheck) observe(e *events.Event, names *events.Names) {
	switch e.Kind {
	case events.DecisionPending:
		d, ok := events.DecisionDueOf(e)
		if !ok {
			return
		}
		rules := liaison.Never
		if to := c.m.DecisionTimeout(); to > 0 {
			rules = e.T + to
		}
		c.mu.Lock()
		c.waiting[decisionKey{liaison.AgencyID(events.Name(names.Agencies, e.Agency)), d.ID}] = rules
		c.mu.Unlock()
	case events.DecisionMade:
		d, ok := events.DecidedOf(e)
		if !ok {
			return
		}
		c.mu.Lock()
		c.made[decisionKey{liaison.AgencyID(events.Name(names.Agencies, e.Agency)), d.ID}] = true
		c.mu.Unlock()
	}
}

// decide accepts a player's decision that is waiting at its time at: not
// made, and not one its rules will have made first, when its time ran
// out. Otherwise the player would be told of a decision that changed
// nothing.
func (c *actionCheck) decide(d *events.ActionDef, at liaison.Time) error {
	k := decisionKey{d.Agency, *d.Decision}
	c.mu.Lock()
	defer c.mu.Unlock()
	rules, ok := c.waiting[k]
	switch {
	case c.made[k]:
		return fmt.Errorf("decision %d of %s has been made already", k.id, k.agency)
	case !ok:
		return fmt.Errorf("%s has no decision %d waiting", k.agency, k.id)
	case at >= rules:
		return fmt.Errorf("the rules made decision %d of %s at %ss, when its time ran out, before this decision could take effect (at %ss)",
			k.id, k.agency, liaison.FormatSeconds(rules), liaison.FormatSeconds(at))
	}
	c.made[k] = true
	return nil
}

func (c *actionCheck) accept(a broker.Action) error {
	if !broker.ChangesModel(a.Kind) || a.Kind == broker.ActionInject {
		return nil
	}
	d, err := c.m.ParseAction(a)
	if err != nil {
		return err
	}
	switch a.Kind {
	case broker.ActionSkip, broker.ActionPostpone:
		item := c.m.ItemByID(d.ID)
		switch {
		case c.manual[item]:
			return fmt.Errorf("inject %s is a contingency inject: it fires only when fired", d.ID)
		case c.at[item] == liaison.Never:
			return fmt.Errorf("inject %s was skipped", d.ID)
		case c.at[item] < a.At:
			return fmt.Errorf("inject %s has fired already (at %ss)", d.ID, liaison.FormatSeconds(c.at[item]))
		}
		if a.Kind == broker.ActionSkip {
			c.at[item] = liaison.Never
		} else {
			c.at[item] = d.PostponedTo(a.At)
		}
	case broker.ActionFire:
		item := c.m.ItemByID(d.ID)
		if c.m.Triggered(item) {
			return fmt.Errorf("inject %s is conditional: it fires by itself when its trigger holds", d.ID)
		}
		if !c.manual[item] {
			return fmt.Errorf("inject %s has been fired already", d.ID)
		}
		c.manual[item], c.at[item] = false, a.At
	case broker.ActionCut, broker.ActionRestore:
		ch := c.m.ChannelByID(d.Channel)
		if c.cut[ch] == (a.Kind == broker.ActionCut) {
			if a.Kind == broker.ActionCut {
				return fmt.Errorf("channel %s is cut already", d.Channel)
			}
			return fmt.Errorf("channel %s is not cut", d.Channel)
		}
		c.cut[ch] = a.Kind == broker.ActionCut
	case broker.ActionDecision:
		return c.decide(d, a.At)
	}
	return nil
}

// actor submits actions to a run, one at a time, for whoever drives it:
// the NATS control subjects and a web console alike.
type actor struct {
	mu       sync.Mutex
	live     chan broker.Action
	onAction []func(verb string, at liaison.Time)
	paused   bool
	pausedAt liaison.Time
	model    *agents.Model
}

// errBusy is an action the run did not take or confirm in time.
var errBusy = errors.New("the run did not take the action within " + actionWait.String())

// act submits one action and waits until the run accepts or refuses it.
// The caller holds mu.
func (c *actor) act(a broker.Action) broker.ActionResult {
	done := make(chan broker.ActionResult, 1)
	a.Done = done
	select {
	case c.live <- a:
	case <-timeAfter(actionWait):
		return broker.ActionResult{Err: errBusy}
	}
	select {
	case r := <-done:
		if r.Err != nil {
			return r
		}
		for _, f := range c.onAction {
			f(a.Kind, r.At)
		}
		switch a.Kind {
		case broker.ActionPause:
			c.paused, c.pausedAt = true, r.At
		case broker.ActionResume:
			c.paused = false
		}
		return r
	case <-timeAfter(actionWait):
		return broker.ActionResult{Err: errBusy}
	}
}

// Act submits an action on behalf of a console or a script: its Def is
// checked against the scenario first.
func (c *actor) Act(a broker.Action) broker.ActionResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch a.Kind {
	case broker.ActionPause:
		if c.paused {
			return broker.ActionResult{At: c.pausedAt, Err: errors.New("the run is already paused")}
		}
	case broker.ActionResume:
		if !c.paused {
			return broker.ActionResult{Err: errors.New("the run is not paused")}
		}
	case broker.ActionInject:
		var d events.InjectDef
		if err := json.Unmarshal(a.Def, &d); err != nil {
			return broker.ActionResult{Err: fmt.Errorf("the inject is not an inject definition: %v", err)}
		}
	default:
		if _, err := c.model.ParseAction(a); err != nil {
			return broker.ActionResult{Err: err}
		}
	}
	return c.act(a)
}

// seatPlayers returns the scenario with more players seated, checking that
// each is an agency of it.
func seatPlayers(sc *scenarios.Scenario, players []liaison.AgencyID) (*scenarios.Scenario, error) {
	if len(players) == 0 {
		return sc, nil
	}
	out := *sc
	out.Players = slices.Clone(sc.Players)
	for _, p := range players {
		if sc.Agency(p) == nil {
			return nil, fmt.Errorf("sim: player %s is not an agency of %s", p, sc.Name)
		}
		if !slices.Contains(out.Players, p) {
			out.Players = append(out.Players, p)
		}
	}
	return &out, nil
}

// triggerFire is the action that fires a conditional inject whose
// condition holds: logged as a fire_inject marked trigger, which a replay
// does not take (the replay fires it again by itself).
func triggerFire(m *agents.Model, item int32, at liaison.Time) broker.Action {
	def, _ := json.Marshal(events.ActionDef{ID: m.Names.Items[item], Trigger: true})
	return broker.Action{Kind: broker.ActionFire, Def: def, At: at}
}

// watchFired makes the recorder watch the conditions of the scenario's
// conditional injects and returns what takes the fire_inject actions it
// set off since the last call, for whoever schedules them (the in-process
// coordinator, or the time service across processes).
func watchFired(rec *events.Recorder, m *agents.Model, specs []events.TriggerSpec) (take func() []broker.Action) {
	var mu sync.Mutex
	var due []broker.Action
	rec.Watch(specs, func(item int32, at liaison.Time) {
		mu.Lock()
		due = append(due, triggerFire(m, item, at))
		mu.Unlock()
	})
	return func() []broker.Action {
		mu.Lock()
		defer mu.Unlock()
		d := due
		due = nil
		return d
	}
}

// watchTriggers lets the recorder fire the scenario's conditional injects:
// it watches their conditions in the events it records and hands the
// coordinator a fire_inject for each condition that holds, at the time the
// inject is due; the coordinator keeps the horizon within reach of what
// the recorder has seen.
func watchTriggers(loc *agents.Local, rec *events.Recorder, m *agents.Model, specs []events.TriggerSpec) func(liaison.Time) {
	var recorded atomic.Int64
	recorded.Store(-1)
	loc.Triggered = watchFired(rec, m, specs)
	loc.MinAfter = liaison.Never
	for _, s := range specs {
		loc.MinAfter = min(loc.MinAfter, s.After)
	}
	loc.Recorded = func() liaison.Time { return liaison.Time(recorded.Load()) }
	// After each window the recorder has seen: the coordinator may wait.
	return func(w liaison.Time) {
		recorded.Store(int64(w))
		loc.Poke()
	}
}
