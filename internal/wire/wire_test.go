package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// TestReader: values of every width read back, bad input fails with the
// right error, and the first failure sticks (later reads give zeros).
func TestReader(t *testing.T) {
	var b []byte
	for _, v := range []uint64{0, 1, 127, 128, 300, 1 << 35, math.MaxUint64} {
		b = binary.AppendUvarint(b, v)
	}
	for _, v := range []int64{0, -1, 63, -64, 64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, 1, 0, 7)
	b = AppendBytes(b, []byte("hello"))
	r := NewReader(b)
	for _, want := range []uint64{0, 1, 127, 128, 300, 1 << 35, math.MaxUint64} {
		if got := r.Uvarint(); got != want {
			t.Errorf("Uvarint: got %d, want %d", got, want)
		}
	}
	for _, want := range []int64{0, -1, 63, -64, 64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		if got := r.Varint(); got != want {
			t.Errorf("Varint: got %d, want %d", got, want)
		}
	}
	if !r.Bool() || r.Bool() || r.Byte() != 7 || string(r.Bytes()) != "hello" {
		t.Error("Bool, Byte or Bytes read wrong")
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		b    []byte
		read func(*Reader)
		want error
	}{
		{"empty uvarint", nil, func(r *Reader) { r.Uvarint() }, ErrShort},
		{"cut uvarint", []byte{0x80, 0x80}, func(r *Reader) { r.Uvarint() }, ErrShort},
		{"uvarint over 64 bits", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, func(r *Reader) { r.Uvarint() }, ErrShort},
		{"uvarint of 11 bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, func(r *Reader) { r.Uvarint() }, ErrShort},
		{"int32 too large", binary.AppendVarint(nil, math.MaxInt32+1), func(r *Reader) { r.Int32() }, ErrRange},
		{"int32 too small", binary.AppendVarint(nil, math.MinInt32-1), func(r *Reader) { r.Int32() }, ErrRange},
		{"bool 2", []byte{2}, func(r *Reader) { r.Bool() }, ErrRange},
		{"bytes longer than the rest", []byte{5, 'a'}, func(r *Reader) { r.Bytes() }, ErrShort},
		{"count the rest cannot hold", []byte{3, 0, 0, 0, 0, 0}, func(r *Reader) { r.Count(2) }, ErrShort},
		{"a byte left", []byte{1, 2}, func(r *Reader) { r.Byte() }, ErrTrailing},
	} {
		r := NewReader(tc.b)
		tc.read(&r)
		if err := r.Done(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	r = NewReader([]byte{0x80, 5, 6})
	r.Fail(ErrRange)
	if r.Uvarint() != 0 || r.Varint() != 0 || r.Int32() != 0 || r.Byte() != 0 || r.Bytes() != nil || r.Len() != 0 {
		t.Error("reads after a failure returned values")
	}
	if !errors.Is(r.Err(), ErrRange) {
		t.Errorf("the first failure did not stick: %v", r.Err())
	}
}

// FuzzUvarint: the reader's varints agree with encoding/binary's on any
// input.
//
//	go test ./internal/wire -run '^$' -fuzz FuzzUvarint -fuzztime 30s
func FuzzUvarint(f *testing.F) {
	f.Add([]byte{0x80, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		got := r.Uvarint()
		want, n := binary.Uvarint(b)
		if (n <= 0) != (r.Err() != nil) || n > 0 && (got != want || r.Len() != len(b)-n) {
			t.Fatalf("%x: reader %d (%v, %d left), binary %d (%d)", b, got, r.Err(), r.Len(), want, n)
		}
		r = NewReader(b)
		gotS := r.Varint()
		wantS, n := binary.Varint(b)
		if (n <= 0) != (r.Err() != nil) || n > 0 && gotS != wantS {
			t.Fatalf("%x: reader %d (%v), binary %d (%d)", b, gotS, r.Err(), wantS, n)
		}
	})
}
