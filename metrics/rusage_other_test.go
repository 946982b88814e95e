//go:build !unix

package metrics_test

import "os"

// maxRSS is not known here.
func maxRSS(*os.ProcessState) (int64, bool) { return 0, false }
