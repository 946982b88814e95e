package scenarios

import (
	"strings"
	"testing"
	"time"
)

func mustHours(t *testing.T, s string) Hours {
	t.Helper()
	var h Hours
	if err := h.decodeScalar(s); err != nil {
		t.Fatalf("Hours(%q): %v", s, err)
	}
	return h
}

func TestHoursParse(t *testing.T) {
	for in, spans := range map[string]int{
		"Mon-Fri 08:00-16:00":                  5,
		"Mon-Thu 08:00-16:00; Fri 08:00-15:30": 5,
		"Sat,Sun 10:00-14:00":                  2,
		"Mon-Sun 00:00-24:00":                  7,
		"Fri-Mon 09:00-12:00":                  4,
		"Mon-Fri 08:00-12:00,13:00-16:00":      10,
	} {
		if h := mustHours(t, in); h.Always || len(h.Spans) != spans {
			t.Errorf("Hours(%q) has %d spans, want %d", in, len(h.Spans), spans)
		}
	}
	if h := mustHours(t, "24/7"); !h.Always {
		t.Error("24/7 is not Always")
	}
	for _, in := range []string{"", "Mon-Fri", "Mon-Fri 8-16", "Mon-Fri 16:00-08:00", "Mo-Fr 08:00-16:00", "Mon 08:00-24:01", "Mon 08:60-09:00"} {
		var h Hours
		if err := h.decodeScalar(in); err == nil {
			t.Errorf("Hours(%q) parsed: %+v", in, h)
		}
	}
	// An empty or reversed window says what to write instead.
	for in, want := range map[string]string{
		"Mon 08:00-08:00": "is empty; expected an end after the start (00:00-24:00 is the whole day)",
		"Mon 22:00-06:00": "a night shift is two windows, 22:00-24:00 and 00:00-06:00",
	} {
		var h Hours
		if err := h.decodeScalar(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Hours(%q): %v, want %q", in, err, want)
		}
	}
}

func TestNextOpen(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, cph)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	office := "Mon-Thu 08:00-16:00; Fri 08:00-15:30"
	for _, tc := range []struct {
		name, hours, t, want string
	}{
		{"open now", office, "2026-03-04 10:00", "2026-03-04 10:00"},
		{"before opening", office, "2026-03-04 07:15", "2026-03-04 08:00"},
		{"friday evening waits till monday", office, "2026-03-06 16:00", "2026-03-09 08:00"},
		{"friday half an hour early close", office, "2026-03-06 15:30", "2026-03-09 08:00"},
		{"saturday", office, "2026-03-07 12:00", "2026-03-09 08:00"},
		{"end is exclusive", office, "2026-03-05 16:00", "2026-03-06 08:00"},
		{"weekend office", "Sat,Sun 10:00-14:00", "2026-03-04 10:00", "2026-03-07 10:00"},
		{"once a week, later today missed", "Wed 08:00-09:00", "2026-03-04 10:00", "2026-03-11 08:00"},
		{"always", "24/7", "2026-03-07 03:00", "2026-03-07 03:00"},
		// Summer time starts in Copenhagen on Sunday 29 March 2026 at 02:00.
		{"across spring forward", "Mon-Fri 08:00-16:00", "2026-03-27 17:00", "2026-03-30 08:00"},
		{"on the switch day", "Sun 01:00-12:00", "2026-03-29 00:30", "2026-03-29 01:00"},
		// The wall clock jumps from 02:00 to 03:00, into the window: the
		// office opens at the switch, as it is open a minute later.
		{"opening in the skipped hour", "Sun 02:30-04:00", "2026-03-29 00:30", "2026-03-29 03:00"},
		// Winter time returns on Sunday 25 October 2026 at 03:00.
		{"across fall back", "Mon-Fri 08:00-16:00", "2026-10-23 17:00", "2026-10-26 08:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustHours(t, tc.hours)
			got := h.NextOpen(at(tc.t))
			want := at(tc.want)
			if !got.Equal(want) || got.Location() != cph {
				t.Errorf("NextOpen(%s) = %s, want %s", tc.t, got, want)
			}
			if !h.OpenAt(got) {
				t.Errorf("not open at %s", got)
			}
		})
	}
	// Winter time: 02:00-03:00 is lived twice on 25 October 2026.
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)  // 02:30 summer time
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC) // 02:30 winter time
	repeated := mustHours(t, "Sun 02:30-04:00")
	for _, tc := range []struct {
		arrive time.Time
		want   time.Time
	}{
		{time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC), first},                       // 01:00 summer time
		{time.Date(2026, 10, 25, 0, 10, 0, 0, time.UTC), first},                       // 02:10 summer time
		{time.Date(2026, 10, 25, 1, 10, 0, 0, time.UTC), second},                      // 02:10 winter time, between the two
		{time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC), first.Add(15 * time.Minute)}, // open already
	} {
		if got := repeated.NextOpen(tc.arrive.In(cph)); !got.Equal(tc.want) {
			t.Errorf("repeated hour: NextOpen(%s) = %s, want %s", tc.arrive.In(cph), got.UTC(), tc.want)
		}
	}
	// 12 hours of wall clock on the switch day are 11 hours of real time.
	h := mustHours(t, "Mon-Fri 08:00-16:00")
	fri := at("2026-03-27 16:00")
	if got := h.NextOpen(fri).Sub(fri); got != 64*time.Hour-time.Hour {
		t.Errorf("Friday 16:00 to Monday 08:00 across spring forward = %v, want 63h", got)
	}
}

// TestNextOpenIsFirstOpenMinute: on and around the days daylight saving
// time starts and ends, NextOpen(t) is the first minute at or after t at
// which OpenAt holds, found by walking minute by minute. Two offices with
// the same hours therefore open at the same instant, whenever their
// messages arrive.
func TestNextOpenIsFirstOpenMinute(t *testing.T) {
	for _, zone := range []string{"Europe/Copenhagen", "Europe/London", "America/New_York"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, hours := range []string{"Sun 02:30-04:00", "Sun 01:00-02:15", "Sun 02:00-02:45", "Sun 01:30-02:45",
			"Sat,Sun 02:00-03:00", "Mon-Fri 08:00-16:00", "Sun 00:00-01:00,03:00-05:00"} {
			h := mustHours(t, hours)
			// Both switch weekends of 2026 in Europe and America.
			for _, from := range []time.Time{time.Date(2026, 3, 7, 0, 0, 0, 0, loc), time.Date(2026, 3, 27, 0, 0, 0, 0, loc),
				time.Date(2026, 10, 23, 0, 0, 0, 0, loc), time.Date(2026, 10, 30, 0, 0, 0, 0, loc)} {
				// Walk back from the end: next[i] is the first open minute at
				// or after minute i.
				const minutes = 4 * 24 * 60
				var next time.Time
				for i := minutes; i >= 0; i-- {
					u := from.Add(time.Duration(i) * time.Minute)
					if h.OpenAt(u) {
						next = u
					}
					if next.IsZero() {
						continue
					}
					if got := h.NextOpen(u); !got.Equal(next) {
						t.Fatalf("%s, %q: NextOpen(%s) = %s, want %s (the first open minute)", zone, hours, u, got, next)
					}
				}
			}
		}
	}
}
