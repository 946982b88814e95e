package events

import (
	"fmt"
	"io"
	"strings"

	"liaison"
)

// Tally computes a run's summary from its log with the Recorder that
// computed it while the run went on: the same aggregate counts the same
// events, so the figures of a report or a comparison are the run's by
// construction, not by agreement. The Recorder derives the reached and
// deadline_missed events again from the others; Tally checks them against
// the log's, so a log that was edited or cut short is caught rather than
// summarised wrongly.
type Tally struct {
	rd      *Reader
	rec     *Recorder
	t       liaison.Time
	batch   []Event   // the log's agency and live events at t
	logged  []*Record // the log's derived events at t
	derived []Event   // what the Recorder derived
	first   int       // line of the first record at t
	err     error
}

// NewTally returns a Tally for the log rd reads; give it every record rd
// yields, in order.
func NewTally(rd *Reader) *Tally {
	info := rd.Info()
	t := &Tally{rd: rd}
	t.rec = NewRecorder(rd.Names(), Header{Scenario: info.Scenario, Title: info.Title, Seed: info.Seed,
		Variant: info.Variant}, rd.items, nil)
	t.rec.OnEvent = func(e *Event) {
		if e.Rank == RankDerived {
			t.derived = append(t.derived, *e)
		}
	}
	return t
}

// Add counts one record.
func (t *Tally) Add(rec *Record) error {
	if t.err != nil {
		return t.err
	}
	if rec.T != t.t || t.first == 0 {
		if err := t.flush(); err != nil {
			return err
		}
		t.t, t.first = rec.T, rec.Line
	}
	if rec.Rank == RankDerived {
		t.logged = append(t.logged, rec)
		return nil
	}
	switch rec.Kind {
	case LiveInject:
		// As the run does: the item is known before its window's events.
		t.rec.AddItem(t.rd.items[rec.Item])
	case SkipInject:
		t.rec.SkipItem(rec.Item)
	case FireInject:
		t.rec.MoveItem(rec.Item, rec.T)
	case PostponeInject:
		if d, ok := ActionDefOf(&rec.Event); ok && d.AtSeconds != nil {
			t.rec.MoveItem(rec.Item, d.PostponedTo(rec.T))
		}
	}
	t.batch = append(t.batch, rec.Event)
	return nil
}

// flush records the events at one time and matches what the Recorder
// derived with what the log holds.
func (t *Tally) flush() error {
	if len(t.batch) == 0 && len(t.logged) == 0 {
		return nil
	}
	t.derived = t.derived[:0]
	if err := t.rec.Window(t.batch, t.t+1); err != nil {
		t.err = err
		return err
	}
	t.batch = t.batch[:0]
	t.err = t.match(t.first)
	t.logged = t.logged[:0]
	return t.err
}

func (t *Tally) match(line int) error {
	n := t.rd.Names()
	for i := range max(len(t.derived), len(t.logged)) {
		switch {
		case i >= len(t.logged):
			return &LogError{File: t.rd.name, Line: line, Msg: fmt.Sprintf(
				"the log lacks %s before this line, which the events before it imply", AppendJSON(nil, &t.derived[i], n))}
		case i >= len(t.derived):
			l := t.logged[i]
			return &LogError{File: t.rd.name, Line: l.Line, Msg: fmt.Sprintf(
				"this %s event does not follow from the events before it", l.Kind)}
		}
		d, l := &t.derived[i], t.logged[i]
		if d.T != l.T || d.Kind != l.Kind || d.Item != l.Item || d.Value != l.Value || d.Count != l.Count {
			return &LogError{File: t.rd.name, Line: l.Line, Msg: fmt.Sprintf(
				"expected %s, which the events before it imply", AppendJSON(nil, d, n))}
		}
	}
	return nil
}

// Summary returns the summary once every record was added. It fails for a
// log whose messages do not add up (sent = delivered + dropped) or that
// lacks derived events at its end.
func (t *Tally) Summary() (*Summary, error) {
	if err := t.flush(); err != nil {
		return nil, err
	}
	end := liaison.Never
	if d := t.rd.Info().DurationSeconds; d != nil {
		end = liaison.FromSeconds(*d)
	}
	t.derived = t.derived[:0]
	s, err := t.rec.Close(end)
	if err != nil {
		return nil, &LogError{File: t.rd.name, Msg: strings.TrimPrefix(err.Error(), "events: ") + "; was the log cut short?"}
	}
	if len(t.derived) > 0 {
		return nil, &LogError{File: t.rd.name, Msg: fmt.Sprintf(
			"the log ends without %s, which its events imply; was it cut short?", AppendJSON(nil, &t.derived[0], t.rd.Names()))}
	}
	return s, nil
}

// Summarize reads a whole log and returns its summary; name is the file
// name errors give.
func Summarize(name string, r io.Reader) (*Summary, error) {
	rd, err := NewReader(name, r)
	if err != nil {
		return nil, err
	}
	t := NewTally(rd)
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return t.Summary()
		}
		if err != nil {
			return nil, err
		}
		if err := t.Add(rec); err != nil {
			return nil, err
		}
	}
}
