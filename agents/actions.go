package agents

import (
	"encoding/json"
	"fmt"
	"slices"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Live actions change the model at the simulated time they take effect
// (broker.Action.At): every node takes every such action in the same order,
// at a point where it has run nothing at or after that time, and applies
// what concerns the agencies it hosts. What an agency does because of an
// action (a staff change, a player's decision, messages let go when a
// channel comes back) runs as an event in its own queue at that time, so
// that its random draws and events keep their order.

// The choices of a decision.
const (
	ChooseShare = events.ChooseShare
	ChooseReply = events.ChooseReply
	ChooseHold  = events.ChooseHold
	ChooseRules = events.ChooseRules
)

// ParseAction reads an action's Def and checks it against the model as
// far as it can be checked before it takes effect: the inject, channel
// and agencies it names exist, and a decision is an agency's that a person
// plays. It returns the parsed definition.
func (m *Model) ParseAction(a broker.Action) (*events.ActionDef, error) {
	var d events.ActionDef
	if len(a.Def) > 0 {
		if err := json.Unmarshal(a.Def, &d); err != nil {
			return nil, fmt.Errorf("agents: %s: %w", a.Kind, err)
		}
	}
	switch a.Kind {
	case broker.ActionSkip, broker.ActionPostpone, broker.ActionFire:
		item := m.itemIndex(d.ID)
		if item < 0 {
			return nil, fmt.Errorf("agents: %s: no inject %q in the scenario", a.Kind, d.ID)
		}
		if a.Kind == broker.ActionFire && !m.items[item].manual {
			return nil, fmt.Errorf("agents: %s: inject %s is not a contingency inject (when: manual); skip or postpone it instead", a.Kind, d.ID)
		}
		if a.Kind == broker.ActionPostpone && (d.AtSeconds == nil || !(*d.AtSeconds >= 0)) {
			return nil, fmt.Errorf("agents: %s: expected at_seconds, the new simulated time in seconds", a.Kind)
		}
	case broker.ActionCut, broker.ActionRestore:
		if m.channelIndex(d.Channel) < 0 {
			return nil, fmt.Errorf("agents: %s: no channel %q in the scenario", a.Kind, d.Channel)
		}
	case broker.ActionStaff:
		if m.AgencyIndex(d.Agency) < 0 {
			return nil, fmt.Errorf("agents: %s: no agency %q in the scenario", a.Kind, d.Agency)
		}
		if d.Staff == nil || *d.Staff < 1 || *d.Staff > 10000 {
			return nil, fmt.Errorf("agents: %s: expected staff, a number from 1 to 10000", a.Kind)
		}
	case broker.ActionDecision:
		ix := m.AgencyIndex(d.Agency)
		if ix < 0 || !m.players[ix] {
			return nil, fmt.Errorf("agents: %s: %q is not an agency a player seats", a.Kind, d.Agency)
		}
		if d.Decision == nil {
			return nil, fmt.Errorf("agents: %s: expected decision, the number of the pending decision", a.Kind)
		}
		switch d.Action {
		case ChooseShare:
			if len(d.To) == 0 {
				return nil, fmt.Errorf("agents: %s: share with whom? expected to", a.Kind)
			}
		case ChooseReply, ChooseHold, ChooseRules:
		default:
			return nil, fmt.Errorf("agents: %s: action %q; expected share, reply, hold or rules", a.Kind, d.Action)
		}
		for _, t := range d.To {
			if m.AgencyIndex(t) < 0 {
				return nil, fmt.Errorf("agents: %s: no agency %q in the scenario", a.Kind, t)
			}
		}
		if d.Channel != "" && m.channelIndex(d.Channel) < 0 {
			return nil, fmt.Errorf("agents: %s: no channel %q in the scenario", a.Kind, d.Channel)
		}
	case broker.ActionNote:
		if d.Text == "" {
			return nil, fmt.Errorf("agents: %s: expected text", a.Kind)
		}
		if d.Agency != "" && m.AgencyIndex(d.Agency) < 0 {
			return nil, fmt.Errorf("agents: %s: no agency %q in the scenario", a.Kind, d.Agency)
		}
	}
	return &d, nil
}

func (m *Model) itemIndex(id liaison.ItemID) int32 {
	for i := range m.items {
		if m.items[i].id == id {
			return int32(i)
		}
	}
	return -1
}

func (m *Model) channelIndex(id liaison.ChannelID) int32 {
	for i := range m.channels {
		if m.channels[i].id == id {
			return int32(i)
		}
	}
	return -1
}

// ItemByID returns the index of an inject, or -1.
func (m *Model) ItemByID(id liaison.ItemID) int32 { return m.itemIndex(id) }

// ChannelByID returns the index of a channel, or -1.
func (m *Model) ChannelByID(id liaison.ChannelID) int32 { return m.channelIndex(id) }

// ManualItem reports whether an inject is a contingency inject.
func (m *Model) ManualItem(item int32) bool { return m.items[item].manual }

// actionState is what live actions changed on a node.
type actionState struct {
	skipped map[int32]bool         // injects that will not fire
	moved   map[int32]liaison.Time // injects postponed or fired: their time now
	cuts    [][][2]liaison.Time    // by channel: the facilitator's cuts [from, to), to Never until restored
	held    [][]*Message           // by channel: messages waiting for it to come back
	pending []pendingAction        // actions for agencies, referred to by their events
}

// pendingAction is an action an agency takes in its own queue.
type pendingAction struct {
	kind string
	def  *events.ActionDef
	ch   int32 // restore: the channel
}

func (n *Node) actions() *actionState {
	if n.acts == nil {
		n.acts = &actionState{skipped: map[int32]bool{}, moved: map[int32]liaison.Time{}}
		n.acts.cuts = make([][][2]liaison.Time, len(n.m.channels))
		n.acts.held = make([][]*Message, len(n.m.channels))
	}
	return n.acts
}

// apply takes one live action at its time a.At.
func (n *Node) apply(a broker.Action) error {
	if a.Kind == broker.ActionInject {
		_, err := n.addInject(a.Def, a.At)
		return err
	}
	if !broker.ChangesModel(a.Kind) {
		return nil
	}
	d, err := n.m.ParseAction(a)
	if err != nil {
		return err
	}
	st := n.actions()
	switch a.Kind {
	case broker.ActionSkip:
		st.skipped[n.m.itemIndex(d.ID)] = true
	case broker.ActionPostpone, broker.ActionFire:
		item := n.m.itemIndex(d.ID)
		at := a.At
		if a.Kind == broker.ActionPostpone {
			at = d.PostponedTo(a.At)
		}
		st.moved[item] = at
		if ag := n.agents[n.m.items[item].to]; ag != nil {
			ag.schedule(qevent{t: at, prio: prioInject, aux: item})
		}
	case broker.ActionCut:
		c := n.m.channelIndex(d.Channel)
		st.cuts[c] = append(st.cuts[c], [2]liaison.Time{a.At, liaison.Never})
	case broker.ActionRestore:
		// The node may run ahead of a.At before it takes the action: the
		// cut ends at a.At, not now; what is sent until then waits for it.
		c := n.m.channelIndex(d.Channel)
		if k := len(st.cuts[c]); k > 0 && st.cuts[c][k-1][1] == liaison.Never {
			st.cuts[c][k-1][1] = a.At
		}
		// Every hosted sender with messages waiting lets them go at this
		// time, in its own queue.
		var senders []int32
		for _, m := range st.held[c] {
			if !slices.Contains(senders, m.From) {
				senders = append(senders, m.From)
			}
		}
		slices.Sort(senders)
		for _, s := range senders {
			n.agents[s].schedule(qevent{t: a.At, prio: prioAction, aux: n.pend(pendingAction{kind: a.Kind, ch: c})})
		}
	case broker.ActionStaff, broker.ActionDecision:
		if ag := n.agents[n.m.AgencyIndex(d.Agency)]; ag != nil {
			ag.schedule(qevent{t: a.At, prio: prioAction, aux: n.pend(pendingAction{kind: a.Kind, def: d})})
		}
	}
	return nil
}

// pend keeps an action for an agency's event to refer to.
func (n *Node) pend(p pendingAction) int32 {
	st := n.actions()
	st.pending = append(st.pending, p)
	return int32(len(st.pending) - 1)
}

// injectFires reports whether an inject event of item at t is to fire: not
// skipped, and at its time now if it was moved.
func (n *Node) injectFires(item int32, t liaison.Time) bool {
	if n.acts == nil {
		return !n.m.items[item].manual
	}
	if n.acts.skipped[item] {
		return false
	}
	if at, moved := n.acts.moved[item]; moved {
		return t == at
	}
	return !n.m.items[item].manual
}

// itemAt is when an item was injected, or is to be.
func (n *Node) itemAt(item int32) liaison.Time {
	if n.acts != nil {
		if at, ok := n.acts.moved[item]; ok {
			return at
		}
	}
	return n.m.items[item].at
}

// upAt returns the first instant at or after t when channel c is up, with
// its outages and the facilitator's cuts waited out, or liaison.Never while
// it is cut and nobody has restored it yet.
func (n *Node) upAt(c int32, t liaison.Time) liaison.Time {
	ch := &n.m.channels[c]
	if n.acts == nil || len(n.acts.cuts[c]) == 0 {
		return ch.upAt(t)
	}
	for moved := true; moved && t != liaison.Never; {
		moved = false
		if u := ch.upAt(t); u != t {
			t, moved = u, true
		}
		for _, cut := range n.acts.cuts[c] {
			if t >= cut[0] && t < cut[1] {
				t, moved = cut[1], true
			}
		}
	}
	return t
}

// hold keeps a message until its channel is restored.
func (n *Node) hold(m *Message) {
	st := n.actions()
	st.held[m.Channel] = append(st.held[m.Channel], m)
}

// handleAction runs an action an agency takes in its own queue.
func (a *agent) handleAction(t liaison.Time, ix int32) {
	p := a.n.acts.pending[ix]
	a.n.acts.pending[ix] = pendingAction{} // taken
	switch p.kind {
	case broker.ActionRestore:
		a.release(t, p.ch)
	case broker.ActionStaff:
		a.setStaff(t, *p.def.Staff)
	case broker.ActionDecision:
		a.decide(t, p.def)
	case decisionTimeout:
		a.timeOut(t, *p.def.Decision)
	}
}

// release lets this agency's messages waiting for channel c go, at t, in
// the order they were sent.
func (a *agent) release(t liaison.Time, c int32) {
	st := a.n.acts
	var rest []*Message
	for _, m := range st.held[c] {
		if m.From != a.ix {
			rest = append(rest, m)
			continue
		}
		lat := m.DeliverAt // the latency drawn when it was sent
		ready := m.SentAt + m.Fanout
		depart := a.n.upAt(c, t)
		if depart == liaison.Never {
			rest = append(rest, m) // cut again at this very time
			continue
		}
		m.DeliverAt, m.OutageWait = depart+lat, depart-ready
		a.n.publish(m)
	}
	st.held[c] = rest
}

// setStaff changes how many of the agency's staff handle messages at once.
func (a *agent) setStaff(t liaison.Time, staff int) {
	a.free += staff - a.staff
	a.staff = staff
	a.dispatch(t)
}

// dropHeld drops, at the end of the run, the messages still waiting for a
// cut channel.
func (n *Node) dropHeld(end liaison.Time) {
	if n.acts == nil {
		return
	}
	for c, held := range n.acts.held {
		for _, m := range held {
			n.agents[m.From].emit(m.dropEvent(end, liaison.DropRunEnd))
		}
		n.acts.held[c] = nil
	}
}
