package agents

import (
	"encoding/binary"
	"errors"

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
	Final     int32 // relay: the final recipient, or -1 for every member of a platform
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
	return binary.AppendVarint(b, int64(m.Final))
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
	fin, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return errBadMessage
	}
	*m = Message{From: int32(v[0]), To: int32(v[1]), Seq: uint64(v[2]), Channel: int32(v[3]),
		Type: int32(v[4]), Item: int32(v[5]), SentAt: liaison.Time(v[6]),
		DeliverAt: liaison.Time(v[6] + v[7]), Urgent: v[8]&1 != 0, Relay: v[8]&2 != 0, Kind: uint8(v[8] >> 2),
		Origin: int32(v[9]), Final: int32(fin)}
	return nil
}
