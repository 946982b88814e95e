package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultLevel is the confidence level of intervals and tests unless the
// comparison asks for another.
const DefaultLevel = 0.95

// Interval is an estimate with its confidence interval. Lo and Hi are NaN
// when the data cannot give one (fewer than two values); an infinite bound
// means the interval is open on that side (a censored order statistic).
type Interval struct {
	Est float64 `json:"estimate"`
	Lo  float64 `json:"lo"`
	Hi  float64 `json:"hi"`
	N   int     `json:"n"`
}

func noInterval(n int) Interval { return Interval{math.NaN(), math.NaN(), math.NaN(), n} }

// open reports whether the interval has an infinite bound.
func (iv Interval) open() bool { return math.IsInf(iv.Lo, 0) || math.IsInf(iv.Hi, 0) }

// MeanCI is the sample mean with a Student t interval at the level.
func MeanCI(x []float64, level float64) Interval {
	n := len(x)
	if n == 0 {
		return noInterval(0)
	}
	m, sd := stat.MeanStdDev(x, nil)
	if n < 2 {
		return Interval{m, math.NaN(), math.NaN(), n}
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(1 - (1-level)/2)
	h := t * stat.StdErr(sd, float64(n))
	return Interval{m, m - h, m + h, n}
}

// WilsonCI is a proportion (k of n) with the Wilson score interval.
func WilsonCI(k, n int, level float64) Interval {
	if n == 0 {
		return noInterval(0)
	}
	z := distuv.UnitNormal.Quantile(1 - (1-level)/2)
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / den
	h := z / den * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return Interval{p, math.Max(0, c-h), math.Min(1, c+h), n}
}

// QuantileCI is the empirical q-quantile (nearest rank, stat.Empirical)
// with a distribution-free interval between two order statistics chosen
// from the Binomial(n, q) distribution of the number of values below the
// true quantile. Values may be +Inf (censored: never happened within the
// run); the estimate and bounds are then +Inf where they fall on them.
func QuantileCI(x []float64, q, level float64) Interval {
	n := len(x)
	if n == 0 {
		return noInterval(0)
	}
	s := slices.Clone(x)
	slices.Sort(s)
	est := stat.Quantile(q, stat.Empirical, s, nil)
	l, u := orderRanks(n, q, level)
	lo, hi := math.Inf(-1), math.Inf(1)
	if l >= 1 {
		lo = s[l-1]
	}
	if u <= n {
		hi = s[u-1]
	}
	return Interval{est, lo, hi, n}
}

// orderRanks returns the 1-based ranks of the order statistics that bound
// the q-quantile at the level among n values: l is 0 and u is n+1 when n is
// too small for that side. P(X(l) <= quantile <= X(u)) = CDF(u-1) - CDF(l-1)
// for the Binomial(n, q) count of values below the quantile.
func orderRanks(n int, q, level float64) (l, u int) {
	b := distuv.Binomial{N: float64(n), P: q}
	a := (1 - level) / 2
	// l is the largest rank with CDF(l-1) <= a, u the least with
	// CDF(u-1) >= 1-a; the CDF grows with k, so both are binary searches.
	l = sort.Search(n, func(k int) bool { return b.CDF(float64(k)) > a })
	u = sort.Search(n, func(k int) bool { return b.CDF(float64(k)) >= 1-a }) + 1
	return l, u
}

// PairedT compares paired values (the same seeds, common random numbers):
// the mean of the differences a-b with its t interval, and the two-sided
// p-value of no difference. The p-value is NaN with fewer than two pairs.
func PairedT(diffs []float64, level float64) (Interval, float64) {
	iv := MeanCI(diffs, level)
	if len(diffs) < 2 {
		return iv, math.NaN()
	}
	_, sd := stat.MeanStdDev(diffs, nil)
	se := stat.StdErr(sd, float64(len(diffs)))
	if se == 0 {
		if iv.Est == 0 {
			return iv, 1
		}
		return iv, 0
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(diffs) - 1)}
	return iv, 2 * t.CDF(-math.Abs(iv.Est/se))
}

// McNemar is the exact test for paired yes/no outcomes: of the pairs that
// disagree, aOnly had yes for a alone and bOnly for b alone; under no
// difference each disagreeing pair goes either way with chance one half.
// It returns the two-sided p-value (1 when no pair disagrees).
func McNemar(aOnly, bOnly int) float64 {
	n := aOnly + bOnly
	if n == 0 {
		return 1
	}
	b := distuv.Binomial{N: float64(n), P: 0.5}
	return math.Min(1, 2*b.CDF(float64(min(aOnly, bOnly))))
}

// bootstrapRounds is how many resamples PairedQuantileDiff draws.
const bootstrapRounds = 2000

// PairedQuantileDiff is the difference of the q-quantiles of a and b
// (paired by seed) with a percentile bootstrap interval that resamples
// seeds, keeping pairs together. Values may be +Inf (censored); two
// infinite quantiles differ by 0 (both never). The resampling uses a fixed
// generator, so the same data give the same interval wherever it is
// computed.
func PairedQuantileDiff(a, b []float64, q, level float64) Interval {
	n := len(a)
	if n == 0 || len(b) != n {
		return noInterval(0)
	}
	diff := func(x, y []float64) float64 {
		qa := stat.Quantile(q, stat.Empirical, x, nil)
		qb := stat.Quantile(q, stat.Empirical, y, nil)
		if math.IsInf(qa, 1) && math.IsInf(qb, 1) {
			return 0
		}
		return qa - qb
	}
	sa, sb := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	est := diff(sa, sb)
	if n < 2 {
		return Interval{est, math.NaN(), math.NaN(), n}
	}
	rng := rand.New(rand.NewPCG(0x6c696169736f6e, uint64(n)))
	ds := make([]float64, bootstrapRounds)
	ra, rb := make([]float64, n), make([]float64, n)
	for k := range ds {
		for i := range n {
			j := rng.IntN(n)
			ra[i], rb[i] = a[j], b[j]
		}
		slices.Sort(ra)
		slices.Sort(rb)
		ds[k] = diff(ra, rb)
	}
	slices.Sort(ds)
	alpha := (1 - level) / 2
	return Interval{est, stat.Quantile(alpha, stat.Empirical, ds, nil), stat.Quantile(1-alpha, stat.Empirical, ds, nil), n}
}

// maxRunsToClose bounds the search of RunsToClose.
const maxRunsToClose = 1_000_000

// RunsToClose estimates how many runs per row would give the q-quantile a
// finite interval at the level, when censored of n runs never reached.
//
// The interval's bounds are the l-th and u-th order statistics, with l and
// u from the Binomial(N, q) distribution (orderRanks). With N runs the
// interval is closed when l >= 1 and the u-th smallest run reached, that
// is u <= the number of runs that reach. The estimate takes that number to
// be N times the observed share of runs that reached, (n-censored)/n, and
// returns the least N > n for which u(N) fits under it. When that share is
// at or below q no N suffices, since the quantile itself lies beyond the
// run's end: ok is false, and only a longer run (or a faster setup) helps.
// The estimate is as good as the observed censoring fraction: with few
// runs, treat it as an order of magnitude.
func RunsToClose(n, censored int, q, level float64) (runs int, ok bool) {
	reach := float64(n-censored) / float64(n)
	if n == 0 || reach <= q {
		return 0, false
	}
	closed := func(N int) bool {
		l, u := orderRanks(N, q, level)
		return l >= 1 && float64(u) <= math.Floor(float64(N)*reach)
	}
	// Double until closed, then bisect: u(N)/N falls towards q as N grows,
	// so the condition holds from some N on (up to the odd discrete step).
	hi := max(n+1, 2)
	for !closed(hi) {
		if hi >= maxRunsToClose {
			return 0, false
		}
		hi = min(2*hi, maxRunsToClose)
	}
	lo := max(n, hi/2) // closed(lo) is false or lo = n
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if closed(m) {
			hi = m
		} else {
			lo = m
		}
	}
	return hi, true
}
