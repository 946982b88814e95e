package events

import (
	"bytes"
	"encoding/json"

	"liaison"
)

// The JSON that live actions and players' decisions carry in the event log.
// The engine (agents) reads and writes these shapes; the log holds them as
// members of their events, and its one reader checks them.

// ActionDef is what a facilitator's or player's action says (all but a new
// inject, whose shape is InjectDef). Which fields an action uses depends on
// its kind (see broker's Action kinds).
type ActionDef struct {
	ID        liaison.ItemID      `json:"id,omitempty"`         // skip, postpone, fire
	AtSeconds *float64            `json:"at_seconds,omitempty"` // postpone: the new time
	Channel   liaison.ChannelID   `json:"channel,omitempty"`    // cut, restore; a decision's channel
	Agency    liaison.AgencyID    `json:"agency,omitempty"`     // staff, decision, note
	Staff     *int                `json:"staff,omitempty"`      // staff
	Decision  *uint64             `json:"decision,omitempty"`   // decision: which one
	Action    string              `json:"action,omitempty"`     // decision: share, reply, hold or rules
	To        []liaison.AgencyID  `json:"to,omitempty"`         // decision: share with
	Type      liaison.MessageType `json:"type,omitempty"`       // decision: the type to send
	Text      string              `json:"text,omitempty"`       // note
	Objective string              `json:"objective,omitempty"`  // note
	// Trigger marks a fire_inject the run made itself, when a conditional
	// inject's condition held: a replay fires it again by itself.
	Trigger bool `json:"trigger,omitempty"`
}

// PostponedTo is when a postponed inject fires: the time the action asks
// for (to the millisecond, rounded as the engine rounds it), and never
// before the action itself took effect, at. Everything that replays a
// postpone (the engine, the recorder, a log's reader, the action check)
// reads it here, so that they agree to the millisecond.
func (d *ActionDef) PostponedTo(at liaison.Time) liaison.Time {
	return max(at, liaison.Time(*d.AtSeconds*1000+0.5))
}

// The choices of a player's decision.
const (
	ChooseShare = "share"
	ChooseReply = "reply"
	ChooseHold  = "hold"
	ChooseRules = "rules" // what the agency's rules would do
)

// Proposal is one thing an agency's rules would do with a handled message.
type Proposal struct {
	Action  string              `json:"action"` // share, send or reply
	To      []liaison.AgencyID  `json:"to"`
	Channel liaison.ChannelID   `json:"channel,omitempty"`
	Type    liaison.MessageType `json:"type"`
}

// DecisionDue is what a decision_due event says: a player's agency has
// handled a message and waits for its player.
type DecisionDue struct {
	ID       uint64              `json:"id"`
	Message  string              `json:"message,omitempty"` // sender#number; empty for an inject
	Item     liaison.ItemID      `json:"item,omitempty"`
	Type     liaison.MessageType `json:"type"`
	From     liaison.AgencyID    `json:"from,omitempty"`
	Proposal []Proposal          `json:"proposal"`
}

// Decided is what a decided event says: what was done and by whom (the
// player, or the rules when time ran out).
type Decided struct {
	ID      uint64              `json:"id"`
	By      string              `json:"by"` // player or rules
	Action  string              `json:"action"`
	To      []liaison.AgencyID  `json:"to,omitempty"`
	Channel liaison.ChannelID   `json:"channel,omitempty"`
	Type    liaison.MessageType `json:"type,omitempty"`
}

// Member returns an extra member (Event.Raw) "key":v of an event.
func Member(key string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("events: " + err.Error())
	}
	return append([]byte(`"`+key+`":`), b...)
}

// ActionMember returns the extra member of a live action's record: the
// action's definition as given (compact JSON).
func ActionMember(def []byte) []byte {
	var buf bytes.Buffer
	if len(def) == 0 || json.Compact(&buf, def) != nil {
		buf.Reset()
		buf.WriteString("{}")
	}
	return append([]byte(`"action":`), buf.Bytes()...)
}

// memberOf returns the JSON of an event's extra member named key, or nil.
func memberOf(e *Event, key string) []byte {
	raw, ok := bytes.CutPrefix(e.Raw, []byte(`"`+key+`":`))
	if !ok {
		return nil
	}
	return raw
}

// ActionOf returns the definition a live action's record carries (as
// given), or nil for another event.
func ActionOf(e *Event) []byte {
	if !e.Kind.IsAction() {
		return nil
	}
	return memberOf(e, "action")
}

// ActionDefOf returns the definition a live action's record carries,
// decoded.
func ActionDefOf(e *Event) (ActionDef, bool) {
	var d ActionDef
	raw := ActionOf(e)
	return d, raw != nil && json.Unmarshal(raw, &d) == nil
}

// DecisionDueOf returns what a decision_due event says.
func DecisionDueOf(e *Event) (DecisionDue, bool) {
	var d DecisionDue
	raw := memberOf(e, "decision")
	return d, e.Kind == DecisionPending && raw != nil && json.Unmarshal(raw, &d) == nil
}

// DecidedOf returns what a decided event says.
func DecidedOf(e *Event) (Decided, bool) {
	var d Decided
	raw := memberOf(e, "decided")
	return d, e.Kind == DecisionMade && raw != nil && json.Unmarshal(raw, &d) == nil
}

// nodeMember checks the extra member of an event that arrived from a node
// in another process and writes it again from its fields: a decision_due's
// decision, a decided's decision or a reject's refusal, and nothing else.
func nodeMember(k Kind, raw []byte) ([]byte, bool) {
	strict := func(key string, v any) bool {
		body, ok := bytes.CutPrefix(raw, []byte(`"`+key+`":`))
		if !ok {
			return false
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		return dec.Decode(v) == nil && !dec.More()
	}
	switch k {
	case DecisionPending:
		var d DecisionDue
		if strict("decision", &d) {
			return Member("decision", d), true
		}
	case DecisionMade:
		var d Decided
		if strict("decided", &d) {
			return Member("decided", d), true
		}
	case Reject:
		var d Refusal
		if strict("reject", &d) {
			return RejectMember(d), true
		}
	}
	return nil, false
}
