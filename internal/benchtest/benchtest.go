// Package benchtest holds what Liaison's benchmarks measure alike in
// several packages.
package benchtest

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PeakHeap samples the heap in use every 20 ms until stop is closed; the
// function it returns waits for the sampler and gives the largest value
// seen, in bytes.
func PeakHeap(stop <-chan struct{}) func() uint64 {
	var peak atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { wg.Wait(); return peak.Load() }
}
