package scenarios

import (
	"fmt"
	"slices"
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
	switch {
	case start == end:
		return 0, 0, fmt.Errorf("window %q is empty; expected an end after the start (00:00-24:00 is the whole day)", s)
	case start > end:
		return 0, 0, fmt.Errorf("window %q ends before it starts; expected an end after the start (a night shift is two windows, 22:00-24:00 and 00:00-06:00)", s)
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
// after t at which it opens, in t's location. If the hours never open,
// NextOpen returns the zero time.
//
// Hours are read on the wall clock (OpenAt), so the answer is the first
// instant at which OpenAt turns true. On a day when daylight saving time
// changes, that is not always what time.Date gives for the opening time,
// which picks one instant for a wall time that does not exist or exists
// twice: an opening in the skipped hour opens at the switch, when the wall
// clock jumps into the window (Sun 02:30-04:00 opens at 03:00 summer
// time), and an opening in the repeated hour opens at its first
// occurrence, or at its second for a message that arrives between the two.
// Two offices with the same hours thus open at the same instant whenever
// their messages arrive.
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
		consider := func(c time.Time) {
			if c.After(t) && h.OpenAt(c) && (best.IsZero() || c.Before(best)) {
				best = c
			}
		}
		day := time.Date(y, m, d+off, 12, 0, 0, 0, loc) // noon exists every day
		for _, s := range h.Spans {
			if s.Day == day.Weekday() {
				for _, c := range wallInstants(day, s.Start, loc) {
					consider(c)
				}
			}
		}
		// The wall clock can also jump into a window at a change of
		// offset without passing its start.
		for _, c := range zoneChanges(day) {
			consider(c)
		}
		if !best.IsZero() {
			return best
		}
	}
	return time.Time{}
}

// wallInstants returns every instant whose wall clock in loc reads minute
// of day's date: none in a skipped hour, two in a repeated one, in order.
func wallInstants(day time.Time, minute int, loc *time.Location) []time.Time {
	y, m, d := day.Date()
	wall := time.Date(y, m, d, minute/60, minute%60, 0, 0, time.UTC)
	var out []time.Time
	// The offsets in force around that day; a zone changes offset at most
	// a few times a year.
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		c := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if cy, cm, cd := c.Date(); cy == y && cm == m && cd == d && c.Hour()*60+c.Minute() == minute {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, time.Time.Equal)
}

// zoneChanges returns the instants during day's calendar date at which
// its location changes offset.
func zoneChanges(day time.Time) []time.Time {
	y, m, d := day.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, day.Location())
	end := start.AddDate(0, 0, 1)
	var out []time.Time
	for c := start; c.Before(end); {
		_, next := c.ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		if next.After(start) {
			out = append(out, next.In(day.Location()))
		}
		c = next
	}
	return out
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
