package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hours are an office's weekly opening hours. Messages that reach a closed
// office wait for it to open, which is why a Friday-evening warning can sit
// until Monday morning. The zero value means closed; the loader fills in
// 24/7 when a file gives no hours.
type Hours struct {
	Always bool   // open around the clock (24/7)
	Spans  []Span // weekly opening spans, in any order; may overlap
	Text   string // as written
}

// Span is one weekly opening: a day of the week and a wall-clock window
// [Start, End) in minutes after midnight. End may be 24*60 for "24:00".
type Span struct {
	Day        time.Weekday
	Start, End int
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

const hoursExpected = `24/7, or days and times such as "Mon-Fri 08:00-16:00", "Mon-Thu 08:00-16:00; Fri 08:00-15:30" or "Sat,Sun 10:00-14:00"`

func (h *Hours) decodeScalar(s string) error {
	text := strings.TrimSpace(s)
	if text == "24/7" {
		*h = Hours{Always: true, Text: text}
		return nil
	}
	var spans []Span
	for clause := range strings.SplitSeq(text, ";") {
		clause = strings.TrimSpace(clause)
		days, times, ok := strings.Cut(clause, " ")
		if !ok {
			return badf(BadHours, "bad hours %q: %q has no times; expected %s", s, clause, hoursExpected)
		}
		wd, err := parseDays(days)
		if err != nil {
			return badf(BadHours, "bad hours %q: %v; expected %s", s, err, hoursExpected)
		}
		for window := range strings.SplitSeq(times, ",") {
			start, end, err := parseWindow(strings.TrimSpace(window))
			if err != nil {
				return badf(BadHours, "bad hours %q: %v; expected %s", s, err, hoursExpected)
			}
			for _, d := range wd {
				spans = append(spans, Span{Day: d, Start: start, End: end})
			}
		}
	}
	*h = Hours{Spans: spans, Text: text}
	return nil
}

// parseDays reads "Mon-Fri", "Sat,Sun" or "Fri-Mon" (ranges wrap the week).
func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	day := func(name string) (time.Weekday, error) {
		d, ok := dayNames[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			return 0, fmt.Errorf("unknown day %q", name)
		}
		return d, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := day(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return nil, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

// parseWindow reads "08:00-16:00" into minutes after midnight.
func parseWindow(s string) (start, end int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a window HH:MM-HH:MM", s)
	}
	if start, err = parseClock(a); err == nil {
		end, err = parseClock(b)
	}
	if err != nil {
		return 0, 0, err
	}
	if start >= end {
		return 0, 0, fmt.Errorf("window %q ends before it starts", s)
	}
	return start, end, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || len(mm) != 2 || err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("time of day %q is not HH:MM from 00:00 to 24:00", s)
	}
	return h*60 + m, nil
}

// String returns the hours as written.
func (h Hours) String() string { return h.Text }

// OpenAt reports whether the office is open at t, read on the wall clock of
// t's location.
func (h Hours) OpenAt(t time.Time) bool {
	if h.Always {
		return true
	}
	minute := t.Hour()*60 + t.Minute()
	for _, s := range h.Spans {
		if s.Day == t.Weekday() && s.Start <= minute && minute < s.End {
			return true
		}
	}
	return false
}

// NextOpen returns t if the office is open at t, else the first instant
// after t at which it opens, in t's location. Openings are built with
// time.Date on the wall clock, so they stay at 08:00 across a change of
// daylight saving time; an opening that falls in a skipped hour moves to
// the first wall time after it. If the hours never open, NextOpen returns
// the zero time.
func (h Hours) NextOpen(t time.Time) time.Time {
	if h.OpenAt(t) {
		return t
	}
	loc := t.Location()
	y, m, d := t.Date()
	// A week and a day of candidates covers a single weekly span that
	// opened earlier today.
	for off := 0; off <= 7; off++ {
		var best time.Time
		for _, s := range h.Spans {
			c := time.Date(y, m, d+off, s.Start/60, s.Start%60, 0, 0, loc)
			if c.Weekday() != s.Day || !c.After(t) || !h.OpenAt(c) {
				continue
			}
			if best.IsZero() || c.Before(best) {
				best = c
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return time.Time{}
}

// hoursPattern is the JSON Schema regular expression of Hours.
func hoursPattern() string {
	day := `([Mm]on|[Tt]ue|[Ww]ed|[Tt]hu|[Ff]ri|[Ss]at|[Ss]un)`
	days := day + `(-` + day + `)?(,` + day + `(-` + day + `)?)*`
	clock := `[0-9]{1,2}:[0-5][0-9]`
	window := clock + `-` + clock
	clause := days + ` +` + window + `( *, *` + window + `)*`
	return `^ *(24/7|` + clause + `( *; *` + clause + `)*) *$`
}

func (Hours) jsonSchema() map[string]any {
	return map[string]any{"type": "string", "pattern": hoursPattern()}
}
