//go:build unix

package metrics_test

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSS returns a finished process's peak resident memory in KiB.
func maxRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024, true // bytes there
	}
	return int64(ru.Maxrss), true
}
