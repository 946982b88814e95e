package agents

import (
	"reflect"
	"testing"
)

// TestMessageRoundTrip: every field survives the wire, including those
// added at the end of the encoding (fanout, outage wait, parties).
func TestMessageRoundTrip(t *testing.T) {
	for _, m := range []Message{
		{From: 1, To: 2, Seq: 7, Channel: 0, Type: 3, Item: -1, SentAt: 1000, DeliverAt: 61000, Origin: 1, Final: -1},
		{From: 4, To: 9, Seq: 1 << 40, Channel: 2, Type: 1, Item: 5, SentAt: 3600000, DeliverAt: 3600000 + 7200000 + 300000,
			Urgent: true, Kind: kindConsentReq, Relay: true, Origin: 4, Final: 3,
			Fanout: 120000, OutageWait: 7200000, Parties: []int32{6, 7, 8}},
		{From: 0, To: 5, Seq: 2, Channel: 1, Type: 0, Item: 0, SentAt: 0, DeliverAt: 300000, Relay: true,
			Origin: 0, Final: -1, Parties: []int32{1, 2, 3, 4}},
	} {
		var got Message
		if err := got.decode(m.appendBinary(nil)); err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		if tr := got.transit(); tr != m.DeliverAt-m.SentAt-m.Fanout-m.OutageWait {
			t.Errorf("transit %d", tr)
		}
	}
}

// TestMessageMalformed: truncated or padded messages, a party count
// larger than the message, and waits longer than the whole hop are
// rejected.
func TestMessageMalformed(t *testing.T) {
	good := (&Message{From: 1, To: 2, Seq: 3, Item: 4, SentAt: 10, DeliverAt: 100, Final: -1,
		Fanout: 20, OutageWait: 30, Parties: []int32{5, 6}}).appendBinary(nil)
	for i := range good {
		var m Message
		if err := m.decode(good[:i]); err == nil {
			t.Errorf("truncated to %d bytes: decoded %+v", i, m)
		}
	}
	var m Message
	if err := m.decode(append(append([]byte(nil), good...), 0)); err == nil {
		t.Error("a trailing byte was accepted")
	}
	huge := (&Message{From: 1, To: 2, Final: -1}).appendBinary(nil)
	huge = append(huge[:len(huge)-1], 0xff, 0xff, 0xff, 0xff, 0x0f) // party count 2^32-1
	if err := m.decode(huge); err == nil {
		t.Error("a party count larger than the message was accepted")
	}
	long := (&Message{From: 1, To: 2, SentAt: 10, DeliverAt: 20, Final: -1, Fanout: 5, OutageWait: 6}).appendBinary(nil)
	if err := m.decode(long); err == nil {
		t.Error("waits longer than the hop were accepted")
	}
}

// BenchmarkMessageDecode decodes a relayed message with parties, as every
// arrival at a node is decoded.
//
//	go test ./agents -run '^$' -bench MessageDecode
func BenchmarkMessageDecode(b *testing.B) {
	data := (&Message{From: 4, To: 9, Seq: 123456, Channel: 2, Type: 1, Item: 5, SentAt: 3600000, DeliverAt: 3900000,
		Urgent: true, Relay: true, Origin: 4, Final: 3, Fanout: 12000, Parties: []int32{6, 7, 8}}).appendBinary(nil)
	var m Message
	for b.Loop() {
		if err := m.decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzMessageDecode: no payload makes the decoder panic or allocate beyond
// its size; what decodes encodes back to a message that decodes the same.
//
//	go test ./agents -run '^$' -fuzz FuzzMessageDecode -fuzztime 30s
func FuzzMessageDecode(f *testing.F) {
	f.Add((&Message{From: 1, To: 2, Seq: 3, Item: 4, SentAt: 10, DeliverAt: 100, Final: -1,
		Fanout: 20, OutageWait: 30, Parties: []int32{5, 6}}).appendBinary(nil))
	f.Add((&Message{From: 4, To: 9, Seq: 1 << 40, Kind: kindConsentGrant, Relay: true, Urgent: true, Final: 3}).appendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.decode(b); err != nil {
			return
		}
		var again Message
		if err := again.decode(m.appendBinary(nil)); err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("%x: %+v came back as %+v (%v)", b, m, again, err)
		}
	})
}
