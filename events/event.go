// Package events defines the event stream of a run: what happened, when and
// where, in the one order that every downstream view (event log, summary,
// metrics, reports) is computed from. Agents produce events, nodes ship them
// to the time service in compact binary batches, and the Recorder merges
// them into the canonical order: simulated time, then rank, then agency,
// then the agency's own sequence number.
package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"liaison"
	"liaison/internal/wire"
)

// Kind says what an event records.
type Kind uint8

// The event kinds. Their names are part of the event log format.
const (
	Inject          Kind = iota + 1 // an inject reached its agency
	Send                            // an agency sent a message (one hop, one recipient)
	Deliver                         // a message reached its recipient (and its queue)
	Hold                            // a message waits for the recipient's office to open
	HandleStart                     // staff started handling a message
	Know                            // an agency learned an item for the first time
	HandleEnd                       // staff finished handling a message
	Drop                            // a message was dropped; Reason says why
	ConsentRequest                  // a holder asked the originator to release an item to third parties
	ConsentGrant                    // the originator granted a release
	ConsentRefuse                   // the originator refused a release
	DeadlineMissed                  // an item's audience, or a reply, missed its deadline
	Reached                         // the whole audience of an item knows it
	Skip                            // a rule did not fire (its probability said no)
	LiveInject                      // a facilitator's inject took effect (Raw holds it)
	Pause                           // a facilitator paused the clock
	Resume                          // a facilitator resumed the clock
	Reject                          // an arrival that no agency sent, or that is malformed, was refused (Raw says what and why)
	DecisionPending                 // a player's agency handled a message and waits for its player (Raw: what the rules would do)
	DecisionMade                    // a player's agency acted on a handled message (Raw: what, and by whom)
	SkipInject                      // a facilitator skipped a scheduled inject (Raw holds the action)
	PostponeInject                  // a facilitator postponed a scheduled inject
	FireInject                      // a facilitator fired a contingency inject
	CutChannel                      // a facilitator cut a channel
	RestoreChannel                  // a facilitator restored a cut channel
	SetStaff                        // a facilitator changed an agency's staff
	Note                            // an evaluator's note
	PlayerDecision                  // a player's decision took effect
	kindEnd
)

var kindNames = [...]string{
	Inject: "inject", Send: "send", Deliver: "deliver", Hold: "hold",
	HandleStart: "handle_start", Know: "know", HandleEnd: "handle_end", Drop: "drop",
	ConsentRequest: "consent_request", ConsentGrant: "consent_grant",
	ConsentRefuse: "consent_refuse", DeadlineMissed: "deadline_missed",
	Reached: "reached", Skip: "skip", LiveInject: "live_inject", Pause: "pause", Resume: "resume",
	Reject: "reject", DecisionPending: "decision_due", DecisionMade: "decided",
	SkipInject: "skip_inject", PostponeInject: "postpone_inject", FireInject: "fire_inject",
	CutChannel: "cut_channel", RestoreChannel: "restore_channel", SetStaff: "set_staff", Note: "note",
	PlayerDecision: "decision",
}

// IsAction reports whether events of the kind record a live action of a
// facilitator or player (and so are replayed from a log).
func (k Kind) IsAction() bool {
	return k == LiveInject || k == Pause || k == Resume || k >= SkipInject && k <= PlayerDecision
}

// String returns the event log name of the kind, e.g. "handle_start".
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Rank orders events that share a time: agents' events come first, then the
// events the recorder derives from them (reached, deadline_missed), so that a
// deadline at time D counts knowledge gained at D.
const (
	RankAgent   uint8 = 0
	RankDerived uint8 = 1
)

// Event is one line of the event log. Agencies, channels, types and items
// are kept as indices into a Names table while the run goes on, so events
// are small and cheap to ship; the Recorder resolves them when it writes.
type Event struct {
	T      liaison.Time // simulated time of the event
	Kind   Kind
	Rank   uint8
	Agency int32  // agency where it happened (index), -1 for none
	Seq    uint64 // the agency's event counter: a stable tie-break
	// Message: (MsgFrom, MsgSeq) identify it; MsgFrom -1 for none.
	MsgFrom int32
	MsgSeq  uint64
	Channel int32        // -1 for none
	Type    int32        // message type index, -1 for none
	Item    int32        // item index, -1 for none
	Peer    int32        // the other agency: recipient of a send, sender of a deliver, -1 for none
	Reason  int32        // drop reason index, -1 for none
	Value   liaison.Time // latency (deliver), wait (handle_start), until (hold), …
	Count   int32        // queue length after a deliver or handle_start, reach count, …
	// Cause: the message whose handling led to a send (the one relayed,
	// answered or shared on); CauseFrom -1 for none (injects, background).
	CauseFrom int32
	CauseSeq  uint64
	// OutageWait: for a deliver, how long the message waited for its
	// channel to come back up before it left (not part of the latency).
	OutageWait liaison.Time
	// Raw holds extra JSON members ("key":value,...) of events that the
	// time service, not an agency, records (live actions). It never
	// crosses the wire.
	Raw []byte
}

// Less reports whether a sorts before b in the canonical order.
func Less(a, b *Event) bool {
	if a.T != b.T {
		return a.T < b.T
	}
	if a.Rank != b.Rank {
		return a.Rank < b.Rank
	}
	if a.Agency != b.Agency {
		return a.Agency < b.Agency
	}
	return a.Seq < b.Seq
}

// Compare is Less as a three-way comparison, for slices.SortFunc.
func Compare(a, b Event) int {
	return compare(&a, &b)
}

func compare(a, b *Event) int {
	switch {
	case Less(a, b):
		return -1
	case Less(b, a):
		return 1
	}
	return 0
}

// Names resolves the indices in events to the scenario's names. Types and
// items may grow during a run (live injects); reasons are the liaison.Drop*
// constants.
type Names struct {
	Agencies []liaison.AgencyID
	Channels []liaison.ChannelID
	Types    []liaison.MessageType
	Items    []liaison.ItemID
	Reasons  []string
}

// Name is the name at index ix of one of the tables, or "" for none (-1)
// or an index outside it.
func Name[T ~string](names []T, ix int32) string {
	if ix < 0 || int(ix) >= len(names) {
		return ""
	}
	return string(names[ix])
}

// Reasons is the bounded set of drop reasons, in index order.
var Reasons = []string{
	liaison.DropNoRoute, liaison.DropTLP, liaison.DropConsentRefuse,
	liaison.DropRunEnd, liaison.DropPermission, liaison.DropPublish, liaison.DropNoConsentRoute,
}

// ReasonIndex returns the index of a drop reason in Reasons.
func ReasonIndex(reason string) int32 {
	for i, r := range Reasons {
		if r == reason {
			return int32(i)
		}
	}
	panic("events: unknown drop reason " + reason)
}

// AppendBinary appends the compact wire form of e to b. Nodes send batches
// of these to the time service; field order is fixed, integers are varints.
func AppendBinary(b []byte, e *Event) []byte {
	b = binary.AppendVarint(b, int64(e.T))
	b = append(b, byte(e.Kind), e.Rank)
	b = binary.AppendVarint(b, int64(e.Agency))
	b = binary.AppendUvarint(b, e.Seq)
	b = binary.AppendVarint(b, int64(e.MsgFrom))
	b = binary.AppendUvarint(b, e.MsgSeq)
	b = binary.AppendVarint(b, int64(e.Channel))
	b = binary.AppendVarint(b, int64(e.Type))
	b = binary.AppendVarint(b, int64(e.Item))
	b = binary.AppendVarint(b, int64(e.Peer))
	b = binary.AppendVarint(b, int64(e.Reason))
	b = binary.AppendVarint(b, int64(e.Value))
	b = binary.AppendVarint(b, int64(e.Count))
	b = binary.AppendVarint(b, int64(e.CauseFrom))
	b = binary.AppendUvarint(b, e.CauseSeq)
	b = binary.AppendVarint(b, int64(e.OutageWait))
	return wire.AppendBytes(b, e.Raw)
}

// ErrCorrupt reports a batch that does not decode.
var ErrCorrupt = errors.New("events: corrupt event batch")

// DecodeBatch appends the events encoded in b to dst. Batches come from
// other processes: every field is checked (varints whole, indices within
// int32, a known kind), and a bad batch is an error wrapping ErrCorrupt.
func DecodeBatch(dst []Event, b []byte) ([]Event, error) {
	r := wire.NewReader(b)
	for r.Len() > 0 {
		var e Event
		e.T = liaison.Time(r.Varint())
		e.Kind = Kind(r.Byte())
		e.Rank = r.Byte()
		e.Agency = r.Int32()
		e.Seq = r.Uvarint()
		e.MsgFrom = r.Int32()
		e.MsgSeq = r.Uvarint()
		e.Channel = r.Int32()
		e.Type = r.Int32()
		e.Item = r.Int32()
		e.Peer = r.Int32()
		e.Reason = r.Int32()
		e.Value = liaison.Time(r.Varint())
		e.Count = r.Int32()
		e.CauseFrom = r.Int32()
		e.CauseSeq = r.Uvarint()
		e.OutageWait = liaison.Time(r.Varint())
		raw := r.Bytes()
		if err := r.Err(); err != nil {
			return dst, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if e.Kind == 0 || e.Kind >= kindEnd {
			return dst, fmt.Errorf("%w: kind %d", ErrCorrupt, e.Kind)
		}
		if len(raw) > 0 {
			// The log writes Raw as it is: only what an agency's event
			// may carry, re-written from its fields, gets there.
			clean, ok := nodeMember(e.Kind, raw)
			if !ok {
				return dst, fmt.Errorf("%w: a %s event with extra members it does not carry", ErrCorrupt, e.Kind)
			}
			e.Raw = clean
		}
		dst = append(dst, e)
	}
	return dst, nil
}
