package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"liaison/auth"
	"liaison/auth/authtest"
	"liaison/broker"
)

const authScenario = "../../auth/testdata/need-to-know.yaml"

func TestAuthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	code, stdout, stderr := cli(t, "auth", "--node-names", "east,west", "-o", dir, authScenario)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "12 users") || !strings.Contains(stdout, "node-east, node-west") {
		t.Errorf("stdout %q does not count 12 users, node-east and node-west among them", stdout)
	}
	conf, err := os.ReadFile(filepath.Join(dir, auth.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"dk.pet", "fi.supo", "nordic.lo", auth.ServiceUser, auth.NodeUser("east"), auth.NodeUser("west"), auth.FacilitatorUser} {
		st, err := os.Stat(auth.SeedFile(dir, id))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", id, err, st.Mode().Perm())
		}
	}
	if !strings.Contains(string(conf), `"liaison.*.lo.se:police.*"`) || !strings.Contains(string(conf), `"liaison.*.lo.dk:police.se:police"`) {
		t.Errorf("configuration lacks the liaison channel's subjects:\n%s", conf)
	}

	// Existing files are kept unless --force.
	code, _, stderr = cli(t, "auth", "-o", dir, authScenario)
	if code != exitInvalid || !strings.Contains(stderr, "--force") {
		t.Fatalf("second write: exit %d, %q; want 2 and a hint at --force", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, auth.ConfigFile)); !bytes.Equal(after, conf) {
		t.Fatal("a refused write changed the configuration")
	}
	code, _, stderr = cli(t, "auth", "--variant", "mesh", "--force", "-o", dir, authScenario)
	if code != exitOK {
		t.Fatalf("--force: exit %d: %s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(dir, auth.ConfigFile))
	if bytes.Equal(after, conf) {
		t.Fatal("--force wrote nothing new")
	}

	for _, args := range [][]string{
		{"auth", authScenario},
		{"auth", "-o", dir},
		{"auth", "-o", dir, "--variant", "nope", authScenario},
		{"auth", "-o", dir, "no-such-scenario"},
		{"auth", "--node-names", "a.b,a_b", "-o", filepath.Join(dir, "clash"), authScenario},
		// Need to know without the users where they are needed.
		{"run", "--need-to-know", "--nats", "nats://127.0.0.1:1", authScenario},
		{"run", "--need-to-know", "--nodes", "2", authScenario},
	} {
		if code, _, stderr := cli(t, args...); code != exitInvalid || stderr == "" {
			t.Errorf("liaison %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "clash")); err == nil {
		t.Error("a refused plan wrote files")
	}
}

// TestBrokerTLSFlags: liaison broker --tls-cert --tls-key --tls-ca serves
// TLS clients with certificates of the CA, and no others.
func TestBrokerTLSFlags(t *testing.T) {
	c := authtest.NewCerts(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		m := &Main{Stdout: &bytes.Buffer{}, Stderr: &stderr}
		done <- m.Run(ctx, []string{"broker", "--listen", addr, "--tls-cert", c.ServerCert, "--tls-key", c.ServerKey, "--tls-ca", c.CA})
	}()
	opts, err := broker.TLSOptions(c.ClientCert, c.ClientKey, c.CA)
	if err != nil {
		t.Fatal(err)
	}
	var conn *broker.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, err = broker.Connect("tls://"+addr, nil, "tls client", append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("TLS client: %v (broker said %q)", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st, err := conn.TLSConnectionState(); err != nil || !st.HandshakeComplete {
		t.Errorf("connection is not TLS: %v", err)
	}
	conn.Close()
	if plain, err := broker.Connect("nats://"+addr, nil, "plain", nats.MaxReconnects(0)); err == nil {
		plain.Close()
		t.Error("a plain client connected to the TLS broker")
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("broker exit %d: %s", code, stderr.String())
	}

	code, _, errText := cli(t, "broker", "--listen", freeAddr(t), "--tls-cert", c.ServerCert)
	if code != exitFailed || !strings.Contains(errText, "key") {
		t.Errorf("--tls-cert without --tls-key: exit %d, %q", code, errText)
	}
}
