// Package report reads the event log of a run and turns it into an
// after-action report: an exercise overview (with the facilitator's live
// actions), the reach of every inject and the paths by which each agency
// learned it, a timeline of who knew what when, channel and agency
// figures, deadlines missed and drops, and findings that rank the
// bottlenecks. It renders the report as one self-contained HTML page
// (charts drawn by gonum/plot as inline SVG), as Markdown, or as JSON.
//
// The report is computed from the event log alone, so it can be made from a
// log written long ago. The log is read by events.Reader, and its counts
// (messages, reach, channel latencies, agency workloads) are the summary
// that the run's own Recorder computes from it (events.Tally): the report
// adds paths, waits and findings, never a second count of the same thing.
package report

import (
	"context"
	"io"

	"liaison/events"
)

// Log is a read event log: the run header, the tables its events refer
// to, the items (the header's, then the live injects'), the events in log
// order, and the run's summary.
type Log struct {
	Info    *events.RunInfo
	Names   *events.Names
	Items   []events.ItemDesc
	Events  []*events.Record
	Summary *events.Summary
}

// Read reads and checks an event log; name is the file name errors give
// (name:line[:column]: what is wrong). It stops, with ctx's error, when ctx
// is done.
func Read(ctx context.Context, name string, r io.Reader) (*Log, error) {
	rd, err := events.NewReader(name, r)
	if err != nil {
		return nil, err
	}
	tally := events.NewTally(rd)
	lg := &Log{Info: rd.Info(), Names: rd.Names()}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := tally.Add(rec); err != nil {
			return nil, err
		}
		lg.Events = append(lg.Events, rec)
		if len(lg.Events)%4096 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
	}
	if lg.Summary, err = tally.Summary(); err != nil {
		return nil, err
	}
	lg.Items = rd.Items()
	return lg, nil
}
