package events

import (
	"bytes"
	"encoding/json"
	"strconv"

	"liaison"
)

// What the Peer, Value and Count fields mean for each kind, as JSON keys.
// An empty key leaves the field out of that kind's lines.
var (
	peerKey = [...]string{
		Send: "to", Deliver: "from", HandleStart: "from", HandleEnd: "from", Drop: "to",
		ConsentRequest: "originator", ConsentGrant: "to", ConsentRefuse: "to",
		Inject: "", Know: "from", Skip: "", DeadlineMissed: "", Reached: "",
		LiveInject: "", Pause: "", Resume: "", Reject: "",
		DecisionPending: "", DecisionMade: "", SkipInject: "", PostponeInject: "", FireInject: "", CutChannel: "", RestoreChannel: "", SetStaff: "", Note: "", PlayerDecision: "",
	}
	valueKey = [...]string{
		Deliver: "latency", Hold: "until", HandleStart: "wait", HandleEnd: "handling",
		Know: "since_inject", Reached: "time_to_reach", DeadlineMissed: "deadline",
		Send: "", Inject: "", Drop: "", ConsentRequest: "", ConsentGrant: "",
		ConsentRefuse: "", Skip: "", LiveInject: "", Pause: "", Resume: "", Reject: "",
		DecisionPending: "", DecisionMade: "", SkipInject: "", PostponeInject: "", FireInject: "", CutChannel: "", RestoreChannel: "", SetStaff: "", Note: "", PlayerDecision: "",
	}
	countKey = [...]string{
		Deliver: "queue", HandleStart: "queue", Reached: "audience", DeadlineMissed: "reached",
		Inject: "", Send: "", Hold: "", Know: "", HandleEnd: "", Drop: "",
		ConsentRequest: "", ConsentGrant: "", ConsentRefuse: "", Skip: "",
		LiveInject: "", Pause: "", Resume: "", Reject: "",
		DecisionPending: "", DecisionMade: "", SkipInject: "", PostponeInject: "", FireInject: "", CutChannel: "", RestoreChannel: "", SetStaff: "", Note: "", PlayerDecision: "",
	}
)

// The members an event line carries besides "t" and "kind". The writer
// writes a member when its field is set; the reader (Reader) accepts only
// the members a kind may carry and insists on those it always carries, so
// the two cannot drift apart unseen.
type member uint32

const (
	mAgency member = 1 << iota
	mChannel
	mMsg
	mCause
	mItem
	mType
	mReason
	mInject   // a live inject's definition (Raw)
	mPeer     // under the kind's peerKey
	mValue    // under its valueKey
	mCount    // under its countKey
	mFanout   // a send's fanout_delay, written only when above zero
	mOutage   // a deliver's outage_wait, written only when above zero
	mReject   // a refused arrival's subject and why (Raw)
	mAction   // a live action's definition (Raw)
	mDecision // a decision_due's decision (Raw)
	mDecided  // a decided's decision (Raw)
)

// agentMembers are what any agency's event may name.
const agentMembers = mAgency | mChannel | mMsg | mItem | mType

var (
	allowedMembers = [...]member{
		Inject: agentMembers, Send: agentMembers | mCause | mPeer | mFanout,
		Deliver: agentMembers | mPeer | mValue | mCount | mOutage, Hold: agentMembers | mValue,
		HandleStart: agentMembers | mPeer | mValue | mCount, Know: agentMembers | mPeer | mValue,
		HandleEnd: agentMembers | mPeer | mValue, Drop: agentMembers | mPeer | mReason,
		ConsentRequest: agentMembers | mPeer, ConsentGrant: agentMembers | mPeer,
		ConsentRefuse: agentMembers | mPeer, DeadlineMissed: agentMembers | mValue | mCount,
		Reached: mItem | mValue | mCount, Skip: agentMembers,
		LiveInject: mItem | mInject, Pause: 0, Resume: 0, Reject: mAgency | mChannel | mMsg | mReject,
		DecisionPending: agentMembers | mDecision, DecisionMade: agentMembers | mDecided,
		SkipInject: mItem | mAction, PostponeInject: mItem | mAction, FireInject: mItem | mAction,
		CutChannel: mChannel | mAction, RestoreChannel: mChannel | mAction, SetStaff: mAction, Note: mAction,
		PlayerDecision: mAction,
	}
	requiredMembers = [...]member{
		Inject: mAgency | mItem, Send: mAgency | mMsg,
		Deliver: mAgency | mChannel | mMsg | mPeer | mValue | mCount, Hold: mAgency | mValue,
		HandleStart: mAgency | mValue | mCount, Know: mAgency | mItem | mValue,
		HandleEnd: mAgency | mValue, Drop: mAgency | mReason,
		ConsentRequest: mAgency | mItem | mPeer, ConsentGrant: mAgency | mItem | mPeer,
		ConsentRefuse: mAgency | mItem | mPeer, DeadlineMissed: mValue | mCount,
		Reached: mItem | mValue | mCount, Skip: mAgency,
		LiveInject: mItem | mInject, Pause: 0, Resume: 0, Reject: mReject,
		DecisionPending: mAgency | mDecision, DecisionMade: mAgency | mDecided,
		SkipInject: mItem | mAction, PostponeInject: mItem | mAction, FireInject: mItem | mAction,
		CutChannel: mChannel | mAction, RestoreChannel: mChannel | mAction, SetStaff: mAction, Note: mAction,
		PlayerDecision: mAction,
	}
)

// InjectDef is an inject a facilitator delivered during a run: the
// "inject" member of a live_inject line, and what the time service passes
// to the nodes. It carries what the engine needs; the time comes with the
// event.
type InjectDef struct {
	ID                liaison.ItemID      `json:"id"`
	To                liaison.AgencyID    `json:"to"`
	From              string              `json:"from,omitempty"`
	Type              liaison.MessageType `json:"type"`
	Summary           string              `json:"summary"`
	TLP               string              `json:"tlp"`
	OriginatorControl bool                `json:"originator_control,omitempty"`
	Originator        liaison.AgencyID    `json:"originator"`
	Audience          []liaison.AgencyID  `json:"audience"`
	DeadlineSeconds   float64             `json:"deadline_seconds,omitempty"`
	Urgent            bool                `json:"urgent,omitempty"`
}

// Desc describes the inject as the run header describes a scenario's
// injects, fired at at: how the log's reader and live views list it.
func (d *InjectDef) Desc(at liaison.Time) ItemDesc {
	desc := ItemDesc{ID: string(d.ID), AtSeconds: at.Seconds(), To: string(d.To), From: d.From,
		Type: string(d.Type), Summary: d.Summary, TLP: d.TLP, OriginatorControl: d.OriginatorControl,
		Originator: string(d.Originator), Audience: make([]string, len(d.Audience))}
	for i, a := range d.Audience {
		desc.Audience[i] = string(a)
	}
	if d.DeadlineSeconds > 0 {
		dl := d.DeadlineSeconds
		desc.DeadlineSeconds = &dl
	}
	return desc
}

const injectKey = `"inject":`

// InjectMember returns the extra member (Event.Raw) of a live_inject event
// that carries def, an InjectDef as JSON.
func InjectMember(def []byte) []byte { return append([]byte(injectKey), def...) }

// InjectJSON returns the InjectDef, as JSON, that a live_inject event
// carries (the exact bytes the log holds), or nil for another event.
func InjectJSON(e *Event) []byte {
	def, ok := bytes.CutPrefix(e.Raw, []byte(injectKey))
	if e.Kind != LiveInject || !ok {
		return nil
	}
	return def
}

const rejectKey = `"reject":`

// Refusal is what a reject event says of an arrival: the subject it came
// on and why it was refused.
type Refusal struct {
	Subject string `json:"subject"`
	Why     string `json:"why"`
}

// RejectMember returns the extra member (Event.Raw) of a reject event.
func RejectMember(r Refusal) []byte {
	b, _ := json.Marshal(r)
	return append([]byte(rejectKey), b...)
}

// MessageID formats a message id as the event log shows it: the sending
// agency and its message counter, "dk.pet#17".
func MessageID(from liaison.AgencyID, seq uint64) string {
	return string(from) + "#" + strconv.FormatUint(seq, 10)
}

// AppendJSON appends e as one JSON object (no newline) to b. Keys come in a
// fixed order and numbers print exactly, so equal events give equal bytes.
func AppendJSON(b []byte, e *Event, n *Names) []byte {
	b = append(b, `{"t":`...)
	b = append(b, liaison.FormatSeconds(e.T)...)
	b = append(b, `,"kind":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	if len(e.Raw) > 0 {
		b = append(b, ',')
		b = append(b, e.Raw...)
	}
	if e.Agency >= 0 {
		b = appendField(b, "agency", string(n.Agencies[e.Agency]))
	}
	if e.Channel >= 0 {
		b = appendField(b, "channel", string(n.Channels[e.Channel]))
	}
	if e.MsgFrom >= 0 {
		b = append(b, `,"msg":"`...)
		b = appendEscaped(b, string(n.Agencies[e.MsgFrom]))
		b = append(b, '#')
		b = strconv.AppendUint(b, e.MsgSeq, 10)
		b = append(b, '"')
	}
	if e.CauseFrom >= 0 {
		b = append(b, `,"cause":"`...)
		b = appendEscaped(b, string(n.Agencies[e.CauseFrom]))
		b = append(b, '#')
		b = strconv.AppendUint(b, e.CauseSeq, 10)
		b = append(b, '"')
	}
	if e.Item >= 0 {
		b = appendField(b, "item", string(n.Items[e.Item]))
	}
	if e.Type >= 0 {
		b = appendField(b, "type", string(n.Types[e.Type]))
	}
	if k := peerKey[e.Kind]; k != "" && e.Peer >= 0 {
		b = appendField(b, k, string(n.Agencies[e.Peer]))
	}
	if e.Reason >= 0 {
		b = appendField(b, "reason", n.Reasons[e.Reason])
	}
	if k := valueKey[e.Kind]; k != "" {
		b = append(b, `,"`...)
		b = append(b, k...)
		b = append(b, `":`...)
		b = append(b, liaison.FormatSeconds(e.Value)...)
	}
	// Waits that are not part of a hop's latency, shown only when there
	// were any: the sender's fanout time on a send, an outage on a deliver.
	if e.Kind == Send && e.Value > 0 {
		b = append(b, `,"fanout_delay":`...)
		b = append(b, liaison.FormatSeconds(e.Value)...)
	}
	if e.Kind == Deliver && e.OutageWait > 0 {
		b = append(b, `,"outage_wait":`...)
		b = append(b, liaison.FormatSeconds(e.OutageWait)...)
	}
	if k := countKey[e.Kind]; k != "" {
		b = append(b, `,"`...)
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(e.Count), 10)
	}
	return append(b, '}')
}

func appendField(b []byte, key, val string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":"`...)
	b = appendEscaped(b, val)
	return append(b, '"')
}

// appendEscaped writes s as the inside of a JSON string. Scenario names are
// validated ids, but summaries and types may hold any text.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}
