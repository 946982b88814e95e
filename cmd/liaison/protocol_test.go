package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison/broker"
	"liaison/sim"
)

// TestJoinFailureStopsNodeProcesses: a distributed join that fails (an
// agency hosted nowhere, an agency hosted twice, nodes missing at the join
// timeout) ends liaison run with exit 1 and the reason, and every liaison
// node process that had joined is told to stop and exits 1 with it too.
func TestJoinFailureStopsNodeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name     string
		nodes    string
		patterns []string
		want     string
	}{
		{"hosted nowhere", "2", []string{"dk.*,no.*", "se.*,eu.*"}, "no node hosts nordic.lo"},
		{"hosted twice", "2", []string{"dk.*,no.*,eu.*,nordic.*", "dk.*,se.*"}, "dk.pet is already hosted by node"},
		{"join timeout", "3", []string{"dk.*,no.*", "se.*,eu.*"}, "2 of 3 nodes joined within 2s; agencies without a node: nordic.lo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := broker.StartServer(broker.ServerOptions{Listen: "127.0.0.1:-1"})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
			var nodes []*proc
			for i, p := range tc.patterns {
				nodes = append(nodes, startNode(t, bin, srv.ClientURL(), fmt.Sprintf("n%d", i+1), p))
			}
			code, _, stderr := cli(t, "run", "--nats", srv.ClientURL(), "--nodes", tc.nodes, "--run", "cluster-test",
				"--seed", "11", "--join-timeout", "2s", "--quiet", "../../sim/testdata/mixed.yaml")
			if code != exitFailed || !strings.Contains(stderr, tc.want) {
				t.Fatalf("run: exit %d, want %d with %q:\n%s", code, exitFailed, tc.want, stderr)
			}
			told := 0
			for i, n := range nodes {
				select {
				case err := <-n.done:
					out := n.stderr.String()
					if err == nil {
						t.Errorf("node %d exited 0 from a join that failed:\n%s", i+1, out)
					}
					if strings.Contains(out, "run was aborted before it began") || strings.Contains(out, "run aborted") {
						told++
						if !strings.Contains(out, tc.want) {
							t.Errorf("node %d was told to stop without the reason %q:\n%s", i+1, tc.want, out)
						}
					} else if !strings.Contains(out, "refused node") {
						t.Errorf("node %d stopped neither told nor refused:\n%s", i+1, out)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("node %d still runs 10s after the join failed", i+1)
				}
			}
			if told == 0 {
				t.Error("no node was told why the join failed")
			}
		})
	}
}

// TestNodeReplacedAfterManyWindows: with a lookahead of one millisecond
// nearly every event has a window of its own; a node process is killed
// after ten thousand windows and replaced. The servers take messages of
// at most 64 KB, which a record of every window granted so far would not
// fit: the replacement catches up without one, and the run completes with
// the single-process event log.
func TestNodeReplacedAfterManyWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	const killAt = 10_000
	bin := buildBinary(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "tiny.yaml")
	load := sim.Load{Agencies: 9, PerDay: 1000, Days: 1, Floor: "1ms", LatencyMedian: "2m", Staff: 2, Handling: "3m"}
	if err := os.WriteFile(file, []byte(load.Scenario()), 0o644); err != nil {
		t.Fatal(err)
	}
	srvs := startClusterWith(t, func(o *server.Options) { o.MaxPayload = 64 << 10 })
	patterns := []string{"g.a000[0-2]", "g.a000[3-5]", "g.a000[6-8]"}
	var nodes []*proc
	for i, p := range patterns {
		nodes = append(nodes, startNodeOf(t, bin, file, srvs[i].ClientURL(), fmt.Sprintf("n%d", i+1), p, "--resume"))
	}
	// Count windows as the nodes see them, and kill n2 after killAt.
	watch, err := broker.Connect(srvs[0].ClientURL(), nil, "window counter")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	var windows atomic.Int64
	kill := make(chan struct{})
	sub, err := watch.Subscribe(broker.NewSubjects("cluster-test").Grant(), func(m *nats.Msg) {
		if len(m.Data) > 0 && m.Data[0] == 'G' && windows.Add(1) == killAt {
			close(kill)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	watch.Flush()
	replaced := make(chan *proc, 1)
	go func() {
		select {
		case <-kill:
		case <-time.After(2 * time.Minute):
			replaced <- nil
			return
		}
		nodes[1].cmd.Process.Kill()
		time.Sleep(300 * time.Millisecond)
		replaced <- startNodeOf(t, bin, file, srvs[2].ClientURL(), "n2-again", patterns[1], "--resume")
	}()
	distLog := filepath.Join(dir, "dist.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	code := m.Run(ctx, []string{"run", "--nats", srvs[0].ClientURL(), "--nodes", "3", "--run", "cluster-test",
		"--seed", "11", "--resume", "--quiet", "--events", distLog, file})
	r := <-replaced
	if r == nil {
		t.Fatalf("the run ended after %d windows, before the kill at %d: exit %d\n%s", windows.Load(), killAt, code, errb.String())
	}
	if code != exitOK {
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("run with a node replaced after %d windows: exit %d:\n%s\nreplacement:\n%s", killAt, code, errb.String(), r.stderr.String())
	}
	if !strings.Contains(errb.String(), "n2-again takes the place of n2") {
		t.Errorf("the run did not say a node was replaced:\n%s", errb.String())
	}
	t.Logf("%d windows in all; the node was replaced after %d", windows.Load(), killAt)
	single := filepath.Join(dir, "single.jsonl")
	if code, _, stderr := cli(t, "run", "--seed", "11", "--quiet", "--events", single, file); code != exitOK {
		t.Fatalf("single run: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(distLog)
	b, _ := os.ReadFile(single)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("the event log of the run whose node was replaced after many windows differs from the single-process one")
	}
}
