package agents

import "liaison"

// expectSet is what a node knows to be on its way to it: messages published
// (by itself, or by a node in the same process) and not yet received over
// NATS. Its earliest delivery time bounds how far the node may run, and an
// arrival it does not list is not a message any agency sent.
type expectSet struct {
	at   idTable
	heap []expected // min-heap by time; entries no longer in at are stale
}

type expected struct {
	id msgID
	at liaison.Time
}

// add lists a message due at t whose payload has checksum sum.
func (s *expectSet) add(id msgID, t liaison.Time, sum uint64) {
	s.at.put(id, t, sum)
	h := append(s.heap, expected{id, t})
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].at <= h[i].at {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.heap = h
}

// match takes an arrival off the list: it reports false when no message
// with that id, delivery time and payload was expected (a forgery, a copy,
// or a message altered on the way).
func (s *expectSet) match(id msgID, t liaison.Time, sum uint64) bool {
	want, wantSum, ok := s.at.get(id)
	if !ok || want != t || wantSum != sum {
		return false
	}
	s.at.del(id)
	return true
}

// cancel stops expecting a message that will not come (its publish was
// refused).
func (s *expectSet) cancel(id msgID) { s.at.del(id) }

// len is how many messages are still expected.
func (s *expectSet) len() int { return s.at.n }

// min is the earliest delivery time still expected, or liaison.Never.
func (s *expectSet) min() liaison.Time {
	for len(s.heap) > 0 {
		top := s.heap[0]
		if t, _, ok := s.at.get(top.id); ok && t == top.at {
			return top.at
		}
		s.pop()
	}
	return liaison.Never
}

func (s *expectSet) pop() {
	h := s.heap
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].at < h[l].at {
			c = r
		}
		if h[i].at <= h[c].at {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	s.heap = h
}

// idTable maps message ids to delivery times: a hash table with open
// addressing, since a node looks every message up twice (when it is sent
// and when it arrives) and Go's general map costs more than the rest of
// that bookkeeping.
type idTable struct {
	keys []uint64 // packed ids; 0 is an empty slot
	vals []liaison.Time
	sums []uint64 // the payloads' checksums
	n    int
}

// pack makes a table key of an id: agency indices fit 23 bits and a
// sender's counter 41. Ids outside that (never ours) are not in the table.
func pack(id msgID) (uint64, bool) {
	if id.from < 0 || id.from >= 1<<23 || id.seq == 0 || id.seq >= 1<<41 {
		return 0, false
	}
	return uint64(id.from)<<41 | id.seq, true
}

func (t *idTable) slot(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> 32 & uint64(len(t.keys)-1))
}

func (t *idTable) get(id msgID) (liaison.Time, uint64, bool) {
	k, ok := pack(id)
	if !ok || t.n == 0 {
		return 0, 0, false
	}
	for i := t.slot(k); ; i = (i + 1) & (len(t.keys) - 1) {
		switch t.keys[i] {
		case k:
			return t.vals[i], t.sums[i], true
		case 0:
			return 0, 0, false
		}
	}
}

func (t *idTable) put(id msgID, v liaison.Time, sum uint64) {
	k, ok := pack(id)
	if !ok {
		panic("agents: a message id out of range")
	}
	if 4*(t.n+1) > 3*len(t.keys) {
		t.grow()
	}
	for i := t.slot(k); ; i = (i + 1) & (len(t.keys) - 1) {
		switch t.keys[i] {
		case k:
			t.vals[i], t.sums[i] = v, sum
			return
		case 0:
			t.keys[i], t.vals[i], t.sums[i] = k, v, sum
			t.n++
			return
		}
	}
}

// del removes an id, shifting later entries of its run back so that no
// tombstones are needed.
func (t *idTable) del(id msgID) {
	k, ok := pack(id)
	if !ok || t.n == 0 {
		return
	}
	mask := len(t.keys) - 1
	i := t.slot(k)
	for t.keys[i] != k {
		if t.keys[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := (i + 1) & mask; t.keys[j] != 0; j = (j + 1) & mask {
		home := t.slot(t.keys[j])
		// Move j back into the hole at i unless its home lies in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.keys[i], t.vals[i], t.sums[i] = t.keys[j], t.vals[j], t.sums[j]
			i = j
		}
	}
	t.keys[i], t.vals[i], t.sums[i] = 0, 0, 0
}

func (t *idTable) grow() {
	keys, vals, sums := t.keys, t.vals, t.sums
	size := max(64, 2*len(keys))
	t.keys, t.vals, t.sums, t.n = make([]uint64, size), make([]liaison.Time, size), make([]uint64, size), 0
	for i, k := range keys {
		if k != 0 {
			t.put(msgID{int32(k >> 41), k & (1<<41 - 1)}, vals[i], sums[i])
		}
	}
}

// checksum is FNV-1a over a payload: enough to tell a message altered on
// the way from the one its sender listed.
func checksum(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
