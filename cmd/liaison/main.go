// Command liaison runs scenarios of information exchange between police and
// security agencies over NATS and reports who learned what, when, and where
// information got stuck.
//
//	liaison list                      built-in scenarios
//	liaison validate FILE|NAME...     check scenario files
//	liaison run [flags] FILE|NAME     run a scenario
//	liaison schema                    JSON Schema of scenario files
//
// Exit codes: 0 success, 1 the run failed, 2 bad usage or invalid scenario.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	code := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
