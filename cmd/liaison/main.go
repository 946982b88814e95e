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
	"syscall"
)

func main() {
	// SIGINT (Ctrl-C) and SIGTERM (systemd, docker stop, CI) both stop a
	// command cleanly: its context is cancelled, it removes its temporary
	// files and says why it stopped. A second signal ends the program at
	// once, for a command that does not stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	m := &Main{Stdout: os.Stdout, Stderr: os.Stderr}
	// The handlers stay in place up to the exit: a signal that arrives
	// after the work is done must not kill the program with the default
	// action and lose its exit code.
	os.Exit(m.Run(ctx, os.Args[1:]))
}
