package events

import (
	"slices"

	"liaison"
)

// Merge orders the event streams of several sources (nodes, and whoever
// records live actions) into the one canonical order. Each source sends
// its events in canonical order, with a time before which it has nothing
// more to say; the merge releases what is complete, that is every event
// earlier than the least of those times.
type Merge struct {
	src     []mergeSource
	scratch []Event
}

type mergeSource struct {
	pending []Event // received, not yet released
	through liaison.Time
}

// NewMerge returns a merge of n sources, none of which has said anything.
func NewMerge(n int) *Merge {
	m := &Merge{src: make([]mergeSource, n)}
	for i := range m.src {
		m.src[i].through = -1
	}
	return m
}

// Add takes events from source i (in canonical order, none earlier than
// what the source said before) and the time through which the source is
// complete. It returns the events now complete, in canonical order, and
// the time before which every source is complete. The returned slice is
// valid until the next call; evs may be reused once Add returns.
func (m *Merge) Add(i int, evs []Event, through liaison.Time) ([]Event, liaison.Time) {
	s := &m.src[i]
	s.through = max(s.through, through)
	w := liaison.Never
	for k := range m.src {
		w = min(w, m.src[k].through)
	}
	// The common case, one source with all its events complete and
	// nothing held from the others, needs no copy.
	if len(s.pending) == 0 && (len(evs) == 0 || evs[len(evs)-1].T < w) {
		others := false
		for k := range m.src {
			if k != i && len(m.src[k].pending) > 0 && m.src[k].pending[0].T < w {
				others = true
				break
			}
		}
		if !others {
			return evs, w
		}
	}
	s.pending = append(s.pending, evs...)
	out := m.scratch[:0]
	sources := 0
	for k := range m.src {
		p := &m.src[k]
		n, _ := slices.BinarySearchFunc(p.pending, w, func(e Event, t liaison.Time) int {
			if e.T < t {
				return -1
			}
			return 1
		})
		if n == 0 {
			continue
		}
		sources++
		out = append(out, p.pending[:n]...)
		// Keep the rest at the front of the same buffer.
		rest := copy(p.pending, p.pending[n:])
		clear(p.pending[rest:])
		p.pending = p.pending[:rest]
	}
	if sources > 1 {
		slices.SortStableFunc(out, Compare)
	}
	m.scratch = out
	return out, w
}
