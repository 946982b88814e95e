package scenarios

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"liaison"
)

func mustDist(t *testing.T, s string) Dist {
	t.Helper()
	d, err := ParseDist(s)
	if err != nil {
		t.Fatalf("ParseDist(%q): %v", s, err)
	}
	return d
}

func TestParseDist(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string
		min  liaison.Time
		mean float64
	}{
		{"10m", Fixed, 10 * liaison.Minute, 600000},
		{"0", Fixed, 0, 0},
		{"fixed(10m)", Fixed, 10 * liaison.Minute, 600000},
		{"fixed(1m, min=2m)", Fixed, 2 * liaison.Minute, 120000},
		{"uniform(1m, 5m)", Uniform, liaison.Minute, 180000},
		{"exponential(mean=10m)", Exponential, 0, 600000},
		{"exponential(mean=10m, min=30s)", Exponential, 30 * liaison.Second, 600000},
		{"lognormal(median=20m, sigma=0.6)", Lognormal, 0, 1200000 * math.Exp(0.18)},
		{"lognormal( median = 10m , sigma=0.4, min=1m )", Lognormal, liaison.Minute, 600000 * math.Exp(0.08)},
		{"normal(mean=1h, sd=10m)", Normal, 0, 3600000},
		{"empirical(1m, 5m, 10m)", Empirical, liaison.Minute, 320000},
		{"empirical(1m:0.2, 5m:0.8)", Empirical, liaison.Minute, 0.2*60000 + 0.8*300000},
		{"empirical(1m:1, 5m:3, min=2m)", Empirical, 2 * liaison.Minute, 0.25*120000 + 0.75*300000},
	} {
		d := mustDist(t, tc.in)
		if d.Kind != tc.kind || d.Min() != tc.min || math.Abs(d.Mean()-tc.mean) > 1e-6 {
			t.Errorf("%q: kind %s min %d mean %v; want %s %d %v", tc.in, d.Kind, d.Min(), d.Mean(), tc.kind, tc.min, tc.mean)
		}
	}
}

func TestParseDistErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"lognormal(median=10m)", `lognormal needs median=DURATION and sigma=NUMBER, got "lognormal(median=10m)": no sigma`},
		{"gamma(1, 2)", `unknown distribution "gamma(1, 2)"; expected a duration such as 10m`},
		{"uniform(5m, 1m)", `uniform needs two durations LOW <= HIGH`},
		{"uniform(1m, 5m, min=1m)", `uniform takes no named parameters`},
		{"exponential(10m)", `exponential needs mean=DURATION, got "exponential(10m)"`},
		{"exponential(mean=0)", `mean must be positive`},
		{"normal(mean=1h)", `no sd`},
		{"empirical()", `no values`},
		{"empirical(1m:0.5, 2m)", `weights to all values or to none`},
		{"empirical(1m:-1)", `not a positive number`},
		{"empirical(1m:1e308, 1h:1e308)", `add up to more than a float holds`},
		{"fixed(10m", `no closing parenthesis`},
		{"lognormal(median=10m, sigma=0.4, mean=3m)", `unknown mean`},
		{"10 minutes", `bad distribution "10 minutes"`},
	} {
		_, err := ParseDist(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDist(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// countingSource counts the Uint64 draws a Rand makes.
type countingSource struct {
	rand.Source
	n int
}

func (c *countingSource) Uint64() uint64 { c.n++; return c.Source.Uint64() }

var sampleKinds = []struct {
	in    string
	draws int
}{
	{"10m", 0},
	{"uniform(1m, 5m)", 1},
	{"exponential(mean=10m, min=1m)", 1},
	{"lognormal(median=20m, sigma=0.6, min=2m)", 2},
	{"normal(mean=5m, sd=10m, min=30s)", 2},
	{"normal(mean=1m, sd=5m)", 2},
	{"empirical(1m:0.2, 5m:0.8)", 1},
	{"empirical(1m, 5m, 10m, min=2m)", 1},
}

func TestSampleProperties(t *testing.T) {
	for _, k := range sampleKinds {
		d := mustDist(t, k.in)
		src := &countingSource{Source: rand.NewPCG(1, 2)}
		r := rand.New(src)
		again := rand.New(rand.NewPCG(1, 2))
		for i := range 10000 {
			before := src.n
			x := d.Sample(r)
			if src.n-before != k.draws {
				t.Fatalf("%s: draw %d took %d draws, want %d", k.in, i, src.n-before, k.draws)
			}
			if x < d.Min() || x < 0 {
				t.Fatalf("%s: sample %d below the minimum %d", k.in, x, d.Min())
			}
			if d.Kind == Uniform && x > d.High {
				t.Fatalf("%s: sample %d above the upper bound", k.in, x)
			}
			if y := d.Sample(again); y != x {
				t.Fatalf("%s: same seed gave %d then %d", k.in, x, y)
			}
		}
	}
	if got := (&Dist{}).Sample(rand.New(rand.NewPCG(1, 1))); got != 0 {
		t.Errorf("zero Dist sampled %d", got)
	}
}

// TestSampleMean checks the sampler against the analytic mean: a wrong
// parameterisation (sigma as variance, rate for mean) shows up here.
func TestSampleMean(t *testing.T) {
	const n = 100000
	for _, in := range []string{"exponential(mean=10m)", "lognormal(median=20m, sigma=0.6)", "normal(mean=1h, sd=10m)", "uniform(1m, 5m)", "empirical(1m:0.2, 5m:0.8)"} {
		d := mustDist(t, in)
		r := rand.New(rand.NewPCG(42, 7))
		var sum float64
		for range n {
			sum += float64(d.Sample(r))
		}
		if got := sum / n; math.Abs(got-d.Mean()) > 0.02*d.Mean() {
			t.Errorf("%s: sample mean %.0f, analytic %.0f", in, got, d.Mean())
		}
	}
}

func TestHandlingFor(t *testing.T) {
	h := Handling{Default: mustDist(t, "30m"), ByType: map[liaison.MessageType]Dist{"sirene-G": mustDist(t, "5m")}}
	if h.For("sirene-G").Fixed != 5*liaison.Minute || h.For("other").Fixed != 30*liaison.Minute {
		t.Errorf("For picks the wrong distribution: %+v", h)
	}
	if d := (Handling{}).For("x"); d.Sample(nil) != 0 {
		got := d.Sample(nil)
		t.Errorf("zero Handling samples %d", got)
	}
}
