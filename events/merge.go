package events

import (
	"slices"
	"sort"

	"liaison"
)

// Merge orders the event streams of several sources (nodes, and whoever
// records live actions) into the one canonical order. A source sends its
// events in batches, each with a time before which the source has nothing
// more to say; a batch may hold later events too, and its events need not
// be in order (a node runs an agency that waited for a message after the
// others), though they mostly are. The merge releases what is complete:
// every event earlier than the least of the sources' times, in canonical
// order.
type Merge struct {
	src     []mergeSource
	scratch []Event
	heads   []*run
	batch   uint64 // numbers the batches, to know which are still held
}

type mergeSource struct {
	runs    []*run // ascending runs received and not yet released
	through liaison.Time
}

// run is an ascending stretch of one batch.
type run struct {
	ev    []Event
	batch uint64
}

// NewMerge returns a merge of n sources, none of which has said anything.
func NewMerge(n int) *Merge {
	m := &Merge{src: make([]mergeSource, n)}
	for i := range m.src {
		m.src[i].through = -1
	}
	return m
}

// Add takes a batch of source i and the time before which the source is
// complete. It returns the events now complete, in canonical order, and
// the time before which every source is complete; the returned slice is
// valid until the next call. Kept reports whether the merge still refers
// to evs: if not, the caller may reuse it.
func (m *Merge) Add(i int, evs []Event, through liaison.Time) (out []Event, w liaison.Time, kept bool) {
	s := &m.src[i]
	s.through = max(s.through, through)
	w = liaison.Never
	for k := range m.src {
		w = min(w, m.src[k].through)
	}
	// Split the batch into its ascending runs: usually one, or a few
	// where an agency that waited caught up.
	m.batch++
	start := 0
	for j := 1; j <= len(evs); j++ {
		if j == len(evs) || Less(&evs[j], &evs[j-1]) {
			s.runs = append(s.runs, &run{evs[start:j], m.batch})
			start = j
		}
	}
	// Every run's events before w, merged.
	out = m.scratch[:0]
	heads := m.heads[:0]
	total := 0
	for k := range m.src {
		total += len(m.src[k].runs)
		for _, r := range m.src[k].runs {
			if r.ev[0].T < w {
				heads = append(heads, r)
			}
		}
	}
	switch {
	case total == 1 && len(heads) == 1 && heads[0].ev[len(heads[0].ev)-1].T < w:
		// The common case: one batch in order and complete, nothing held
		// from anyone. It is released as it came.
		out = heads[0].ev
		heads[0].ev = nil
	case len(heads) == 1:
		r := heads[0]
		n := sort.Search(len(r.ev), func(j int) bool { return r.ev[j].T >= w })
		out = append(out, r.ev[:n]...)
		r.ev = r.ev[n:]
		m.scratch = out
	default:
		for len(heads) > 0 {
			best := 0
			for j := 1; j < len(heads); j++ {
				if Less(&heads[j].ev[0], &heads[best].ev[0]) {
					best = j
				}
			}
			// Take the best run's events up to the next head.
			r := heads[best]
			n := 1
			for n < len(r.ev) && r.ev[n].T < w {
				earlier := true
				for j := range heads {
					if j != best && !Less(&r.ev[n], &heads[j].ev[0]) {
						earlier = false
						break
					}
				}
				if !earlier {
					break
				}
				n++
			}
			out = append(out, r.ev[:n]...)
			r.ev = r.ev[n:]
			if len(r.ev) == 0 || r.ev[0].T >= w {
				heads = slices.Delete(heads, best, best+1)
			}
		}
		m.scratch = out
	}
	kept = false
	for k := range m.src {
		src := &m.src[k]
		src.runs = slices.DeleteFunc(src.runs, func(r *run) bool { return len(r.ev) == 0 })
		for _, r := range src.runs {
			kept = kept || r.batch == m.batch
		}
	}
	m.heads = heads[:0]
	return out, w, kept
}
