package agents

import (
	"context"
	"time"

	"fmt"
	"sync"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Node hosts a set of agencies in one process, on one NATS connection: each
// agency subscribes to its own subjects (one per channel it receives on),
// and the node runs their events window by window as the time service grants.
type Node struct {
	// PendingLimit caps the messages each agency subscription may hold
	// before the client drops them (a slow consumer, which fails the
	// run); zero means no limit. Set before Run.
	PendingLimit int

	m      *Model
	conn   *broker.Conn
	subj   broker.Subjects
	name   string
	hosted []int32
	agents []*agent // by agency index; nil where hosted elsewhere

	queue eventHeap

	mu      sync.Mutex
	inbox   []*work
	slab    []work // arrivals are allocated in blocks: one allocation per 256
	recv    uint64
	bad     error
	arrived chan struct{}

	hostOf []int32  // node index of every agency, from the first grant
	sentTo []uint64 // messages published, by destination node

	// Need to know (see UseAgencyConns): each agency's connection, the
	// subjects it has published to without refusal, this window's
	// publishes still to be confirmed, and what was seen of each
	// connection's refusals.
	conns       map[int32]*broker.Conn
	confirmed   map[pubKey]bool
	unconfirmed []Message
	refusedSeen map[*broker.Conn]int
	lastErr     map[*broker.Conn]error

	// Replacing a failed node (see KeepSent, catchUp): whether a window is
	// being re-run, what was sent to each node, and how many messages came
	// from other nodes.
	silent     bool
	ending     bool // running the end time: sends are dropped, not published
	keepSent   bool
	sentLog    [][]sent
	recvOthers uint64

	// Resilience (see Resilient): this window's messages, the messages
	// received lately by id, and the window bounds that date them.
	window            []sent
	seen              map[msgID]liaison.Time
	settled, frontier liaison.Time
	chunks            [][]byte // this window's encoded events
	spare             [][]byte // buffers of earlier windows' chunks, for reuse
	pubBuf            []byte
	pubErrs           uint64
	finalDrop         liaison.Time
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

// Run subscribes the agencies, joins the run and processes grants until the
// run ends. It returns an error when the run is aborted or a node fault
// makes going on meaningless.
func (n *Node) Run(ctx context.Context) (err error) {
	var subs []*nats.Subscription
	defer func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}()
	handler := func(msg *nats.Msg) {
		n.mu.Lock()
		if len(n.slab) == 0 {
			n.slab = make([]work, 256)
		}
		w := &n.slab[0]
		n.slab = n.slab[1:]
		if err := w.msg.decode(msg.Data); err != nil {
			n.bad = fmt.Errorf("agents: node %s: %w on %s", n.name, err, msg.Subject)
		} else if n.seen != nil && n.duplicate(&w.msg) {
			n.mu.Unlock()
			return
		} else {
			n.inbox = append(n.inbox, w)
			if int(w.msg.From) < len(n.agents) && n.agents[w.msg.From] == nil {
				n.recvOthers++
			}
		}
		n.recv++
		n.mu.Unlock()
		select {
		case n.arrived <- struct{}{}:
		default:
		}
	}
	ids := make([]liaison.AgencyID, 0, len(n.hosted))
	for _, ix := range n.hosted {
		ids = append(ids, n.m.Names.Agencies[ix])
		for c := range n.m.channels {
			if s := n.m.channels[c].subjects[ix]; s != "" {
				sub, err := n.connOf(ix).Subscribe(s, handler)
				if err != nil {
					return fmt.Errorf("agents: %s subscribing to %s: %w", ids[len(ids)-1], s, err)
				}
				// A window's worth of messages arrives in a burst; a limit
				// would drop them, and the counts would then never match.
				if n.PendingLimit > 0 {
					sub.SetPendingLimits(n.PendingLimit, -1)
				} else {
					sub.SetPendingLimits(-1, -1)
				}
				subs = append(subs, sub)
			}
		}
	}
	for _, c := range n.allConns() {
		if err := c.Flush(); err != nil {
			return fmt.Errorf("agents: node %s: %w", n.name, err)
		}
	}
	link, err := broker.JoinRun(ctx, n.conn, n.subj, n.name, n.m.Digest(), ids)
	if err != nil {
		return err
	}
	defer link.Close()
	defer func() {
		if err != nil {
			link.Fail(err)
		}
	}()
	for _, a := range n.agents {
		if a != nil {
			a.start()
		}
	}
	var epoch, waitFor uint64
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case g := <-link.Grants():
			if g.Abort != "" {
				return fmt.Errorf("agents: node %s: run aborted: %s", n.name, g.Abort)
			}
			if g.Node >= 0 && g.Node != link.Index() {
				continue // for another node
			}
			if g.Catchup != nil {
				// This node replaces one that failed: re-run the windows
				// so far from what the others send again, then go on.
				if err := n.catchUp(ctx, link, g); err != nil {
					return err
				}
				epoch = g.Epoch
				continue
			}
			if g.Replay {
				if g.ReplayNode != link.Index() {
					n.replay(g.ReplayNode)
				}
				continue
			}
			if g.Node >= 0 {
				// The service expects more messages than have arrived.
				waitFor = g.Expect
				if err := n.updateIfArrived(link, epoch, &waitFor); err != nil {
					return err
				}
				continue
			}
			switch {
			case g.Epoch < epoch:
				continue // a repeat of a window long done
			case g.Resend:
				// Messages of this window were lost on the way (a server
				// of the cluster failed): publish them again; receivers
				// drop the copies they already have.
				if g.Epoch == epoch {
					n.republish()
				}
				continue
			case g.Epoch == epoch:
				// The grant again: our report may have been lost.
				r, err := n.report(epoch)
				if err != nil {
					return err
				}
				if err := link.Report(r, n.chunks); err != nil {
					return err
				}
				continue
			case link.Replacement && epoch == 0:
				continue // a replacement waits for its catch-up
			}
			epoch, waitFor = g.Epoch, 0
			if err := n.runWindow(g, false); err != nil {
				return err
			}
			r, err := n.report(epoch)
			if err != nil {
				return err
			}
			if err := link.Report(r, n.chunks); err != nil {
				return err
			}
			if g.End {
				return n.conn.Flush()
			}
		case <-n.arrived:
			if err := n.updateIfArrived(link, epoch, &waitFor); err != nil {
				return err
			}
		case <-check.C:
			if err := n.slowConsumer(); err != nil {
				return err
			}
		}
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

// runWindow runs one granted window. Silent, it only rebuilds state: what
// it would log is dropped, and what it would send to other nodes (which
// got it long ago) is only counted; messages to its own agencies are
// delivered in process, as they were over NATS the first time.
func (n *Node) runWindow(g broker.Grant, silent bool) error {
	// The last window's chunks are no longer needed.
	for i := range n.chunks {
		n.spare = append(n.spare, n.chunks[i][:0])
	}
	n.chunks = n.chunks[:0]
	n.window = n.window[:0]
	if g.Hosts != nil {
		if err := n.setHosts(g.Hosts); err != nil {
			return err
		}
	}
	n.mu.Lock()
	// Grants come in order: every window before this one has settled, so
	// any message sent before the last one's end that arrives now is a
	// copy. (A replacement catching up keeps everything.)
	n.settled, n.frontier = n.frontier, g.Until
	if n.seen != nil && !silent {
		for id, sent := range n.seen {
			if sent < n.settled {
				delete(n.seen, id)
			}
		}
	}
	n.mu.Unlock()
	if err := n.drain(); err != nil {
		return err
	}
	for _, in := range g.Injects {
		item, def, err := n.m.AddLive(in.Def, in.At)
		if err != nil {
			return err
		}
		if a := n.agents[n.m.AgencyIndex(def.To)]; a != nil {
			a.schedule(qevent{t: in.At, prio: prioInject, aux: item})
		}
	}
	n.silent = silent
	if g.End {
		// The end time itself is the last instant of the run: what is sent
		// then cannot arrive, and is dropped here rather than published.
		if g.Until != liaison.Never {
			n.ending = true
			n.process(g.Until + 1)
			n.ending = false
		}
		n.dropInTransit(g.Until)
	} else {
		n.process(g.Until)
	}
	n.silent = false
	if n.pubErrs > 0 {
		return fmt.Errorf("agents: node %s: %d publishes failed: %s", n.name, n.pubErrs, n.conn.Errors.Last())
	}
	if err := n.confirmPublishes(); err != nil {
		return err
	}
	return n.slowConsumer()
}

// catchUp re-runs the windows granted before this node replaced a failed
// one: it waits until the other nodes' messages (sent again) are all in,
// re-runs every window silently but, unless the failed node had reported
// it, the current one, and reports that.
func (n *Node) catchUp(ctx context.Context, link *broker.Node, g broker.Grant) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(catchUpWait)
	for {
		n.mu.Lock()
		have := n.recvOthers
		n.mu.Unlock()
		if have >= g.Others {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agents: node %s: catching up, %d of the %d messages the other nodes sent have come again after %s",
				n.name, have, g.Others, catchUpWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-n.arrived:
		}
	}
	for i, w := range g.Catchup {
		last := i == len(g.Catchup)-1
		if err := n.runWindow(w, !last || g.Silent); err != nil {
			return err
		}
		if last && !g.Silent {
			r, err := n.report(g.Epoch)
			if err != nil {
				return err
			}
			return link.Report(r, n.chunks)
		}
	}
	return nil
}

// catchUpWait bounds how long a replacement waits for the messages the
// other nodes send it again.
const catchUpWait = 20 * time.Second

// KeepSent makes the node keep every message it sends to other nodes for
// the whole run, so that it can send them again to a node that replaces
// a failed one (see broker.Service.Resume). Memory grows with the run.
// Call before Run.
func (n *Node) KeepSent() { n.keepSent = true }

// replay publishes again everything sent to node j.
func (n *Node) replay(j int) {
	if j < len(n.sentLog) {
		for _, s := range n.sentLog[j] {
			// Each agency's own connection: under need to know only it may
			// publish on its subjects.
			if err := n.connOf(s.from).Publish(s.subject, s.data); err != nil {
				n.pubErrs++
			}
		}
	}
}

// updateIfArrived reports again once the count the service expects has
// arrived.
func (n *Node) updateIfArrived(link *broker.Node, epoch uint64, waitFor *uint64) error {
	if *waitFor == 0 {
		return nil
	}
	n.mu.Lock()
	recv := n.recv
	n.mu.Unlock()
	if recv < *waitFor {
		return nil
	}
	*waitFor = 0
	r, err := n.report(epoch)
	if err != nil {
		return err
	}
	return link.Update(r)
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
		n.hostOf[i] = int32(h)
	}
	n.sentTo = make([]uint64, nodes)
	return nil
}

// report drains the inbox and describes the node. The received count and
// the messages behind it are taken together: a report must never count a
// message whose delivery time its next event time does not include, or the
// service could grant a window past it.
func (n *Node) report(epoch uint64) (broker.Report, error) {
	recv, err := n.drainCounted()
	next := liaison.Never
	if len(n.queue) > 0 {
		next = n.queue[0].t
	}
	return broker.Report{Epoch: epoch, SentTo: n.sentTo, Recv: recv, Next: next}, err
}

// drain moves arrived messages into the event queue as deliveries.
func (n *Node) drain() error {
	_, err := n.drainCounted()
	return err
}

// drainCounted drains the inbox and returns the received count that
// includes exactly the messages drained so far.
func (n *Node) drainCounted() (uint64, error) {
	n.mu.Lock()
	in := n.inbox
	n.inbox = nil
	bad := n.bad
	recv := n.recv
	n.mu.Unlock()
	if bad != nil {
		return recv, bad
	}
	for _, w := range in {
		m := &w.msg
		if m.To < 0 || int(m.To) >= len(n.agents) || n.agents[m.To] == nil {
			return recv, fmt.Errorf("agents: node %s received a message for %d, which it does not host", n.name, m.To)
		}
		w.fromMsg, w.item, w.typ, w.origin, w.urgent = true, m.Item, m.Type, m.Origin, m.Urgent
		w.arrival, w.src, w.seq = m.DeliverAt, m.From, m.Seq
		n.queue.push(qevent{t: m.DeliverAt, prio: prioDeliver, agent: m.To, src: m.From, seq: m.Seq, work: w})
	}
	return recv, nil
}

// process runs every queued event before until, in canonical order.
func (n *Node) process(until liaison.Time) {
	for len(n.queue) > 0 && n.queue[0].t < until {
		e := n.queue.pop()
		n.agents[e.agent].handle(&e)
	}
}

// dropInTransit ends the run: messages still on their way are dropped with
// reason run_end at the end time; other pending work simply stops.
func (n *Node) dropInTransit(end liaison.Time) {
	for len(n.queue) > 0 {
		e := n.queue.pop()
		if e.prio == prioDeliver {
			a := n.agents[e.agent]
			m := &e.work.msg
			a.emit(events.Event{T: end, Kind: events.Drop, MsgFrom: m.From, MsgSeq: m.Seq,
				Channel: m.Channel, Type: m.Type, Item: m.Item, Peer: m.To,
				Reason: events.ReasonIndex(liaison.DropRunEnd)})
		}
	}
}

// publish sends one message hop over NATS.
func (n *Node) publish(m *Message) {
	if n.ending {
		n.agents[m.From].emit(events.Event{T: m.SentAt, Kind: events.Drop, MsgFrom: m.From, MsgSeq: m.Seq,
			Channel: m.Channel, Type: m.Type, Item: m.Item, Peer: m.To,
			Reason: events.ReasonIndex(liaison.DropRunEnd)})
		return
	}
	dest := n.hostOf[m.To]
	if n.silent {
		// Re-running a window that others have already seen: count the
		// message as sent; deliver it here if it is for us.
		n.sentTo[dest]++
		if n.agents[m.To] != nil {
			n.mu.Lock()
			w := &work{msg: *m}
			n.inbox = append(n.inbox, w)
			n.recv++
			if n.seen != nil {
				n.seen[msgID{m.From, m.Seq}] = m.SentAt
			}
			n.mu.Unlock()
		} else if n.keepSent {
			n.logSent(int(dest), sent{m.From, n.m.channels[m.Channel].subjects[m.To], m.appendBinary(nil)})
		}
		return
	}
	n.pubBuf = m.appendBinary(n.pubBuf[:0])
	subject := n.m.channels[m.Channel].subjects[m.To]
	if n.keepSent && n.agents[m.To] == nil {
		n.logSent(int(dest), sent{m.From, subject, append([]byte(nil), n.pubBuf...)})
	}
	if n.seen != nil {
		n.window = append(n.window, sent{m.From, subject, append([]byte(nil), n.pubBuf...)})
	}
	conn := n.connOf(m.From)
	if n.confirmed != nil && !n.confirmed[pubKey{m.From, subject}] {
		n.unconfirmed = append(n.unconfirmed, *m)
	}
	if err := conn.Publish(subject, n.pubBuf); err != nil {
		n.pubErrs++
		return
	}
	n.sentTo[dest]++
}

// UseAgencyConns gives each hosted agency its own connection, as its own
// NATS user: the server then enforces what the agency may publish and
// subscribe to (need to know), and its refusals become drops with reason
// permission. The node's own connection still carries the time service's
// traffic. Call before Run.
func (n *Node) UseAgencyConns(conns map[int32]*broker.Conn) {
	n.conns = conns
	n.confirmed = map[pubKey]bool{}
	n.refusedSeen = map[*broker.Conn]int{}
	n.lastErr = map[*broker.Conn]error{}
}

func (n *Node) connOf(agency int32) *broker.Conn {
	if c := n.conns[agency]; c != nil {
		return c
	}
	return n.conn
}

// allConns lists the node's connections, its own first.
func (n *Node) allConns() []*broker.Conn {
	out := []*broker.Conn{n.conn}
	for _, ix := range n.hosted {
		if c := n.conns[ix]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

// pubKey is one agency publishing to one subject: permissions are per
// user and subject, so one confirmed publish confirms all that follow.
type pubKey struct {
	from    int32
	subject string
}

// confirmPublishes learns, for the window's first publishes of each agency
// to each subject, whether the server took them. A round trip on the
// agency's connection brings any refusal before its answer; the refused
// messages are dropped with reason permission, the others' subjects
// confirmed. The drops are emitted in publish order at a fixed point of
// the window, so runs stay deterministic.
func (n *Node) confirmPublishes() error {
	if len(n.unconfirmed) == 0 {
		return nil
	}
	refused := map[pubKey]bool{}
	flushed := map[int32]bool{}
	for i := range n.unconfirmed {
		from := n.unconfirmed[i].From
		if flushed[from] {
			continue
		}
		flushed[from] = true
		c := n.connOf(from)
		if err := c.FlushTimeout(10 * time.Second); err != nil {
			return fmt.Errorf("agents: node %s: confirming %s's publishes: %w", n.name, n.m.Names.Agencies[from], err)
		}
		if last := c.LastError(); last != nil && last != n.lastErr[c] {
			n.lastErr[c] = last
			deadline := time.Now().Add(10 * time.Second)
			for !c.Errors.Handled(last) {
				if time.Now().After(deadline) {
					return fmt.Errorf("agents: node %s: the error %q was not handed to its handler", n.name, last)
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
	for i := range n.unconfirmed {
		m := &n.unconfirmed[i]
		key := pubKey{m.From, n.m.channels[m.Channel].subjects[m.To]}
		if !refused[key] {
			n.confirmed[key] = true
			continue
		}
		n.sentTo[n.hostOf[m.To]]--
		n.agents[m.From].emit(events.Event{T: m.SentAt, Kind: events.Drop, MsgFrom: m.From, MsgSeq: m.Seq,
			Channel: m.Channel, Type: m.Type, Item: m.Item, Peer: m.To,
			Reason: events.ReasonIndex(liaison.DropPermission)})
	}
	n.unconfirmed = n.unconfirmed[:0]
	return nil
}

// sent is one published message, kept for the window in case the service
// asks for it again.
type sent struct {
	from    int32 // the sending agency, whose connection publishes it
	subject string
	data    []byte
}

// msgID identifies a message: its sender and the sender's counter.
type msgID struct {
	from int32
	seq  uint64
}

// Resilient makes the node survive the loss of messages in transit, as
// when a server of a NATS cluster fails: it keeps each window's messages
// to publish them again when the time service asks, and drops copies of
// messages it already has. Call before Run.
func (n *Node) Resilient() {
	n.seen = map[msgID]liaison.Time{}
}

// duplicate reports whether a message is a copy of one already received;
// n.mu is held.
func (n *Node) duplicate(m *Message) bool {
	if m.SentAt < n.settled {
		return true
	}
	id := msgID{m.From, m.Seq}
	if _, ok := n.seen[id]; ok {
		return true
	}
	n.seen[id] = m.SentAt
	return false
}

func (n *Node) logSent(dest int, s sent) {
	for len(n.sentLog) <= dest {
		n.sentLog = append(n.sentLog, nil)
	}
	n.sentLog[dest] = append(n.sentLog[dest], s)
}

// republish publishes this window's messages again.
func (n *Node) republish() {
	for _, s := range n.window {
		if err := n.connOf(s.from).Publish(s.subject, s.data); err != nil {
			n.pubErrs++
		}
	}
}

// emitEncoded appends one encoded event to this window's chunks.
func (n *Node) emitEncoded(e *events.Event) {
	if n.silent {
		return // a re-run window: the service has these events already
	}
	const limit = broker.MaxPayload - 64
	if len(n.chunks) == 0 || len(n.chunks[len(n.chunks)-1]) > limit-128 {
		if k := len(n.spare); k > 0 {
			n.chunks = append(n.chunks, n.spare[k-1])
			n.spare = n.spare[:k-1]
		} else {
			n.chunks = append(n.chunks, make([]byte, 0, 64<<10))
		}
	}
	last := &n.chunks[len(n.chunks)-1]
	*last = events.AppendBinary(*last, e)
}

// Event queue priorities: at one instant an agency finishes work before it
// takes in new arrivals, and opens its office before either.
const (
	prioWake uint8 = iota
	prioHandleEnd
	prioDeliver
	prioInject
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
