package scenarios

import (
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
		{"opening in the skipped hour", "Sun 02:30-04:00", "2026-03-29 00:30", "2026-03-29 03:30"},
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
	// 12 hours of wall clock on the switch day are 11 hours of real time.
	h := mustHours(t, "Mon-Fri 08:00-16:00")
	fri := at("2026-03-27 16:00")
	if got := h.NextOpen(fri).Sub(fri); got != 64*time.Hour-time.Hour {
		t.Errorf("Friday 16:00 to Monday 08:00 across spring forward = %v, want 63h", got)
	}
}
