package events

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"liaison"
	"liaison/internal/golden"
)

func testNames() *Names {
	return &Names{
		Agencies: []liaison.AgencyID{"dk.pet", "se.sapo", "se.nct"},
		Channels: []liaison.ChannelID{"ctg"},
		Types:    []liaison.MessageType{"warning"},
		Items:    []liaison.ItemID{"I-1"},
		Reasons:  Reasons,
	}
}

func ev(t liaison.Time, k Kind, agency int32, seq uint64) Event {
	return Event{T: t, Kind: k, Agency: agency, Seq: seq, MsgFrom: -1, Channel: -1, Type: -1,
		Item: -1, Peer: -1, Reason: -1, CauseFrom: -1}
}

func TestBinaryRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var want []Event
	var b []byte
	for i := 0; i < 1000; i++ {
		e := Event{T: liaison.Time(r.Int64N(1 << 40)), Kind: Kind(1 + r.IntN(int(kindEnd)-1)),
			Rank: uint8(r.IntN(2)), Agency: int32(r.IntN(300)) - 1, Seq: r.Uint64(),
			MsgFrom: int32(r.IntN(300)) - 1, MsgSeq: r.Uint64(), Channel: int32(r.IntN(5)) - 1,
			Type: int32(r.IntN(5)) - 1, Item: int32(r.IntN(5)) - 1, Peer: int32(r.IntN(5)) - 1,
			Reason: int32(r.IntN(6)) - 1, Value: liaison.Time(r.Int64N(1 << 30)), Count: int32(r.IntN(100))}
		want = append(want, e)
		b = AppendBinary(b, &e)
	}
	got, err := DecodeBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("events changed in a binary round trip")
	}
	if _, err := DecodeBatch(nil, b[:len(b)-1]); err == nil {
		t.Fatal("a truncated batch decoded without error")
	}
}

func TestSketchQuantiles(t *testing.T) {
	var s Sketch
	for v := liaison.Time(1); v <= 1000; v++ {
		s.Add(v)
	}
	q := s.Quantiles(0.5, 0.95, 1)
	if q[0] != 500 || q[1] != 950 || q[2] != 1000 {
		t.Fatalf("exact range: got %v, want [500 950 1000]", q)
	}
	// Large values: relative error under 0.2%.
	var big Sketch
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]liaison.Time, 0, 50000)
	for i := 0; i < 50000; i++ {
		v := liaison.Time(r.ExpFloat64() * 600000)
		big.Add(v)
		vals = append(vals, v)
	}
	slices.Sort(vals)
	for _, p := range []float64{0.5, 0.9, 0.95, 0.99} {
		exact := vals[int(p*float64(len(vals))+0.999999)-1]
		got := big.Quantiles(p)[0]
		if d := float64(got-exact) / float64(exact); d > 0.002 || d < -0.002 {
			t.Errorf("p%v: got %v, exact %v (%.3f%% off)", p*100, got, exact, d*100)
		}
	}
}

// TestRecorderGolden feeds a small story through the recorder in two
// windows, out of order within each, and compares the log with a golden
// file: canonical order, derived reached and deadline_missed events.
func TestRecorderGolden(t *testing.T) {
	n := testNames()
	var buf bytes.Buffer
	items := []ItemInfo{{ID: "I-1", At: 0, Audience: []int32{1, 2}, Deadline: 30 * liaison.Minute}}
	r := NewRecorder(n, Header{Scenario: "test"}, items, &buf)
	send := ev(10*liaison.Second, Send, 0, 2)
	send.MsgFrom, send.MsgSeq, send.Channel, send.Type, send.Item, send.Peer = 0, 1, 0, 0, 0, 1
	know0 := ev(0, Know, 0, 1)
	know0.Item = 0
	w1 := []Event{send, know0}
	if err := r.Window(w1, liaison.Minute); err != nil {
		t.Fatal(err)
	}
	del := ev(10*liaison.Minute, Deliver, 1, 1)
	del.MsgFrom, del.MsgSeq, del.Channel, del.Type, del.Item, del.Peer, del.Value, del.Count = 0, 1, 0, 0, 0, 0, 590*liaison.Second, 1
	know1 := ev(10*liaison.Minute, Know, 1, 2)
	know1.Item, know1.Peer = 0, 0
	drop := ev(50*liaison.Minute, Drop, 2, 1)
	drop.MsgFrom, drop.MsgSeq, drop.Reason, drop.Peer = 1, 4, ReasonIndex(liaison.DropTLP), 2
	send2 := ev(50*liaison.Minute, Send, 2, 0)
	send2.MsgFrom, send2.MsgSeq, send2.Peer = 1, 4, 2
	if err := r.Window([]Event{drop, know1, del, send2}, 2*liaison.Hour); err != nil {
		t.Fatal(err)
	}
	sum, err := r.Close(2 * liaison.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Messages.Sent != 2 || sum.Messages.Delivered != 1 || sum.Messages.Dropped != 1 {
		t.Fatalf("counts: %+v", sum.Messages)
	}
	if it := sum.Items[0]; it.Reached != 1 || it.TimeToReachSeconds != nil || *it.DeadlineMet {
		t.Fatalf("item: %+v", it)
	}
	golden.Assert(t, "testdata/recorder.golden", buf.Bytes())

	lost := NewRecorder(n, Header{}, nil, nil)
	if err := lost.Window([]Event{send}, liaison.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := lost.Close(liaison.Hour); err == nil {
		t.Fatal("Close accepted a sent message that was neither delivered nor dropped")
	}
}

// BenchmarkDecodeBatch decodes a batch of a thousand typical events, as
// the recorder does for every window of a run spread over processes.
//
//	go test ./events -run '^$' -bench DecodeBatch
func BenchmarkDecodeBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var batch []byte
	for range 1000 {
		e := Event{T: liaison.Time(r.Int64N(1 << 32)), Kind: Deliver, Agency: int32(r.IntN(300)), Seq: uint64(r.IntN(1 << 20)),
			MsgFrom: int32(r.IntN(300)), MsgSeq: uint64(r.IntN(1 << 20)), Channel: 0, Type: 1, Item: -1,
			Peer: int32(r.IntN(300)), Reason: -1, Value: liaison.Time(r.Int64N(1 << 20)), Count: int32(r.IntN(10)), CauseFrom: -1}
		batch = AppendBinary(batch, &e)
	}
	dst := make([]Event, 0, 1000)
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		var err error
		if dst, err = DecodeBatch(dst[:0], batch); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeBatch: no batch makes the decoder panic; what decodes encodes
// back to the same bytes.
//
//	go test ./events -run '^$' -fuzz FuzzDecodeBatch -fuzztime 30s
func FuzzDecodeBatch(f *testing.F) {
	e := ev(90*liaison.Second, Deliver, 2, 7)
	e.MsgFrom, e.MsgSeq, e.Value, e.OutageWait = 1, 3, liaison.Minute, liaison.Hour
	f.Add(AppendBinary(nil, &e))
	f.Add(AppendBinary(AppendBinary(nil, &e), &Event{Kind: Drop, Agency: -1, Reason: 3}))
	r := ev(90*liaison.Second, Reject, 1, 0)
	r.Raw = RejectMember(Refusal{Subject: "liaison.x.ctg.dk:pet.se:sapo", Why: "sender is not the user"})
	f.Add(AppendBinary(nil, &r))
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := DecodeBatch(nil, b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v does not wrap ErrCorrupt", err)
			}
			return
		}
		var again []byte
		for i := range evs {
			again = AppendBinary(again, &evs[i])
		}
		// Members are written again from their fields, and JSON may escape
		// what arrived unescaped: allow that growth, no more.
		if len(again) > 6*len(b) {
			t.Fatalf("%x decoded to %d events that encode to %x", b, len(evs), again)
		}
		back, err := DecodeBatch(nil, again)
		if err != nil || !reflect.DeepEqual(back, evs) {
			t.Fatalf("%x: events changed on the way back: %v", b, err)
		}
	})
}

// TestBatchMembers: an event from another process keeps the extra member
// its kind carries, written again from its fields, and a batch whose event
// carries anything else is refused whole.
func TestBatchMembers(t *testing.T) {
	due := ev(liaison.Minute, DecisionPending, 1, 4)
	due.Raw = []byte(`"decision": {"id":3,"type":"warning","proposal":[]}`)
	tests := []struct {
		name string
		e    Event
		want string // "" when the batch is refused
	}{
		{"decision due", due, `"decision":{"id":3,"type":"warning","proposal":[]}`},
		{"reject", func() Event {
			e := ev(liaison.Minute, Reject, -1, 0)
			e.Raw = []byte(`"reject":{"subject":"a.b","why":"forged"}`)
			return e
		}(), `"reject":{"subject":"a.b","why":"forged"}`},
		{"unknown field", func() Event {
			e := due
			e.Raw = []byte(`"decision":{"id":3,"type":"warning","proposal":[],"admin":true}`)
			return e
		}(), ""},
		{"second member", func() Event {
			e := due
			e.Raw = []byte(`"decision":{"id":3,"type":"warning","proposal":[]},"x":1`)
			return e
		}(), ""},
		{"member on a deliver", func() Event {
			e := ev(liaison.Minute, Deliver, 1, 5)
			e.Raw = []byte(`"reject":{"subject":"a.b","why":"forged"}`)
			return e
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBatch(nil, AppendBinary(nil, &tt.e))
			if tt.want == "" {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got[0].Raw) != tt.want {
				t.Fatalf("member %s, want %s", got[0].Raw, tt.want)
			}
		})
	}
}
