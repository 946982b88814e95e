package agents

import (
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Node hosts a set of agencies in one process: each agency receives on its
// own NATS subjects, and the node runs their events in canonical order as
// far as it may safely go. How far is the synchronisation's business: in a
// process that hosts every node (RunLocal) nodes share what they have in
// flight in memory; across processes (Run) a time service grants windows
// over NATS. Either way every message between agencies is a NATS message,
// and the log does not depend on how agencies are split over nodes.
type Node struct {
	// PendingLimit caps the messages each subscription may hold before the
	// client drops them (a slow consumer, which fails the run); zero means
	// no limit. Set before running.
	PendingLimit int
	// Yield lets NATS's goroutines run for a moment before the node waits
	// for an arrival (RunLocal): worth it when the run has the process's
	// cores to itself.
	Yield bool
	// JoinTimeout bounds how long a node in its own process (Run) waits
	// for a time service to admit it; zero waits until the context ends,
	// since a node may start well before its service.
	JoinTimeout time.Duration

	m        *Model
	conn     *broker.Conn
	listen   *broker.Conn // where the node's own subscriptions are; conn when nil
	connList []*broker.Conn
	subj     broker.Subjects
	name     string
	hosted   []int32
	agents   []*agent // by agency index; nil where hosted elsewhere

	queue eventHeap

	// Arrivals, filled by the subscriptions' callbacks.
	mu    sync.Mutex
	inbox []*work
	slab  []work // arrivals are allocated in blocks: one allocation per 256
	recv  uint64
	// lateRefused counts arrivals refused after recv counted them (see
	// drainCounted); only the node's goroutine touches it.
	lateRefused uint64
	bad         error
	refused     []refusal     // arrivals refused, not yet logged
	rejects     uint64        // reject events so far, for their order
	arrived     chan struct{} // wakes the node: an arrival, or news from its peers

	hostOf []int32  // node index of every agency
	sentTo []uint64 // messages published, by destination node

	// Need to know (see UseAgencyConns): each agency's connection, the
	// subjects it has published to without refusal, publishes still to be
	// confirmed, and what was seen of each connection's refusals.
	conns       map[int32]*broker.Conn
	confirmed   map[pubKey]bool
	unconfirmed []unconfirmed
	refusedSeen map[*broker.Conn]int
	lastErr     map[*broker.Conn]error

	ending    bool // running the end time: sends are dropped, not published
	silent    bool // re-running a window already reported (remote catch-up)
	pubBuf    []byte
	pubErrs   uint64
	acts      *actionState // what live actions changed; nil until one does
	local     *localState  // RunLocal's state; nil across processes
	remote    *remoteState // Run's state; nil in RunLocal
	lastEvent liaison.Time // time of the event being handled
}

// NewNode prepares a node hosting the given agencies (indices into the
// model's agencies).
func NewNode(m *Model, conn *broker.Conn, subj broker.Subjects, name string, hosted []int32) *Node {
	m = m.ForNode()
	n := &Node{m: m, conn: conn, subj: subj, name: name, hosted: hosted,
		agents: make([]*agent, len(m.agencies)), arrived: make(chan struct{}, 1)}
	for _, ix := range hosted {
		n.agents[ix] = newAgent(n, ix)
	}
	return n
}

// subscribe subscribes every hosted agency to its subjects, with handler.
// On the node's own connection, a channel whose members are all hosted here
// is one wildcard subscription (fewer goroutines and one ordered stream);
// under need to know every agency subscribes on its own connection, to its
// own subjects only.
func (n *Node) subscribe(handler nats.MsgHandler) ([]*nats.Subscription, error) {
	var subs []*nats.Subscription
	sub := func(c *broker.Conn, subject, who string) error {
		s, err := c.Subscribe(subject, handler)
		if err != nil {
			return fmt.Errorf("agents: %s subscribing to %s: %w", who, subject, err)
		}
		// A burst of messages may arrive while the node is busy; a limit
		// would drop them and the run could not account for them.
		if n.PendingLimit > 0 {
			s.SetPendingLimits(n.PendingLimit, -1)
		} else {
			s.SetPendingLimits(-1, -1)
		}
		subs = append(subs, s)
		return nil
	}
	fail := func(err error) ([]*nats.Subscription, error) {
		for _, s := range subs {
			s.Unsubscribe()
		}
		return nil, err
	}
	for c := range n.m.channels {
		ch := &n.m.channels[c]
		all := n.conns == nil && len(ch.members) > 0
		for _, ix := range ch.members {
			all = all && n.agents[ix] != nil
		}
		if all {
			if err := sub(n.listenConn(), n.subj.ChannelAll(ch.id), "node "+n.name); err != nil {
				return fail(err)
			}
			continue
		}
		for _, ix := range ch.members {
			if n.agents[ix] == nil {
				continue
			}
			c := n.connOf(ix)
			if c == n.conn {
				c = n.listenConn()
			}
			if err := sub(c, n.subj.InboxAll(ch.id, n.m.Names.Agencies[ix]), string(n.m.Names.Agencies[ix])); err != nil {
				return fail(err)
			}
		}
	}
	for _, c := range n.allConns() {
		if err := c.Flush(); err != nil {
			return fail(fmt.Errorf("agents: node %s: %w", n.name, err))
		}
	}
	return subs, nil
}

// take decodes one arrival into a work item, or notes why it is refused:
// whatever comes over NATS may be malformed or forged, and a refused
// arrival is logged and counted, never delivered, and never stops the run.
// It runs on a subscription's goroutine; n.mu is held.
func (n *Node) take(msg *nats.Msg) *work {
	if len(n.slab) == 0 {
		n.slab = make([]work, 256)
	}
	w := &n.slab[0]
	if err := w.msg.decode(msg.Data); err != nil {
		n.refuse(msg.Subject, nil, "malformed: the payload is not a message")
		return nil
	}
	if why := n.check(&w.msg, msg.Subject); why != "" {
		n.refuse(msg.Subject, &w.msg, why)
		return nil
	}
	n.slab = n.slab[1:]
	return w
}

// check says what is wrong with a decoded message that arrived on subject,
// or "" when nothing is: every index within the scenario, addressed to an
// agency hosted here, on the subject of its sender, recipient and channel
// (so that, under need to know, the sender is the user who published it),
// and no sooner than the channel allows.
func (n *Node) check(m *Message, subject string) string {
	na, nc := int32(len(n.agents)), int32(len(n.m.channels))
	switch {
	case m.From < 0 || m.From >= na || m.To < 0 || m.To >= na:
		return "sender or recipient out of range"
	case n.agents[m.To] == nil:
		return "for an agency this node does not host"
	case m.Channel < 0 || m.Channel >= nc:
		return "channel out of range"
	case !n.m.onSubject(subject, m.Channel, m.To, m.From, n.conns == nil):
		return "the subject does not name its sender, recipient and channel"
	case m.Seq == 0:
		return "no message number"
	case m.Kind > kindConsentRefuse:
		return "unknown message kind"
	case m.Origin < -1 || m.Origin >= na || m.Final < -1 || m.Final >= na:
		return "origin or final recipient out of range"
	case m.Type < 0 || m.Item < -1:
		return "type or item out of range"
	case m.DeliverAt-m.SentAt < n.m.channels[m.Channel].minLatency:
		return "arrives sooner than the channel allows"
	}
	for _, p := range m.Parties {
		if p < 0 || p >= na {
			return "a party out of range"
		}
	}
	return ""
}

// refusal is an arrival refused before it reached an agency.
type refusal struct {
	subject string
	msg     Message // what it claimed to be, when it decoded
	decoded bool
	why     string
}

// refuse notes a refused arrival, to be logged by the node's loop; n.mu is
// held.
func (n *Node) refuse(subject string, m *Message, why string) {
	r := refusal{subject: subject, why: why}
	if m != nil {
		r.msg, r.decoded = *m, true
	}
	n.refused = append(n.refused, r)
}

// logRefusals turns the refusals noted since the last call into reject
// events at time t, which must not be earlier than anything the node has
// handed on. The claimed sender and recipient are named when they are
// agencies of the scenario.
func (n *Node) logRefusals(t liaison.Time) {
	n.mu.Lock()
	refused := n.refused
	n.refused = nil
	n.mu.Unlock()
	na, nc := int32(len(n.agents)), int32(len(n.m.channels))
	for _, r := range refused {
		e := events.Event{T: t, Kind: events.Reject, Agency: -1, MsgFrom: -1, Channel: -1, Type: -1, Item: -1,
			Peer: -1, Reason: -1, CauseFrom: -1, Raw: events.RejectMember(events.Refusal{Subject: r.subject, Why: r.why})}
		m := &r.msg
		if r.decoded && m.To >= 0 && m.To < na && n.agents[m.To] != nil {
			e.Agency = m.To
		}
		if r.decoded && m.From >= 0 && m.From < na {
			e.MsgFrom, e.MsgSeq = m.From, m.Seq
		}
		if r.decoded && m.Channel >= 0 && m.Channel < nc {
			e.Channel = m.Channel
		}
		n.rejects++
		e.Seq = n.rejects
		if e.Agency >= 0 {
			// In the agency's own sequence, after what it has done.
			a := n.agents[e.Agency]
			a.evSeq++
			e.Seq = a.evSeq
		}
		n.record(&e)
	}
}

// subject is where a message from one agency to another travels on a
// channel. The sender's token names the sender only where the server
// authenticates agencies (need to know, UseAgencyConns): there an agency may
// publish only under its own name, so the token vouches for the sender and
// the receiver checks the payload against it. Elsewhere anyone may publish
// on any subject, a name would vouch for nothing, and the sender is
// broker.Anonymous: one subject per channel and recipient rather than one
// per pair keeps within the server's match caches (on 200 agencies, a
// fifth of the run's wall time). The receiver checks the payload either way.
func (n *Node) subject(c, to, from int32) string {
	return n.m.subject(c, to, from, n.conns != nil)
}

// wake tells the node's loop that something changed; it never blocks.
func (n *Node) wake() {
	select {
	case n.arrived <- struct{}{}:
	default:
	}
}

// slowConsumer fails the node when the client library dropped messages it
// could not hold: the run cannot be trusted, and must say so.
func (n *Node) slowConsumer() error {
	for _, c := range n.allConns() {
		if k := c.Errors.SlowConsumer.Load(); k > 0 {
			return fmt.Errorf("agents: node %s: slow consumer: the NATS client dropped messages %d times (pending limit %d per subscription); raise or remove the limit",
				n.name, k, n.PendingLimit)
		}
	}
	return nil
}

// setHosts learns which node hosts each agency, to count sends per node.
func (n *Node) setHosts(hosts []int) error {
	if len(hosts) != len(n.agents) {
		return fmt.Errorf("agents: node %s: the time service knows %d agencies, the scenario has %d", n.name, len(hosts), len(n.agents))
	}
	nodes := 0
	for _, h := range hosts {
		nodes = max(nodes, h+1)
	}
	n.hostOf = make([]int32, len(hosts))
	for i, h := range hosts {
		if h < 0 {
			return fmt.Errorf("agents: node %s: agency %s has no node", n.name, n.m.Names.Agencies[i])
		}
		n.hostOf[i] = int32(h)
	}
	n.sentTo = make([]uint64, nodes)
	return nil
}

// addInject schedules a live inject at the agency it is for, if hosted
// here. Every node and the recorder register the same injects in the same
// order, so item indices agree everywhere.
func (n *Node) addInject(def []byte, at liaison.Time) (int32, error) {
	item, d, err := n.m.AddLive(def, at)
	if err != nil {
		return 0, err
	}
	if a := n.agents[n.m.AgencyIndex(d.To)]; a != nil {
		a.schedule(qevent{t: at, prio: prioInject, aux: item})
	}
	return item, nil
}

// process runs every queued event before until, in canonical order. The
// limit may come down while it runs (see Node.publish in RunLocal): the
// loop reads it afresh for every event.
func (n *Node) process(until *liaison.Time) {
	for len(n.queue) > 0 && n.queue[0].t < *until {
		e := n.queue.pop()
		n.lastEvent = e.t
		n.agents[e.agent].handle(&e)
		if n.local != nil && len(n.local.batch) >= batchEvents {
			n.local.flush(e.t)
			if n.local.err != nil {
				return
			}
		}
	}
}

// runEnd runs what happens at the end time itself, where sends are dropped
// rather than published since they could not arrive, then drops every
// message still in transit (reason run_end) at the end time.
func (n *Node) runEnd(end liaison.Time) {
	n.runEndTime(end)
	n.dropRest(end)
}

// runEndTime runs what happens at the end time itself: sends then are
// dropped rather than published, since they could not arrive.
func (n *Node) runEndTime(end liaison.Time) {
	if end != liaison.Never {
		n.ending = true
		limit := end + 1
		n.process(&limit)
		n.ending = false
	}
}

// dropRest drops, at the end time, every message still waiting for a cut
// channel or for its delivery.
func (n *Node) dropRest(end liaison.Time) {
	n.dropHeld(end)
	for len(n.queue) > 0 {
		e := n.queue.pop()
		if e.prio == prioDeliver {
			a := n.agents[e.agent]
			a.emit(e.work.msg.dropEvent(end, liaison.DropRunEnd))
		}
	}
}

// publish sends one message hop over NATS, or drops it at the end time.
func (n *Node) publish(m *Message) {
	if n.ending {
		n.agents[m.From].emit(m.dropEvent(m.SentAt, liaison.DropRunEnd))
		return
	}
	if n.remote != nil && n.silent {
		n.remote.silentSend(m)
		return
	}
	subject := n.subject(m.Channel, m.To, m.From)
	n.pubBuf = m.appendBinary(n.pubBuf[:0])
	if n.local != nil {
		n.local.expect(m, checksum(n.pubBuf))
	} else {
		n.remote.keep(m, subject, n.pubBuf)
	}
	if n.confirmed != nil && !n.confirmed[pubKey{m.From, subject}] {
		// Should the server refuse it, its drop takes the sender's next
		// event number, wherever the refusal is learned: the log is the
		// same whenever that is.
		a := n.agents[m.From]
		a.evSeq++
		n.unconfirmed = append(n.unconfirmed, unconfirmed{*m, a.evSeq})
	}
	if err := n.connOf(m.From).Publish(subject, n.pubBuf); err != nil {
		n.pubErrs++
		return
	}
	n.sentTo[n.hostOf[m.To]]++
}

// record takes one event an agency emitted.
func (n *Node) record(e *events.Event) {
	if n.local != nil {
		n.local.batch = append(n.local.batch, *e)
		return
	}
	n.remote.record(e)
}

// UseAgencyConns gives each hosted agency its own connection, as its own
// NATS user: the server then enforces what the agency may publish and
// subscribe to (need to know), and its refusals become drops with reason
// permission. The node's own connection still carries the time service's
// traffic. Call before running.
func (n *Node) UseAgencyConns(conns map[int32]*broker.Conn) {
	n.conns, n.connList = conns, nil
	n.confirmed = map[pubKey]bool{}
	n.refusedSeen = map[*broker.Conn]int{}
	n.lastErr = map[*broker.Conn]error{}
}

// ListenOn gives the node a second connection for its subscriptions, so
// that publishing and receiving do not contend for one connection's lock.
// Call before running.
func (n *Node) ListenOn(c *broker.Conn) { n.listen, n.connList = c, nil }

func (n *Node) listenConn() *broker.Conn {
	if n.listen != nil {
		return n.listen
	}
	return n.conn
}

func (n *Node) connOf(agency int32) *broker.Conn {
	if c := n.conns[agency]; c != nil {
		return c
	}
	return n.conn
}

// allConns lists the node's connections, its own first.
func (n *Node) allConns() []*broker.Conn {
	if n.connList != nil {
		return n.connList
	}
	out := []*broker.Conn{n.conn}
	if n.listen != nil {
		out = append(out, n.listen)
	}
	for _, ix := range n.hosted {
		if c := n.conns[ix]; c != nil {
			out = append(out, c)
		}
	}
	n.connList = out
	return out
}

// pubKey is one agency publishing to one subject: permissions are per
// user and subject, so one confirmed publish confirms all that follow.
type pubKey struct {
	from    int32
	subject string
}

// unconfirmed is a publish whose subject the server has not yet been seen
// to accept, and the event number its drop would take.
type unconfirmed struct {
	msg     Message
	dropSeq uint64
}

// confirmPublishes learns, for the first publishes of each agency to each
// subject since the last call, whether the server took them. A round trip
// on the agency's connection brings any refusal before its answer. It
// returns the drops of the refused messages, in publish order; the others'
// subjects are confirmed.
func (n *Node) confirmPublishes() ([]unconfirmed, error) {
	if len(n.unconfirmed) == 0 {
		return nil, nil
	}
	refused := map[pubKey]bool{}
	flushed := map[int32]bool{}
	for i := range n.unconfirmed {
		from := n.unconfirmed[i].msg.From
		if flushed[from] {
			continue
		}
		flushed[from] = true
		c := n.connOf(from)
		if err := c.FlushTimeout(10 * time.Second); err != nil {
			return nil, fmt.Errorf("agents: node %s: confirming %s's publishes: %w", n.name, n.m.Names.Agencies[from], err)
		}
		if last := c.LastError(); last != nil && last != n.lastErr[c] {
			n.lastErr[c] = last
			deadline := time.Now().Add(10 * time.Second)
			for !c.Errors.Handled(last) {
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("agents: node %s: the error %q was not handed to its handler", n.name, last)
				}
				time.Sleep(time.Millisecond)
			}
		}
		subjects, total := c.Errors.Refused(n.refusedSeen[c])
		n.refusedSeen[c] = total
		for _, s := range subjects {
			refused[pubKey{from, s}] = true
		}
	}
	var out []unconfirmed
	for _, u := range n.unconfirmed {
		m := &u.msg
		key := pubKey{m.From, n.subject(m.Channel, m.To, m.From)}
		if !refused[key] {
			n.confirmed[key] = true
			continue
		}
		n.sentTo[n.hostOf[m.To]]--
		out = append(out, u)
	}
	n.unconfirmed = n.unconfirmed[:0]
	return out, nil
}

// drop is the event that accounts for a refused publish, numbered as
// reserved when it was published.
func (u *unconfirmed) drop() events.Event {
	m := &u.msg
	e := m.dropEvent(m.SentAt, liaison.DropPermission)
	e.Rank, e.Agency, e.Seq, e.CauseFrom = events.RankAgent, m.From, u.dropSeq, -1
	return e
}

// dropEvent is the drop of the message at t for a reason, for its sender
// to emit.
func (m *Message) dropEvent(t liaison.Time, reason string) events.Event {
	return events.Event{T: t, Kind: events.Drop, MsgFrom: m.From, MsgSeq: m.Seq, Channel: m.Channel,
		Type: m.Type, Item: m.Item, Peer: m.To, Reason: events.ReasonIndex(reason)}
}

// msgID identifies a message: its sender and the sender's counter.
type msgID struct {
	from int32
	seq  uint64
}

// Event queue priorities: at one instant an agency finishes work before it
// takes in new arrivals, and opens its office before either.
const (
	prioWake uint8 = iota
	prioHandleEnd
	prioDeliver
	prioInject
	prioAction // a live action the agency takes (staff, decision, release)
	prioBackground
)

// qevent is one pending event of one hosted agency. The key (t, agent,
// prio, src, seq) is unique and depends only on the model, never on which
// node hosts the agency or on arrival order. Agencies come before priority
// so that a node emits its events already in the log's canonical order
// (time, agency, the agency's own sequence): the recorder then has little
// to sort.
type qevent struct {
	t     liaison.Time
	key   uint64 // agent, prio and src packed, set by push
	seq   uint64
	work  *work // a delivery's or a handling's work
	agent int32
	src   int32
	aux   int32 // item (inject) or stream (background)
	prio  uint8
}

func (a *qevent) less(b *qevent) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	if a.key != b.key {
		return a.key < b.key
	}
	return a.seq < b.seq
}

// eventHeap is a 4-ary min-heap of qevents, by value to spare the
// allocator: the node's hottest structure, shallower than a binary heap.
type eventHeap []qevent

func (h *eventHeap) push(e qevent) {
	// Agency indices fit 23 bits and message sources 31 bits in any
	// scenario a machine can hold; the packing keeps the order
	// (agent, prio, src).
	e.key = uint64(e.agent)<<40 | uint64(e.prio)<<32 | uint64(uint32(e.src))
	*h = append(*h, e)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !q[i].less(&q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *eventHeap) pop() qevent {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = qevent{}
	q = q[:last]
	i := 0
	for {
		c := 4*i + 1
		if c >= len(q) {
			break
		}
		best := c
		for k := c + 1; k < c+4 && k < len(q); k++ {
			if q[k].less(&q[best]) {
				best = k
			}
		}
		if !q[best].less(&q[i]) {
			break
		}
		q[i], q[best] = q[best], q[i]
		i = best
	}
	*h = q
	return top
}

// next is the time of the earliest queued event, or liaison.Never.
func (h eventHeap) next() liaison.Time {
	if len(h) == 0 {
		return liaison.Never
	}
	return h[0].t
}
