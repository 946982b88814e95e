package scenarios

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"liaison"
)

// Dist is a delay distribution: handling times and channel latencies.
// Every kind may carry a floor (min=) below which no sample falls, because
// real channels and desks have a least time, and a positive least latency is
// what lets the time service grant lookahead.
//
// Sample consumes a fixed number of draws from the random source for each
// kind, so that adding a rule elsewhere in a scenario cannot shift the
// sequence a given channel sees in unrelated ways:
//
//	fixed        0 draws
//	uniform      1 draw
//	exponential  1 draw  (inverse CDF)
//	lognormal    2 draws (Box-Muller)
//	normal       2 draws (Box-Muller); negative samples clamp to 0
//	empirical    1 draw
//
// A draw is one call to (*rand.Rand).Float64, which reads one Uint64 from
// the source.
type Dist struct {
	Kind    string         // "" (none: samples 0), fixed, uniform, exponential, lognormal, normal, empirical
	Fixed   liaison.Time   // fixed: the value
	Low     liaison.Time   // uniform: lower bound (inclusive)
	High    liaison.Time   // uniform: upper bound
	Center  liaison.Time   // exponential and normal: the mean; lognormal: the median
	Sigma   float64        // lognormal: the standard deviation of the log
	SD      liaison.Time   // normal: the standard deviation
	Values  []liaison.Time // empirical: the values
	Weights []float64      // empirical: their probabilities, summing to 1
	Floor   liaison.Time   // no sample is below this (min=)
	Text    string         // as written
}

// The distribution kinds.
const (
	Fixed       = "fixed"
	Uniform     = "uniform"
	Exponential = "exponential"
	Lognormal   = "lognormal"
	Normal      = "normal"
	Empirical   = "empirical"
)

// distSyntax says what each kind needs, for error messages.
var distSyntax = map[string]string{
	Fixed:       "one DURATION, as in fixed(10m)",
	Uniform:     "two durations LOW <= HIGH, as in uniform(1m, 5m)",
	Exponential: "mean=DURATION",
	Lognormal:   "median=DURATION and sigma=NUMBER",
	Normal:      "mean=DURATION and sd=DURATION",
	Empirical:   "DURATION values, all with or all without :WEIGHT, as in empirical(1m, 5m) or empirical(1m:0.2, 5m:0.8)",
}

const distExpected = "a duration such as 10m, or fixed(D), uniform(LOW, HIGH), exponential(mean=D), " +
	"lognormal(median=D, sigma=N), normal(mean=D, sd=D), empirical(D, D, ...) or empirical(D:W, ...), " +
	"each but uniform with an optional min=D"

// IsZero reports whether no distribution was given.
func (d Dist) IsZero() bool { return d.Kind == "" }

// String returns the distribution as written.
func (d Dist) String() string { return d.Text }

func (d *Dist) decodeScalar(s string) error {
	v, err := ParseDist(s)
	*d = v
	return err
}

// ParseDist reads the distribution syntax; a bare duration is fixed.
func ParseDist(s string) (Dist, error) {
	text := strings.TrimSpace(s)
	open := strings.IndexByte(text, '(')
	if open < 0 {
		t, err := parseDuration(text)
		if err != nil {
			return Dist{}, badf(BadDistribution, "bad distribution %q; expected %s", s, distExpected)
		}
		return Dist{Kind: Fixed, Fixed: t, Text: text}, nil
	}
	kind := strings.TrimSpace(text[:open])
	syntax, known := distSyntax[kind]
	if !known {
		return Dist{}, badf(BadDistribution, "unknown distribution %q; expected %s", s, distExpected)
	}
	fail := func(detail string) error {
		if detail != "" {
			detail = ": " + detail
		}
		extra := "; min=DURATION is optional"
		if kind == Uniform {
			extra = "; its lower bound is its floor"
		}
		return badf(BadDistribution, "%s needs %s, got %q%s%s", kind, syntax, s, detail, extra)
	}
	if !strings.HasSuffix(text, ")") {
		return Dist{}, fail("no closing parenthesis")
	}
	d := Dist{Kind: kind, Text: text}
	var pos []string
	named := map[string]string{}
	if inner := strings.TrimSpace(text[open+1 : len(text)-1]); inner != "" {
		for arg := range strings.SplitSeq(inner, ",") {
			arg = strings.TrimSpace(arg)
			if k, v, ok := strings.Cut(arg, "="); ok {
				k = strings.TrimSpace(k)
				if _, dup := named[k]; dup {
					return Dist{}, fail(k + " given twice")
				}
				named[k] = strings.TrimSpace(v)
			} else {
				pos = append(pos, arg)
			}
		}
	}
	// take removes a named parameter and parses it as a duration.
	var errs []string
	dur := func(name string) liaison.Time {
		v, ok := named[name]
		if !ok {
			errs = append(errs, "no "+name)
			return 0
		}
		delete(named, name)
		t, err := parseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%s: %v", name, v, err))
		}
		return t
	}
	if _, ok := named["min"]; ok && kind != Uniform {
		d.Floor = dur("min")
	}
	switch kind {
	case Fixed:
		if len(pos) != 1 {
			return Dist{}, fail("")
		}
		t, err := parseDuration(pos[0])
		if err != nil {
			return Dist{}, fail(err.Error())
		}
		d.Fixed, pos = t, nil
	case Uniform:
		if len(pos) != 2 {
			return Dist{}, fail("")
		}
		lo, err1 := parseDuration(pos[0])
		hi, err2 := parseDuration(pos[1])
		if err1 != nil || err2 != nil {
			return Dist{}, fail("bounds must be durations")
		}
		if lo > hi {
			return Dist{}, fail("LOW is above HIGH")
		}
		d.Low, d.High, d.Floor, pos = lo, hi, lo, nil
	case Exponential:
		d.Center = dur("mean")
		if len(errs) == 0 && d.Center <= 0 {
			errs = append(errs, "mean must be positive")
		}
	case Normal:
		d.Center = dur("mean")
		d.SD = dur("sd")
	case Lognormal:
		d.Center = dur("median")
		if v, ok := named["sigma"]; ok {
			delete(named, "sigma")
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				errs = append(errs, "sigma="+v+" is not a non-negative number")
			}
			d.Sigma = f
		} else {
			errs = append(errs, "no sigma")
		}
		if len(errs) == 0 && d.Center <= 0 {
			errs = append(errs, "median must be positive")
		}
	case Empirical:
		if len(pos) == 0 {
			return Dist{}, fail("no values")
		}
		weighted := strings.Contains(pos[0], ":")
		var sum float64
		for _, p := range pos {
			v, w, hasW := strings.Cut(p, ":")
			if hasW != weighted {
				return Dist{}, fail("give weights to all values or to none")
			}
			t, err := parseDuration(v)
			if err != nil {
				return Dist{}, fail(v + " is not a duration")
			}
			weight := 1.0
			if hasW {
				weight, err = strconv.ParseFloat(strings.TrimSpace(w), 64)
				if err != nil || !(weight > 0) || math.IsInf(weight, 0) {
					return Dist{}, fail("weight " + w + " is not a positive number")
				}
			}
			d.Values = append(d.Values, t)
			d.Weights = append(d.Weights, weight)
			sum += weight
		}
		if math.IsInf(sum, 0) {
			return Dist{}, fail("the weights add up to more than a float holds; expected smaller weights (only their ratios count)")
		}
		for i := range d.Weights {
			d.Weights[i] /= sum
		}
		pos = nil
	}
	if len(pos) > 0 {
		errs = append(errs, "unexpected "+strings.Join(pos, ", "))
	}
	if kind == Uniform && len(named) > 0 {
		errs = append(errs, "uniform takes no named parameters")
	} else if len(named) > 0 {
		keys := make([]string, 0, len(named))
		for k := range named {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		errs = append(errs, "unknown "+strings.Join(keys, ", "))
	}
	if len(errs) > 0 {
		return Dist{}, fail(strings.Join(errs, "; "))
	}
	return d, nil
}

// Sample draws one delay, rounded up to a whole millisecond and never below
// the floor. See Dist for how many draws each kind takes.
func (d *Dist) Sample(r *rand.Rand) liaison.Time {
	var x float64
	switch d.Kind {
	case Fixed:
		x = float64(d.Fixed)
	case Uniform:
		x = float64(d.Low) + r.Float64()*float64(d.High-d.Low)
	case Exponential:
		x = -float64(d.Center) * math.Log1p(-r.Float64())
	case Lognormal:
		x = float64(d.Center) * math.Exp(d.Sigma*boxMuller(r))
	case Normal:
		x = float64(d.Center) + float64(d.SD)*boxMuller(r)
	case Empirical:
		u := r.Float64()
		x = float64(d.Values[len(d.Values)-1])
		for i, w := range d.Weights {
			if u < w {
				x = float64(d.Values[i])
				break
			}
			u -= w
		}
	default:
		return d.Floor
	}
	t := liaison.Time(math.Ceil(x))
	if !(x >= 0) { // negative, or NaN from a degenerate parameter
		t = 0
	}
	if x > float64(liaison.Never/2) {
		t = liaison.Never / 2
	}
	return max(t, d.Floor)
}

// boxMuller turns exactly two uniform draws into one standard normal
// variate. math/rand's NormFloat64 uses a rejection loop with a variable
// number of draws, which would break the fixed draw count.
func boxMuller(r *rand.Rand) float64 {
	u1 := 1 - r.Float64() // in (0, 1], so the log is finite
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Min is the smallest value Sample can return: the floor, the uniform
// lower bound, the fixed value, or the smallest empirical value, whichever
// applies and is largest. A channel's Min is its contribution to lookahead.
func (d Dist) Min() liaison.Time {
	switch d.Kind {
	case Fixed:
		return max(d.Fixed, d.Floor)
	case Uniform:
		return d.Low
	case Empirical:
		return max(slices.Min(d.Values), d.Floor)
	}
	return d.Floor
}

// Mean is the mean delay in milliseconds. It is exact (floor included) for
// fixed, uniform and empirical; for exponential, lognormal and normal it is
// the mean of the distribution without its floor and, for normal, without
// the clamp at 0, which the analytic figures in reports are compared with.
// Sample's rounding up to the millisecond adds about half a millisecond.
func (d Dist) Mean() float64 {
	switch d.Kind {
	case Fixed:
		return float64(max(d.Fixed, d.Floor))
	case Uniform:
		return float64(d.Low+d.High) / 2
	case Exponential, Normal:
		return float64(d.Center)
	case Lognormal:
		return float64(d.Center) * math.Exp(d.Sigma*d.Sigma/2)
	case Empirical:
		var m float64
		for i, v := range d.Values {
			m += d.Weights[i] * float64(max(v, d.Floor))
		}
		return m
	}
	return float64(d.Floor)
}

// distPattern is the JSON Schema regular expression of a Dist: a duration,
// or a known kind with parenthesised arguments (checked in detail by the
// loader).
func distPattern() string {
	return `^ *(` + durationPattern + `|(fixed|uniform|exponential|lognormal|normal|empirical) *\(.*\)) *$`
}

func (Dist) jsonSchema() map[string]any {
	return orZero(map[string]any{"type": "string", "pattern": distPattern()})
}
