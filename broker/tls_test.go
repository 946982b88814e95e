package broker_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison/auth/authtest"
	"liaison/broker"
)

func startTLS(t *testing.T, o broker.ServerOptions) *server.Server {
	t.Helper()
	s, err := broker.StartServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func tlsOpts(t *testing.T, cert, key, ca string) []nats.Option {
	t.Helper()
	opts, err := broker.TLSOptions(cert, key, ca)
	if err != nil {
		t.Fatal(err)
	}
	return append(opts, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
}

func connectOnce(url string, opts ...nats.Option) (*broker.Conn, error) {
	c, err := broker.Connect(url, nil, "tls test", append(opts, nats.Timeout(2*time.Second))...)
	return c, err
}

// TestTLSClients: a server with certificate and CA takes a client that
// verifies it and shows a certificate of the same CA, and refuses plain
// clients, clients without a certificate, and clients of another CA.
func TestTLSClients(t *testing.T) {
	c := authtest.NewCerts(t)
	s := startTLS(t, broker.ServerOptions{Listen: "127.0.0.1:-1", TLSCert: c.ServerCert, TLSKey: c.ServerKey, TLSCA: c.CA})
	url := s.ClientURL()

	ok, err := connectOnce(url, tlsOpts(t, c.ClientCert, c.ClientKey, c.CA)...)
	if err != nil {
		t.Fatalf("TLS client with the CA and a client certificate: %v", err)
	}
	defer ok.Close()
	state, err := ok.TLSConnectionState()
	if err != nil || !state.HandshakeComplete {
		t.Fatalf("connection is not TLS: %v %+v", err, state)
	}
	got := make(chan string, 1)
	if _, err := ok.Subscribe("tls.test", func(m *nats.Msg) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	if err := ok.Publish("tls.test", []byte("over TLS")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "over TLS" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message over the TLS connection")
	}

	refused := map[string][]nats.Option{
		"plain client":                   nil,
		"CA but no client certificate":   tlsOpts(t, "", "", c.CA),
		"client certificate, no CA":      tlsOpts(t, c.ClientCert, c.ClientKey, ""),
		"certificate of an unrelated CA": tlsOpts(t, c.OtherCert, c.OtherKey, c.CA),
		"trusting only an unrelated CA":  tlsOpts(t, c.ClientCert, c.ClientKey, c.OtherCA),
	}
	for what, opts := range refused {
		if nc, err := connectOnce(url, opts...); err == nil {
			nc.Close()
			t.Errorf("%s: connected, want refused", what)
		}
	}
	// Plain text on the raw socket: the server wants a TLS handshake.
	raw, err := net.DialTimeout("tcp", s.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, _ := raw.Read(buf) // INFO
	if !strings.Contains(string(buf[:n]), `"tls_required":true`) {
		t.Fatalf("INFO does not require TLS: %s", buf[:n])
	}
	fmt.Fprint(raw, "CONNECT {}\r\nPUB tls.test 5\r\nplain\r\nPING\r\n")
	n, _ = raw.Read(buf)
	if strings.Contains(string(buf[:n]), "PONG") {
		t.Fatalf("plain-text client got a PONG: %q", buf[:n])
	}
	select {
	case m := <-got:
		t.Fatalf("a plain-text publish was delivered: %q", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestTLSWithoutCA: a server with only a certificate takes TLS clients
// that trust its CA, without client certificates.
func TestTLSWithoutCA(t *testing.T) {
	c := authtest.NewCerts(t)
	s := startTLS(t, broker.ServerOptions{Listen: "127.0.0.1:-1", TLSCert: c.ServerCert, TLSKey: c.ServerKey})
	nc, err := connectOnce(s.ClientURL(), tlsOpts(t, "", "", c.CA)...)
	if err != nil {
		t.Fatalf("TLS client trusting the CA: %v", err)
	}
	nc.Close()
	if nc, err := connectOnce(s.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a client that does not trust the server's CA connected")
	}
}

// TestTLSInProcess: the embedded server's in-process connections (what a
// single-process run uses) keep working when the listener requires TLS.
func TestTLSInProcess(t *testing.T) {
	c := authtest.NewCerts(t)
	s := startTLS(t, broker.ServerOptions{Listen: "127.0.0.1:-1", TLSCert: c.ServerCert, TLSKey: c.ServerKey, TLSCA: c.CA})
	nc, err := broker.Connect("", s, "in process")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestTLSRoutes: two servers whose routes use TLS form a cluster, and
// messages cross it; a server whose certificate comes from another CA
// forms no route.
func TestTLSRoutes(t *testing.T) {
	c := authtest.NewCerts(t)
	a1, a2 := freeAddr(t), freeAddr(t)
	o := func(name, listen, peer string) broker.ServerOptions {
		return broker.ServerOptions{Name: name, Listen: "127.0.0.1:-1", ClusterListen: listen,
			Routes:  []string{"nats-route://" + peer},
			TLSCert: c.ServerCert, TLSKey: c.ServerKey, TLSCA: c.CA}
	}
	s1 := startTLS(t, o("s1", a1, a2))
	s2 := startTLS(t, o("s2", a2, a1))
	waitRoutes(t, 1, s1, s2)
	sub, err := connectOnce(s1.ClientURL(), tlsOpts(t, c.ClientCert, c.ClientKey, c.CA)...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pub, err := connectOnce(s2.ClientURL(), tlsOpts(t, c.ClientCert, c.ClientKey, c.CA)...)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	got := make(chan string, 1)
	sub.Subscribe("across", func(m *nats.Msg) { got <- string(m.Data) })
	sub.Flush()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		pub.Publish("across", []byte("hi")) // repeated until interest has crossed the route
		select {
		case <-got:
			done = true
		case <-tick.C:
		case <-deadline:
			t.Fatal("no message crossed the TLS route")
		}
	}

	// A server without TLS, and one with a certificate of another CA,
	// cannot join: the routes are TLS, verified both ways.
	other := authtest.NewCerts(t)
	before := s1.NumRoutes()
	plain := startTLS(t, broker.ServerOptions{Name: "plain", Listen: "127.0.0.1:-1", ClusterListen: freeAddr(t),
		Routes: []string{"nats-route://" + a1}})
	stranger := startTLS(t, broker.ServerOptions{Name: "stranger", Listen: "127.0.0.1:-1", ClusterListen: freeAddr(t),
		Routes:  []string{"nats-route://" + a1},
		TLSCert: other.ServerCert, TLSKey: other.ServerKey, TLSCA: other.CA})
	time.Sleep(1500 * time.Millisecond)
	for _, s := range []*server.Server{plain, stranger} {
		if n := s.NumRoutes(); n != 0 {
			t.Errorf("server %s formed %d routes with the TLS cluster", s.Name(), n)
		}
	}
	if n := s1.NumRoutes(); n != before {
		t.Fatalf("s1 has %d routes, had %d before the strangers came", n, before)
	}
}

func TestTLSBadOptions(t *testing.T) {
	c := authtest.NewCerts(t)
	for what, o := range map[string]broker.ServerOptions{
		"cert without key":   {TLSCert: c.ServerCert},
		"key without cert":   {TLSKey: c.ServerKey},
		"CA only":            {TLSCA: c.CA},
		"missing cert file":  {TLSCert: c.ServerCert + ".nope", TLSKey: c.ServerKey},
		"routes without CA":  {ClusterListen: "127.0.0.1:-1", TLSCert: c.ServerCert, TLSKey: c.ServerKey},
		"CA that is not PEM": {TLSCert: c.ServerCert, TLSKey: c.ServerKey, TLSCA: c.ServerKey},
	} {
		o.Listen = "127.0.0.1:-1"
		if s, err := broker.StartServer(o); err == nil {
			s.Shutdown()
			t.Errorf("%s: server started, want an error", what)
		}
	}
	for what, args := range map[string][3]string{
		"cert without key": {c.ClientCert, "", ""},
		"missing CA":       {"", "", c.CA + ".nope"},
		"CA not PEM":       {"", "", c.ClientKey},
		"key mismatch":     {c.ClientCert, c.ServerKey, ""},
	} {
		if _, err := broker.TLSOptions(args[0], args[1], args[2]); err == nil {
			t.Errorf("TLSOptions %s: no error", what)
		}
	}
}

// TestOptionsHook: ServerOptions.Options sees the options last, after
// Liaison's own.
func TestOptionsHook(t *testing.T) {
	s := startTLS(t, broker.ServerOptions{Options: func(o *server.Options) { o.MaxPayload = 4096 }})
	nc, err := broker.Connect("", s, "hook")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := nc.MaxPayload(); got != 4096 {
		t.Fatalf("max payload %d, want 4096 from the hook", got)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitRoutes(t *testing.T, want int, srvs ...*server.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range srvs {
		for s.NumRoutes() < want {
			if time.Now().After(deadline) {
				t.Fatalf("server %s has %d routes, want %d", s.Name(), s.NumRoutes(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
