// Package broker is Liaison's NATS side: the embedded server, connections
// that account for every asynchronous error, the one helper that builds
// subjects, and the time service that keeps agents on many connections (or
// many processes) in step under conservative synchronisation.
package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison"
)

// ServerOptions configure an embedded NATS server.
type ServerOptions struct {
	// Listen is host:port for client connections from other processes.
	// Empty keeps the server in process only (no port at all).
	Listen string
	// Name names the server in logs and cluster views.
	Name string
	// ClusterListen is host:port for routes from other servers of a
	// cluster; Routes are the other servers' route URLs
	// (nats-route://host:port). ClusterName defaults to "liaison".
	ClusterListen string
	Routes        []string
	ClusterName   string
	// TLSCert and TLSKey, PEM files, turn on TLS for client connections
	// and routes; TLSCA, a PEM file of the certificate authority, makes
	// the server verify client certificates against it and is required for
	// routes over TLS (both ends of a route verify each other). See
	// TLSOptions for the client side.
	TLSCert, TLSKey, TLSCA string
	// Options, when set, is applied last to the server's options: auth
	// sets users and permissions with it, tests tweak what they need.
	Options func(*server.Options)
}

// MaxPayload is the largest NATS message Liaison publishes: event batches
// are cut to fit, so runs work on servers with the default limit too.
const MaxPayload = 512 << 10

// StartServer starts an embedded nats-server and waits until it accepts
// connections. The caller shuts it down with Shutdown and WaitForShutdown.
func StartServer(o ServerOptions) (*server.Server, error) {
	opts := &server.Options{
		ServerName: o.Name,
		NoLog:      true,
		NoSigs:     true,
		DontListen: o.Listen == "",
		MaxPayload: 1 << 20,
		// A run publishes in bursts (one window's messages at a time);
		// the default pending limit would cut off a fast reader.
		MaxPending: 256 << 20,
	}
	if o.Listen != "" {
		host, p, err := hostPort(o.Listen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, p
	}
	if o.ClusterListen != "" {
		host, p, err := hostPort(o.ClusterListen)
		if err != nil {
			return nil, err
		}
		if err := canListen("cluster", host, p); err != nil {
			return nil, err
		}
		opts.Cluster.Host, opts.Cluster.Port = host, p
		opts.Cluster.Name = o.ClusterName
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "liaison"
		}
		if opts.DontListen {
			// Routes need a client listener too; keep it on loopback.
			opts.DontListen, opts.Host, opts.Port = false, "127.0.0.1", -1
		}
	}
	for _, r := range o.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("broker: route %q: expected nats-route://host:port", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	if err := applyTLS(opts, o); err != nil {
		return nil, err
	}
	if o.Options != nil {
		o.Options(opts)
	}
	if !opts.DontListen {
		if err := canListen("client", opts.Host, opts.Port); err != nil {
			return nil, err
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("broker: starting embedded NATS server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("broker: embedded NATS server not ready within 10s")
	}
	return s, nil
}

// canListen checks that the server will be able to bind host:port. The
// NATS server only logs a failed bind and never becomes ready, which would
// leave the caller waiting for ReadyForConnections to time out; a port
// already in use is better said at once. Port 0 or -1 (any free port)
// cannot clash.
func canListen(what, host string, port int) error {
	if port <= 0 {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("broker: cannot listen for %s connections on %s: %w", what, addr, err)
	}
	return l.Close()
}

func hostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("broker: address %q: %w (expected host:port, e.g. 127.0.0.1:4222)", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("broker: port %q is not a number", port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if p == 0 {
		p = server.RANDOM_PORT // any free port, as net.Listen reads :0 (NATS would read 0 as 4222)
	}
	return host, p, nil
}

// ErrorCounts counts what a connection's asynchronous error handler saw. A
// NATS publish that the server refuses returns nil at the call site and
// surfaces only here, so every connection Liaison makes installs one.
type ErrorCounts struct {
	SlowConsumer atomic.Int64
	Permission   atomic.Int64
	Other        atomic.Int64
	last         atomic.Value // string

	mu      sync.Mutex
	refused []string // subjects of refused publishes, in order
	handled error    // the latest error the handler saw
}

// Total returns the number of errors seen.
func (c *ErrorCounts) Total() int64 {
	return c.SlowConsumer.Load() + c.Permission.Load() + c.Other.Load()
}

// Last returns the text of the last error seen, or "".
func (c *ErrorCounts) Last() string {
	s, _ := c.last.Load().(string)
	return s
}

func (c *ErrorCounts) record(err error) {
	if err == nil {
		return
	}
	// The text and the refused subject first, the counts last: whoever
	// sees a count move finds what it counted.
	c.last.Store(err.Error())
	perm := strings.Contains(strings.ToLower(err.Error()), "permissions violation")
	c.mu.Lock()
	if m := refusedPublish.FindStringSubmatch(err.Error()); perm && m != nil {
		c.refused = append(c.refused, m[1])
	}
	c.handled = err
	c.mu.Unlock()
	switch {
	case errors.Is(err, nats.ErrSlowConsumer):
		c.SlowConsumer.Add(1)
	case perm:
		c.Permission.Add(1)
	default:
		c.Other.Add(1)
	}
}

// refusedPublish finds the subject in the server's refusal of a publish.
var refusedPublish = regexp.MustCompile(`(?i)permissions violation for publish to "([^"]+)"`)

// Refused returns the subjects whose publishes the server refused, from
// the from-th refusal on, and the count so far.
func (c *ErrorCounts) Refused(from int) ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.refused[min(from, len(c.refused)):]...), len(c.refused)
}

// Handled reports whether the error handler has seen err (the same error
// value) as its latest. Errors reach the handler in the order the server
// sent them, so once the connection's last error is handled, all are.
func (c *ErrorCounts) Handled(err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled == err
}

// Conn is a NATS connection with its error accounting.
type Conn struct {
	*nats.Conn
	Errors *ErrorCounts
}

// Connect opens a connection to the server at url, or to the embedded
// server srv in process when srv is not nil. Extra options (credentials,
// TLSOptions) are applied after Liaison's own.
func Connect(url string, srv *server.Server, name string, extra ...nats.Option) (*Conn, error) {
	ec := &ErrorCounts{}
	opts := []nats.Option{
		nats.Name(name),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { ec.record(err) }),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(64 << 20),
	}
	opts = append(opts, extra...)
	if srv != nil {
		// In process there is no network to time out on, and a deadline
		// on every write costs a timer.
		opts = append(opts, nats.InProcessServer(srv), nats.FlusherTimeout(0))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		where := url
		if srv != nil {
			where = "the embedded server"
		}
		return nil, fmt.Errorf("broker: connecting to %s: %w", where, err)
	}
	return &Conn{Conn: nc, Errors: ec}, nil
}

// ConnectWait is Connect to a server at url that may not be listening yet,
// for processes that may start before it (nodes, workers): while no server
// answers it tries again every quarter of a second, telling waiting once,
// until one does, ctx ends or wait has passed (0: no limit). Any other
// error (a refused user, a TLS mismatch) ends it at once.
func ConnectWait(ctx context.Context, url, name string, wait time.Duration, waiting func(), extra ...nats.Option) (*Conn, error) {
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	told := false
	for {
		c, err := Connect(url, nil, name, extra...)
		if err == nil || !errors.Is(err, nats.ErrNoServers) {
			return c, err
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (stopped waiting: %v)", err, context.Cause(ctx))
		case <-deadline:
			return nil, fmt.Errorf("%w (waited %v)", err, wait)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Subjects builds every NATS subject of one run. Tokens go from general to
// specific: liaison.<run>.<channel>.<to>.<from> for messages, and
// liaison.<run>.time.* for the time service. Channel ids are single tokens
// and never the reserved words time, ctl, events or inject, so the two
// families cannot collide. An agency id becomes one token (Token): the
// sender's place in the subject lets need to know bind each agency to its
// own name, since a user may publish only on subjects that end in it.
type Subjects struct {
	prefix string
}

// NewSubjects returns the subjects of the run with the given id (one token).
func NewSubjects(run string) Subjects { return Subjects{prefix: "liaison." + run + "."} }

// Token writes an agency id as one subject token. Ids are lower-case
// segments of [a-z0-9_-] joined by dots; the dots become colons, which ids
// never hold, so the token names one agency only.
func Token(a liaison.AgencyID) string { return strings.ReplaceAll(string(a), ".", ":") }

// Message is where agency from publishes a message for agency to on
// channel ch.
func (s Subjects) Message(ch liaison.ChannelID, to, from liaison.AgencyID) string {
	return s.Inbox(ch, to) + Token(from)
}

// Anonymous is the sender's token on the subject of a message published
// where the server does not authenticate agencies: there a sender's name on
// the subject would vouch for nothing (any client may publish anything), and
// the receiver relies on the payload alone.
const Anonymous = "_"

// Inbox is the prefix of every subject on which agency to receives on
// channel ch; the sender's token completes it.
func (s Subjects) Inbox(ch liaison.ChannelID, to liaison.AgencyID) string {
	return s.prefix + string(ch) + "." + Token(to) + "."
}

// InboxAll matches every message for agency to on channel ch, whoever sent
// it.
func (s Subjects) InboxAll(ch liaison.ChannelID, to liaison.AgencyID) string {
	return s.Inbox(ch, to) + "*"
}

// ChannelAll matches every message on channel ch, whoever it is for: a
// node that hosts every member of a channel takes them all on one
// subscription.
func (s Subjects) ChannelAll(ch liaison.ChannelID) string {
	return s.prefix + string(ch) + ".*.*"
}

// Grant is where the time service announces windows.
func (s Subjects) Grant() string { return s.prefix + "time.grant" }

// Join is where the node with the given name asks to take part in the
// run. The name is on the subject (as NodeToken makes it) so that a
// server can bind each node's user to its own name (liaison auth
// --node-names): the time service takes a join only when the name in it
// is the one on its subject.
func (s Subjects) Join(node string) string { return s.prefix + "time.join." + NodeToken(node) }

// JoinAll matches every node's Join subject.
func (s Subjects) JoinAll() string { return s.prefix + "time.join.*" }

// Up is where the named node reports to the time service: event batches,
// counts and next event times, in order on one subject. The service
// attributes a report to the node whose name is on its subject, so a node
// bound to its own subjects cannot speak for another.
func (s Subjects) Up(node string) string { return s.prefix + "time.up." + NodeToken(node) }

// UpAll matches every node's Up subject.
func (s Subjects) UpAll() string { return s.prefix + "time.up.*" }

// NodeToken is a node's name as one subject token (see RunToken); two
// nodes of a run may not share one.
func NodeToken(name string) string { return RunToken(name) }

// RunToken makes a string safe as one subject token.
func RunToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
