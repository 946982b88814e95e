package agents

import (
	"liaison"
	"liaison/events"
)

// An agency seated by a person (a player) does not apply its rules when it
// has handled a message: it logs a decision_due event with what the rules
// would do, and waits. The player's decision arrives as a live action at
// the simulated time it was made and runs in the agency's queue; if the
// scenario sets a decision timeout, the rules act when it runs out. Either
// way a decided event records what was done and by whom, so a replay of
// the log decides the same.

// decisionTimeout is the pending action of a decision's timeout.
const decisionTimeout = "decision_timeout"

// decides reports whether a player's agency has something to decide about
// a handled message: an item to pass on or not, or something its rules
// would do. Routine traffic its rules ignore needs no person.
func (a *agent) decides(w *work) bool {
	if w.item >= 0 {
		return true
	}
	for i := range a.def.rules {
		if a.def.rules[i].matches(w, 0) {
			return true
		}
	}
	return false
}

// awaitDecision holds a handled message for the agency's player.
func (a *agent) awaitDecision(t liaison.Time, w *work) {
	a.nextDecision++
	k := a.nextDecision
	if a.decisions == nil {
		a.decisions = map[uint64]*work{}
	}
	a.decisions[k] = w
	due := events.DecisionDue{ID: k, Type: a.m.Names.Types[w.typ], Proposal: a.propose(w)}
	if w.fromMsg {
		due.Message = events.MessageID(a.m.Names.Agencies[w.msg.From], w.msg.Seq)
	}
	if w.item >= 0 {
		due.Item = a.m.items[w.item].id
	}
	if w.origin >= 0 {
		due.From = a.m.Names.Agencies[w.origin]
	}
	ev := w.event(t, events.DecisionPending)
	ev.Raw = events.Member("decision", due)
	a.emit(ev)
	if to := a.m.decisionTimeout; to > 0 {
		a.schedule(qevent{t: t + to, prio: prioAction,
			aux: a.n.pend(pendingAction{kind: decisionTimeout, def: &events.ActionDef{Decision: &k}})})
	}
}

// propose lists what the agency's rules would do with a handled message,
// without doing it (and without the draws of rules that fire by chance).
func (a *agent) propose(w *work) []events.Proposal {
	var tlp liaison.TLP
	if w.item >= 0 {
		tlp = a.m.items[w.item].tlp
	}
	out := []events.Proposal{}
	for i := range a.def.rules {
		r := &a.def.rules[i]
		if !r.matches(w, tlp) {
			continue
		}
		p := events.Proposal{Type: a.m.Names.Types[r.outTypeFor(w)]}
		if r.channel >= 0 {
			p.Channel = a.m.channels[r.channel].id
		}
		switch r.action {
		case 's':
			p.Action = ChooseShare
		case 'n':
			p.Action = "send"
		case 'r':
			p.Action, p.To = ChooseReply, []liaison.AgencyID{a.m.Names.Agencies[w.origin]}
		}
		for _, t := range r.targets {
			p.To = append(p.To, a.m.Names.Agencies[t])
		}
		out = append(out, p)
	}
	return out
}

// decide applies a player's decision.
func (a *agent) decide(t liaison.Time, d *events.ActionDef) {
	w := a.decisions[*d.Decision]
	if w == nil {
		return // decided already, or timed out: the record shows the action
	}
	delete(a.decisions, *d.Decision)
	a.causedBy(w)
	typ := w.typ
	if ix, ok := a.m.typeIx[d.Type]; ok && d.Type != "" {
		typ = ix
	}
	channel := int32(-1)
	if d.Channel != "" {
		channel = a.m.channelIndex(d.Channel)
	}
	switch d.Action {
	case ChooseShare:
		for _, id := range d.To {
			if to := a.m.AgencyIndex(id); to >= 0 {
				a.share(t, to, typ, w.item, channel, w.urgent)
			}
		}
		a.flush(t)
		if w.item >= 0 {
			a.askConsent(t, w.item)
		}
	case ChooseReply:
		if w.origin >= 0 {
			a.sendTo(t, w.origin, typ, w.item, channel, w.urgent)
		}
	case ChooseRules:
		a.applyRules(t, w)
	}
	dec := events.Decided{ID: *d.Decision, By: "player", Action: d.Action, To: d.To, Channel: d.Channel}
	if typ != w.typ {
		dec.Type = a.m.Names.Types[typ]
	}
	a.logDecided(t, w, dec)
}

// timeOut lets the rules act on a decision the player has not made in
// time.
func (a *agent) timeOut(t liaison.Time, k uint64) {
	w := a.decisions[k]
	if w == nil {
		return
	}
	delete(a.decisions, k)
	a.causedBy(w)
	a.applyRules(t, w)
	a.logDecided(t, w, events.Decided{ID: k, By: "rules", Action: ChooseRules})
}

func (a *agent) logDecided(t liaison.Time, w *work, d events.Decided) {
	ev := w.event(t, events.DecisionMade)
	ev.Raw = events.Member("decided", d)
	a.emit(ev)
}
