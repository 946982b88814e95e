package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"liaison"
	"liaison/console"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

// `liaison run --speed N --console ADDR [--players IDS]` serves the web
// console of a tabletop exercise: the facilitator's page and one page per
// player seat, each behind a secret link printed when the run starts.
func init() { runExtensions = append(runExtensions, newConsoleExtension) }

type consoleExtension struct {
	fs      *flag.FlagSet
	addr    string
	players string
	public  bool
	stderr  io.Writer

	con    *console.Console
	srv    *http.Server
	served chan error
	// URL is the console's address once Configure has bound it.
	URL string
}

func newConsoleExtension(fs *flag.FlagSet) runExtension {
	x := &consoleExtension{fs: fs}
	fs.StringVar(&x.addr, "console", "", "serve the web console of a tabletop exercise at `ADDR` (host:port; :8089 binds 127.0.0.1:8089, :0 a free port); needs --speed")
	fs.StringVar(&x.players, "players", "", "seat people at these agencies (`IDS`, comma-separated) besides the scenario's players: with --console, or with --replay to replay a run that had them")
	fs.BoolVar(&x.public, "console-public", false, "let --console listen on an address other machines can reach (plain HTTP: the links' tokens travel unencrypted)")
	return x
}

func (x *consoleExtension) bind(m *Main) { x.stderr = m.Stderr }

// consoleListenAddr binds to the loopback interface unless the address
// names a host, and refuses a host other machines can reach unless the
// facilitator says so.
func consoleListenAddr(addr string, public bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--console %q: %w (expected host:port or :port)", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if !public && !loopback(host) {
		return "", fmt.Errorf("--console %s would serve other machines; the console speaks plain HTTP, so its links' tokens travel unencrypted: add --console-public to mean it, or use 127.0.0.1:%s", addr, port)
	}
	return net.JoinHostPort(host, port), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (x *consoleExtension) Configure(cfg *sim.Config) error {
	replay := x.fs.Lookup("replay") != nil && x.fs.Lookup("replay").Value.String() != ""
	if x.addr == "" {
		switch {
		case x.players != "" && !replay:
			return errors.New("--players seats people at the console: add --console ADDR (and --speed N), or --replay LOG to replay a run that had them")
		case x.public:
			return errors.New("--console-public needs --console ADDR")
		}
	}
	sc, err := cfg.Scenario.Apply(cfg.Variant)
	if err != nil {
		return err
	}
	var players []liaison.AgencyID
	for p := range strings.SplitSeq(x.players, ",") {
		id := liaison.AgencyID(strings.TrimSpace(p))
		if id == "" {
			continue
		}
		if !slices.ContainsFunc(sc.Agencies, func(a scenarios.Agency) bool { return a.ID == id }) {
			var ids []string
			for _, a := range sc.Agencies {
				ids = append(ids, string(a.ID))
			}
			return fmt.Errorf("--players: no agency %q in %s; its agencies are %s", id, sc.Name, strings.Join(ids, ", "))
		}
		if !slices.Contains(players, id) {
			players = append(players, id)
		}
	}
	// The engine seats them (a replay too: the players decide what the
	// log's decisions say).
	cfg.Players = players
	if x.addr == "" {
		return nil
	}
	if s := x.fs.Lookup("speed"); s == nil || s.Value.String() == "0" || s.Value.String() == "" {
		return errors.New("--console needs --speed N: people follow a run paced against the wall clock (e.g. --speed 60, a simulated minute per second)")
	}
	if replay {
		return errors.New("--console takes live actions and --replay plays recorded ones: replay without --console (with the same --players)")
	}
	addr, err := consoleListenAddr(x.addr, x.public)
	if err != nil {
		return err
	}
	var speed float64
	fmt.Sscan(x.fs.Lookup("speed").Value.String(), &speed)
	x.con = console.New(console.Options{Speed: speed})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--console %s: %w", x.addr, err)
	}
	x.URL = "http://" + ln.Addr().String() + "/"
	x.srv = &http.Server{Handler: x.con, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	x.served = make(chan error, 1)
	go func() { x.served <- x.srv.Serve(ln) }()

	cfg.Observers = append(cfg.Observers, x.con.Observe)
	cfg.OnAction = append(cfg.OnAction, x.con.Action)
	cfg.OnStart = append(cfg.OnStart, func(s sim.Started) {
		if err := x.con.Start(s.Info, s.Players, s.Info.DecisionTimeoutSeconds, console.RunnerFunc(s.Act)); err != nil {
			fmt.Fprintf(x.stderr, "liaison run: the console cannot start: %v\n", err)
			return
		}
		x.printLinks(s.Info)
	})
	return nil
}

// printLinks prints each person's link: they are the only way in.
func (x *consoleExtension) printLinks(info *events.RunInfo) {
	var b strings.Builder
	fmt.Fprintf(&b, "liaison: console of %s at %s (each link is one person's key; hand out only their own)\n", info.Scenario, x.URL)
	if host, _, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(x.URL, "http://"), "/")); !loopback(host) {
		fmt.Fprintf(&b, "liaison: the console is served to other machines, over plain HTTP: anyone who sees a link on the network can use it\n")
	}
	for _, s := range x.con.Seats() {
		who := "facilitator"
		if s.Role == "player" {
			who = "player " + s.Agency
		}
		fmt.Fprintf(&b, "  %-22s %s?token=%s\n", who+":", x.URL, s.Token)
	}
	io.WriteString(x.stderr, b.String())
}

// Stop tells the pages the run is over, as soon as it is.
func (x *consoleExtension) Stop(runErr error) {
	if x.con == nil {
		return
	}
	switch {
	case runErr == nil:
		x.con.End("completed")
	case errors.Is(runErr, context.Canceled):
		x.con.End("stopped")
	default:
		x.con.End("failed: " + runErr.Error())
	}
}

func (x *consoleExtension) Finish(context.Context, *events.Summary, error, io.Writer) error {
	return nil
}

// Close stops serving: the pages' streams have ended with the run; a
// request still going gets a moment to finish.
func (x *consoleExtension) Close() error {
	if x.srv == nil {
		return nil
	}
	x.con.End("stopped")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := x.srv.Shutdown(ctx); err != nil {
		x.srv.Close()
	}
	<-x.served
	return nil
}
