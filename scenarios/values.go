package scenarios

import (
	"math"
	"strconv"
	"strings"
	"time"

	"liaison"
)

// scalar is implemented by the value types that a scenario file writes as
// one YAML scalar. The decoder and the schema generator both use it, so a
// type's syntax and its schema fragment live side by side.
type scalar interface {
	decodeScalar(s string) error
	jsonSchema() map[string]any
}

// Duration is a span of simulated time written the Go way with days and
// weeks added, because scenarios speak of "3d" and "1w" as often as of
// "90s": "250ms", "90s", "30m", "2h30m", "1.5h", "1d", "1w", "0".
type Duration liaison.Time

// String formats d compactly in hours, minutes, seconds and milliseconds,
// e.g. "72h", "2h30m", "1m30s", "250ms", "0".
func (d Duration) String() string {
	if d == 0 {
		return "0"
	}
	var b strings.Builder
	t := liaison.Time(d)
	for _, u := range []struct {
		name string
		ms   liaison.Time
	}{{"h", liaison.Hour}, {"m", liaison.Minute}, {"s", liaison.Second}, {"ms", liaison.Millisecond}} {
		if n := t / u.ms; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			t -= n * u.ms
		}
	}
	return b.String()
}

// Time returns the duration in simulated milliseconds.
func (d Duration) Time() liaison.Time { return liaison.Time(d) }

var durationUnits = []struct {
	name string
	ms   liaison.Time
}{ // longest names first so that "ms" is not read as "m"
	{"ms", liaison.Millisecond},
	{"s", liaison.Second},
	{"m", liaison.Minute},
	{"h", liaison.Hour},
	{"d", liaison.Day},
	{"w", 7 * liaison.Day},
}

const durationExpected = `a duration such as 90s, 30m, 2h30m, 1.5h, 1d or 1w (units ms, s, m, h, d, w)`

// parseDuration reads the Duration syntax. Fractions are allowed in every
// unit and round up to the next millisecond, like liaison.FromDuration.
func parseDuration(s string) (liaison.Time, error) {
	in := strings.TrimSpace(s)
	if in == "0" {
		return 0, nil
	}
	if in == "" {
		return 0, badf(BadDuration, "empty duration; expected %s", durationExpected)
	}
	if strings.HasPrefix(in, "-") {
		return 0, badf(BadDuration, "duration %q is negative; expected %s", s, durationExpected)
	}
	var total float64
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, badf(BadDuration, "bad duration %q; expected %s", s, durationExpected)
		}
		num, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, badf(BadDuration, "bad duration %q; expected %s", s, durationExpected)
		}
		rest = rest[i:]
		unit := liaison.Time(0)
		for _, u := range durationUnits {
			if strings.HasPrefix(rest, u.name) {
				unit, rest = u.ms, rest[len(u.name):]
				break
			}
		}
		if unit == 0 {
			return 0, badf(BadDuration, "duration %q has a number without a unit; expected %s", s, durationExpected)
		}
		total += num * float64(unit)
	}
	if total > float64(liaison.Never)/2 {
		return 0, badf(BadDuration, "duration %q is too long; expected at most a few million years", s)
	}
	// Round up, but forgive the float error of decimal fractions such as 0.1s.
	return liaison.Time(math.Ceil(total - 1e-6)), nil
}

// durationPattern is the JSON Schema regular expression of a Duration.
const durationPattern = `(0|([0-9]+(\.[0-9]+)?|\.[0-9]+)(ms|s|m|h|d|w)(([0-9]+(\.[0-9]+)?|\.[0-9]+)(ms|s|m|h|d|w))*)`

func (d *Duration) decodeScalar(s string) error {
	t, err := parseDuration(s)
	*d = Duration(t)
	return err
}

// orZero lets a schema fragment also accept the YAML integer 0, which a
// YAML-to-JSON conversion turns into a number.
func orZero(frag map[string]any) map[string]any {
	return map[string]any{"anyOf": []any{frag, map[string]any{"const": 0}}}
}

func (Duration) jsonSchema() map[string]any {
	return orZero(map[string]any{"type": "string", "pattern": "^" + durationPattern + "$"})
}

// Calendar is a wall-clock instant written in RFC 3339 with an offset, so
// that a scenario's start is unambiguous wherever it is run.
type Calendar struct{ time.Time }

func (c *Calendar) decodeScalar(s string) error {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return badf(BadTime, "bad time %q; expected RFC 3339 with an offset, e.g. 2026-03-06T16:00:00+01:00", s)
	}
	c.Time = t
	return nil
}

func (Calendar) jsonSchema() map[string]any {
	return map[string]any{"type": "string", "format": "date-time"}
}

// TLPLevel is a TLP level as written in a file. Set records whether the file
// gave one, because an absent level means GREEN while a rule's tlp list
// must tell "not given" from any level.
type TLPLevel struct {
	Level liaison.TLP
	Set   bool
}

func (l *TLPLevel) decodeScalar(s string) error {
	level, ok := liaison.ParseTLP(strings.TrimSpace(s))
	if !ok {
		return badf(BadTLP, "unknown TLP level %q; expected one of %s", s, strings.Join(liaison.TLPNames(), ", "))
	}
	*l = TLPLevel{Level: level, Set: true}
	return nil
}

// String returns the level's TLP 2.0 name.
func (l TLPLevel) String() string { return l.Level.String() }

// jsonSchema lists the names in upper and lower case, with and without the
// "TLP:" prefix, and WHITE; the loader also takes mixed case.
func (TLPLevel) jsonSchema() map[string]any {
	var names []any
	for _, n := range append(liaison.TLPNames(), "WHITE") {
		names = append(names, n, strings.ToLower(n), "TLP:"+n)
	}
	return map[string]any{"type": "string", "enum": names}
}

// Rate is a mean frequency of background messages, written as a count per
// unit of time ("40/day", "3/h", "0.5/s") because that is how message
// volumes are reported.
type Rate struct {
	PerMillisecond float64
	Text           string
}

var rateUnits = map[string]liaison.Time{
	"ms": liaison.Millisecond,
	"s":  liaison.Second, "sec": liaison.Second, "second": liaison.Second,
	"m": liaison.Minute, "min": liaison.Minute, "minute": liaison.Minute,
	"h": liaison.Hour, "hour": liaison.Hour,
	"d": liaison.Day, "day": liaison.Day,
	"w": 7 * liaison.Day, "week": 7 * liaison.Day,
}

const rateExpected = "a positive count per unit such as 40/day, 3/h, 1/min, 0.5/s or 200/week"

func (r *Rate) decodeScalar(s string) error {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	per, known := rateUnits[strings.TrimSpace(unit)]
	if !ok || err != nil || !known || math.IsInf(n, 0) || math.IsNaN(n) {
		return badf(BadRate, "bad rate %q; expected %s", s, rateExpected)
	}
	if n <= 0 {
		return badf(BadRate, "rate %q is not positive; expected %s", s, rateExpected)
	}
	perMS := n / float64(per)
	if perMS > MaxRatePerMillisecond {
		return badf(BadRate, "rate %q is more than one message per millisecond, finer than simulated time resolves (it counts whole milliseconds); expected at most 1/ms (1000/s, 86400000/day) per sender", s)
	}
	*r = Rate{PerMillisecond: perMS, Text: s}
	return nil
}

// MaxRatePerMillisecond is the fastest rate a stream may have: simulated
// time counts whole milliseconds, so gaps between messages shorter than
// one would all round up to it and the stream would run slower than
// written, silently.
const MaxRatePerMillisecond = 1.0

// MeanInterval is the mean time between messages in milliseconds, the
// scale of the exponential inter-arrival times of a Poisson stream.
func (r Rate) MeanInterval() float64 {
	if r.PerMillisecond <= 0 {
		return math.Inf(1)
	}
	return 1 / r.PerMillisecond
}

// String returns the rate as written.
func (r Rate) String() string { return r.Text }

func (Rate) jsonSchema() map[string]any {
	return map[string]any{"type": "string",
		"pattern": `^ *([0-9]+(\.[0-9]+)?|\.[0-9]+) */ *(ms|s|sec|second|m|min|minute|h|hour|d|day|w|week) *$`}
}
