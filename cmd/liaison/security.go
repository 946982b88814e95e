package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nats-io/nats.go"

	"liaison/auth"
	"liaison/broker"
	"liaison/events"
	"liaison/sim"
)

// Need to know and TLS for the commands that connect to NATS: every agency
// as its own user (--need-to-know on the embedded server, --creds with
// liaison auth's files on an external one), and TLS client certificates.

func init() {
	runExtensions = append(runExtensions, newSecurityFlags)
}

// clientFlags are the flags every connecting command takes.
type clientFlags struct {
	creds, cert, key, ca *string
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	c := addTLSFlags(fs)
	c.creds = fs.String("creds", "", "connect as the NATS users whose nkey seeds liaison auth wrote to `DIR`")
	return c
}

// addTLSFlags adds the TLS client flags alone: comparisons and workers
// take no --creds, since need-to-know users are agencies'.
func addTLSFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{creds: new(string),
		cert: fs.String("tls-cert", "", "TLS client certificate `FILE` (PEM)"),
		key:  fs.String("tls-key", "", "TLS client key `FILE` (PEM)"),
		ca:   fs.String("tls-ca", "", "certificate authority `FILE` (PEM) that signed the server's certificate")}
}

// processName names this process where no name is given: the host name
// and the process id.
func processName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// tls returns the TLS connect options, if any were asked for.
func (c clientFlags) tls() ([]nats.Option, error) {
	if *c.cert == "" && *c.key == "" && *c.ca == "" {
		return nil, nil
	}
	return broker.TLSOptions(*c.cert, *c.key, *c.ca)
}

// as returns the connect options for one user: its seed (with --creds)
// and TLS.
func (c clientFlags) as(user string) ([]nats.Option, error) {
	opts, err := c.tls()
	if err != nil || *c.creds == "" {
		return opts, err
	}
	o, err := auth.Option(auth.SeedFile(*c.creds, user))
	if err != nil {
		return nil, err
	}
	return append(opts, o), nil
}

type securityFlags struct {
	client     clientFlags
	needToKnow *bool
}

func newSecurityFlags(fs *flag.FlagSet) runExtension {
	return &securityFlags{client: addClientFlags(fs),
		needToKnow: fs.Bool("need-to-know", false, "connect every agency as its own NATS user, allowed only its channels' subjects (the embedded server enforces it; see liaison auth for external servers)")}
}

func (s *securityFlags) Configure(cfg *sim.Config) error {
	opts, err := s.client.tls()
	if err != nil {
		return err
	}
	cfg.ConnectOptions, cfg.Creds, cfg.NeedToKnow = opts, *s.client.creds, *s.needToKnow
	if cfg.NeedToKnow && cfg.NATSURL != "" && cfg.Creds == "" {
		return errors.New("--need-to-know with --nats needs --creds DIR (liaison auth writes the server's users and their seeds)")
	}
	if cfg.NeedToKnow && cfg.NATSURL == "" && cfg.ExternalNodes > 0 {
		return errors.New("--need-to-know keeps the embedded server's users in memory, where --nodes in other processes cannot have them: write them with liaison auth --node-names, start a server with its configuration, and give every process --creds")
	}
	return nil
}

func (s *securityFlags) Finish(context.Context, *events.Summary, error, io.Writer) error { return nil }
