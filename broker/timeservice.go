package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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
//  3. Reports count published messages per destination node. When every
//     node has reported, the service knows how many messages each node
//     must have received; a node that has not received them all yet is
//     told to expect that count, and reports again once it has. When every
//     count matches, no message is in flight, every node's next time is
//     final, and the service grants the next window. (Nodes never report
//     merely because messages arrived: that would be one report per
//     straggling message.)
//
// The last grant carries End: nodes run what happens at the end time
// itself, drop whatever is still in transit (reason run_end), and report
// once more.

// Grant is one window: process every event with T < Until.
type Grant struct {
	Epoch uint64
	Until liaison.Time
	End   bool   // the run is over: drop what is in transit, at time Until
	Abort string // the run failed; nodes stop
	// Hosts, in the first grant only, gives the node index of every
	// agency, in the order of Service.Agencies: nodes count what they send
	// to each node.
	Hosts []int
	// Expect, when Node ≥ 0, is not a window: node Node must report again
	// once it has received Expect messages in all.
	Node   int
	Expect uint64
	// Injects are live injects that take effect in this window, each at
	// its At, in the order they were accepted.
	Injects []Action
	// Resend, when set, is not a window: every node publishes the
	// messages of window Epoch again (some were lost, say with a server
	// of a cluster); receivers drop the copies they already have.
	Resend bool
	// Replay, when set, is not a window: node ReplayNode has been
	// replaced after a failure; every other node publishes again
	// everything it ever sent to it.
	Replay     bool
	ReplayNode int
	// Catchup, for a replacement node (Node), lists the windows granted
	// so far, to re-run; the last is re-run silently too when Silent.
	// Others is how many messages the other nodes have sent it.
	Catchup []Grant
	Silent  bool
	Others  uint64
}

// Downstream message kinds, first byte of every payload on the grant subject.
const (
	downGrant  byte = 'G'
	downExpect byte = 'X'
	downResend byte = 'S'
	downReplay byte = 'P'
	downCatch  byte = 'C'
	downAbort  byte = 'A'
)

func appendGrant(b []byte, g Grant) []byte {
	switch {
	case g.Abort != "":
		b = append(b, downAbort)
		return append(b, g.Abort...)
	case g.Resend:
		b = append(b, downResend)
		return binary.AppendUvarint(b, g.Epoch)
	case g.Replay:
		b = append(b, downReplay)
		b = binary.AppendUvarint(b, g.Epoch)
		return binary.AppendUvarint(b, uint64(g.ReplayNode))
	case g.Catchup != nil:
		b = append(b, downCatch)
		b = binary.AppendUvarint(b, g.Epoch)
		b = binary.AppendUvarint(b, uint64(g.Node))
		b = binary.AppendUvarint(b, g.Others)
		silent := uint64(0)
		if g.Silent {
			silent = 1
		}
		b = binary.AppendUvarint(b, silent)
		b = binary.AppendUvarint(b, uint64(len(g.Catchup)))
		for _, w := range g.Catchup {
			one := appendGrant(nil, w)
			b = binary.AppendUvarint(b, uint64(len(one)))
			b = append(b, one...)
		}
		return b
	case g.Node >= 0:
		b = append(b, downExpect)
		b = binary.AppendUvarint(b, g.Epoch)
		b = binary.AppendUvarint(b, uint64(g.Node))
		return binary.AppendUvarint(b, g.Expect)
	}
	b = append(b, downGrant)
	b = binary.AppendUvarint(b, g.Epoch)
	b = binary.AppendVarint(b, int64(g.Until))
	end := uint64(0)
	if g.End {
		end = 1
	}
	b = binary.AppendUvarint(b, end)
	b = binary.AppendUvarint(b, uint64(len(g.Hosts)))
	for _, h := range g.Hosts {
		b = binary.AppendUvarint(b, uint64(h))
	}
	b = binary.AppendUvarint(b, uint64(len(g.Injects)))
	for _, in := range g.Injects {
		b = binary.AppendVarint(b, int64(in.At))
		b = binary.AppendUvarint(b, uint64(len(in.Def)))
		b = append(b, in.Def...)
	}
	return b
}

func decodeGrant(b []byte) (Grant, error) {
	g := Grant{Node: -1}
	if len(b) == 0 {
		return g, errors.New("broker: empty grant")
	}
	kind := b[0]
	if kind == downAbort {
		g.Abort = string(b[1:])
		return g, nil
	}
	d := decoder{b: b[1:]}
	g.Epoch = d.uvarint()
	switch kind {
	case downResend:
		g.Resend = true
	case downReplay:
		g.Replay, g.ReplayNode = true, int(d.uvarint())
	case downCatch:
		g.Node = int(d.uvarint())
		g.Others = d.uvarint()
		g.Silent = d.uvarint() == 1
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return g, errors.New("broker: bad catch-up")
		}
		g.Catchup = make([]Grant, 0, n)
		for range n {
			k := d.uvarint()
			if d.err || k > uint64(len(d.b)) {
				return g, errors.New("broker: bad catch-up")
			}
			w, err := decodeGrant(d.b[:k])
			if err != nil {
				return g, err
			}
			d.b = d.b[k:]
			g.Catchup = append(g.Catchup, w)
		}
	case downExpect:
		g.Node = int(d.uvarint())
		g.Expect = d.uvarint()
	case downGrant:
		g.Until = liaison.Time(d.varint())
		g.End = d.uvarint() == 1
		if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
			g.Hosts = make([]int, n)
			for i := range g.Hosts {
				g.Hosts[i] = int(d.uvarint())
			}
		}
		if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
			for range n {
				a := Action{Kind: ActionInject, At: liaison.Time(d.varint())}
				k := d.uvarint()
				if d.err || k > uint64(len(d.b)) {
					d.err = true
					break
				}
				a.Def = append([]byte(nil), d.b[:k]...)
				d.b = d.b[k:]
				g.Injects = append(g.Injects, a)
			}
		}
	default:
		return g, fmt.Errorf("broker: unknown grant kind %q", kind)
	}
	if d.err {
		return g, errors.New("broker: bad grant")
	}
	return g, nil
}

// decoder reads varints and remembers whether any failed.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Upstream message kinds, first byte of every payload on a node's Up subject.
const (
	upEvents byte = 'E'
	upReport byte = 'R'
	upFail   byte = 'F'
	// upHeartbeat says only "still here".
	upHeartbeat byte = 'H'
)

// Report is a node's account of itself after (or while waiting after) a
// window.
type Report struct {
	Epoch uint64
	// SentTo counts the messages this node has published since the run
	// began, by destination node.
	SentTo []uint64
	Recv   uint64       // messages this node has received since the run began
	Next   liaison.Time // its earliest pending event, or liaison.Never
	// Chunks is how many event chunks preceded this report for the epoch;
	// zero in the re-reports that only update counts.
	Chunks uint64
}

func appendReport(b []byte, r Report) []byte {
	b = append(b, upReport)
	b = binary.AppendUvarint(b, r.Epoch)
	b = binary.AppendUvarint(b, r.Recv)
	b = binary.AppendVarint(b, int64(r.Next))
	b = binary.AppendUvarint(b, r.Chunks)
	b = binary.AppendUvarint(b, uint64(len(r.SentTo)))
	for _, n := range r.SentTo {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

func decodeReport(b []byte, sentTo []uint64) (Report, error) {
	d := decoder{b: b}
	r := Report{Epoch: d.uvarint(), Recv: d.uvarint(), Next: liaison.Time(d.varint()), Chunks: d.uvarint()}
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		return r, errors.New("broker: bad report")
	}
	r.SentTo = sentTo[:0]
	for i := uint64(0); i < n; i++ {
		r.SentTo = append(r.SentTo, d.uvarint())
	}
	if d.err {
		return r, errors.New("broker: bad report")
	}
	return r, nil
}

// Node is one participant's link to the time service: it receives grants and
// sends reports. Agents' own traffic goes over the same connection on their
// own subjects.
type Node struct {
	// Replacement is set when the node joined a run that had lost a node
	// with the same agencies: it must catch up (see Grant.Catchup).
	Replacement bool

	conn   *Conn
	subj   Subjects
	up     string // this node's Up subject
	index  int
	grants chan Grant
	done   chan struct{} // closed by Close: no one reads grants any more
	wg     sync.WaitGroup
	sub    *nats.Subscription
	buf    []byte
}

// JoinRun subscribes to grants and asks the time service to admit a node
// hosting the given agencies. It retries until ctx ends, so a node may start
// before the service.
//
// The digest names the scenario, variant and seed the node compiled: the
// service refuses a node whose digest differs from its own, since such a
// node would not give the same results.
func JoinRun(ctx context.Context, c *Conn, subj Subjects, name, digest string, agencies []liaison.AgencyID) (*Node, error) {
	n := &Node{conn: c, subj: subj, grants: make(chan Grant, 16), done: make(chan struct{})}
	sub, err := c.Subscribe(subj.Grant(), func(m *nats.Msg) {
		g, err := decodeGrant(m.Data)
		if err != nil {
			g = Grant{Abort: err.Error(), Node: -1}
		}
		// Messages for one node (expectations, catch-ups) reach every
		// node; the receiver filters (Grants), since a catch-up can come
		// before the join's answer has told this node its index.
		select {
		case n.grants <- g:
		case <-n.done:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("broker: subscribing to grants: %w", err)
	}
	n.sub = sub
	req := name + "\n" + digest + "\n"
	for _, a := range agencies {
		req += string(a) + "\n"
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		msg, err := c.RequestWithContext(rctx, subj.Join(), []byte(req))
		cancel()
		if err == nil {
			reply := string(msg.Data)
			idx, ok := strings.CutPrefix(reply, "ok ")
			if r, resumed := strings.CutPrefix(reply, "resume "); resumed {
				idx, ok, n.Replacement = r, true, true
			}
			if ok {
				n.index, err = strconv.Atoi(idx)
				if err != nil {
					return nil, fmt.Errorf("broker: bad join reply %q", reply)
				}
				n.up = subj.Up(n.index)
				n.wg.Go(n.heartbeat)
				return n, nil
			}
			if strings.HasPrefix(reply, "wait: ") {
				// A replacement asks again until its predecessor is
				// declared failed.
				time.Sleep(200 * time.Millisecond)
				continue
			}
			return nil, fmt.Errorf("broker: the time service refused node %s: %s", name, reply)
		}
		if ctx.Err() != nil {
			n.Close()
			return nil, fmt.Errorf("broker: no time service answered node %s: %w", name, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Grants delivers the service's grants and its messages to nodes, in
// order; those addressed to another node (Node ≥ 0, not Index) are for the
// receiver to ignore.
func (n *Node) Grants() <-chan Grant { return n.grants }

// Index is the node's number in the run, assigned when it joined.
func (n *Node) Index() int { return n.index }

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
		n.buf = binary.AppendUvarint(n.buf, r.Chunks)
		n.buf = append(n.buf, c...)
		if err := n.conn.Publish(up, n.buf); err != nil {
			return fmt.Errorf("broker: publishing events: %w", err)
		}
		r.Chunks++
	}
	return n.Update(r)
}

// Update sends a report without events: the count the service expects has
// arrived.
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
	close(n.done)
	n.wg.Wait()
	if n.sub != nil {
		n.sub.Unsubscribe()
	}
}

// HeartbeatInterval is how often a node tells the service it is alive,
// whatever it is doing; the service gives up on a node silent for
// Service.HeartbeatTimeout.
const HeartbeatInterval = 500 * time.Millisecond

func (n *Node) heartbeat() {
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
			n.conn.Publish(n.up, []byte{upHeartbeat})
		}
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
	// for any report once the run is going; HeartbeatTimeout is how long
	// a node may be silent before the run is abandoned. Zero means 30s,
	// 2m and 5s.
	JoinTimeout, StallTimeout, HeartbeatTimeout time.Duration
	// Digest names the scenario, variant and seed; joining nodes must
	// have the same.
	Digest string
	// Resume, when set, waits up to ResumeTimeout (default 2m) for a
	// replacement of a node that falls silent, instead of ending the run:
	// a node started for the same agencies joins, re-runs the windows so
	// far from what the others send it again, and the run goes on.
	Resume        bool
	ResumeTimeout time.Duration
	// Notify, when set, hears about failures and recoveries as they
	// happen.
	Notify func(string)
	// Window receives each window's event chunks, one slice per node, the
	// window's end, and the live actions that took effect in it (to be
	// logged). It runs on the service's goroutine; it may keep the chunks.
	Window func(chunks [][]byte, until liaison.Time, actions []Action) error
	// Speed, when positive, holds simulated time to the wall clock: Speed
	// simulated seconds per wall second. Zero runs as fast as possible.
	Speed float64
	// Live brings a facilitator's actions (injects, pause, resume) while
	// the run goes on; nil for none.
	Live <-chan Action
	// Accept, when set, decides whether a live action may take effect at
	// its time (see Clock.Accept).
	Accept func(Action) error
	// Script holds actions recorded in an earlier run's log, replayed at
	// the times they took effect then.
	Script []Action
	// Drift, after a paced run, is how far simulated time was from the
	// scaled wall clock when the run ended (positive: behind the wall).
	Drift time.Duration

	hosts   []int     // node index of each agency, set when all have joined
	history []Grant   // every window granted, for replacements to re-run
	retried time.Time // when the current window was last retried (zero: not yet waited on)
}

type upMsg struct {
	node int
	kind byte
	data []byte
}

type nodeState struct {
	name     string
	agencies []string
	seen     time.Time // last message from the node
	report   Report
	reported bool // has reported for the current epoch
	chunks   [][]byte
	asked    uint64   // the count it was last told to expect
	scratch  []uint64 // decoding buffer for reports

	dead       bool      // fell silent; waiting for a replacement (Resume)
	deadSince  time.Time //
	catchingUp bool      // a replacement that has not had its catch-up yet
}

// Run admits the nodes and grants windows until the run ends. It returns the
// simulated end time.
func (s *Service) Run(ctx context.Context) (liaison.Time, error) {
	joinTimeout, stall, silent := s.JoinTimeout, s.StallTimeout, s.HeartbeatTimeout
	if joinTimeout == 0 {
		joinTimeout = 30 * time.Second
	}
	if stall == 0 {
		stall = 2 * time.Minute
	}
	if silent == 0 {
		silent = 5 * time.Second
	}
	beat := time.NewTicker(HeartbeatInterval)
	defer beat.Stop()
	// done ends the callbacks' sends once Run has returned, so that none
	// stays blocked on a channel no one reads.
	done := make(chan struct{})
	defer close(done)
	up := make(chan upMsg, 1024)
	upSub, err := s.Conn.Subscribe(s.Subjects.UpAll(), func(m *nats.Msg) {
		i := strings.LastIndexByte(m.Subject, '.')
		node, err := strconv.Atoi(m.Subject[i+1:])
		if err != nil || len(m.Data) == 0 {
			return
		}
		select {
		case up <- upMsg{node: node, kind: m.Data[0], data: m.Data[1:]}:
		case <-done:
		}
	})
	if err != nil {
		return 0, fmt.Errorf("broker: subscribing to reports: %w", err)
	}
	defer upSub.Unsubscribe()
	upSub.SetPendingLimits(-1, -1)

	joins, stopJoins, err := s.listenJoins(done)
	if err != nil {
		return 0, err
	}
	defer stopJoins()
	nodes, err := s.admit(ctx, joinTimeout, joins)
	if err != nil {
		return 0, err
	}
	timer := time.NewTimer(stall)
	defer timer.Stop()
	var epoch uint64
	var lastGrant []byte
	grant := func(g Grant) error {
		epoch++
		g.Epoch, g.Node = epoch, -1
		now := time.Now()
		for _, n := range nodes {
			// Silence is counted from the grant: while the service was
			// busy (or waiting for the wall clock) it was not listening.
			n.reported, n.chunks, n.seen = false, n.chunks[:0], now
		}
		lastGrant = appendGrant(nil, g)
		s.retried = time.Time{}
		// Waiting for the wall clock or a pause before this grant was
		// not a stall.
		restart(timer, stall)
		s.history = append(s.history, g)
		return s.Conn.Publish(s.Subjects.Grant(), lastGrant)
	}
	abort := func(why string) {
		s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Abort: why, Node: -1}))
		s.Conn.Flush()
	}
	// Epoch 1 processes nothing: it tells nodes who hosts whom and collects
	// every node's first event time.
	if err := grant(Grant{Until: 0, Hosts: s.hosts}); err != nil {
		return 0, err
	}
	var until, endAt liaison.Time
	ended := false
	c := NewClock(s.Speed, s.End, s.Live, s.Script)
	c.Accept = s.Accept
	var windowActions []Action
	expected := make([]uint64, len(nodes))
	for {
		// Wait until every node has reported for this epoch and nothing is
		// in flight.
		for !s.settled(nodes, expected, epoch) {
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
					strings.Join(missing, ", "), s.counts(nodes, expected))
				abort(why)
				return until, errors.New("broker: time service stalled: " + why)
			case <-beat.C:
				s.retry(nodes, epoch, lastGrant)
				for _, n := range nodes {
					if n.dead {
						if d := time.Since(n.deadSince); d > s.resumeTimeout() {
							why := fmt.Sprintf("node %s (hosting %s) stopped and no replacement joined within %s",
								n.name, strings.Join(n.agencies, ", "), d.Round(time.Second))
							abort(why)
							return until, errors.New("broker: " + why)
						}
						continue
					}
					if d := time.Since(n.seen); d > silent && s.Resume {
						n.dead, n.deadSince = true, time.Now()
						s.notify(fmt.Sprintf("node %s (hosting %s) has been silent for %s; waiting up to %s for a node to take its place (liaison node ... --agencies for the same agencies)",
							n.name, strings.Join(n.agencies, ", "), d.Round(time.Millisecond), s.resumeTimeout()))
						continue
					}
					if d := time.Since(n.seen); d > silent {
						why := fmt.Sprintf("node %s (hosting %s) has been silent for %s; it has stopped or lost its connection",
							n.name, strings.Join(n.agencies, ", "), d.Round(time.Millisecond))
						abort(why)
						return until, errors.New("broker: " + why)
					}
				}
				continue
			case j := <-joins:
				s.rejoin(j, nodes, epoch)
				continue
			case m := <-up:
				if m.node < 0 || m.node >= len(nodes) {
					continue
				}
				n := nodes[m.node]
				if n.dead {
					continue // what a failed node still had on the wire
				}
				n.seen = time.Now()
				switch m.kind {
				case upHeartbeat:
					continue
				case upFail:
					why := fmt.Sprintf("node %s failed: %s", n.name, m.data)
					abort(why)
					return until, errors.New("broker: " + why)
				case upEvents:
					// Chunks are numbered within the epoch: a node that
					// sends its window again (its report was lost) repeats
					// them, and copies are ignored.
					d := decoder{b: m.data}
					e, i := d.uvarint(), d.uvarint()
					if !d.err && e == epoch && !n.reported && i == uint64(len(n.chunks)) {
						n.chunks = append(n.chunks, d.b)
					}
				case upReport:
					r, err := decodeReport(m.data, n.scratch)
					if err != nil {
						abort(err.Error())
						return until, err
					}
					if r.Epoch != epoch {
						continue
					}
					if !n.reported && r.Chunks != uint64(len(n.chunks)) {
						// Some chunks were lost: wait for the node to send
						// its window again (the grant is repeated).
						n.chunks = n.chunks[:0]
						continue
					}
					n.scratch = n.report.SentTo
					if len(r.SentTo) != len(nodes) {
						err := fmt.Errorf("broker: node %s counts messages for %d nodes, the run has %d", n.name, len(r.SentTo), len(nodes))
						abort(err.Error())
						return until, err
					}
					// Progress is a first report for the window or more
					// messages received; a repeated report is not, so a
					// node that never reports cannot keep the run waiting
					// by its peers' repeats.
					if !n.reported || r.Recv > n.report.Recv {
						restart(timer, stall)
					}
					n.report, n.reported = r, true
				}
			}
		}
		if s.Window != nil && epoch > 1 {
			chunks := make([][]byte, 0, len(nodes))
			for _, n := range nodes {
				chunks = append(chunks, n.chunks...)
			}
			if err := s.Window(chunks, until, windowActions); err != nil {
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
		start, err := c.Next(ctx, next, until)
		if err != nil {
			abort(err.Error())
			return until, err
		}
		g := Grant{}
		switch {
		case start == liaison.Never && s.End == liaison.Never:
			// Quiet: nothing left to happen anywhere.
			g.End, g.Until = true, until
		case s.End != liaison.Never && start >= s.End:
			// The last window: what happens at the end time itself, then
			// the drops of what is still in transit, all in one window so
			// that the log keeps its order at that instant.
			g.End, g.Until = true, s.End
			s.Drift = c.Drift(s.End)
		default:
			g.Until = min(start+s.Lookahead, s.End)
		}
		if g.End {
			windowActions = c.Take(liaison.Never)
		} else {
			windowActions = c.Take(g.Until)
		}
		for _, a := range windowActions {
			if a.Kind == ActionInject {
				g.Injects = append(g.Injects, a)
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

func (s *Service) resumeTimeout() time.Duration {
	if s.ResumeTimeout > 0 {
		return s.ResumeTimeout
	}
	return 2 * time.Minute
}

func (s *Service) notify(msg string) {
	if s.Notify != nil {
		s.Notify(msg)
	}
}

// rejoin admits a replacement for a failed node: same agencies, same
// digest. Others are refused: the run has begun.
func (s *Service) rejoin(j join, nodes []*nodeState, epoch uint64) {
	want := slices.Sorted(slices.Values(j.agencies))
	for i, n := range nodes {
		if !n.dead || !slices.Equal(want, slices.Sorted(slices.Values(n.agencies))) {
			continue
		}
		if j.digest != s.Digest {
			s.Conn.Publish(j.reply, []byte("node "+j.name+" compiled another scenario, variant or seed than the run"))
			return
		}
		s.notify(fmt.Sprintf("node %s takes the place of %s (hosting %s); it catches up from window %d",
			j.name, n.name, strings.Join(n.agencies, ", "), epoch))
		n.name, n.dead, n.seen, n.catchingUp, n.asked = j.name, false, time.Now(), true, 0
		s.Conn.Publish(j.reply, fmt.Appendf(nil, "resume %d", i))
		// Every other node sends again what it ever sent to the failed
		// one; the replacement drops what it already has.
		s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Node: -1, Epoch: epoch, Replay: true, ReplayNode: i}))
		return
	}
	for _, n := range nodes {
		if s.Resume && slices.Equal(want, slices.Sorted(slices.Values(n.agencies))) {
			// Its predecessor has not been missed for long enough yet.
			s.Conn.Publish(j.reply, []byte("wait: node "+n.name+" still hosts these agencies"))
			return
		}
	}
	s.Conn.Publish(j.reply, []byte("the run has begun and no failed node hosts exactly "+strings.Join(j.agencies, ", ")))
}

// catchUp sends a replacement the windows to re-run, once every other
// node has reported for this window (so that it knows how many messages
// to wait for).
func (s *Service) catchUp(nodes []*nodeState, epoch uint64) {
	for j, n := range nodes {
		if !n.catchingUp {
			continue
		}
		var others uint64
		ready := true
		for i, o := range nodes {
			if i == j {
				continue
			}
			if !o.reported || o.dead || o.catchingUp {
				ready = false
				break
			}
			others += o.report.SentTo[j]
		}
		if !ready {
			continue
		}
		n.catchingUp = false
		// A node that had reported this window before it failed has its
		// events in; its replacement re-runs it silently too.
		silent := n.reported
		n.reported = silent
		if !silent {
			n.chunks = n.chunks[:0]
		}
		s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Node: j, Epoch: epoch, Catchup: s.history,
			Silent: silent, Others: others}))
	}
}

// restart stops t, drains a pending expiry, and starts it again for d.
func restart(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}

// RetryInterval is how long the service waits on a window before it
// repeats the grant (to nodes that have not reported: the grant or their
// report was lost) or asks for the window's messages again (every node
// reported but messages are missing). Both happen only when a NATS
// server or connection fails; on a healthy network a window settles in
// well under it.
const RetryInterval = time.Second

// retry repeats what a lost message may have swallowed.
func (s *Service) retry(nodes []*nodeState, epoch uint64, lastGrant []byte) {
	now := time.Now()
	all := true
	for _, n := range nodes {
		all = all && n.reported
	}
	if s.retried.IsZero() {
		s.retried = now
		return
	}
	if now.Sub(s.retried) < RetryInterval {
		return
	}
	s.retried = now
	if !all {
		s.Conn.Publish(s.Subjects.Grant(), lastGrant)
		return
	}
	s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Epoch: epoch, Node: -1, Resend: true}))
	for _, n := range nodes {
		n.asked = 0 // expectations are told again
	}
}

// settled reports whether every node has reported for the epoch and has
// received every message sent to it. Nodes still waiting for messages are
// told how many to expect, once per count.
func (s *Service) settled(nodes []*nodeState, expected []uint64, epoch uint64) bool {
	s.catchUp(nodes, epoch)
	for _, n := range nodes {
		if !n.reported || n.dead || n.catchingUp {
			return false
		}
	}
	clear(expected)
	for _, n := range nodes {
		for j, c := range n.report.SentTo {
			expected[j] += c
		}
	}
	ok := true
	for j, n := range nodes {
		if n.report.Recv < expected[j] {
			ok = false
			if n.asked != expected[j] {
				n.asked = expected[j]
				s.Conn.Publish(s.Subjects.Grant(), appendGrant(nil, Grant{Epoch: epoch, Node: j, Expect: expected[j]}))
			}
		}
	}
	return ok
}

func (s *Service) counts(nodes []*nodeState, expected []uint64) string {
	var parts []string
	for j, n := range nodes {
		parts = append(parts, fmt.Sprintf("%s received %d of %d", n.name, n.report.Recv, expected[j]))
	}
	return strings.Join(parts, ", ")
}

// admit answers join requests until Nodes nodes host every agency exactly
// once, or the timeout passes with a message naming what is missing.
// join is a node's request to take part.
type join struct {
	name, digest string
	agencies     []string
	reply        string
}

// listenJoins takes join requests for the whole run: at the start, and
// later from replacements of failed nodes.
func (s *Service) listenJoins(done <-chan struct{}) (<-chan join, func(), error) {
	joins := make(chan join, 64)
	sub, err := s.Conn.Subscribe(s.Subjects.Join(), func(m *nats.Msg) {
		lines := strings.Split(strings.TrimSpace(string(m.Data)), "\n")
		j := join{name: lines[0], reply: m.Reply}
		if len(lines) > 1 {
			j.digest, j.agencies = lines[1], lines[2:]
		}
		select {
		case joins <- j:
		case <-done:
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("broker: subscribing to joins: %w", err)
	}
	return joins, func() { sub.Unsubscribe() }, nil
}

func (s *Service) admit(ctx context.Context, timeout time.Duration, joins <-chan join) ([]*nodeState, error) {
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
			for _, n := range nodes {
				if n.name == j.name {
					problems = append(problems, "a node named "+j.name+" has already joined")
				}
			}
			if j.digest != s.Digest {
				problems = append(problems, fmt.Sprintf("node %s compiled another scenario, variant or seed (digest %.12s, the run's %.12s); start it with the run's scenario file, --variant and --seed", j.name, j.digest, s.Digest))
			}
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
			nodes = append(nodes, &nodeState{name: j.name, agencies: j.agencies, seen: time.Now()})
		}
	}
	var missing []string
	index := map[string]int{}
	for i, n := range nodes {
		index[n.name] = i
	}
	s.hosts = make([]int, len(s.Agencies))
	for i, a := range s.Agencies {
		h := hostOf[string(a)]
		if h == "" {
			missing = append(missing, string(a))
		}
		s.hosts[i] = index[h]
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("broker: all %d nodes joined but no node hosts %s", s.Nodes, strings.Join(missing, ", "))
	}
	return nodes, nil
}
