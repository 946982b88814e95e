package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
//
// The service keeps nothing per window: a window's events go to Window
// and its grant is forgotten once the next is out. With Resume it keeps
// the live actions granted so far, which is all a replacement node needs
// besides what the other nodes send it again (see Catchup).

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
	// a node started for the same agencies joins, re-runs the run so far
	// from what the others send it again, and the run goes on.
	Resume        bool
	ResumeTimeout time.Duration
	// Notify, when set, hears about failures and recoveries as they
	// happen.
	Notify func(string)
	// Window receives each window's event chunks, one slice per node, the
	// window's end, and the live actions that took effect in it (to be
	// logged). It runs on the service's goroutine; it may keep the chunks.
	Window func(chunks [][]byte, until liaison.Time, actions []Action) error
	// Watch, when set, is asked before each grant, after Window has had
	// the window before, for the actions the run's record has set off so
	// far (conditional injects: each takes effect at its time, which is
	// never before the window's end, since a condition fires at least a
	// lookahead after it is met) and the earliest time at which the record
	// may set off more by itself (a timed condition). No window starts
	// after that time, so a condition met then is seen in time.
	Watch func() (fired []Action, next liaison.Time)
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

	hosts []int // node index of each agency, set when all have joined
}

// Run admits the nodes and grants windows until the run ends. It returns the
// simulated end time. When it fails, joined nodes are told to stop, with
// the reason.
func (s *Service) Run(ctx context.Context) (liaison.Time, error) {
	// done ends the callbacks' sends once Run has returned, so that none
	// stays blocked on a channel no one reads.
	done := make(chan struct{})
	defer close(done)
	up := make(chan upMsg, 1024)
	upSub, err := s.Conn.Subscribe(s.Subjects.UpAll(), func(m *nats.Msg) {
		// The node is the one named on the subject, which a server can
		// bind to the node's user; never one the payload claims.
		node := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		select {
		case up <- upMsg{node: node, data: m.Data}:
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

	r := &session{s: s, up: up, joins: joins}
	r.init()
	defer r.stall.Stop()
	nodes, err := s.admit(ctx, r.joinTimeout, joins)
	if err != nil {
		return 0, r.fail(ctx, err)
	}
	r.nodes, r.expected = nodes, make([]uint64, len(nodes))
	r.clock = NewClock(s.Speed, s.End, s.Live, s.Script)
	r.clock.Accept = s.Accept
	end, err := r.loop(ctx)
	if err != nil {
		return end, r.fail(ctx, err)
	}
	return end, nil
}

// stopError ends a run; why is what the nodes are told.
type stopError struct {
	why string
	err error
}

func (e *stopError) Error() string { return e.err.Error() }

// stop is an error that ends the run with a reason for the nodes.
func stop(why string) error { return &stopError{why: why, err: errors.New("broker: " + why)} }

type upMsg struct {
	node string // the node's token on the subject
	data []byte
}

type nodeState struct {
	name     string
	token    string // NodeToken(name): its reports come on Up(name)
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
	catchup    *Catchup  // its catch-up, sent again until it reports
}

// session is the state of one run of the time service, with a method per
// thing that can happen: a node's message, a join, the heartbeat tick, a
// stall, and every node settled (the next window).
type session struct {
	s     *Service
	up    <-chan upMsg
	joins <-chan join

	joinTimeout, stallTimeout, silentTimeout time.Duration
	stall                                    *time.Timer

	nodes    []*nodeState
	expected []uint64 // messages each node must have received, when settled
	clock    *Clock

	epoch     uint64
	current   Grant        // the window granted last
	grantBuf  []byte       // its encoding, repeated to nodes that did not report
	prevUntil liaison.Time // the end of the window before it
	until     liaison.Time // how far time has been granted
	endAt     liaison.Time
	ended     bool
	actions   []Action  // live actions that took effect in the current window
	retried   time.Time // when the current window was last retried (zero: not yet waited on)
	buf       []byte

	// With Resume only: every action granted so far, for catch-ups.
	actionLog []Action
}

func (r *session) init() {
	s := r.s
	r.joinTimeout, r.stallTimeout, r.silentTimeout = s.JoinTimeout, s.StallTimeout, s.HeartbeatTimeout
	if r.joinTimeout == 0 {
		r.joinTimeout = 30 * time.Second
	}
	if r.stallTimeout == 0 {
		r.stallTimeout = 2 * time.Minute
	}
	if r.silentTimeout == 0 {
		r.silentTimeout = 5 * time.Second
	}
	r.stall = time.NewTimer(r.stallTimeout)
}

// loop grants windows until the run ends.
func (r *session) loop(ctx context.Context) (liaison.Time, error) {
	beat := time.NewTicker(HeartbeatInterval)
	defer beat.Stop()
	// Epoch 1 processes nothing: it tells nodes who hosts whom and collects
	// every node's first event time.
	if err := r.grant(Grant{Until: 0, Hosts: r.s.hosts}); err != nil {
		return r.until, err
	}
	for {
		for {
			ok, err := r.settled()
			if err != nil {
				return r.until, err
			}
			if ok {
				break
			}
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-r.stall.C:
				err = r.stalled()
			case <-beat.C:
				err = r.tick()
			case j := <-r.joins:
				err = r.rejoin(j)
			case m := <-r.up:
				err = r.receive(m)
			}
			if err != nil {
				return r.until, err
			}
		}
		done, err := r.next(ctx)
		if done || err != nil {
			return r.endAt, err
		}
	}
}

// fail tells every node that the run is over, and why.
func (r *session) fail(ctx context.Context, err error) error {
	why := err.Error()
	var se *stopError
	switch {
	case errors.As(err, &se):
		why = se.why
	case ctx.Err() != nil:
		why = "run cancelled"
	}
	perr := r.s.Conn.Publish(r.s.Subjects.Grant(), Abort{Reason: why}.appendDown(nil))
	if perr == nil {
		perr = r.s.Conn.Flush()
	}
	if perr != nil {
		return errors.Join(err, fmt.Errorf("broker: telling the nodes to stop: %w", perr))
	}
	return err
}

// publish sends one message to the nodes; a catch-up goes in parts.
func (r *session) publish(d Down) error {
	if c, ok := d.(Catchup); ok {
		parts, err := c.parts(r.s.Conn.PayloadLimit())
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := r.s.Conn.Publish(r.s.Subjects.Grant(), p); err != nil {
				return fmt.Errorf("broker: publishing a catch-up: %w", err)
			}
		}
		return nil
	}
	r.buf = d.appendDown(r.buf[:0])
	if err := r.s.Conn.Publish(r.s.Subjects.Grant(), r.buf); err != nil {
		return fmt.Errorf("broker: publishing %T: %w", d, err)
	}
	return nil
}

// grant publishes the next window.
func (r *session) grant(g Grant) error {
	r.epoch++
	g.Epoch = r.epoch
	now := time.Now()
	for _, n := range r.nodes {
		// Silence is counted from the grant: while the service was busy
		// (or waiting for the wall clock) it was not listening.
		n.reported, n.chunks, n.seen = false, n.chunks[:0], now
	}
	r.prevUntil, r.current = r.current.Until, g
	if r.s.Resume {
		r.actionLog = append(r.actionLog, g.Actions...)
	}
	r.grantBuf = g.appendDown(r.grantBuf[:0])
	r.retried = time.Time{}
	// Waiting for the wall clock or a pause before this grant was not a
	// stall.
	restart(r.stall, r.stallTimeout)
	if err := r.s.Conn.Publish(r.s.Subjects.Grant(), r.grantBuf); err != nil {
		return fmt.Errorf("broker: publishing a grant: %w", err)
	}
	return nil
}

// next hands the settled window to Window and grants the next one; it
// reports whether the run is over.
func (r *session) next(ctx context.Context) (bool, error) {
	s := r.s
	if s.Window != nil && r.epoch > 1 {
		chunks := make([][]byte, 0, len(r.nodes))
		for _, n := range r.nodes {
			chunks = append(chunks, n.chunks...)
		}
		if err := s.Window(chunks, r.until, r.actions); err != nil {
			return false, err
		}
	}
	if r.ended {
		return true, nil
	}
	next := liaison.Never
	for _, n := range r.nodes {
		next = min(next, n.report.Next)
	}
	if s.Watch != nil {
		fired, check := s.Watch()
		for _, a := range fired {
			r.clock.Script(a)
		}
		next = min(next, max(check, r.until))
	}
	start, err := r.clock.Next(ctx, next, r.until)
	if err != nil {
		return false, err
	}
	// Every action must find the nodes where it takes effect: a window
	// starts no later than the earliest (a decision or a cut changes what
	// agencies do from its time on, as an inject does).
	start = min(start, r.clock.NextAction())
	g := Grant{}
	switch {
	case start == liaison.Never && s.End == liaison.Never:
		// Quiet: nothing left to happen anywhere.
		g.End, g.Until = true, r.until
	case s.End != liaison.Never && start >= s.End:
		// The last window: what happens at the end time itself, then
		// the drops of what is still in transit, all in one window so
		// that the log keeps its order at that instant.
		g.End, g.Until = true, s.End
		s.Drift = r.clock.Drift(s.End)
	default:
		g.Until = min(start+s.Lookahead, s.End)
	}
	if g.End {
		r.actions = r.clock.Take(liaison.Never)
	} else {
		r.actions = r.clock.Take(g.Until)
	}
	for _, a := range r.actions {
		if ChangesModel(a.Kind) {
			g.Actions = append(g.Actions, a)
		}
	}
	r.ended, r.until = g.End, g.Until
	if g.End {
		// Drops at the end are stamped at the end time, inside a last
		// window that closes just after it.
		r.endAt = g.Until
		if r.until != liaison.Never {
			r.until++
		}
	}
	return false, r.grant(g)
}

// receive handles one message from a node.
func (r *session) receive(m upMsg) error {
	i := slices.IndexFunc(r.nodes, func(n *nodeState) bool { return n.token == m.node })
	if i < 0 {
		return nil // no such node: nothing to attribute it to
	}
	n := r.nodes[i]
	if n.dead {
		return nil // what a failed node still had on the wire
	}
	n.seen = time.Now()
	u, err := decodeUp(m.data, n.scratch)
	if err != nil {
		return stop(fmt.Sprintf("node %s sent a message that does not decode: %v", n.name, err))
	}
	switch u := u.(type) {
	case Fail:
		return stop(fmt.Sprintf("node %s failed: %s", n.name, u.Reason))
	case Events:
		// Chunks are numbered within the epoch: a node that sends its
		// window again (its report was lost) repeats them, and copies
		// are ignored.
		if u.Epoch == r.epoch && !n.reported && u.Chunk == uint64(len(n.chunks)) {
			n.chunks = append(n.chunks, u.Data)
		}
	case Report:
		return r.onReport(n, u)
	}
	return nil
}

func (r *session) onReport(n *nodeState, rep Report) error {
	if rep.Epoch != r.epoch {
		return nil
	}
	if !n.reported && rep.Chunks != uint64(len(n.chunks)) {
		// Some chunks were lost: wait for the node to send its window
		// again (the grant is repeated).
		n.chunks = n.chunks[:0]
		return nil
	}
	if len(rep.SentTo) != len(r.nodes) {
		return stop(fmt.Sprintf("node %s counts messages for %d nodes, the run has %d", n.name, len(rep.SentTo), len(r.nodes)))
	}
	// Progress is a first report for the window or more messages
	// received; a repeated report is not, so a node that never reports
	// cannot keep the run waiting by its peers' repeats.
	if !n.reported || rep.Recv > n.report.Recv {
		restart(r.stall, r.stallTimeout)
	}
	n.scratch = n.report.SentTo
	n.report, n.reported, n.catchup = rep, true, nil
	return nil
}

// stalled gives up on a window no node has made progress on.
func (r *session) stalled() error {
	missing := []string{}
	for _, n := range r.nodes {
		if !n.reported {
			missing = append(missing, n.name)
		}
	}
	why := fmt.Sprintf("no progress for %s (waiting for nodes %s; %s)", r.stallTimeout,
		strings.Join(missing, ", "), r.counts())
	return &stopError{why: why, err: errors.New("broker: time service stalled: " + why)}
}

// tick runs every heartbeat interval: it repeats what may have been lost,
// and notices nodes that fell silent.
func (r *session) tick() error {
	if err := r.retry(); err != nil {
		return err
	}
	s := r.s
	for _, n := range r.nodes {
		if n.dead {
			if d := time.Since(n.deadSince); d > s.resumeTimeout() {
				return stop(fmt.Sprintf("node %s (hosting %s) stopped and no replacement joined within %s",
					n.name, strings.Join(n.agencies, ", "), d.Round(time.Second)))
			}
			continue
		}
		d := time.Since(n.seen)
		if d <= r.silentTimeout {
			continue
		}
		if !s.Resume {
			return stop(fmt.Sprintf("node %s (hosting %s) has been silent for %s; it has stopped or lost its connection",
				n.name, strings.Join(n.agencies, ", "), d.Round(time.Millisecond)))
		}
		n.dead, n.deadSince, n.catchup = true, time.Now(), nil
		s.notify(fmt.Sprintf("node %s (hosting %s) has been silent for %s; waiting up to %s for a node to take its place (liaison node ... --agencies for the same agencies)",
			n.name, strings.Join(n.agencies, ", "), d.Round(time.Millisecond), s.resumeTimeout()))
	}
	return nil
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
func (r *session) rejoin(j join) error {
	s := r.s
	reply := func(msg string) error {
		if err := s.Conn.Publish(j.reply, []byte(msg)); err != nil {
			return fmt.Errorf("broker: answering node %s: %w", j.name, err)
		}
		return nil
	}
	if j.problem != "" {
		return reply(j.problem)
	}
	want := slices.Sorted(slices.Values(j.agencies))
	for i, n := range r.nodes {
		if !n.dead || !slices.Equal(want, slices.Sorted(slices.Values(n.agencies))) {
			continue
		}
		if k := slices.IndexFunc(r.nodes, func(o *nodeState) bool { return !o.dead && o.token == NodeToken(j.name) }); k >= 0 {
			return reply(fmt.Sprintf("node %s of the run has the name %s on its subjects", r.nodes[k].name, r.nodes[k].token))
		}
		if j.digest != s.Digest {
			return reply("node " + j.name + " compiled another scenario, variant or seed than the run")
		}
		s.notify(fmt.Sprintf("node %s takes the place of %s (hosting %s); it catches up from window %d",
			j.name, n.name, strings.Join(n.agencies, ", "), r.epoch))
		n.name, n.token, n.dead, n.seen, n.catchingUp, n.asked = j.name, NodeToken(j.name), false, time.Now(), true, 0
		if err := reply(fmt.Sprintf("resume %d", i)); err != nil {
			return err
		}
		// Every other node sends again what it ever sent to the failed
		// one; the replacement drops what it already has.
		return r.publish(Replay{Epoch: r.epoch, Node: i})
	}
	for _, n := range r.nodes {
		if s.Resume && slices.Equal(want, slices.Sorted(slices.Values(n.agencies))) {
			// Its predecessor has not been missed for long enough yet.
			return reply("wait: node " + n.name + " still hosts these agencies")
		}
	}
	return reply("the run has begun and no failed node hosts exactly " + strings.Join(j.agencies, ", "))
}

// catchUp sends a replacement its catch-up, once every other node has
// reported for this window (so that it knows how many messages to wait
// for).
func (r *session) catchUp() error {
	for j, n := range r.nodes {
		if !n.catchingUp {
			continue
		}
		var others uint64
		ready := true
		for i, o := range r.nodes {
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
		if !silent {
			n.chunks = n.chunks[:0]
		}
		before := r.actionLog[:len(r.actionLog)-len(r.current.Actions)]
		c := Catchup{Epoch: r.epoch, Node: j, Others: others, Hosts: r.s.hosts, Through: r.prevUntil,
			Actions: before, Window: r.current, Silent: silent}
		if !silent {
			n.catchup = &c
		}
		if err := r.publish(c); err != nil {
			return err
		}
	}
	return nil
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
func (r *session) retry() error {
	now := time.Now()
	if r.retried.IsZero() {
		r.retried = now
		return nil
	}
	if now.Sub(r.retried) < RetryInterval {
		return nil
	}
	r.retried = now
	all := true
	for _, n := range r.nodes {
		all = all && n.reported
	}
	if !all {
		if err := r.s.Conn.Publish(r.s.Subjects.Grant(), r.grantBuf); err != nil {
			return fmt.Errorf("broker: repeating a grant: %w", err)
		}
		for _, n := range r.nodes {
			if n.catchup != nil && !n.dead {
				if err := r.publish(*n.catchup); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, n := range r.nodes {
		n.asked = 0 // expectations are told again
	}
	return r.publish(Resend{Epoch: r.epoch})
}

// settled reports whether every node has reported for the epoch and has
// received every message sent to it. Nodes still waiting for messages are
// told how many to expect, once per count.
func (r *session) settled() (bool, error) {
	if err := r.catchUp(); err != nil {
		return false, err
	}
	for _, n := range r.nodes {
		if !n.reported || n.dead || n.catchingUp {
			return false, nil
		}
	}
	clear(r.expected)
	for _, n := range r.nodes {
		for j, c := range n.report.SentTo {
			r.expected[j] += c
		}
	}
	ok := true
	for j, n := range r.nodes {
		if n.report.Recv < r.expected[j] {
			ok = false
			if n.asked != r.expected[j] {
				n.asked = r.expected[j]
				if err := r.publish(Expect{Epoch: r.epoch, Node: j, Count: r.expected[j]}); err != nil {
					return false, err
				}
			}
		}
	}
	return ok, nil
}

func (r *session) counts() string {
	var parts []string
	for j, n := range r.nodes {
		parts = append(parts, fmt.Sprintf("%s received %d of %d", n.name, n.report.Recv, r.expected[j]))
	}
	return strings.Join(parts, ", ")
}

// join is a node's request to take part.
type join struct {
	name, digest string
	agencies     []string
	reply        string
	problem      string // why it must be refused whatever the run's state
}

// listenJoins takes join requests for the whole run: at the start, and
// later from replacements of failed nodes.
func (s *Service) listenJoins(done <-chan struct{}) (<-chan join, func(), error) {
	joins := make(chan join, 64)
	sub, err := s.Conn.Subscribe(s.Subjects.JoinAll(), func(m *nats.Msg) {
		if m.Reply == "" {
			return // no node asks without waiting for the answer
		}
		lines := strings.Split(strings.TrimSpace(string(m.Data)), "\n")
		j := join{name: lines[0], reply: m.Reply}
		if len(lines) > 1 {
			j.digest, j.agencies = lines[1], lines[2:]
		}
		if tok := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]; tok != NodeToken(j.name) {
			// Where the server binds node users to their names, a node
			// may speak only for itself; elsewhere this is a broken node.
			j.problem = fmt.Sprintf("node %s asked to join on the subject of node %s", j.name, tok)
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

// admit answers join requests until Nodes nodes host every agency exactly
// once. A node it must refuse (another digest, an agency the scenario
// lacks or another node hosts, a name taken) ends the join at once, as do
// the timeout and agencies no node hosts, with a message that says what
// went wrong; the nodes admitted so far are then told to stop (see fail).
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
			if len(missing) == 0 {
				return nil, stop(fmt.Sprintf("the join failed: %d of %d nodes joined within %s, and they host every agency already: ask for --nodes %d",
					len(nodes), s.Nodes, timeout, len(nodes)))
			}
			return nil, stop(fmt.Sprintf("the join failed: %d of %d nodes joined within %s; agencies without a node: %s",
				len(nodes), s.Nodes, timeout, strings.Join(missing, ", ")))
		case j := <-joins:
			var problems []string
			if j.problem != "" {
				problems = append(problems, j.problem)
			}
			for _, n := range nodes {
				if n.name == j.name {
					problems = append(problems, "a node named "+j.name+" has already joined")
				} else if n.token == NodeToken(j.name) {
					problems = append(problems, fmt.Sprintf("node %s has already joined, and the name %s is the same on a subject (%s)", n.name, j.name, n.token))
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
				refusal := strings.Join(problems, "; ")
				if err := s.Conn.Publish(j.reply, []byte(refusal)); err != nil {
					return nil, fmt.Errorf("broker: answering node %s: %w", j.name, err)
				}
				return nil, stop(fmt.Sprintf("the join failed: node %s was refused: %s", j.name, refusal))
			}
			for _, a := range j.agencies {
				hostOf[a] = j.name
			}
			if err := s.Conn.Publish(j.reply, fmt.Appendf(nil, "ok %d", len(nodes))); err != nil {
				return nil, fmt.Errorf("broker: answering node %s: %w", j.name, err)
			}
			nodes = append(nodes, &nodeState{name: j.name, token: NodeToken(j.name), agencies: j.agencies, seen: time.Now()})
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
		return nil, stop(fmt.Sprintf("the join failed: all %d nodes joined but no node hosts %s", s.Nodes, strings.Join(missing, ", ")))
	}
	return nodes, nil
}
