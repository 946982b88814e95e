package events

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"slices"

	"liaison"
)

// ItemInfo is what the Recorder needs to know about an item to measure its
// reach: who must learn it, from when, and by when.
type ItemInfo struct {
	ID       liaison.ItemID
	At       liaison.Time // inject time
	Audience []int32      // agency indices
	Deadline liaison.Time // relative to At; 0 for none
	// Manual marks a contingency inject: it has no time until a
	// facilitator fires it (Recorder.MoveItem).
	Manual bool
}

// TriggerSpec is the condition of a conditional inject, as the Recorder
// watches for it in the event stream: about item Watch, one of an agency
// learns it (Agency ≥ 0), a share of its audience knows it (Share > 0),
// either of these not met MissingBy after it was injected, or it misses its
// deadline (Deadline). When it holds, Item fires After later.
type TriggerSpec struct {
	Item, Watch int32
	Agency      int32
	Share       float64
	MissingBy   liaison.Time
	Deadline    bool
	After       liaison.Time
}

// Header names the run in the summary; Info, when set, is written as the
// first line of the event log.
type Header struct {
	Scenario string
	Title    string
	Seed     uint64
	Variant  string
	Info     *RunInfo
}

// Recorder turns the windows of events that nodes report into the event log
// and the summary. It is fed one window at a time, in time order; within a
// window it sorts events into the canonical order and inserts the events it
// derives (reached, deadline_missed). Memory is bounded by one window's
// events plus per-item and per-channel aggregates.
type Recorder struct {
	names   *Names
	hdr     Header
	w       *bufio.Writer
	line    []byte
	derived derivedHeap
	items   []itemState
	agg     aggregate
	// OnEvent, when set, sees every event in log order, after the summary
	// has counted it (metrics hook).
	OnEvent func(*Event)
	err     error
	last    liaison.Time // time of the latest event recorded

	triggers []triggerState
	fire     func(item int32, at liaison.Time)
}

// triggerState is a conditional inject's condition and whether it is
// settled (fired, or a missing_by condition met in time).
type triggerState struct {
	TriggerSpec
	done bool
}

// triggerCheck is the kind of the Recorder's own timers for missing_by
// conditions: derived, never recorded.
const triggerCheck = kindEnd + 1

type itemState struct {
	info     ItemInfo
	inAud    map[int32]bool
	known    map[int32]bool
	reached  int
	reachAt  liaison.Time // Never until the whole audience knows
	deadline bool         // deadline passed and was missed
	skipped  bool         // a facilitator skipped it: no reach, no deadline
}

// NewRecorder returns a Recorder that writes the JSON Lines event log to w
// (nil for none).
func NewRecorder(names *Names, hdr Header, items []ItemInfo, w io.Writer) *Recorder {
	r := &Recorder{names: names, hdr: hdr}
	if w != nil {
		r.w = bufio.NewWriterSize(w, 1<<16)
		if hdr.Info != nil {
			line, err := hdr.Info.Line()
			if err == nil {
				_, err = r.w.Write(line)
			}
			if err != nil {
				r.err = fmt.Errorf("writing event log: %w", err)
			}
		}
	}
	r.agg.init(names)
	for _, it := range items {
		r.AddItem(it)
	}
	return r
}

// AddItem registers an item (an inject) and schedules its deadline check.
func (r *Recorder) AddItem(it ItemInfo) {
	idx := int32(len(r.items))
	st := itemState{info: it, inAud: map[int32]bool{}, known: map[int32]bool{}, reachAt: liaison.Never}
	for _, a := range it.Audience {
		st.inAud[a] = true
	}
	r.items = append(r.items, st)
	if !it.Manual {
		r.scheduleDeadline(idx)
	}
}

// scheduleDeadline queues the check of an item's deadline.
func (r *Recorder) scheduleDeadline(idx int32) {
	it := &r.items[idx].info
	if it.Deadline > 0 {
		heap.Push(&r.derived, Event{T: it.At + it.Deadline, Kind: DeadlineMissed, Rank: RankDerived,
			Agency: -1, Seq: uint64(idx), MsgFrom: -1, Channel: -1, Type: -1, Item: idx,
			Peer: -1, Reason: -1, Value: it.Deadline, CauseFrom: -1})
	}
}

// Watch makes the Recorder watch the conditions of conditional injects in
// the events it records, and call fire with the inject and the time it is
// to fire when one holds. Since it sees events in their canonical order,
// what it fires, and when, depends on the run alone.
func (r *Recorder) Watch(specs []TriggerSpec, fire func(item int32, at liaison.Time)) {
	r.fire = fire
	for _, sp := range specs {
		r.triggers = append(r.triggers, triggerState{TriggerSpec: sp})
		if sp.MissingBy > 0 && int(sp.Watch) < len(r.items) && !r.items[sp.Watch].info.Manual {
			r.scheduleCheck(len(r.triggers) - 1)
		}
	}
}

// NextCheck is the earliest time at which the Recorder will look at a
// condition on its own, without any agency acting (an item's deadline, a
// missing_by check), or liaison.Never. A time service that grants windows
// must not start one after it, or a condition met then would fire too
// late: the Recorder sees a window's checks only once it has the window.
func (r *Recorder) NextCheck() liaison.Time {
	if len(r.derived) == 0 {
		return liaison.Never
	}
	return r.derived[0].T
}

// scheduleCheck queues the missing_by check of trigger i.
func (r *Recorder) scheduleCheck(i int) {
	tr := &r.triggers[i]
	heap.Push(&r.derived, Event{T: r.items[tr.Watch].info.At + tr.MissingBy, Kind: triggerCheck, Rank: RankDerived,
		Agency: -1, Seq: uint64(i), MsgFrom: -1, Channel: -1, Type: -1, Item: tr.Watch, Peer: -1, Reason: -1, CauseFrom: -1})
}

// met reports whether trigger tr's knowledge condition holds.
func (r *Recorder) met(tr *triggerState) bool {
	st := &r.items[tr.Watch]
	if tr.Agency >= 0 {
		return st.known[tr.Agency]
	}
	return tr.Share > 0 && len(st.info.Audience) > 0 && float64(st.reached) >= tr.Share*float64(len(st.info.Audience))-1e-9
}

// fireTrigger settles trigger i by firing its inject at at.
func (r *Recorder) fireTrigger(i int, at liaison.Time) {
	tr := &r.triggers[i]
	tr.done = true
	if r.fire != nil {
		r.fire(tr.Item, at)
	}
}

// watchKnow looks at the conditions on an item someone just learned.
func (r *Recorder) watchKnow(e *Event) {
	for i := range r.triggers {
		tr := &r.triggers[i]
		if tr.done || tr.Watch != e.Item || tr.Deadline || !r.met(tr) {
			continue
		}
		if tr.MissingBy > 0 {
			tr.done = true // met in time: the check will not fire
			continue
		}
		r.fireTrigger(i, e.T+tr.After)
	}
}

// MoveItem gives an item a new time (a facilitator postponed it, or fired
// a contingency inject): its deadline counts from then. Call it before
// the window that holds the new time.
func (r *Recorder) MoveItem(item int32, at liaison.Time) {
	if item < 0 || int(item) >= len(r.items) {
		return
	}
	st := &r.items[item]
	// A deadline check already queued is for the old time: dropped when
	// it comes up (its time no longer matches).
	st.info.At, st.info.Manual = at, false
	r.scheduleDeadline(item)
	for i := range r.triggers {
		if tr := &r.triggers[i]; tr.Watch == item && tr.MissingBy > 0 && !tr.done {
			r.scheduleCheck(i)
		}
	}
}

// SkipItem marks an item a facilitator skipped: it is not measured.
func (r *Recorder) SkipItem(item int32) {
	if item >= 0 && int(item) < len(r.items) {
		r.items[item].skipped = true
	}
}

// Window records the events of one window. Every event must have T < until,
// and every later window's events T ≥ until. evs is sorted in place.
func (r *Recorder) Window(evs []Event, until liaison.Time) error {
	// Each node sends its events in canonical order already; only events
	// of several nodes need merging.
	if !slices.IsSortedFunc(evs, Compare) {
		slices.SortFunc(evs, Compare)
	}
	for i := range evs {
		e := &evs[i]
		for len(r.derived) > 0 && Less(&r.derived[0], e) {
			r.emitDerived()
		}
		r.record(e)
		if e.Kind == Know {
			r.know(e)
			if len(r.triggers) > 0 {
				r.watchKnow(e)
			}
		}
	}
	for len(r.derived) > 0 && r.derived[0].T < until {
		r.emitDerived()
	}
	return r.err
}

func (r *Recorder) know(e *Event) {
	if e.Item < 0 || int(e.Item) >= len(r.items) {
		return
	}
	st := &r.items[e.Item]
	if st.known[e.Agency] {
		return
	}
	// Everyone who knows, for the conditions of conditional injects; the
	// audience for reach.
	st.known[e.Agency] = true
	if !st.inAud[e.Agency] {
		return
	}
	st.reached++
	if st.reached == len(st.info.Audience) {
		st.reachAt = e.T
		heap.Push(&r.derived, Event{T: e.T, Kind: Reached, Rank: RankDerived, Agency: -1,
			Seq: uint64(e.Item), MsgFrom: -1, Channel: -1, Type: -1, Item: e.Item, Peer: -1,
			Reason: -1, Value: e.T - st.info.At, Count: int32(len(st.info.Audience)), CauseFrom: -1})
	}
}

func (r *Recorder) emitDerived() {
	e := heap.Pop(&r.derived).(Event)
	if e.Kind == triggerCheck {
		tr := &r.triggers[e.Seq]
		if !tr.done && e.T == r.items[tr.Watch].info.At+tr.MissingBy && !r.met(tr) {
			r.fireTrigger(int(e.Seq), e.T+tr.After)
		}
		return
	}
	if e.Kind == DeadlineMissed {
		st := &r.items[e.Item]
		if st.reachAt <= e.T || st.skipped || st.info.Manual || e.T != st.info.At+st.info.Deadline {
			return // met, or not (or no longer) due then
		}
		st.deadline = true
		e.Count = int32(st.reached)
		for i := range r.triggers {
			if tr := &r.triggers[i]; tr.Deadline && !tr.done && tr.Watch == e.Item {
				r.fireTrigger(i, e.T+tr.After)
			}
		}
	}
	r.record(&e)
}

func (r *Recorder) record(e *Event) {
	r.last = e.T
	r.agg.add(e)
	if r.OnEvent != nil {
		r.OnEvent(e)
	}
	if r.w != nil && r.err == nil {
		r.line = AppendJSON(r.line[:0], e, r.names)
		r.line = append(r.line, '\n')
		if _, err := r.w.Write(r.line); err != nil {
			r.err = fmt.Errorf("writing event log: %w", err)
		}
	}
}

// Close emits the deadlines that fall at or before end, flushes the log and
// returns the summary. End is the run's last instant, or liaison.Never for a
// run that went on until nothing was left to happen; the summary then ends
// at the last event. Close fails when a message is unaccounted for: every
// sent message must be delivered or dropped.
func (r *Recorder) Close(end liaison.Time) (*Summary, error) {
	for len(r.derived) > 0 && r.derived[0].T <= end {
		r.emitDerived()
	}
	if end == liaison.Never {
		end = r.last
	}
	if r.w != nil && r.err == nil {
		if err := r.w.Flush(); err != nil {
			r.err = fmt.Errorf("writing event log: %w", err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	s := r.summary(end)
	if m := s.Messages; m.Sent != m.Delivered+m.Dropped {
		return s, fmt.Errorf("events: %d messages unaccounted for: %d sent, %d delivered, %d dropped",
			m.Sent-m.Delivered-m.Dropped, m.Sent, m.Delivered, m.Dropped)
	}
	return s, nil
}

// derivedHeap orders pending derived events canonically.
type derivedHeap []Event

func (h derivedHeap) Len() int           { return len(h) }
func (h derivedHeap) Less(i, j int) bool { return Less(&h[i], &h[j]) }
func (h derivedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *derivedHeap) Push(x any)        { *h = append(*h, x.(Event)) }
func (h *derivedHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
