// Package report reads the event log of a run and turns it into an
// after-action report: an exercise overview, the reach of every inject and
// the paths by which each agency learned it, a timeline of who knew what
// when, channel and agency figures, deadlines missed and drops, and findings
// that rank the bottlenecks. It renders the report as one self-contained HTML
// page (charts drawn by gonum/plot as inline SVG), as Markdown, or as JSON.
//
// The report is computed from the event log alone, so it can be made from a
// log written long ago; its figures agree with the summary of the same run.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"liaison"
	"liaison/events"
)

// Event is one line of the event log after the header. Fields that a kind
// does not carry are left zero; see the README for which kind has which.
type Event struct {
	Line        int     `json:"-"`
	T           float64 `json:"t"`
	Kind        string  `json:"kind"`
	Agency      string  `json:"agency"`
	Channel     string  `json:"channel"`
	Msg         string  `json:"msg"`
	Cause       string  `json:"cause"`
	Item        string  `json:"item"`
	Type        string  `json:"type"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Originator  string  `json:"originator"`
	Reason      string  `json:"reason"`
	Latency     float64 `json:"latency"`
	OutageWait  float64 `json:"outage_wait"`
	FanoutDelay float64 `json:"fanout_delay"`
	Until       float64 `json:"until"`
	Wait        float64 `json:"wait"`
	Handling    float64 `json:"handling"`
	SinceInject float64 `json:"since_inject"`
	TimeToReach float64 `json:"time_to_reach"`
	Deadline    float64 `json:"deadline"`
	Queue       int     `json:"queue"`
	Audience    int     `json:"audience"`
	Reached     int     `json:"reached"`
}

// Log is a parsed event log: the run header and the events in log order.
type Log struct {
	Info   events.RunInfo
	Events []Event
}

// required lists the fields each kind must have, as the log writes them.
var required = map[string][]string{
	"inject":          {"agency", "item"},
	"send":            {"agency", "msg"},
	"deliver":         {"agency", "channel", "msg", "from"},
	"hold":            {"agency"},
	"handle_start":    {"agency"},
	"know":            {"agency", "item"},
	"handle_end":      {"agency"},
	"drop":            {"agency", "reason"},
	"consent_request": {"agency", "item", "originator"},
	"consent_grant":   {"agency", "item", "to"},
	"consent_refuse":  {"agency", "item", "to"},
	"deadline_missed": {},
	"reached":         {"item"},
	"skip":            {},
}

// ParseLog reads an event log. name is used in errors, which say
// name:line: what is wrong.
func ParseLog(name string, r io.Reader) (*Log, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	lg := &Log{}
	line := 0
	agencies := map[string]bool{}
	prev := math.Inf(-1)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if line == 1 {
			if err := strictUnmarshal(b, &lg.Info); err != nil {
				return nil, fmt.Errorf("%s:1: not an event log header: %v", name, err)
			}
			if lg.Info.Kind != "run" {
				return nil, fmt.Errorf("%s:1: the first line must be the run header (kind \"run\"), found kind %q; was the log written by liaison run --events?", name, lg.Info.Kind)
			}
			for _, a := range lg.Info.Agencies {
				agencies[a.ID] = true
			}
			continue
		}
		var e Event
		if err := strictUnmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		e.Line = line
		req, ok := required[e.Kind]
		if !ok {
			return nil, fmt.Errorf("%s:%d: unknown event kind %q", name, line, e.Kind)
		}
		for _, f := range req {
			if e.field(f) == "" {
				return nil, fmt.Errorf("%s:%d: %s event without %q", name, line, e.Kind, f)
			}
		}
		if e.Agency != "" && !agencies[e.Agency] {
			return nil, fmt.Errorf("%s:%d: agency %q is not in the run header", name, line, e.Agency)
		}
		if e.T < prev {
			return nil, fmt.Errorf("%s:%d: time %s goes back (previous line at %s); the log must be in time order", name, line,
				fmtFloat(e.T), fmtFloat(prev))
		}
		prev = e.T
		lg.Events = append(lg.Events, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty event log", name)
	}
	return lg, nil
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if d.More() {
		return fmt.Errorf("bad JSON: more than one value on the line")
	}
	return nil
}

func (e *Event) field(name string) string {
	switch name {
	case "agency":
		return e.Agency
	case "item":
		return e.Item
	case "msg":
		return e.Msg
	case "channel":
		return e.Channel
	case "from":
		return e.From
	case "to":
		return e.To
	case "reason":
		return e.Reason
	case "originator":
		return e.Originator
	}
	return ""
}

// ms converts log seconds to simulated milliseconds.
func ms(sec float64) liaison.Time { return liaison.Time(math.Round(sec * 1000)) }

func fmtFloat(x float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3f", x), ".000") }
