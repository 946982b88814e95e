// Package wire reads the varint-based binary forms that Liaison's packages
// put on NATS (messages between agencies, event batches, the time
// protocol). Each package owns its own format; this one only owns the
// reading of its primitives, so that every decoder checks bounds the same
// way and none can be tricked into reading past the end of a payload.
package wire

import (
	"encoding/binary"
	"errors"
)

// ErrShort reports a payload that ends in the middle of a value, or a
// varint that overflows 64 bits.
var ErrShort = errors.New("wire: payload ends early or holds a bad varint")

// ErrRange reports a value outside what its field may hold.
var ErrRange = errors.New("wire: value out of range")

// ErrTrailing reports bytes after the end of a record.
var ErrTrailing = errors.New("wire: bytes after the end of the record")

// Reader reads primitives from a byte slice. The first failure sticks: later
// reads return zero values and Err reports it, so a decoder can read a whole
// record and check once.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Err is the first failure, or nil.
func (r *Reader) Err() error { return r.err }

// Len is how many bytes are left.
func (r *Reader) Len() int { return len(r.b) }

// Rest returns the unread bytes.
func (r *Reader) Rest() []byte { return r.b }

// Fail records a failure found by the caller (a value out of range), unless
// one is recorded already.
func (r *Reader) Fail(err error) { r.fail(err) }

// fail records the first failure and drops what is left, so that later
// reads return zero values without checking err.
func (r *Reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

// Most values in Liaison's payloads (indices, small counts, flags) take one
// byte: the readers take that case inline and call out for the rest.

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	if b := r.b; len(b) > 0 && b[0] < 0x80 {
		r.b = b[1:]
		return int64(b[0]>>1) ^ -int64(b[0]&1)
	}
	return r.varint()
}

func (r *Reader) varint() int64 {
	ux := r.uvarint()
	return int64(ux>>1) ^ -int64(ux&1)
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if b := r.b; len(b) > 0 && b[0] < 0x80 {
		r.b = b[1:]
		return uint64(b[0])
	}
	return r.uvarint()
}

// uvarint is binary.Uvarint without a call of its own: the slow path of
// every reader.
func (r *Reader) uvarint() uint64 {
	var x uint64
	var s uint
	for i, c := range r.b {
		if i == binary.MaxVarintLen64 {
			break
		}
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break // more than 64 bits
			}
			r.b = r.b[i+1:]
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	r.fail(ErrShort)
	return 0
}

// Int32 reads a signed varint that must fit an int32 (indices, counts).
func (r *Reader) Int32() int32 {
	if b := r.b; len(b) > 0 && b[0] < 0x80 {
		r.b = b[1:]
		return int32(b[0]>>1) ^ -int32(b[0]&1)
	}
	return r.int32()
}

func (r *Reader) int32() int32 {
	v := r.varint()
	if int64(int32(v)) != v {
		r.fail(ErrRange)
		return 0
	}
	return int32(v)
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	c := r.Byte()
	if c > 1 {
		r.fail(ErrRange)
		return false
	}
	return c == 1
}

// Done is Err, or ErrTrailing when bytes are left unread: a payload must
// hold its record and nothing else.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail(ErrTrailing)
	}
	return r.err
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) == 0 {
		r.fail(ErrShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Bytes reads a length-prefixed byte string (an uvarint length, then the
// bytes), refusing lengths beyond what is left. The result aliases the
// input.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail(ErrShort)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// Count reads an uvarint that counts the records to follow, each taking at
// least min bytes: a count the rest of the payload cannot hold is refused,
// so a forged count cannot make a decoder allocate without bound.
func (r *Reader) Count(min int) int {
	n := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if min < 1 {
		min = 1
	}
	if n > uint64(len(r.b)/min) {
		r.fail(ErrShort)
		return 0
	}
	return int(n)
}

// AppendBytes appends a length-prefixed byte string, as Bytes reads it.
func AppendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
