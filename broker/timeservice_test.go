package broker

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison"
)

func startTestServer(t *testing.T, opts func(*server.Options)) *server.Server {
	t.Helper()
	srv, err := StartServer(ServerOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func testConn(t *testing.T, srv *server.Server, name string) *Conn {
	t.Helper()
	c, err := Connect("", srv, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestJoinFailureStopsNodes: when the join fails (nodes missing at the
// timeout, an agency hosted twice or nowhere, a node of another scenario),
// the run says why and every node that had joined hears an Abort with the
// reason.
func TestJoinFailureStopsNodes(t *testing.T) {
	agencies := []liaison.AgencyID{"dk.pet", "se.sapo", "no.pst"}
	for _, tc := range []struct {
		name   string
		nodes  int
		joins  [][]liaison.AgencyID
		digest []string
		want   string
		names  []string // default n1, n2, ...
	}{
		{"timeout", 3, [][]liaison.AgencyID{{"dk.pet"}, {"se.sapo"}}, nil,
			"2 of 3 nodes joined within 300ms; agencies without a node: no.pst", nil},
		{"every agency hosted, a node short", 3, [][]liaison.AgencyID{{"dk.pet"}, {"se.sapo", "no.pst"}}, nil,
			"2 of 3 nodes joined within 300ms, and they host every agency already: ask for --nodes 2", nil},
		{"hosted twice", 3, [][]liaison.AgencyID{{"dk.pet"}, {"dk.pet", "se.sapo"}}, nil,
			"node n2 was refused: dk.pet is already hosted by node n1", nil},
		{"hosted nowhere", 2, [][]liaison.AgencyID{{"dk.pet"}, {"se.sapo"}}, nil,
			"all 2 nodes joined but no node hosts no.pst", nil},
		{"another digest", 2, [][]liaison.AgencyID{{"dk.pet"}, {"se.sapo", "no.pst"}}, []string{"d", "other"},
			"node n2 was refused: node n2 compiled another scenario", nil},
		{"one name on subjects", 2, [][]liaison.AgencyID{{"dk.pet"}, {"se.sapo", "no.pst"}}, nil,
			"node n.1 was refused: node n_1 has already joined, and the name n.1 is the same on a subject (n_1)",
			[]string{"n_1", "n.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTestServer(t, nil)
			subj := NewSubjects("join-" + strings.ReplaceAll(tc.name, " ", "-"))
			svc := &Service{Conn: testConn(t, srv, "service"), Subjects: subj, Nodes: tc.nodes, Agencies: agencies,
				Lookahead: liaison.Second, End: liaison.Hour, Digest: "d", JoinTimeout: 300 * time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			svcErr := make(chan error, 1)
			go func() { _, err := svc.Run(ctx); svcErr <- err }()
			var joined []*Node
			var joinErrs []error
			for i, ids := range tc.joins {
				digest := "d"
				if tc.digest != nil {
					digest = tc.digest[i]
				}
				name := "n" + string(rune('1'+i))
				if tc.names != nil {
					name = tc.names[i]
				}
				n, err := JoinRun(ctx, testConn(t, srv, "node"), subj, name, digest, ids)
				if err != nil {
					joinErrs = append(joinErrs, err)
					continue
				}
				defer n.Close()
				joined = append(joined, n)
			}
			err := <-svcErr
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("service: %v, want %q", err, tc.want)
			}
			if len(joined) == 0 {
				t.Fatal("no node joined")
			}
			for _, n := range joined {
				select {
				case d := <-n.Downs():
					a, ok := d.(Abort)
					if !ok || !strings.Contains(a.Reason, tc.want) {
						t.Errorf("joined node heard %#v, want an Abort saying %q", d, tc.want)
					}
				case <-time.After(5 * time.Second):
					t.Error("a joined node was not told to stop")
				}
			}
			if strings.Contains(tc.want, " was refused") {
				refused := strings.Fields(tc.want)[1]
				if len(joinErrs) != 1 || !strings.Contains(joinErrs[0].Error(), "refused node "+refused) {
					t.Errorf("the refused node's join: %v", joinErrs)
				}
			}
		})
	}
}

// TestJoinOnAnothersSubject: the time service takes a join only on the
// subject of the node it names, the subject a server can bind to the
// node's user; one that names another node ends the join.
func TestJoinOnAnothersSubject(t *testing.T) {
	srv := startTestServer(t, nil)
	subj := NewSubjects("join-subject")
	svc := &Service{Conn: testConn(t, srv, "service"), Subjects: subj, Nodes: 2, Agencies: []liaison.AgencyID{"dk.pet", "se.sapo"},
		Lookahead: liaison.Second, End: liaison.Hour, Digest: "d", JoinTimeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svcErr := make(chan error, 1)
	go func() { _, err := svc.Run(ctx); svcErr <- err }()
	// A join that waits for no answer is no node's: it is ignored.
	if err := testConn(t, srv, "stray").Publish(subj.Join("n9"), []byte("\x00garbage")); err != nil {
		t.Fatal(err)
	}
	n1, err := JoinRun(ctx, testConn(t, srv, "n1"), subj, "n1", "d", []liaison.AgencyID{"dk.pet"})
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	const want = "node n2 asked to join on the subject of node n1"
	reply, err := testConn(t, srv, "n2").Request(subj.Join("n1"), []byte("n2\nd\nse.sapo\n"), 5*time.Second)
	if err != nil || !strings.Contains(string(reply.Data), want) {
		t.Fatalf("the join on n1's subject: %v %v, want a refusal saying %q", reply, err, want)
	}
	if err := <-svcErr; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("service: %v, want %q", err, want)
	}
}

// TestJoinAbortedWhileJoining: a node whose join request is not answered
// gives up when the run is aborted meanwhile, saying why.
func TestJoinAbortedWhileJoining(t *testing.T) {
	srv := startTestServer(t, nil)
	subj := NewSubjects("aborted-join")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		_, err := JoinRun(ctx, testConn(t, srv, "node"), subj, "n1", "d", []liaison.AgencyID{"dk.pet"})
		res <- err
	}()
	svc := testConn(t, srv, "service")
	time.Sleep(200 * time.Millisecond) // the node has subscribed and asks
	if err := svc.Publish(subj.Grant(), Abort{Reason: "the join failed: node n9 was refused"}.appendDown(nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err == nil || !strings.Contains(err.Error(), "aborted before it began: the join failed: node n9 was refused") {
			t.Fatalf("join: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the node went on asking after the run was aborted")
	}
}

// TestCatchupOverNATS: a catch-up far larger than the server's max_payload
// goes out in parts that each fit, and only the replacement it is for
// puts it back together.
func TestCatchupOverNATS(t *testing.T) {
	srv := startTestServer(t, func(o *server.Options) { o.MaxPayload = 16 << 10 })
	subj := NewSubjects("catchup")
	svcConn := testConn(t, srv, "service")
	// Answer joins: n1 is an original node, n2 a replacement.
	if _, err := svcConn.Subscribe(subj.JoinAll(), func(m *nats.Msg) {
		if strings.HasPrefix(string(m.Data), "n2\n") {
			m.Respond([]byte("resume 1"))
		} else {
			m.Respond([]byte("ok 0"))
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n1, err := JoinRun(ctx, testConn(t, srv, "n1"), subj, "n1", "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()
	n2, err := JoinRun(ctx, testConn(t, srv, "n2"), subj, "n2", "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if !n2.Replacement || n2.Index() != 1 {
		t.Fatalf("n2: replacement %v, index %d", n2.Replacement, n2.Index())
	}
	c := Catchup{Epoch: 115_000, Node: 1, Others: 42, Hosts: make([]int, 3000), Through: 9_000_000,
		Window: Grant{Epoch: 115_000, Until: 9_000_001}}
	for i := range 300 {
		c.Actions = append(c.Actions, Action{Kind: ActionInject, At: liaison.Time(i), Def: []byte(strings.Repeat("i", 500))})
	}
	r := &session{s: &Service{Conn: svcConn, Subjects: subj}}
	if err := r.publish(c); err != nil {
		t.Fatal(err)
	}
	if err := r.publish(Grant{Epoch: 115_001, Until: 9_000_002}); err != nil {
		t.Fatal(err)
	}
	got := <-n2.Downs()
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("the replacement got %T, not the catch-up sent", got)
	}
	if d := <-n1.Downs(); !reflect.DeepEqual(d, Grant{Epoch: 115_001, Until: 9_000_002}) {
		t.Fatalf("the original node got %#v before the next grant", d)
	}
	if svcConn.Errors.Total() != 0 {
		t.Fatalf("publishing: %s", svcConn.Errors.Last())
	}
}
