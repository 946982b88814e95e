package events

import (
	"math/bits"
	"slices"

	"liaison"
)

// Sketch accumulates durations for quantiles in memory bounded by the spread
// of the values, not their number: values below 1024 ms are kept exactly;
// larger ones fall in log-linear buckets 1/512 wide (relative error under
// 0.2%), the scheme HDR histograms use. Quantiles are deterministic and
// independent of the order values were added in.
type Sketch struct {
	counts map[uint32]uint64
	n      uint64
	sum    float64
	max    liaison.Time
}

const sketchSubBits = 9 // 512 sub-buckets per power of two

func bucketOf(v liaison.Time) uint32 {
	if v < 1<<(sketchSubBits+1) {
		if v < 0 {
			return 0
		}
		return uint32(v)
	}
	exp := bits.Len64(uint64(v)) - (sketchSubBits + 1) // ≥ 1
	mant := uint32(uint64(v)>>uint(exp)) & (1<<sketchSubBits - 1)
	return uint32(exp)<<(sketchSubBits+1) | 1<<sketchSubBits | mant
}

// bucketMid returns the middle of a bucket, rounded down to a millisecond.
func bucketMid(b uint32) liaison.Time {
	exp := b >> (sketchSubBits + 1)
	if exp == 0 {
		return liaison.Time(b)
	}
	mant := uint64(b & (1<<(sketchSubBits+1) - 1)) // includes the leading 1
	lo := mant << exp
	return liaison.Time(lo + (uint64(1)<<exp)/2)
}

// Add records one value.
func (s *Sketch) Add(v liaison.Time) {
	if s.counts == nil {
		s.counts = make(map[uint32]uint64)
	}
	s.counts[bucketOf(v)]++
	s.n++
	s.sum += float64(v)
	if v > s.max {
		s.max = v
	}
}

// Count returns how many values were added.
func (s *Sketch) Count() uint64 { return s.n }

// Mean returns the exact mean, in milliseconds.
func (s *Sketch) Mean() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / float64(s.n)
}

// Max returns the largest value added.
func (s *Sketch) Max() liaison.Time { return s.max }

// Quantiles returns the nearest-rank q-quantiles (0 < q ≤ 1) for each q, in
// one pass over the sorted buckets.
func (s *Sketch) Quantiles(qs ...float64) []liaison.Time {
	out := make([]liaison.Time, len(qs))
	if s.n == 0 {
		return out
	}
	keys := make([]uint32, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, q := range qs {
		rank := uint64(q*float64(s.n) + 0.999999999) // ceil, robust to float noise
		if rank < 1 {
			rank = 1
		}
		var seen uint64
		for _, k := range keys {
			seen += s.counts[k]
			if seen >= rank {
				out[i] = min(bucketMid(k), s.max)
				break
			}
		}
	}
	return out
}
