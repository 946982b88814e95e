package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
)

// The time service grants windows of simulated time under conservative
// synchronisation (as HLA run-time infrastructures do):
//
//  1. Every channel has a positive minimum latency; the smallest is the
//     lookahead L. A message sent at t arrives at t+L or later.
//  2. The service grants [T, T+L) where T is the smallest next event time
//     over all nodes (empty stretches of time cost nothing). Each node
//     processes its events with t < T+L, publishes what its agents send,
//     and reports its events, counts (messages published and received so
//     far) and its next event time.
//  3. A node whose received count grows after it reported reports again.
//     When every node has reported for the window and the published and
//     received totals match, no message is in flight, every node's next
//     time is final, and the service grants the next window.
//
// The last grant carries End: nodes drop whatever is still in transit
// (reason run_end) and report once more.

// Grant is one window: process every event with T < Until.
type Grant struct {
	Epoch uint64
	Until liaison.Time
	End   bool   // the run is over: drop what is in transit, at time Until
	Abort string // the run failed; nodes stop
}

func appendGrant(b []byte, g Grant) []byte {
	b = binary.AppendUvarint(b, g.Epoch)
	b = binary.AppendVarint(b, int64(g.Until))
	if g.End {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, g.Abort...)
}

func decodeGrant(b []byte) (Grant, error) {
	var g Grant
	e, n := binary.Uvarint(b)
	if n <= 0 {
		return g, errors.New("broker: bad grant")
	}
	b = b[n:]
	u, n := binary.Varint(b)
	if n <= 0 || len(b) < n+1 {
		return g, errors.New("broker: bad grant")
	}
	g.Epoch, g.Until, g.End, g.Abort = e, liaison.Time(u), b[n] == 1, string(b[n+1:])
	return g, nil
}

// Upstream message kinds, first byte of every payload on a node's Up subject.
const (
	upEvents byte = 'E'
	upReport byte = 'R'
	upFail   byte = 'F'
)

// Report is a node's account of itself after (or while waiting after) a
// window.
type Report struct {
	Epoch uint64
	Sent  uint64       // messages this node has published since the run began
	Recv  uint64       // messages this node has received since the run began
	Next  liaison.Time // its earliest pending event, or liaison.Never
	// Chunks is how many event chunks preceded this report for the epoch;
	// zero in the re-reports that only update counts.
	Chunks uint64
}

func appendReport(b []byte, r Report) []byte {
	b = append(b, upReport)
	b = binary.AppendUvarint(b, r.Epoch)
	b = binary.AppendUvarint(b, r.Sent)
	b = binary.AppendUvarint(b, r.Recv)
	b = binary.AppendVarint(b, int64(r.Next))
	return binary.AppendUvarint(b, r.Chunks)
}

func decodeReport(b []byte) (Report, error) {
	var r Report
	var vals [5]uint64
	for i := range vals {
		var n int
		if i == 3 {
			var v int64
			v, n = binary.Varint(b)
			vals[i] = uint64(v)
		} else {
			vals[i], n = binary.Uvarint(b)
		}
		if n <= 0 {
			return r, errors.New("broker: bad report")
		}
		b = b[n:]
	}
	return Report{Epoch: vals[0], Sent: vals[1], Recv: vals[2], Next: liaison.Time(int64(vals[3])), Chunks: vals[4]}, nil
}

// Node is one participant's link to the time service: it receives grants and
// sends reports. Agents' own traffic goes over the same connection on their
// own subjects.
type Node struct {
	conn   *Conn
	subj   Subjects
	up     string // this node's Up subject
	index  int
	grants chan Grant
	sub    *nats.Subscription
	buf    []byte
}

// JoinRun subscribes to grants and asks the time service to admit a node
// hosting the given agencies. It retries until ctx ends, so a node may start
// before the service.
func JoinRun(ctx context.Context, c *Conn, subj Subjects, name string, agencies []liaison.AgencyID) (*Node, error) {
	n := &Node{conn: c, subj: subj, grants: make(chan Grant, 16)}
	sub, err := c.Subscribe(subj.Grant(), func(m *nats.Msg) {
		g, err := decodeGrant(m.Data)
		if err != nil {
			g = Grant{Abort: err.Error()}
		}
		n.grants <- g
	})
	if err != nil {
		return nil, fmt.Errorf("broker: subscribing to grants: %w", err)
	}
	n.sub = sub
	req := name + "\n"
	for _, a := range agencies {
		req += string(a) + "\n"
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		msg, err := c.RequestWithContext(rctx, subj.Join(), []byte(req))
		cancel()
		if err == nil {
			reply := string(msg.Data)
			if idx, ok := strings.CutPrefix(reply, "ok "); ok {
				n.index, err = strconv.Atoi(idx)
				if err != nil {
					return nil, fmt.Errorf("broker: bad join reply %q", reply)
				}
				n.up = subj.Up(n.index)
				return n, nil
			}
			return nil, fmt.Errorf("broker: the time service refused node %s: %s", name, reply)
		}
		if ctx.Err() != nil {
			sub.Unsubscribe()
			return nil, fmt.Errorf("broker: no time service answered node %s: %w", name, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Grants delivers the service's grants in order.
func (n *Node) Grants() <-chan Grant { return n.grants }

// Report sends the events of a window, already cut into chunks that each fit
// a NATS message (see MaxPayload), then the node's report.
func (n *Node) Report(r Report, chunks [][]byte) error {
	up := n.up
	r.Chunks = 0
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		n.buf = append(n.buf[:0], upEvents)
		n.buf = binary.AppendUvarint(n.buf, r.Epoch)
		n.buf = append(n.buf, c...)
		if err := n.conn.Publish(up, n.buf); err != nil {
			return fmt.Errorf("broker: publishing events: %w", err)
		}
		r.Chunks++
	}
	return n.Update(r)
}

// Update sends a report without events: counts changed while waiting.
func (n *Node) Update(r Report) error {
	n.buf = appendReport(n.buf[:0], r)
	if err := n.conn.Publish(n.up, n.buf); err != nil {
		return fmt.Errorf("broker: publishing report: %w", err)
	}
	return nil
}

// Fail tells the service that this node cannot go on.
func (n *Node) Fail(err error) {
	n.conn.Publish(n.up, append([]byte{upFail}, err.Error()...))
	n.conn.Flush()
}

// Close stops receiving grants.
func (n *Node) Close() {
	if n.sub != nil {
		n.sub.Unsubscribe()
	}
}

// Service is the time service of one run.
type Service struct {
	Conn      *Conn
	Subjects  Subjects
	Nodes     int                // how many nodes must join
	Agencies  []liaison.AgencyID // every agency, each to be hosted exactly once
	Lookahead liaison.Time
	End       liaison.Time // last simulated instant, or liaison.Never to run until quiet
	// JoinTimeout bounds the wait for nodes; StallTimeout bounds the wait
	// for any report once the run is going. Zero means 30s and 2m.
	JoinTimeout, StallTimeout time.Duration
	// Window receives each window's event chunks, one slice per node, and
	// the window's end. It runs on the service's goroutine; it may keep the
	// chunks.
	Window func(chunks [][]byte, until liaison.Time) error
	// Advance, when set, is called before each grant with the window's
	// start: paced runs wait for the wall clock there.
	Advance func(ctx context.Context, start liaison.Time) error
}

type upMsg struct {
	node int
	kind byte
	data []byte
}

type nodeState struct {
	name     string
	report   Report
	reported bool // has reported for the current epoch
	chunks   [][]byte
}

// Run admits the nodes and grants windows until the run ends. It returns the
// simulated end time.
func (s *Service) Run(ctx context.Context) (liaison.Time, error) {
	joinTimeout, stall := s.JoinTimeout, s.StallTimeout
	if joinTimeout == 0 {
		joinTimeout = 30 * time.Second
	}
	if stall == 0 {
		stall = 2 * time.Minute
	}
	up := make(chan upMsg, 1024)
	upSub, err := s.Conn.Subscribe(s.Subjects.UpAll(), func(m *nats.Msg) {
		i := strings.LastIndexByte(m.Subject, '.')
		node, err := strconv.Atoi(m.Subject[i+1:])
		if err != nil || len(m.Data) == 0 {
			return
		}
		up <- upMsg{node: node, kind: m.Data[0], data: m.Data[1:]}
	})
	if err != nil {
		return 0, fmt.Errorf("broker: subscribing to reports: %w", err)
	}
	defer upSub.Unsubscribe()
	upSub.SetPendingLimits(-1, -1)

	nodes, err := s.admit(ctx, joinTimeout)
	if err != nil {
		return 0, err
	}
	var epoch uint64
	grant := func(g Grant) error {
		epoch++
		g.Epoch = epoch
		for _, n := range nodes {
			n.reported, n.chunks = false, n.chunks[:0]
		}
		return s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, g))
	}
	abort := func(why string) {
		s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Epoch: epoch + 1, Abort: why}))
		s.Conn.Flush()
	}
	// Epoch 1 processes nothing: it collects every node's first event time.
	if err := grant(Grant{Until: 0}); err != nil {
		return 0, err
	}
	var until, endAt liaison.Time
	ended := false
	timer := time.NewTimer(stall)
	defer timer.Stop()
	for {
		// Wait until every node has reported for this epoch and nothing is
		// in flight.
		for !s.settled(nodes) {
			select {
			case <-ctx.Done():
				abort("run cancelled")
				return until, ctx.Err()
			case <-timer.C:
				missing := []string{}
				for _, n := range nodes {
					if !n.reported {
						missing = append(missing, n.name)
					}
				}
				why := fmt.Sprintf("no progress for %s (waiting for nodes %s; %s)", stall,
					strings.Join(missing, ", "), s.counts(nodes))
				abort(why)
				return until, errors.New("broker: time service stalled: " + why)
			case m := <-up:
				if m.node < 0 || m.node >= len(nodes) {
					continue
				}
				n := nodes[m.node]
				switch m.kind {
				case upFail:
					why := fmt.Sprintf("node %s failed: %s", n.name, m.data)
					abort(why)
					return until, errors.New("broker: " + why)
				case upEvents:
					e, k := binary.Uvarint(m.data)
					if k > 0 && e == epoch {
						n.chunks = append(n.chunks, m.data[k:])
					}
				case upReport:
					r, err := decodeReport(m.data)
					if err != nil {
						abort(err.Error())
						return until, err
					}
					if r.Epoch != epoch {
						continue
					}
					if !n.reported && r.Chunks != uint64(len(n.chunks)) {
						err := fmt.Errorf("broker: node %s reported %d event chunks, %d arrived", n.name, r.Chunks, len(n.chunks))
						abort(err.Error())
						return until, err
					}
					n.report, n.reported = r, true
				}
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
				timer.Reset(stall)
			}
		}
		if s.Window != nil && epoch > 1 {
			chunks := make([][]byte, 0, len(nodes))
			for _, n := range nodes {
				chunks = append(chunks, n.chunks...)
			}
			if err := s.Window(chunks, until); err != nil {
				abort(err.Error())
				return until, err
			}
		}
		if ended {
			return endAt, nil
		}
		next := liaison.Never
		for _, n := range nodes {
			next = min(next, n.report.Next)
		}
		g := Grant{}
		switch {
		case next == liaison.Never && s.End == liaison.Never:
			// Quiet: nothing left to happen anywhere.
			g.End, g.Until = true, until
		case next > s.End:
			g.End, g.Until = true, s.End
		default:
			if s.Advance != nil {
				if err := s.Advance(ctx, next); err != nil {
					abort(err.Error())
					return until, err
				}
			}
			g.Until = next + s.Lookahead
			if s.End != liaison.Never && g.Until > s.End {
				g.Until = s.End + 1
			}
		}
		ended = g.End
		until = g.Until
		if g.End {
			// Drops at the end are stamped at the end time, inside a last
			// window that closes just after it.
			endAt = g.Until
			if until != liaison.Never {
				until++
			}
		}
		if err := grant(g); err != nil {
			return until, err
		}
	}
}

func (s *Service) settled(nodes []*nodeState) bool {
	var sent, recv uint64
	for _, n := range nodes {
		if !n.reported {
			return false
		}
		sent += n.report.Sent
		recv += n.report.Recv
	}
	return sent == recv
}

func (s *Service) counts(nodes []*nodeState) string {
	var sent, recv uint64
	for _, n := range nodes {
		sent += n.report.Sent
		recv += n.report.Recv
	}
	return fmt.Sprintf("%d messages published, %d received", sent, recv)
}

// admit answers join requests until Nodes nodes host every agency exactly
// once, or the timeout passes with a message naming what is missing.
func (s *Service) admit(ctx context.Context, timeout time.Duration) ([]*nodeState, error) {
	type join struct {
		name     string
		agencies []string
		reply    string
	}
	joins := make(chan join, 64)
	sub, err := s.Conn.Subscribe(s.Subjects.Join(), func(m *nats.Msg) {
		lines := strings.Split(strings.TrimSpace(string(m.Data)), "\n")
		joins <- join{name: lines[0], agencies: lines[1:], reply: m.Reply}
	})
	if err != nil {
		return nil, fmt.Errorf("broker: subscribing to joins: %w", err)
	}
	defer sub.Unsubscribe()
	known := map[string]bool{}
	for _, a := range s.Agencies {
		known[string(a)] = true
	}
	hostOf := map[string]string{}
	var nodes []*nodeState
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(nodes) < s.Nodes {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			var missing []string
			for _, a := range s.Agencies {
				if hostOf[string(a)] == "" {
					missing = append(missing, string(a))
				}
			}
			return nil, fmt.Errorf("broker: %d of %d nodes joined within %s; agencies without a node: %s",
				len(nodes), s.Nodes, timeout, strings.Join(missing, ", "))
		case j := <-joins:
			var problems []string
			for _, a := range j.agencies {
				if !known[a] {
					problems = append(problems, a+" is not in the scenario")
				} else if h := hostOf[a]; h != "" {
					problems = append(problems, a+" is already hosted by node "+h)
				}
			}
			if len(problems) > 0 {
				s.Conn.Publish(j.reply, []byte(strings.Join(problems, "; ")))
				continue
			}
			for _, a := range j.agencies {
				hostOf[a] = j.name
			}
			s.Conn.Publish(j.reply, fmt.Appendf(nil, "ok %d", len(nodes)))
			nodes = append(nodes, &nodeState{name: j.name})
		}
	}
	var missing []string
	for _, a := range s.Agencies {
		if hostOf[string(a)] == "" {
			missing = append(missing, string(a))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("broker: all %d nodes joined but no node hosts %s", s.Nodes, strings.Join(missing, ", "))
	}
	return nodes, nil
}
