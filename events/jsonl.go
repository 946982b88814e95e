package events

import (
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
		LiveInject: "", Pause: "", Resume: "",
	}
	valueKey = [...]string{
		Deliver: "latency", Hold: "until", HandleStart: "wait", HandleEnd: "handling",
		Know: "since_inject", Reached: "time_to_reach", DeadlineMissed: "deadline",
		Send: "", Inject: "", Drop: "", ConsentRequest: "", ConsentGrant: "",
		ConsentRefuse: "", Skip: "", LiveInject: "", Pause: "", Resume: "",
	}
	countKey = [...]string{
		Deliver: "queue", HandleStart: "queue", Reached: "audience", DeadlineMissed: "reached",
		Inject: "", Send: "", Hold: "", Know: "", HandleEnd: "", Drop: "",
		ConsentRequest: "", ConsentGrant: "", ConsentRefuse: "", Skip: "",
		LiveInject: "", Pause: "", Resume: "",
	}
)

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
