package agents

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// In one process, nodes need no time service and no windows. Every message
// is still published on NATS and used as it arrives from there, but before
// it is published its sender lists it with the receiving node (an
// expectation: sender, number, delivery time). A node may then run every
// event earlier than
//
//   - the earliest message listed for it and not yet arrived,
//   - the earliest time any other node could still send to it: that node's
//     lower bound (its earliest pending event or expected arrival) plus the
//     least channel latency, and
//   - the horizon the coordinator grants (the wall clock in a paced run,
//     the place where a facilitator's actions take effect),
//
// without a round trip to anyone: a lone node runs until the earliest of
// its own messages that NATS has not yet brought back, so the cost of
// synchronisation is per message, not per window of lookahead. Nodes
// exchange bounds under one mutex only when they run out of safe events.
//
// An arrival that no node listed is rejected: it is no message any agency
// sent, whatever its payload says.

// Batch is part of a node's event stream for the recorder: events in
// canonical order, and Through, the time before which the source has
// nothing more to say. Source is the node's index, or Coordinator for the
// live actions the coordinator records (Actions, in order).
type Batch struct {
	Source  int
	Events  []events.Event
	Actions []broker.Action
	Through liaison.Time
}

// batchEvents is how many events a node gathers before handing them to the
// recorder while it runs on.
const batchEvents = 4096

// Local coordinates the nodes of one process. Set its fields, start each
// node with RunLocal, and call Run.
type Local struct {
	// Nodes is how many nodes take part; Hosts gives each agency's node.
	Nodes int
	Hosts []int
	// End is the last simulated instant, or liaison.Never to run until
	// nothing is left to happen.
	End liaison.Time
	// Lookahead is the least latency of any channel.
	Lookahead liaison.Time
	// Clock paces the run and brings the facilitator's actions.
	Clock *broker.Clock
	// Out receives every node's events and the coordinator's actions, for
	// the recorder; Free hands used event buffers back (optional).
	Out  chan<- Batch
	Free chan []events.Event
	// Triggered, when set, returns the conditional injects the recorder
	// has found due since the last call (fire_inject actions with their
	// times); Recorded is the time before which the recorder has seen
	// every event; MinAfter is the least delay of a conditional inject.
	// With them the horizon never passes what the recorder has seen plus
	// MinAfter, so that a conditional inject finds no node past its time.
	Triggered func() []broker.Action
	Recorded  func() liaison.Time
	MinAfter  liaison.Time
	// Lag, after a paced run, is the worst delay of simulated time behind
	// the scaled wall clock seen while the run went on; Drift, how far the
	// scaled wall clock was past the end time when the run got there.
	Lag, Drift time.Duration

	once    sync.Once
	mu      sync.Mutex
	peers   []*peer
	horizon liaison.Time // nodes may run events before it
	phase   int          // running, ending, finished
	err     error
	idle    chan struct{} // wakes the coordinator: every node is idle
}

const (
	phaseRunning = iota
	phaseEnding
)

// Coordinator is the Source of the coordinator's batches.
const Coordinator = -1

// peer is the coordinator's view of one node.
type peer struct {
	node atomic.Pointer[Node]

	// Guarded by mu: what other nodes list for this one, and the bound
	// they read.
	mu      sync.Mutex
	reg     []registration // expectations not yet taken by the node
	cancels []msgID        // refused publishes: not to be expected after all
	regMin  liaison.Time
	lb      liaison.Time // the node's earliest pending event or expected arrival, when it last looked

	// Guarded by Local.mu.
	actions   []broker.Action // accepted actions the node has not yet taken
	actionMin liaison.Time
	waiting   bool // the node waits for news
	idle      bool // the node has run everything before the horizon
	finished  bool
}

// effective is the earliest event the node could still run, as far as
// anyone can tell: its own bound, what others have listed for it since,
// and actions waiting for it. p.mu is held.
func (p *peer) effective() liaison.Time {
	return min(p.lb, p.regMin, p.actionMin)
}

func (l *Local) init() {
	l.once.Do(func() {
		l.peers = make([]*peer, l.Nodes)
		for i := range l.peers {
			l.peers[i] = &peer{lb: 0, regMin: liaison.Never, actionMin: liaison.Never}
		}
		l.idle = make(chan struct{}, 1)
	})
}

// registration is a message listed with the node of its recipient, with
// its payload's checksum.
type registration struct {
	expected
	sum uint64
}

// localState is a node's side of in-process synchronisation.
type localState struct {
	l        *Local
	index    int
	self     *peer
	inflight expectSet
	limit    liaison.Time // run events before this
	bound    liaison.Time // what the other nodes and the horizon allow
	batch    []events.Event
	through  liaison.Time // the last Through handed to the recorder
	idle     bool         // at the last sync: nothing left before the horizon
	err      error
}

// RunLocal runs the node as node index of the in-process run l, until the
// run ends or fails.
func (n *Node) RunLocal(ctx context.Context, l *Local, index int) (err error) {
	l.init()
	s := &localState{l: l, index: index, self: l.peers[index],
		bound: 0, through: -1}
	n.local = s
	s.self.node.Store(n)
	defer func() {
		if err != nil {
			l.Fail(err)
		}
	}()
	if err := n.setHosts(l.Hosts); err != nil {
		return err
	}
	subs, err := n.subscribe(func(msg *nats.Msg) {
		n.mu.Lock()
		if w := n.take(msg); w != nil {
			w.sum = checksum(msg.Data)
			n.inbox = append(n.inbox, w)
			n.recv++
		}
		n.mu.Unlock()
		n.wake()
	})
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}()
	for _, a := range n.agents {
		if a != nil {
			a.start()
		}
	}
	for {
		if err := n.drainLocal(); err != nil {
			return err
		}
		s.limit = min(s.bound, s.inflight.min())
		n.process(&s.limit)
		if s.err != nil {
			return s.err
		}
		if n.pubErrs > 0 {
			return fmt.Errorf("agents: node %s: %d publishes failed: %s", n.name, n.pubErrs, n.conn.Errors.Last())
		}
		end, err := n.sync()
		if err != nil {
			return err
		}
		if end {
			return n.finishLocal(ctx)
		}
		if n.canRun() {
			continue
		}
		// About to wait. Refused publishes are learned first: another
		// node may be waiting for them.
		if err := s.confirm(); err != nil {
			return err
		}
		if n.canRun() {
			continue
		}
		// A node that waits for the coordinator hands its events on, so
		// that what watches the run (a paced run's dashboards, the
		// recorder at the end) is never behind by more than a lease.
		if err := n.slowConsumer(); err != nil {
			return err
		}
		if s.idle || len(s.batch) >= batchEvents/4 {
			// Nothing before the earliest of what is queued, on its way,
			// or allowed, can still come.
			s.handoff(min(s.bound, s.inflight.min(), n.queue.next()))
		} else if n.yield() {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.arrived:
		}
	}
}

// yield lets the goroutines that carry messages through NATS run a little
// before the node parks: the message it waits for is usually a few of their
// steps away, and parking and waking again costs more than those steps.
// It reports whether something arrived meanwhile.
func (n *Node) yield() bool {
	if !n.Yield {
		return false
	}
	for range 8 {
		runtime.Gosched()
		if n.pending() {
			return true
		}
	}
	return false
}

// canRun reports whether the node has an event it may run, or arrivals to
// take in.
func (n *Node) canRun() bool {
	s := n.local
	return n.queue.next() < min(s.bound, s.inflight.min()) || n.pending()
}

// pending reports whether arrivals wait to be drained.
func (n *Node) pending() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.inbox) > 0 || n.bad != nil
}

// drainLocal moves arrivals into the event queue as deliveries, each
// checked against what was listed for this node.
func (n *Node) drainLocal() error {
	s := n.local
	n.mu.Lock()
	in := n.inbox
	n.inbox = nil
	bad := n.bad
	n.mu.Unlock()
	if bad != nil {
		return bad
	}
	// What others listed for this node, taken after the arrivals: a
	// sender lists a message before it publishes it, so every arrival
	// taken above is listed by now.
	s.pull()
	for _, w := range in {
		m := &w.msg
		// take checked the fields; only a message listed with its very
		// payload is one an agency sent.
		if !s.inflight.match(msgID{m.From, m.Seq}, m.DeliverAt, w.sum) {
			n.mu.Lock()
			n.refuse(n.subject(m.Channel, m.To, m.From), m, "no agency sent it as it came: forged, altered or repeated")
			n.mu.Unlock()
			continue
		}
		n.deliverLater(w)
	}
	n.logRefusals(max(s.through, n.lastEvent))
	return nil
}

// deliverLater queues an arrived message for delivery at its time.
func (n *Node) deliverLater(w *work) {
	m := &w.msg
	w.fromMsg, w.item, w.typ, w.origin, w.urgent = true, m.Item, m.Type, m.Origin, m.Urgent
	w.arrival, w.src, w.seq = m.DeliverAt, m.From, m.Seq
	n.queue.push(qevent{t: m.DeliverAt, prio: prioDeliver, agent: m.To, src: m.From, seq: m.Seq, work: w})
}

// pull takes what other nodes listed for this one.
func (s *localState) pull() {
	p := s.self
	p.mu.Lock()
	reg, cancels := p.reg, p.cancels
	p.reg, p.cancels = nil, nil
	if len(reg) > 0 {
		// Until the node's next sync, its bound must still cover these.
		p.lb = min(p.lb, p.regMin)
	}
	p.regMin = liaison.Never
	p.mu.Unlock()
	for _, e := range reg {
		s.inflight.add(e.id, e.at, e.sum)
	}
	for _, id := range cancels {
		s.inflight.cancel(id)
	}
}

// expect lists a message before it is published: with this node, or with
// the node that hosts its recipient. A message to another node also brings
// this node's limit down: what it causes there can come back no earlier
// than one more hop later.
func (s *localState) expect(m *Message, sum uint64) {
	id := msgID{m.From, m.Seq}
	dest := int(s.self.node.Load().hostOf[m.To])
	if dest == s.index {
		s.inflight.add(id, m.DeliverAt, sum)
		s.limit = min(s.limit, m.DeliverAt)
		return
	}
	p := s.l.peers[dest]
	p.mu.Lock()
	p.reg = append(p.reg, registration{expected{id, m.DeliverAt}, sum})
	p.regMin = min(p.regMin, m.DeliverAt)
	p.mu.Unlock()
	s.limit = min(s.limit, m.DeliverAt+s.l.Lookahead)
}

// confirm learns whether the server refused any publish not yet
// confirmed; a refused one is dropped (reason permission) and its receiver
// stops waiting for it.
func (s *localState) confirm() error {
	n := s.self.node.Load()
	if n.confirmed == nil || len(n.unconfirmed) == 0 {
		return nil
	}
	refused, err := n.confirmPublishes()
	if err != nil {
		s.err = err
		return err
	}
	for i := range refused {
		u := &refused[i]
		s.batch = append(s.batch, u.drop())
		s.cancel(&u.msg)
	}
	if len(refused) > 0 && !slices.IsSortedFunc(s.batch, events.Compare) {
		slices.SortStableFunc(s.batch, events.Compare)
	}
	return nil
}

// flush confirms publishes and hands the events so far to the recorder
// while the node runs on: nothing before through follows.
func (s *localState) flush(through liaison.Time) {
	if err := s.confirm(); err != nil {
		return
	}
	s.handoff(through)
}

// handoff hands the events so far to the recorder, saying that nothing
// before through will follow.
func (s *localState) handoff(through liaison.Time) {
	if len(s.batch) == 0 && through <= s.through {
		return
	}
	s.through = max(s.through, through)
	s.l.Out <- Batch{Source: s.index, Events: s.batch, Through: s.through}
	s.batch = nil
	if s.l.Free != nil {
		select {
		case b := <-s.l.Free:
			s.batch = b[:0]
		default:
		}
	}
	if s.batch == nil {
		// Small at first: a short run hands off few events, and every
		// page a process touches costs it time.
		s.batch = make([]events.Event, 0, 256)
	}
}

// cancel stops the receiver from waiting for a refused message.
func (s *localState) cancel(m *Message) {
	id := msgID{m.From, m.Seq}
	dest := int(s.self.node.Load().hostOf[m.To])
	if dest == s.index {
		s.inflight.cancel(id)
		return
	}
	p := s.l.peers[dest]
	p.mu.Lock()
	p.cancels = append(p.cancels, id)
	p.mu.Unlock()
	p.node.Load().wake()
}

// sync tells the coordinator and the other nodes how far this node has
// come, takes the actions meant for it, and learns how far it may go. It
// reports whether the run has reached its end phase.
func (n *Node) sync() (bool, error) {
	s := n.local
	l := s.l
	p := s.self
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return false, ErrAborted
	}
	// Actions first: an inject changes the node's earliest event.
	for _, a := range p.actions {
		if err := n.apply(a); err != nil {
			return false, err
		}
	}
	p.actions, p.actionMin = p.actions[:0], liaison.Never
	s.pull()
	lb := min(n.queue.next(), s.inflight.min())
	p.mu.Lock()
	raised := lb > p.lb
	p.lb = lb
	regMin := p.regMin
	p.mu.Unlock()
	bound := l.horizon
	for i, o := range l.peers {
		if i == s.index {
			continue
		}
		o.mu.Lock()
		e := o.effective()
		o.mu.Unlock()
		if e != liaison.Never {
			bound = min(bound, e+l.Lookahead)
		}
	}
	s.bound = bound
	if raised {
		for i, o := range l.peers {
			if i != s.index && o.waiting && o.node.Load() != nil {
				o.waiting = false
				o.node.Load().wake()
			}
		}
	}
	// Idle: nothing left before the horizon, here or on its way here.
	wasIdle := p.idle
	p.idle = lb >= l.horizon && regMin >= l.horizon
	s.idle = p.idle
	p.waiting = !(n.queue.next() < min(s.bound, s.inflight.min()))
	if p.idle && !wasIdle {
		all := true
		for _, o := range l.peers {
			all = all && o.idle
		}
		if all {
			select {
			case l.idle <- struct{}{}:
			default:
			}
		}
	}
	return l.phase == phaseEnding, nil
}

// ErrAborted ends nodes when another part of the run failed; the failure
// itself is reported by whoever had it, so callers may leave this one out.
var ErrAborted = errors.New("agents: the run was aborted")

// finishLocal runs the end time, waits for every message still on its way
// to this node, drops them (reason run_end) and hands over the last events.
func (n *Node) finishLocal(ctx context.Context) error {
	s := n.local
	l := s.l
	// Messages due at the end time itself must be in before it runs.
	for {
		if err := n.drainLocal(); err != nil {
			return err
		}
		if l.End == liaison.Never || s.inflight.min() > l.End {
			break
		}
		if err := n.waitArrival(ctx); err != nil {
			return err
		}
	}
	n.runEndTime(l.End)
	for s.inflight.len() > 0 {
		if err := n.waitArrival(ctx); err != nil {
			return err
		}
		if err := n.drainLocal(); err != nil {
			return err
		}
	}
	n.dropRest(l.End)
	if err := s.confirm(); err != nil {
		return err
	}
	s.handoff(liaison.Never)
	l.mu.Lock()
	s.self.finished = true
	all := true
	for _, o := range l.peers {
		all = all && o.finished
	}
	l.mu.Unlock()
	if all {
		select {
		case l.idle <- struct{}{}:
		default:
		}
	}
	return nil
}

// waitArrival waits for something to arrive, or for the run to fail.
func (n *Node) waitArrival(ctx context.Context) error {
	if n.pending() {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-n.arrived:
	}
	l := n.local.l
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	if err != nil {
		return ErrAborted
	}
	return nil
}

// Poke wakes the coordinator: the recorder has seen more of the run.
func (l *Local) Poke() {
	l.init()
	select {
	case l.idle <- struct{}{}:
	default:
	}
}

// Fail ends the run: every node stops at its next look.
func (l *Local) Fail(err error) {
	l.init()
	l.mu.Lock()
	if l.err == nil {
		l.err = err
	}
	peers := l.peers
	l.mu.Unlock()
	for _, p := range peers {
		if n := p.node.Load(); n != nil {
			n.wake()
		}
	}
	select {
	case l.idle <- struct{}{}:
	default:
	}
}

// Run grants simulated time to the nodes until the run ends: the clock says
// where time goes next, the facilitator's actions are handed to the nodes
// and recorded, and in a run as fast as possible the horizon moves in
// leases sized to take a few milliseconds each, so that a live action
// lands promptly. It returns when every node has finished, or the first
// failure.
func (l *Local) Run(ctx context.Context) error {
	l.init()
	// The coordinator's own stream starts at the horizon: nothing of its
	// comes before it.
	l.Out <- Batch{Source: Coordinator, Through: 0}
	lease := max(l.Lookahead, liaison.Minute) * 64
	var leaseStart time.Time
	var dueAt time.Time // paced: when the wall clock reached the horizon's events
	started := false
	for {
		select {
		case <-ctx.Done():
			l.Fail(ctx.Err())
			return ctx.Err()
		case <-l.idle:
		}
		l.mu.Lock()
		err := l.err
		ready := true
		finished := true
		next := liaison.Never
		for _, p := range l.peers {
			ready = ready && p.idle && p.node.Load() != nil
			finished = finished && p.finished
			p.mu.Lock()
			next = min(next, p.effective())
			p.mu.Unlock()
		}
		phase := l.phase
		horizon := l.horizon
		l.mu.Unlock()
		if err != nil {
			if errors.Is(err, ErrAborted) {
				return nil
			}
			return err
		}
		if phase == phaseEnding {
			if finished {
				return nil
			}
			continue
		}
		if !ready {
			continue
		}
		if l.Triggered != nil {
			// The recorder must have seen everything before the horizon
			// before time goes on: a condition met there fires after it.
			if l.Recorded() < horizon {
				continue // it pokes the coordinator when it moves on
			}
			for _, a := range l.Triggered() {
				l.Clock.Script(a)
				next = min(next, a.At)
			}
		}
		if !started {
			// Every node is ready: simulated time starts now.
			l.Clock.Start()
			started = true
		}
		if l.Clock.Paced() && !dueAt.IsZero() {
			l.Lag = max(l.Lag, time.Since(dueAt))
		}
		if !leaseStart.IsZero() && !l.Clock.Paced() {
			// Aim for leases of about ten milliseconds of wall time.
			switch took := time.Since(leaseStart); {
			case took < 5*time.Millisecond && lease < liaison.Never/4:
				lease *= 2
			case took > 20*time.Millisecond && lease > l.Lookahead:
				lease /= 2
			}
		}
		start, err := l.Clock.Next(ctx, next, horizon)
		if err != nil {
			l.Fail(err)
			return err
		}
		var h liaison.Time
		ending := false
		switch {
		case start == liaison.Never && l.End == liaison.Never:
			ending = true // quiet: nothing left to happen anywhere
		case l.End != liaison.Never && start >= l.End:
			ending = true
			h = l.End
			l.Drift = l.Clock.Drift(l.End)
		case l.Clock.Paced():
			dueAt = l.Clock.WallAt(start)
			h = max(start+1, l.Clock.Now())
		default:
			h = start + lease
		}
		if !ending && l.Triggered != nil {
			h = min(h, l.Recorded()+l.MinAfter)
		}
		if !ending {
			// A replayed action must find the nodes where it takes effect.
			if a := l.Clock.NextAction(); a != liaison.Never {
				h = min(h, a+1)
			}
			h = min(h, l.End)
		}
		var actions []broker.Action
		if ending {
			actions = l.Clock.Take(liaison.Never)
		} else {
			actions = l.Clock.Take(h)
		}
		l.mu.Lock()
		for _, a := range actions {
			if !broker.ChangesModel(a.Kind) {
				continue
			}
			for _, p := range l.peers {
				p.actions = append(p.actions, a)
				p.actionMin = min(p.actionMin, a.At)
			}
		}
		if ending {
			l.phase = phaseEnding
			if h > l.horizon {
				l.horizon = h
			}
		} else {
			l.horizon = h
		}
		for _, p := range l.peers {
			p.idle = false
			p.waiting = false
		}
		l.mu.Unlock()
		through := h
		if ending {
			through = liaison.Never
		}
		l.Out <- Batch{Source: Coordinator, Actions: actions, Through: through}
		leaseStart = time.Now()
		for _, p := range l.peers {
			p.node.Load().wake()
		}
	}
}
