package compare

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMcNemar(t *testing.T) {
	for _, tc := range []struct {
		a, b int
		want float64
	}{
		{0, 0, 1},
		{6, 0, 2 * math.Pow(0.5, 6)}, // every disagreeing seed one way
		{0, 6, 2 * math.Pow(0.5, 6)},
		{3, 3, 1},
		{5, 1, 2 * (1 + 6) / 64.0}, // P(X <= 1) for Binomial(6, 1/2), doubled
	} {
		if got := McNemar(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("McNemar(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPairedT(t *testing.T) {
	// Differences 1..5: mean 3, sd sqrt(2.5), t = 3/(sqrt(2.5)/sqrt(5)) = 4.243 on 4 df.
	iv, p := PairedT([]float64{1, 2, 3, 4, 5}, 0.95)
	if iv.Est != 3 || math.Abs(p-0.01324) > 1e-4 || !(iv.Lo > 0) {
		t.Errorf("PairedT = %+v, p %v; want mean 3, p 0.0132, interval above 0", iv, p)
	}
	if _, p := PairedT([]float64{0, 0, 0}, 0.95); p != 1 {
		t.Errorf("no difference: p %v, want 1", p)
	}
	if _, p := PairedT([]float64{2, 2, 2}, 0.95); p != 0 {
		t.Errorf("a constant difference: p %v, want 0", p)
	}
	if _, p := PairedT([]float64{2}, 0.95); !math.IsNaN(p) {
		t.Errorf("one pair: p %v, want NaN", p)
	}
}

// The bootstrap finds a real shift of the median, not an absent one, and
// gives the same interval for the same data every time.
func TestPairedQuantileDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, c := make([]float64, 30), make([]float64, 30), make([]float64, 30)
	for i := range a {
		a[i] = 100 + 20*rng.NormFloat64()
		b[i] = a[i] - 30 + 5*rng.NormFloat64() // paired: the same seed, 30 faster
		c[i] = a[i] + 2*rng.NormFloat64()
	}
	iv := PairedQuantileDiff(a, b, 0.5, 0.95)
	if !(iv.Lo > 0) || iv.Est < 20 || iv.Est > 40 {
		t.Errorf("shifted median: %+v, want about 30 with an interval above 0", iv)
	}
	if again := PairedQuantileDiff(a, b, 0.5, 0.95); again != iv {
		t.Errorf("the same data gave %+v, then %+v", iv, again)
	}
	if iv := PairedQuantileDiff(a, c, 0.5, 0.95); iv.Lo > 0 || iv.Hi < 0 {
		t.Errorf("no shift: %+v, want an interval around 0", iv)
	}
	// Censored runs: "never" is later than any time, and two nevers tie.
	inf := math.Inf(1)
	if iv := PairedQuantileDiff([]float64{inf, inf, inf}, []float64{1, 2, 3}, 0.5, 0.95); !math.IsInf(iv.Est, 1) || !math.IsInf(iv.Lo, 1) {
		t.Errorf("never against times: %+v, want +Inf", iv)
	}
	if iv := PairedQuantileDiff([]float64{inf, inf}, []float64{inf, inf}, 0.5, 0.95); iv.Est != 0 {
		t.Errorf("never against never: %+v, want 0", iv)
	}
}

// RunsToClose is the least number of runs whose quantile interval closes
// when the observed share of runs reaches: with no censoring, that is the
// sample size at which the order-statistic interval gets an upper bound.
func TestRunsToClose(t *testing.T) {
	sample := func(n, censored int) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i + 1)
			if i >= n-censored {
				x[i] = math.Inf(1)
			}
		}
		return x
	}
	for _, tc := range []struct {
		n, censored int
		q, level    float64
	}{
		{20, 0, 0.95, 0.95},
		{20, 0, 0.5, 0.95},
		{4, 0, 0.5, 0.95},
		{20, 2, 0.5, 0.95},
		{40, 1, 0.95, 0.95},
		{10, 0, 0.95, 0.99},
	} {
		n, ok := RunsToClose(tc.n, tc.censored, tc.q, tc.level)
		if !ok || n <= tc.n {
			t.Errorf("%+v: %d, %v; want a number above %d", tc, n, ok, tc.n)
			continue
		}
		// With the same censoring share, n runs close it and n-1 (when
		// above the runs done) do not.
		share := float64(tc.censored) / float64(tc.n)
		closed := func(n int) bool {
			iv := QuantileCI(sample(n, int(math.Ceil(share*float64(n)))), tc.q, tc.level)
			return !iv.open()
		}
		if !closed(n) {
			t.Errorf("%+v: %d runs do not close it", tc, n)
		}
		if n-1 > tc.n && closed(n-1) {
			t.Errorf("%+v: %d runs already close it; RunsToClose said %d", tc, n-1, n)
		}
	}
	if n, _ := RunsToClose(20, 0, 0.95, 0.95); n != 72 {
		t.Errorf("p95 at 95%% with no censoring: %d runs, want 72 (0.95^72 < 0.025 < 0.95^71)", n)
	}
	// A quantile beyond the censored share never closes.
	if _, ok := RunsToClose(20, 2, 0.95, 0.95); ok {
		t.Error("p95 with 10% of runs censored closes, want never")
	}
	if _, ok := RunsToClose(20, 10, 0.5, 0.95); ok {
		t.Error("the median with half the runs censored closes, want never")
	}
}
