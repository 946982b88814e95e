package broker

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"liaison"
)

func sampleDowns() []Down {
	inj := []Action{{Kind: ActionInject, At: 90_000, Def: []byte(`{"id":"L-1","to":"dk.pet"}`)},
		{Kind: ActionCut, At: 90_000, Def: []byte(`{"channel":"ctg"}`)}, {Kind: ActionSkip, At: 95_000, Def: []byte{}}}
	return []Down{
		Grant{Epoch: 1, Until: 0, Hosts: []int{0, 1, 1, 2, 0}},
		Grant{Epoch: 7, Until: 3_600_000},
		Grant{Epoch: 8, Until: 7_200_000, Actions: inj},
		Grant{Epoch: 9, Until: liaison.Never, End: true},
		Expect{Epoch: 3, Node: 2, Count: 1 << 40},
		Resend{Epoch: 12},
		Replay{Epoch: 12, Node: 1},
		Catchup{Epoch: 40, Node: 1, Others: 300, Hosts: []int{0, 1, 1}, Through: 100_000, Actions: inj[:1],
			Window: Grant{Epoch: 40, Until: 110_000}, Silent: true},
		Abort{Reason: "node n2 (hosting se.sapo) has been silent for 5s"},
		Abort{Reason: ""},
	}
}

func sampleUps() []Up {
	return []Up{
		Report{Epoch: 5, SentTo: []uint64{0, 12, 1 << 33}, Recv: 99, Next: 61_000, Chunks: 2},
		Report{Epoch: 6, SentTo: []uint64{}, Next: liaison.Never},
		Events{Epoch: 5, Chunk: 1, Data: []byte{1, 2, 3, 200}},
		Events{Epoch: 5, Chunk: 0, Data: []byte{}},
		Fail{Reason: "agents: node n1: slow consumer"},
		Heartbeat{},
	}
}

// decodedDown decodes one whole message from the service, reassembling a
// catch-up's single part.
func decodedDown(b []byte) (Down, error) {
	d, err := decodeDown(b)
	if p, ok := d.(catchupPart); ok && err == nil {
		var a assembly
		c, done, err := a.add(p)
		if !done && err == nil {
			err = errors.New("a catch-up of one part did not complete")
		}
		return c, err
	}
	return d, err
}

// TestProtocolRoundTrip: every message survives the wire, field by field.
func TestProtocolRoundTrip(t *testing.T) {
	for _, want := range sampleDowns() {
		got, err := decodedDown(want.appendDown(nil))
		if err != nil {
			t.Fatalf("%#v: %v", want, err)
		}
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
		}
	}
	for _, want := range sampleUps() {
		got, err := decodeUp(want.appendUp(nil), nil)
		if err != nil {
			t.Fatalf("%#v: %v", want, err)
		}
		if !reflect.DeepEqual(normal(got), normal(want)) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
		}
	}
}

// normal makes empty and nil slices alike, as the wire does.
func normal(v any) any {
	switch x := v.(type) {
	case Grant:
		if len(x.Hosts) == 0 {
			x.Hosts = nil
		}
		for i := range x.Actions {
			if len(x.Actions[i].Def) == 0 {
				x.Actions[i].Def = nil
			}
		}
		if len(x.Actions) == 0 {
			x.Actions = nil
		}
		return x
	case Catchup:
		x.Window = normal(x.Window).(Grant)
		g := normal(Grant{Hosts: x.Hosts, Actions: x.Actions}).(Grant)
		x.Hosts, x.Actions = g.Hosts, g.Actions
		return x
	case Report:
		if len(x.SentTo) == 0 {
			x.SentTo = nil
		}
		return x
	case Events:
		if len(x.Data) == 0 {
			x.Data = nil
		}
		return x
	}
	return v
}

// TestProtocolMalformed: every truncation of every message, a byte too
// many, an unknown kind and out-of-range fields are errors (wrapping
// ErrMalformed), never a panic.
func TestProtocolMalformed(t *testing.T) {
	var payloads [][]byte
	for _, d := range sampleDowns() {
		payloads = append(payloads, d.appendDown(nil))
	}
	for _, u := range sampleUps() {
		payloads = append(payloads, u.appendUp(nil))
	}
	for _, good := range payloads {
		kind := good[0]
		// Reasons and event data run to the end: any cut is a shorter
		// one. Everything else must be whole.
		open := kind == tagAbort || kind == tagFail || kind == tagEvents
		for i := range good {
			if i > 0 && open {
				break
			}
			if err := decodeAny(good[:i]); err == nil {
				t.Errorf("%q cut to %d of %d bytes: decoded", good, i, len(good))
			} else if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q cut to %d bytes: %v does not wrap ErrMalformed", good, i, err)
			}
		}
		if !open {
			if err := decodeAny(append(bytes.Clone(good), 0)); err == nil {
				t.Errorf("%q with a byte more: decoded", good)
			}
		}
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"unknown kind", []byte{'Z', 1}},
		{"grant with End 2", []byte{tagGrant, 1, 0, 2, 0, 0}},
		{"grant with a negative Until", []byte{tagGrant, 1, 1, 0, 0, 0}},
		{"grant with a host past the node count", []byte{tagGrant, 1, 0, 0, 2, 0, 2, 0}},
		{"grant with 2^32 hosts", []byte{tagGrant, 1, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0}},
		{"grant with an action longer than the payload", []byte{tagGrant, 1, 0, 0, 0, 1, 3, 'c', 'u', 't', 0, 100, 'x'}},
		{"grant with an action at Never", append(binary.AppendVarint([]byte{tagGrant, 1, 0, 0, 0, 1, 6, 'i', 'n', 'j', 'e', 'c', 't'}, int64(liaison.Never)), 0)},
		{"grant with an action of no known kind", Grant{Actions: []Action{{Kind: "explode", Def: []byte("{}")}}}.appendDown(nil)},
		{"grant with a pause, which is no node's business", Grant{Actions: []Action{{Kind: ActionPause}}}.appendDown(nil)},
		{"catch-up whose inject comes after what it re-runs", Catchup{Through: 10, Window: Grant{Until: 20},
			Actions: []Action{{Kind: ActionInject, At: 10}}}.appendDown(nil)},
		{"catch-up whose window ends before what it re-runs", Catchup{Through: 10, Window: Grant{Until: 5}}.appendDown(nil)},
		{"catch-up whose window is another epoch's", Catchup{Epoch: 3, Window: Grant{Epoch: 2}}.appendDown(nil)},
		{"expect for node 2^23", []byte{tagExpect, 1, 0x80, 0x80, 0x80, 0x04, 1}},
		{"an overlong varint", []byte{tagResend, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"catch-up part 3 of 2", []byte{tagCatchup, 1, 0, 3, 2}},
		{"catch-up in 1000 parts", []byte{tagCatchup, 1, 0, 0, 0xe8, 0x07}},
		{"report with 2^40 counts", []byte{tagReport, 1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20}},
		{"report with a negative Next", []byte{tagReport, 1, 0, 1, 0, 0}},
		{"abort not in UTF-8", []byte{tagAbort, 0xff, 0xfe}},
		{"heartbeat with a payload", []byte{tagHeartbeat, 0}},
	} {
		if err := decodeAny(tc.b); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want an error wrapping ErrMalformed", tc.name, err)
		}
	}
}

// decodeAny decodes b as a message either way, or as a catch-up body.
func decodeAny(b []byte) error {
	if len(b) > 0 {
		switch b[0] {
		case tagEvents, tagReport, tagFail, tagHeartbeat:
			_, err := decodeUp(b, nil)
			return err
		}
	}
	_, err := decodedDown(b)
	return err
}

// TestCatchupParts: a catch-up larger than a message is cut into parts
// that each fit, and reassembles to the same catch-up; a lost part makes
// the assembly wait for the catch-up to come again, and a repeat then
// completes it.
func TestCatchupParts(t *testing.T) {
	c := Catchup{Epoch: 120_000, Node: 2, Others: 1 << 20, Hosts: make([]int, 5000), Through: 3_000_000,
		Window: Grant{Epoch: 120_000, Until: 3_000_001}}
	for i := range 2000 {
		def := []byte(`{"id":"L-` + strings.Repeat("x", 300) + `"}`)
		c.Actions = append(c.Actions, Action{Kind: ActionInject, At: liaison.Time(i), Def: def})
	}
	const limit = 64 << 10
	parts, err := c.parts(limit)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 10 {
		t.Fatalf("%d parts", len(parts))
	}
	var a assembly
	feed := func(parts [][]byte) (Catchup, bool) {
		t.Helper()
		var got Catchup
		done := false
		for i, p := range parts {
			if len(p) > limit {
				t.Fatalf("part %d has %d bytes, more than %d", i, len(p), limit)
			}
			d, err := decodeDown(p)
			if err != nil {
				t.Fatal(err)
			}
			got, done, err = a.add(d.(catchupPart))
			if err != nil {
				t.Fatal(err)
			}
			if done && i != len(parts)-1 {
				t.Fatalf("complete after part %d of %d", i, len(parts))
			}
		}
		return got, done
	}
	lossy := append(append([][]byte{}, parts[:3]...), parts[4:]...)
	if _, done := feed(lossy); done {
		t.Fatal("a catch-up with a part missing completed")
	}
	got, done := feed(parts)
	if !done || !reflect.DeepEqual(got, c) {
		t.Fatalf("reassembled: done %v, equal %v", done, reflect.DeepEqual(got, c))
	}
	c.Actions = append(c.Actions, Action{Kind: ActionInject, Def: make([]byte, maxCatchupParts*limit)})
	if _, err := c.parts(limit); err == nil {
		t.Fatal("a catch-up of more than the parts allowed was cut")
	}
}

// FuzzDecodeDown: no message from the service makes the node's decoder
// panic or allocate beyond the payload; what decodes encodes back to a
// message that decodes the same.
//
//	go test ./broker -run '^$' -fuzz FuzzDecodeDown -fuzztime 30s
func FuzzDecodeDown(f *testing.F) {
	for _, d := range sampleDowns() {
		f.Add(d.appendDown(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDown(b)
		if err != nil {
			return
		}
		again, err := decodeDown(d.appendDown(nil))
		if err != nil || !reflect.DeepEqual(normal(again), normal(d)) {
			t.Fatalf("%#v re-encoded: %#v, %v", d, again, err)
		}
	})
}

// FuzzDecodeCatchup fuzzes a reassembled catch-up's body.
//
//	go test ./broker -run '^$' -fuzz FuzzDecodeCatchup -fuzztime 30s
func FuzzDecodeCatchup(f *testing.F) {
	for _, d := range sampleDowns() {
		if c, ok := d.(Catchup); ok {
			f.Add(c.appendBody(nil))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCatchup(b)
		if err != nil {
			return
		}
		again, err := decodeCatchup(c.appendBody(nil))
		if err != nil || !reflect.DeepEqual(normal(again), normal(c)) {
			t.Fatalf("%#v re-encoded: %#v, %v", c, again, err)
		}
	})
}

// FuzzDecodeUp: the same for what nodes send the service.
//
//	go test ./broker -run '^$' -fuzz FuzzDecodeUp -fuzztime 30s
func FuzzDecodeUp(f *testing.F) {
	for _, u := range sampleUps() {
		f.Add(u.appendUp(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUp(b, nil)
		if err != nil {
			return
		}
		again, err := decodeUp(u.appendUp(nil), nil)
		if err != nil || !reflect.DeepEqual(normal(again), normal(u)) {
			t.Fatalf("%#v re-encoded: %#v, %v", u, again, err)
		}
	})
}
