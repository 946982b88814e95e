package agents

import "liaison"

// expectSet is what a node knows to be on its way to it: messages published
// (by itself, or by a node in the same process) and not yet received over
// NATS. Its earliest delivery time bounds how far the node may run, and an
// arrival it does not list is not a message any agency sent.
type expectSet struct {
	at   map[msgID]liaison.Time
	heap []expected // min-heap by time; entries no longer in at are stale
}

type expected struct {
	id msgID
	at liaison.Time
}

func newExpectSet() expectSet { return expectSet{at: map[msgID]liaison.Time{}} }

// add lists a message due at t.
func (s *expectSet) add(id msgID, t liaison.Time) {
	s.at[id] = t
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
// with that id and delivery time was expected (a forgery, a copy, or a
// message mangled on the way).
func (s *expectSet) match(id msgID, t liaison.Time) bool {
	want, ok := s.at[id]
	if !ok || want != t {
		return false
	}
	delete(s.at, id)
	return true
}

// cancel stops expecting a message that will not come (its publish was
// refused).
func (s *expectSet) cancel(id msgID) { delete(s.at, id) }

// len is how many messages are still expected.
func (s *expectSet) len() int { return len(s.at) }

// min is the earliest delivery time still expected, or liaison.Never.
func (s *expectSet) min() liaison.Time {
	for len(s.heap) > 0 {
		top := s.heap[0]
		if t, ok := s.at[top.id]; ok && t == top.at {
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
