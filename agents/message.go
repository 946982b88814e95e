package agents

import (
	"encoding/binary"
	"errors"
	"math"

	"liaison"
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

func (m *Message) decode(b []byte) error {
	var v [10]int64
	for i := range v {
		if i == 8 { // flags byte
			if len(b) == 0 {
				return errBadMessage
			}
			v[i] = int64(b[0])
			b = b[1:]
			continue
		}
		var n int
		if i == 2 {
			var u uint64
			u, n = binary.Uvarint(b)
			v[i] = int64(u)
		} else {
			v[i], n = binary.Varint(b)
		}
		if n <= 0 {
			return errBadMessage
		}
		b = b[n:]
	}
	var tail [3]int64 // final, fanout, outage wait
	for i := range tail {
		var n int
		if tail[i], n = binary.Varint(b); n <= 0 {
			return errBadMessage
		}
		b = b[n:]
	}
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) { // a party takes at least one byte
		return errBadMessage
	}
	b = b[n:]
	var parties []int32
	if count > 0 {
		parties = make([]int32, count)
	}
	for i := range parties {
		p, n := binary.Varint(b)
		if n <= 0 || p < math.MinInt32 || p > math.MaxInt32 {
			return errBadMessage
		}
		parties[i], b = int32(p), b[n:]
	}
	if len(b) != 0 || tail[1] < 0 || tail[2] < 0 || v[7] < tail[1]+tail[2] {
		return errBadMessage
	}
	// Indices must fit their fields (a value cut to 32 bits could name
	// another agency), times must be within the run's range.
	for _, x := range [...]int64{v[0], v[1], v[3], v[4], v[5], v[9], tail[0]} {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return errBadMessage
		}
	}
	if v[6] < 0 || v[7] < 0 || v[6] > int64(liaison.Never)/2 || v[7] > int64(liaison.Never)/2 {
		return errBadMessage
	}
	*m = Message{From: int32(v[0]), To: int32(v[1]), Seq: uint64(v[2]), Channel: int32(v[3]),
		Type: int32(v[4]), Item: int32(v[5]), SentAt: liaison.Time(v[6]),
		DeliverAt: liaison.Time(v[6] + v[7]), Urgent: v[8]&1 != 0, Relay: v[8]&2 != 0, Kind: uint8(v[8] >> 2),
		Origin: int32(v[9]), Final: int32(tail[0]), Fanout: liaison.Time(tail[1]),
		OutageWait: liaison.Time(tail[2]), Parties: parties}
	return nil
}
