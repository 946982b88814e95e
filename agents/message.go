package agents

import (
	"encoding/binary"
	"errors"

	"liaison"
	"liaison/internal/wire"
)

// Message kinds on the wire.
const (
	kindPlain         uint8 = iota // an item (or background traffic) for its recipient
	kindConsentReq                 // third-party rule: may I pass this item on?
	kindConsentGrant               // yes
	kindConsentRefuse              // no
)

// Message is one hop of one message: what crosses the NATS server. The
// sender draws the latency, so DeliverAt is fixed when it is published and
// the order in which messages arrive on the wire never changes a result.
type Message struct {
	From, To  int32  // this hop's sender and recipient
	Seq       uint64 // the sender's message counter: (From, Seq) is the id
	Channel   int32
	Type      int32
	Item      int32 // -1 for background traffic
	SentAt    liaison.Time
	DeliverAt liaison.Time
	Urgent    bool
	Kind      uint8
	Relay     bool  // for the hub or liaison officer to pass on
	Origin    int32 // the agency that shared it; differs from From after a relay
	Final     int32 // relay: the final recipient, or -1 for a platform post to Parties
	// Fields added after the first wire form; they come last in it.
	Fanout     liaison.Time // from SentAt to when the sender had drafted this copy
	OutageWait liaison.Time // then waiting for the channel to come back up
	// Parties: a platform post's recipients (relay to the hub, Final -1);
	// a consent request's third parties; a consent answer's granted ones.
	Parties []int32
}

// transit is the time the message spent in the channel: what the
// scenario's latency distribution drew, without fanout and outage waits.
func (m *Message) transit() liaison.Time {
	return m.DeliverAt - m.SentAt - m.Fanout - m.OutageWait
}

func (m *Message) appendBinary(b []byte) []byte {
	b = binary.AppendVarint(b, int64(m.From))
	b = binary.AppendVarint(b, int64(m.To))
	b = binary.AppendUvarint(b, m.Seq)
	b = binary.AppendVarint(b, int64(m.Channel))
	b = binary.AppendVarint(b, int64(m.Type))
	b = binary.AppendVarint(b, int64(m.Item))
	b = binary.AppendVarint(b, int64(m.SentAt))
	b = binary.AppendVarint(b, int64(m.DeliverAt-m.SentAt))
	flags := m.Kind << 2
	if m.Urgent {
		flags |= 1
	}
	if m.Relay {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, int64(m.Origin))
	b = binary.AppendVarint(b, int64(m.Final))
	b = binary.AppendVarint(b, int64(m.Fanout))
	b = binary.AppendVarint(b, int64(m.OutageWait))
	b = binary.AppendUvarint(b, uint64(len(m.Parties)))
	for _, p := range m.Parties {
		b = binary.AppendVarint(b, int64(p))
	}
	return b
}

var errBadMessage = errors.New("agents: malformed message")

// decode reads a message published by another node: every field is
// checked (varints whole, indices within int32, a known kind, waits
// within the hop, a party count the payload can hold, nothing after the
// end).
func (m *Message) decode(b []byte) error {
	r := wire.NewReader(b)
	from, to, seq := r.Int32(), r.Int32(), r.Uvarint()
	channel, typ, item := r.Int32(), r.Int32(), r.Int32()
	sentAt, hop := r.Varint(), r.Varint()
	flags := r.Byte()
	origin, final := r.Int32(), r.Int32()
	fanout, outage := r.Varint(), r.Varint()
	var parties []int32
	if n := r.Count(1); n > 0 { // a party takes at least one byte
		parties = make([]int32, n)
		for i := range parties {
			parties[i] = r.Int32()
		}
	}
	// Times are within the run's range, and the hop holds its waits.
	if r.Done() != nil || flags>>2 > kindConsentRefuse || sentAt < 0 || sentAt > int64(liaison.Never)/2 ||
		hop > int64(liaison.Never)/2 || fanout < 0 || outage < 0 || fanout > hop || outage > hop-fanout {
		return errBadMessage
	}
	*m = Message{From: from, To: to, Seq: seq, Channel: channel, Type: typ, Item: item,
		SentAt: liaison.Time(sentAt), DeliverAt: liaison.Time(sentAt + hop),
		Urgent: flags&1 != 0, Relay: flags&2 != 0, Kind: flags >> 2,
		Origin: origin, Final: final, Fanout: liaison.Time(fanout), OutageWait: liaison.Time(outage), Parties: parties}
	return nil
}
