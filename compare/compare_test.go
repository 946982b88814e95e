package compare

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"liaison/scenarios"
)

func research(t testing.TB) *scenarios.Scenario {
	sc, err := scenarios.Builtin("ctg-research")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Results do not depend on the number of workers: the CSV is byte-identical.
func TestParallelIdentical(t *testing.T) {
	sc := research(t)
	var csv [2]bytes.Buffer
	var table [2]bytes.Buffer
	for i, p := range []int{1, 3} {
		res, err := Compare(context.Background(), Config{Scenario: sc, Variants: []string{"", "mesh"}, Runs: 4, Parallel: p, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.WriteCSV(&csv[i]); err != nil {
			t.Fatal(err)
		}
		if err := res.WriteTable(&table[i]); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			var h bytes.Buffer
			if err := res.WriteHTML(&h); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{`data-chart="ecdf-I-1"`, `data-chart="bands-I-1"`, "<svg"} {
				if !strings.Contains(h.String(), id) {
					t.Errorf("HTML lacks %s", id)
				}
			}
		}
	}
	if !bytes.Equal(csv[0].Bytes(), csv[1].Bytes()) {
		t.Errorf("CSV differs between P=1 and P=3:\n%s\n---\n%s", csv[0].String(), csv[1].String())
	}
	if !bytes.Equal(table[0].Bytes(), table[1].Bytes()) {
		t.Error("table differs between P=1 and P=3")
	}
	// 2 variants × 4 runs × 2 injects, plus the header.
	if n := strings.Count(csv[0].String(), "\n"); n != 1+2*4*2 {
		t.Errorf("%d CSV lines, want %d", n, 1+2*4*2)
	}
	if !strings.Contains(table[0].String(), "censored") {
		t.Error("table does not say how censored runs are treated")
	}
}

// A 95% t interval for the mean covers the true mean in about 95% of
// trials; the Wilson interval likewise for a proportion.
func TestCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	norm := distuv.Normal{Mu: 10, Sigma: 3, Src: rng}
	const trials = 1000
	covered, wcovered, qcovered := 0, 0, 0
	for range trials {
		x := make([]float64, 12)
		k := 0
		for i := range x {
			x[i] = norm.Rand()
			if x[i] < 10 {
				k++
			}
		}
		if iv := MeanCI(x, DefaultLevel); iv.Lo <= 10 && 10 <= iv.Hi {
			covered++
		}
		big := make([]float64, 40)
		kb := 0
		for i := range big {
			big[i] = norm.Rand()
			if big[i] < 12 {
				kb++
			}
		}
		p := distuv.Normal{Mu: 10, Sigma: 3}.CDF(12)
		if iv := WilsonCI(kb, len(big), DefaultLevel); iv.Lo <= p && p <= iv.Hi {
			wcovered++
		}
		if iv := QuantileCI(big, 0.5, DefaultLevel); iv.Lo <= 10 && 10 <= iv.Hi {
			qcovered++
		}
		_ = k
	}
	for name, c := range map[string]int{"t mean": covered, "Wilson": wcovered} {
		if f := float64(c) / trials; f < 0.93 || f > 0.97 {
			t.Errorf("%s coverage %.3f, want 0.93..0.97", name, f)
		}
	}
	// Order-statistic intervals are conservative: at least 95%.
	if f := float64(qcovered) / trials; f < 0.93 || f > 0.995 {
		t.Errorf("median interval coverage %.3f, want at least 0.93", f)
	}
}

func TestCensoredQuantiles(t *testing.T) {
	inf := math.Inf(1)
	x := []float64{1, 2, 3, inf, inf, inf}
	if iv := QuantileCI(x, 0.5, DefaultLevel); iv.Est != 3 {
		t.Errorf("median %v, want 3", iv.Est)
	}
	if iv := QuantileCI(x, 0.95, DefaultLevel); !math.IsInf(iv.Est, 1) {
		t.Errorf("p95 %v, want +Inf (censored)", iv.Est)
	}
	if iv := MeanCI([]float64{5}, DefaultLevel); iv.Est != 5 || !math.IsNaN(iv.Lo) {
		t.Errorf("one value: %+v", iv)
	}
}

func benchRuns(b *testing.B, p int) {
	sc := research(b)
	b.ResetTimer()
	if _, err := Compare(context.Background(), Config{Scenario: sc, Variants: []string{""}, Runs: b.N, Parallel: p, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}

// BenchmarkRuns measures replications per second of ctg-research (base).
func BenchmarkRuns(b *testing.B) {
	b.Run("P=1", func(b *testing.B) { benchRuns(b, 1) })
	b.Run("P=2", func(b *testing.B) { benchRuns(b, 2) })
}
