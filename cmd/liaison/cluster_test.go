package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"liaison/auth"
	"liaison/auth/authtest"
	"liaison/broker"
	"liaison/sim"
)

// buildBinary builds the real liaison binary for a test or benchmark.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "liaison")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startCluster starts three embedded NATS servers on 127.0.0.1, each routed
// to the other two, and waits until the routes are up.
func startCluster(t *testing.T) []*server.Server {
	t.Helper()
	return startClusterWith(t, nil)
}

// startClusterWith is startCluster with the servers' options adjusted.
func startClusterWith(t testing.TB, adjust func(*server.Options)) []*server.Server {
	t.Helper()
	var srvs []*server.Server
	// A free port may be taken (by any process's outgoing connection)
	// between the moment it is found free and the moment a server binds
	// it: then the cluster starts again on other ports.
	for attempt := 1; ; attempt++ {
		var err error
		if srvs, err = tryCluster(adjust); err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("starting the cluster again: %v", err)
	}
	for _, s := range srvs {
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, s := range srvs {
		for s.NumRoutes() < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("server %s has %d routes, want 2", s.Name(), s.NumRoutes())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return srvs
}

// tryCluster starts three servers routed to each other on free ports; on
// an error it stops those it started.
func tryCluster(adjust func(*server.Options)) ([]*server.Server, error) {
	var addrs []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	var srvs []*server.Server
	for i := range addrs {
		var routes []string
		for j, a := range addrs {
			if j != i {
				routes = append(routes, "nats-route://"+a)
			}
		}
		s, err := broker.StartServer(broker.ServerOptions{Name: fmt.Sprintf("s%d", i+1),
			Listen: "127.0.0.1:-1", ClusterListen: addrs[i], Routes: routes, Options: adjust})
		if err != nil {
			for _, s := range srvs {
				s.Shutdown()
				s.WaitForShutdown()
			}
			return nil, err
		}
		srvs = append(srvs, s)
	}
	return srvs, nil
}

type proc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

func startNode(t *testing.T, bin, url, name, patterns string, extra ...string) *proc {
	t.Helper()
	return startNodeOf(t, bin, "../../sim/testdata/mixed.yaml", url, name, patterns, extra...)
}

// startNodeOf starts a node process of the run cluster-test of a scenario
// file, with seed 11.
func startNodeOf(t *testing.T, bin, file, url, name, patterns string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"node", "--nats", url, "--run", "cluster-test", "--name", name,
		"--agencies", patterns, "--seed", "11"}, extra...)
	args = append(args, file)
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

var nodePatterns = []string{"dk.*", "se.*", "no.*,eu.*,nordic.*"}

// TestClusterRun runs a scenario with its agencies in three processes of the
// real binary, each on a different server of a three-server cluster, and
// the time service in this process: the event log and summary are
// byte-identical to the single-process run.
func TestClusterRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	srvs := startCluster(t)
	var nodes []*proc
	for i, p := range nodePatterns {
		nodes = append(nodes, startNode(t, bin, srvs[i].ClientURL(), fmt.Sprintf("n%d", i+1), p))
	}
	dir := t.TempDir()
	distLog, singleLog := filepath.Join(dir, "dist.jsonl"), filepath.Join(dir, "single.jsonl")
	code, distSum, stderr := cli(t, "run", "--nats", srvs[0].ClientURL(), "--nodes", "3", "--run", "cluster-test",
		"--seed", "11", "--json", "--events", distLog, "../../sim/testdata/mixed.yaml")
	if code != exitOK {
		for _, n := range nodes {
			t.Logf("node: %s", n.stderr.String())
		}
		t.Fatalf("distributed run: exit %d: %s", code, stderr)
	}
	for i, n := range nodes {
		if err := <-n.done; err != nil {
			t.Errorf("node %d: %v\n%s", i+1, err, n.stderr.String())
		}
	}
	code, singleSum, stderr := cli(t, "run", "--seed", "11", "--json", "--events", singleLog, "../../sim/testdata/mixed.yaml")
	if code != exitOK {
		t.Fatalf("single run: exit %d: %s", code, stderr)
	}
	if distSum != singleSum {
		t.Fatalf("summaries differ:\n%s\n%s", distSum, singleSum)
	}
	a, _ := os.ReadFile(distLog)
	b, _ := os.ReadFile(singleLog)
	if !bytes.Equal(a, b) || len(a) == 0 {
		t.Fatal("the distributed event log differs from the single-process one")
	}
}

// TestNodeKilled: a node process killed mid-run is noticed within the
// heartbeat timeout, and the run ends with exit 1 naming the node and its
// agencies; it never hangs.
func TestNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	srvs := startCluster(t)
	var nodes []*proc
	for i, p := range nodePatterns {
		nodes = append(nodes, startNode(t, bin, srvs[i].ClientURL(), fmt.Sprintf("n%d", i+1), p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		time.Sleep(1500 * time.Millisecond)
		nodes[1].cmd.Process.Kill()
	}()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	start := time.Now()
	// A paced run (a simulated day per second) lasts long enough to kill
	// a node in the middle of it.
	code := m.Run(ctx, []string{"run", "--nats", srvs[0].ClientURL(), "--nodes", "3", "--run", "cluster-test",
		"--seed", "11", "--speed", "86400", "--quiet", "../../sim/testdata/mixed.yaml"})
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, errb.String())
	}
	msg := errb.String()
	if !strings.Contains(msg, "node n2 (hosting se.sapo, se.nct, se.police)") {
		t.Fatalf("the failure does not name the node and its agencies:\n%s", msg)
	}
	t.Logf("noticed after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(msg))
	for _, i := range []int{0, 2} {
		select {
		case err := <-nodes[i].done:
			if err == nil {
				t.Errorf("node %d exited 0 from an aborted run", i+1)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("node %d did not stop after the run was aborted", i+1)
		}
	}
}

// TestServerKilled: one server of the three-server cluster is shut down in
// the middle of a run. Its clients reconnect to the others, lost messages
// are sent again and copies dropped, and the run completes with the
// single-process event log.
func TestServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	srvs := startCluster(t)
	urls := func(first int) string {
		list := []string{srvs[first].ClientURL()}
		for i, s := range srvs {
			if i != first {
				list = append(list, s.ClientURL())
			}
		}
		return strings.Join(list, ",")
	}
	var nodes []*proc
	for i, p := range nodePatterns {
		nodes = append(nodes, startNode(t, bin, urls(i), fmt.Sprintf("n%d", i+1), p))
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		srvs[1].Shutdown()
	}()
	dir := t.TempDir()
	distLog := filepath.Join(dir, "dist.jsonl")
	code, _, stderr := cli(t, "run", "--nats", urls(0), "--nodes", "3", "--run", "cluster-test", "--seed", "11",
		"--speed", "86400", "--quiet", "--events", distLog, "../../sim/testdata/mixed.yaml")
	if code != exitOK {
		for _, n := range nodes {
			t.Logf("node: %s", n.stderr.String())
		}
		t.Fatalf("run with a server killed: exit %d: %s", code, stderr)
	}
	sameAsSingleProcess(t, distLog, "the event log of the run that lost a server differs from the single-process one")
	for i, n := range nodes {
		if err := <-n.done; err != nil {
			t.Errorf("node %d: %v\n%s", i+1, err, n.stderr.String())
		}
	}
}

// BenchmarkDistributed runs a generated scenario (300 agencies, about a
// million delivered messages) with its agencies in three node processes on
// a three-server cluster, and in the same benchmark as one process on the
// embedded server, and reports both rates.
//
//	go test ./cmd/liaison -run '^$' -bench Distributed -benchtime 1x
func BenchmarkDistributed(b *testing.B) {
	bin := buildBinary(b)
	file := filepath.Join(b.TempDir(), "load.yaml")
	if err := os.WriteFile(file, []byte(sim.LoadScenario(300, 3400, 1)), 0o644); err != nil {
		b.Fatal(err)
	}
	timeRun := func(args ...string) (time.Duration, map[string]any) {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		start := time.Now()
		if code := m.Run(context.Background(), append(args, "--json", file)); code != exitOK {
			b.Fatalf("liaison %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		d := time.Since(start)
		var sum map[string]any
		json.Unmarshal(out.Bytes(), &sum)
		return d, sum
	}
	for i := 0; i < b.N; i++ {
		single, sum := timeRun("run")
		delivered := sum["messages"].(map[string]any)["delivered"].(float64)

		srvs := startClusterWith(b, nil)
		var procs []*exec.Cmd
		for k, p := range []string{"g.a00*", "g.a01*", "g.a02*"} {
			cmd := exec.Command(bin, "node", "--nats", srvs[k].ClientURL(), "--run", "bench", "--agencies", p, file)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			procs = append(procs, cmd)
		}
		dist, dsum := timeRun("run", "--nats", srvs[0].ClientURL(), "--nodes", "3", "--run", "bench")
		for _, p := range procs {
			p.Wait()
		}
		for _, s := range srvs {
			s.Shutdown()
		}
		if dsum["messages"].(map[string]any)["delivered"].(float64) != delivered {
			b.Fatal("the distributed run delivered a different number of messages")
		}
		b.ReportMetric(delivered/single.Seconds(), "single-delivered/s")
		b.ReportMetric(delivered/dist.Seconds(), "distributed-delivered/s")
		b.ReportMetric(delivered, "delivered/run")
	}
}

// TestNeedToKnowProcesses: liaison auth writes the users; a stock
// configuration of them runs the server; nodes in two processes connect
// every agency as its own user with --creds, and the run gives the
// single-process log.
func TestNeedToKnowProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	if code, _, stderr := cli(t, "auth", "--node-names", "n1,n2", "-o", dir, "../../sim/testdata/mixed.yaml"); code != exitOK {
		t.Fatalf("liaison auth: exit %d: %s", code, stderr)
	}
	// A node connects as its own user, which its name picks.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "--nats", "nats://127.0.0.1:1", "--creds", dir, "../../sim/testdata/mixed.yaml"}, "with --creds, --name NAME says which node user"},
		{[]string{"node", "--nats", "nats://127.0.0.1:1", "--creds", dir, "--name", "n3", "../../sim/testdata/mixed.yaml"}, "no user for node n3 in " + dir + " (node-n3.nk)"},
	} {
		code, _, stderr := cli(t, c.args...)
		if code != exitInvalid || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, auth.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	defer srv.Shutdown()
	var nodes []*proc
	for i, p := range []string{"dk.*,no.*", "se.*,eu.*,nordic.*"} {
		nodes = append(nodes, startNode(t, bin, srv.ClientURL(), fmt.Sprintf("n%d", i+1), p, "--creds", dir))
	}
	log := filepath.Join(dir, "ntk.jsonl")
	code, _, stderr := cli(t, "run", "--nats", srv.ClientURL(), "--creds", dir, "--nodes", "2", "--run", "cluster-test",
		"--seed", "11", "--quiet", "--events", log, "../../sim/testdata/mixed.yaml")
	if code != exitOK {
		for _, n := range nodes {
			t.Logf("node: %s", n.stderr.String())
		}
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	sameAsSingleProcess(t, log, "the need-to-know run over processes differs from the single-process one")
}

// TestNodeReplaced: with --resume, a node process killed mid-run is
// replaced by a new process for the same agencies, which catches up from
// what the others send it again; the run completes with the single-process
// event log.
func TestNodeReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	srvs := startCluster(t)
	var nodes []*proc
	for i, p := range nodePatterns {
		nodes = append(nodes, startNode(t, bin, srvs[i].ClientURL(), fmt.Sprintf("n%d", i+1), p, "--resume"))
	}
	replaced := make(chan *proc, 1)
	go func() {
		time.Sleep(1200 * time.Millisecond)
		nodes[1].cmd.Process.Kill()
		time.Sleep(300 * time.Millisecond)
		replaced <- startNode(t, bin, srvs[2].ClientURL(), "n2-again", nodePatterns[1], "--resume")
	}()
	dir := t.TempDir()
	distLog := filepath.Join(dir, "dist.jsonl")
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(context.Background(), []string{"run", "--nats", srvs[0].ClientURL(), "--nodes", "3", "--run", "cluster-test",
		"--seed", "11", "--speed", "86400", "--resume", "--quiet", "--events", distLog, "../../sim/testdata/mixed.yaml"})
	r := <-replaced
	if code != exitOK {
		t.Logf("replacement: %s", r.stderr.String())
		t.Fatalf("run with a node replaced: exit %d:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "n2-again takes the place of n2") {
		t.Errorf("the run did not say a node was replaced:\n%s", errb.String())
	}
	sameAsSingleProcess(t, distLog, "the event log of the run with a replaced node differs from the single-process one")
}

// TestTLSRun: a run and its nodes reach a TLS-only server with the client
// flags, and give the single-process log; without them the run cannot
// connect.
func TestTLSRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	c := authtest.NewCerts(t)
	srv, err := broker.StartServer(broker.ServerOptions{Listen: "127.0.0.1:-1", TLSCert: c.ServerCert, TLSKey: c.ServerKey, TLSCA: c.CA})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	url := strings.Replace(srv.ClientURL(), "nats://", "tls://", 1)
	tlsFlags := []string{"--tls-cert", c.ClientCert, "--tls-key", c.ClientKey, "--tls-ca", c.CA}
	if code, _, _ := cli(t, "run", "--nats", url, "--quiet", "../../sim/testdata/chain.yaml"); code != exitFailed {
		t.Fatalf("a run without certificates against a TLS server: exit %d, want %d", code, exitFailed)
	}
	var nodes []*proc
	for i, p := range []string{"dk.*,no.*", "se.*,eu.*,nordic.*"} {
		nodes = append(nodes, startNode(t, bin, url, fmt.Sprintf("n%d", i+1), p, tlsFlags...))
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "tls.jsonl")
	args := append([]string{"run", "--nats", url, "--nodes", "2", "--run", "cluster-test", "--seed", "11", "--quiet",
		"--events", log}, tlsFlags...)
	if code, _, stderr := cli(t, append(args, "../../sim/testdata/mixed.yaml")...); code != exitOK {
		for _, n := range nodes {
			t.Logf("node: %s", n.stderr.String())
		}
		t.Fatalf("run over TLS: exit %d: %s", code, stderr)
	}
	sameAsSingleProcess(t, log, "the run over TLS differs from the single-process one")
	// Every connection of a run in one process takes the flags too, the
	// one each node listens on included.
	for _, split := range []string{"1", "2"} {
		single := filepath.Join(dir, "single-"+split+".jsonl")
		args := append([]string{"run", "--nats", url, "--split", split, "--seed", "11", "--quiet", "--events", single}, tlsFlags...)
		if code, _, stderr := cli(t, append(args, "../../sim/testdata/mixed.yaml")...); code != exitOK {
			t.Fatalf("--split %s over TLS: exit %d: %s", split, code, stderr)
		}
		sameAsSingleProcess(t, single, "a run in one process over TLS differs from one on the embedded server")
	}
}

// sameAsSingleProcess fails the test unless the event log at path is the
// one a single-process run of the mixed scenario with seed 11 writes.
func sameAsSingleProcess(t *testing.T, path, what string) {
	t.Helper()
	single := filepath.Join(t.TempDir(), "single.jsonl")
	if code, _, stderr := cli(t, "run", "--seed", "11", "--quiet", "--events", single, "../../sim/testdata/mixed.yaml"); code != exitOK {
		t.Fatalf("single run: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(single)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal(what)
	}
}

// TestNodeJoinTimeout: a node whose time service never comes gives up
// after --join-timeout, saying so, with exit 1.
func TestNodeJoinTimeout(t *testing.T) {
	srv, err := broker.StartServer(broker.ServerOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	code, _, stderr := cli(t, "node", "--nats", srv.ClientURL(), "--join-timeout", "300ms", "--name", "n1",
		"../../sim/testdata/mixed.yaml")
	if code != exitFailed || !strings.Contains(stderr, "node n1: no time service admitted it within 300ms") {
		t.Fatalf("exit %d, %q; want 1 and the timeout", code, stderr)
	}
}

// TestNodeWaitsForServer: a node started before its NATS server waits for
// it, saying so, and then for its time service; with no server at all it
// gives up after --join-timeout.
func TestNodeWaitsForServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "nats://" + addr

	code, _, stderr := cli(t, "node", "--nats", url, "--join-timeout", "600ms", "--name", "n1", "../../sim/testdata/mixed.yaml")
	if code != exitFailed || !strings.Contains(stderr, "waiting for a NATS server at "+url) || !strings.Contains(stderr, "waited 600ms") {
		t.Fatalf("no server: exit %d, %q; want 1, the wait and its end", code, stderr)
	}

	started := make(chan *server.Server, 1)
	go func() {
		time.Sleep(400 * time.Millisecond)
		srv, err := broker.StartServer(broker.ServerOptions{Listen: addr})
		if err != nil {
			t.Error(err)
		}
		started <- srv
	}()
	code, _, stderr = cli(t, "node", "--nats", url, "--join-timeout", "3s", "--name", "n1", "../../sim/testdata/mixed.yaml")
	if srv := <-started; srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	if code != exitFailed || !strings.Contains(stderr, "waiting for a NATS server") || !strings.Contains(stderr, "no time service admitted it within 3s") {
		t.Fatalf("a server that comes late: exit %d, %q; want the node to connect, then wait for its time service", code, stderr)
	}
}
