package scenarios

import (
	"math"
	"testing"

	"liaison"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want liaison.Time
	}{
		{"0", 0},
		{"0s", 0},
		{"250ms", 250},
		{"90s", 90 * liaison.Second},
		{"30m", 30 * liaison.Minute},
		{"6h", 6 * liaison.Hour},
		{"2h30m", 2*liaison.Hour + 30*liaison.Minute},
		{"1.5h", 90 * liaison.Minute},
		{"0.1s", 100},
		{"1d", liaison.Day},
		{"1w", 7 * liaison.Day},
		{"1w2d3h4m5s6ms", 9*liaison.Day + 3*liaison.Hour + 4*liaison.Minute + 5*liaison.Second + 6},
		{"1.5ms", 2}, // rounds up
		{" 72h ", 72 * liaison.Hour},
	} {
		var d Duration
		if err := d.decodeScalar(tc.in); err != nil || d.Time() != tc.want {
			t.Errorf("Duration(%q) = %d, %v; want %d", tc.in, d, err, tc.want)
		}
	}
	for _, in := range []string{"", "5", "-1h", "1y", "h", "1.2.3h", "72 hours", "1h-5m", "1e3s"} {
		var d Duration
		if err := d.decodeScalar(in); err == nil {
			t.Errorf("Duration(%q) = %d, want an error", in, d)
		}
	}
}

func TestDurationString(t *testing.T) {
	for in, want := range map[string]string{"0": "0", "72h": "72h", "2h30m": "2h30m", "90s": "1m30s", "250ms": "250ms", "1d": "24h"} {
		var d Duration
		_ = d.decodeScalar(in)
		if got := d.String(); got != want {
			t.Errorf("Duration(%q).String() = %q, want %q", in, got, want)
		}
	}
}

func TestRate(t *testing.T) {
	for _, tc := range []struct {
		in           string
		meanInterval float64 // ms
	}{
		{"40/day", float64(liaison.Day) / 40},
		{"3/h", float64(liaison.Hour) / 3},
		{"1/min", float64(liaison.Minute)},
		{"0.5/s", 2000},
		{"200/week", float64(7*liaison.Day) / 200},
	} {
		var r Rate
		if err := r.decodeScalar(tc.in); err != nil {
			t.Errorf("Rate(%q): %v", tc.in, err)
			continue
		}
		if got := r.MeanInterval(); math.Abs(got-tc.meanInterval) > 1e-6*tc.meanInterval {
			t.Errorf("Rate(%q).MeanInterval() = %v, want %v", tc.in, got, tc.meanInterval)
		}
	}
	for _, in := range []string{"0/day", "-1/h", "40", "40/fortnight", "x/h", "/h"} {
		var r Rate
		if err := r.decodeScalar(in); err == nil {
			t.Errorf("Rate(%q) = %+v, want an error", in, r)
		}
	}
}

func TestTLPLevel(t *testing.T) {
	for in, want := range map[string]liaison.TLP{"amber": liaison.TLPAmber, "TLP:RED": liaison.TLPRed, "white": liaison.TLPClear, "AMBER+STRICT": liaison.TLPAmberStrict} {
		var l TLPLevel
		if err := l.decodeScalar(in); err != nil || l.Level != want || !l.Set {
			t.Errorf("TLP(%q) = %+v, %v; want %v", in, l, err, want)
		}
	}
	var l TLPLevel
	if err := l.decodeScalar("orange"); err == nil {
		t.Error("TLP(orange) parsed")
	}
}

func TestCalendar(t *testing.T) {
	var c Calendar
	if err := c.decodeScalar("2026-03-06T16:00:00+01:00"); err != nil {
		t.Fatal(err)
	}
	if _, off := c.Zone(); off != 3600 || c.Hour() != 16 {
		t.Errorf("got %v", c.Time)
	}
	if err := c.decodeScalar("2026-03-06 16:00"); err == nil {
		t.Error("a time without offset parsed")
	}
}
