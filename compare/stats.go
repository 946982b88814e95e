package compare

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Level is the confidence level of every interval.
const Level = 0.95

// Interval is an estimate with its confidence interval. Lo and Hi are NaN
// when the data cannot give one (fewer than two values); an infinite bound
// means the interval is open on that side (a censored order statistic).
type Interval struct {
	Est float64 `json:"estimate"`
	Lo  float64 `json:"lo"`
	Hi  float64 `json:"hi"`
	N   int     `json:"n"`
}

// MeanCI is the sample mean with a Student t interval.
func MeanCI(x []float64) Interval {
	n := len(x)
	if n == 0 {
		return Interval{math.NaN(), math.NaN(), math.NaN(), 0}
	}
	m, sd := stat.MeanStdDev(x, nil)
	if n < 2 {
		return Interval{m, math.NaN(), math.NaN(), n}
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(1 - (1-Level)/2)
	h := t * stat.StdErr(sd, float64(n))
	return Interval{m, m - h, m + h, n}
}

// WilsonCI is a proportion (k of n) with the Wilson score interval.
func WilsonCI(k, n int) Interval {
	if n == 0 {
		return Interval{math.NaN(), math.NaN(), math.NaN(), 0}
	}
	z := distuv.UnitNormal.Quantile(1 - (1-Level)/2)
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
func QuantileCI(x []float64, q float64) Interval {
	n := len(x)
	if n == 0 {
		return Interval{math.NaN(), math.NaN(), math.NaN(), 0}
	}
	s := slices.Clone(x)
	slices.Sort(s)
	est := stat.Quantile(q, stat.Empirical, s, nil)
	b := distuv.Binomial{N: float64(n), P: q}
	a := (1 - Level) / 2
	// Ranks are 1-based: P(X(l) <= quantile <= X(u)) = CDF(u-1) - CDF(l-1).
	l := 0
	for k := 1; k <= n; k++ {
		if b.CDF(float64(k-1)) <= a {
			l = k
		}
	}
	u := n + 1
	for k := n; k >= 1; k-- {
		if b.CDF(float64(k-1)) >= 1-a {
			u = k
		}
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if l >= 1 {
		lo = s[l-1]
	}
	if u <= n {
		hi = s[u-1]
	}
	return Interval{est, lo, hi, n}
}
