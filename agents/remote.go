package agents

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Across processes a node cannot see what others have in flight, so it
// follows the time service's windows (see broker.Service): it runs the
// events of each granted window, publishes what its agencies send, and
// reports its events, its counts of messages sent (by destination node)
// and received, and its next event time.

// remoteState is a node's side of the distributed protocol.
type remoteState struct {
	n *Node

	// Replacing a failed node (see KeepSent, catchUp): what was sent to
	// each node, and how many messages came from other nodes.
	keepSent   bool
	sentLog    [][]sent
	recvOthers uint64

	// Resilience (see Resilient): this window's messages, the messages
	// received lately by id (with when they are due), and the window
	// bounds that date them.
	window            []sent
	seen              map[msgID]liaison.Time
	settled, frontier liaison.Time
	chunks            [][]byte // this window's encoded events
	limit             int      // cut chunks past limit-128 bytes
	spare             [][]byte // buffers of earlier windows' chunks, for reuse
}

// sent is one published message, kept in case it must be sent again.
type sent struct {
	from    int32 // the sending agency, whose connection publishes it
	subject string
	data    []byte
}

// KeepSent makes the node keep every message it sends to other nodes for
// the whole run, so that it can send them again to a node that replaces
// a failed one (see broker.Service.Resume). Memory grows with the run.
// Call before Run.
func (n *Node) KeepSent() { n.remoteState().keepSent = true }

// Resilient makes the node survive the loss of messages in transit, as
// when a server of a NATS cluster fails: it keeps each window's messages
// to publish them again when the time service asks, and drops copies of
// messages it already has. Call before Run.
func (n *Node) Resilient() { n.remoteState().seen = map[msgID]liaison.Time{} }

func (n *Node) remoteState() *remoteState {
	if n.remote == nil {
		n.remote = &remoteState{n: n}
	}
	return n.remote
}

// Run subscribes the agencies, joins the run's time service and processes
// grants until the run ends. It returns an error when the run is aborted or
// a node fault makes going on meaningless.
func (n *Node) Run(ctx context.Context) (err error) {
	r := n.remoteState()
	subs, err := n.subscribe(func(msg *nats.Msg) {
		n.mu.Lock()
		w := n.take(msg)
		if w != nil && r.seen != nil && r.duplicate(&w.msg) {
			n.mu.Unlock()
			return
		}
		if w != nil {
			n.inbox = append(n.inbox, w)
			if n.agents[w.msg.From] == nil {
				r.recvOthers++
			}
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
	ids := make([]liaison.AgencyID, 0, len(n.hosted))
	for _, ix := range n.hosted {
		ids = append(ids, n.m.Names.Agencies[ix])
	}
	jctx := ctx
	if n.JoinTimeout > 0 {
		var cancel context.CancelFunc
		jctx, cancel = context.WithTimeout(ctx, n.JoinTimeout)
		defer cancel()
	}
	link, err := broker.JoinRun(jctx, n.conn, n.subj, n.name, n.m.Digest(), ids)
	if err != nil {
		if n.JoinTimeout > 0 && ctx.Err() == nil && jctx.Err() != nil {
			return fmt.Errorf("agents: node %s: no time service admitted it within %s", n.name, n.JoinTimeout)
		}
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
	f := &follower{n: n, link: link}
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case d := <-link.Downs():
			done, err := f.handle(ctx, d)
			if done || err != nil {
				return err
			}
		case <-n.arrived:
			if err := f.updateIfArrived(); err != nil {
				return err
			}
		case <-check.C:
			if err := n.slowConsumer(); err != nil {
				return err
			}
		}
	}
}

// follower is a node's place in the time protocol: the window it has run,
// and what the service expects of it.
type follower struct {
	n        *Node
	link     *broker.Node
	epoch    uint64 // the last window run
	waitFor  uint64 // report again once this many messages have arrived (0: not asked)
	caughtUp bool   // a replacement that has had its catch-up
}

// handle takes one message from the time service; it reports whether the
// run is over for this node.
func (f *follower) handle(ctx context.Context, d broker.Down) (bool, error) {
	n, r, self := f.n, f.n.remote, f.link.Index()
	switch m := d.(type) {
	case broker.Abort:
		return true, fmt.Errorf("agents: node %s: run aborted: %s", n.name, m.Reason)
	case broker.Catchup:
		if m.Node != self || !f.link.Replacement || f.caughtUp {
			return false, nil // for another node, or a repeat
		}
		// This node replaces one that failed: re-run the run so far from
		// what the others send again, then go on.
		f.caughtUp, f.epoch = true, m.Epoch
		if err := n.catchUp(ctx, f.link, m); err != nil {
			return true, err
		}
		if m.Window.End {
			return true, n.conn.Flush()
		}
	case broker.Replay:
		if m.Node != self {
			r.replay(m.Node)
		}
	case broker.Expect:
		if m.Node == self && m.Epoch == f.epoch {
			// The service expects more messages than have arrived.
			f.waitFor = m.Count
			return false, f.updateIfArrived()
		}
	case broker.Resend:
		// Messages of this window were lost on the way (a server of the
		// cluster failed): publish them again; receivers drop the copies
		// they already have.
		if m.Epoch == f.epoch {
			r.republish()
		}
	case broker.Grant:
		return f.window(m)
	}
	return false, nil
}

// window runs a granted window and reports it.
func (f *follower) window(g broker.Grant) (bool, error) {
	n, r := f.n, f.n.remote
	switch {
	case g.Epoch < f.epoch:
		return false, nil // a repeat of a window long done
	case f.link.Replacement && !f.caughtUp:
		return false, nil // a replacement waits for its catch-up
	case g.Epoch == f.epoch:
		// The grant again: our report may have been lost.
		rep, err := n.report(f.epoch)
		if err != nil {
			return true, err
		}
		return false, f.link.Report(rep, r.chunks)
	}
	f.epoch, f.waitFor = g.Epoch, 0
	if err := n.runWindow(g, false); err != nil {
		return true, err
	}
	rep, err := n.report(f.epoch)
	if err != nil {
		return true, err
	}
	if err := f.link.Report(rep, r.chunks); err != nil {
		return true, err
	}
	if g.End {
		return true, n.conn.Flush()
	}
	return false, nil
}

// runWindow runs one granted window. Silent, it only rebuilds state: what
// it would log is dropped, and what it would send to other nodes (which
// got it long ago) is only counted; messages to its own agencies are
// delivered in process, as they were over NATS the first time.
func (n *Node) runWindow(g broker.Grant, silent bool) error {
	r := n.remote
	// The last window's chunks are no longer needed.
	for i := range r.chunks {
		r.spare = append(r.spare, r.chunks[i][:0])
	}
	r.chunks = r.chunks[:0]
	r.window = r.window[:0]
	if g.Hosts != nil {
		if err := n.setHosts(g.Hosts); err != nil {
			return err
		}
	}
	n.mu.Lock()
	// Grants come in order: every window before this one has settled, so
	// any message due before the last one's end that arrives now is a
	// copy. (A replacement catching up keeps everything.)
	r.settled, r.frontier = r.frontier, g.Until
	if r.seen != nil && !silent {
		for id, due := range r.seen {
			if due < r.settled {
				delete(r.seen, id)
			}
		}
	}
	n.mu.Unlock()
	if err := n.drain(); err != nil {
		return err
	}
	if !silent {
		n.logRefusals(r.settled)
	}
	for _, a := range g.Actions {
		if err := n.apply(a); err != nil {
			return err
		}
	}
	n.silent = silent
	if g.End {
		n.runEnd(g.Until)
	} else {
		until := g.Until
		n.process(&until)
	}
	n.silent = false
	if n.pubErrs > 0 {
		return fmt.Errorf("agents: node %s: %d publishes failed: %s", n.name, n.pubErrs, n.conn.Errors.Last())
	}
	refused, err := n.confirmPublishes()
	if err != nil {
		return err
	}
	for i := range refused {
		e := refused[i].drop()
		r.appendEvent(&e)
	}
	return n.slowConsumer()
}

// catchUp rebuilds the state of the failed node this one replaces: it
// waits until the other nodes' messages (sent again) are all in, re-runs
// silently everything before the current window, then the current window,
// silently too if the failed node had reported it, else reporting it.
func (n *Node) catchUp(ctx context.Context, link *broker.Node, c broker.Catchup) error {
	r := n.remote
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(catchUpWait)
	for {
		n.mu.Lock()
		have := r.recvOthers
		n.mu.Unlock()
		if have >= c.Others {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agents: node %s: catching up, %d of the %d messages the other nodes sent have come again after %s",
				n.name, have, c.Others, catchUpWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-n.arrived:
		}
	}
	if err := n.setHosts(c.Hosts); err != nil {
		return err
	}
	if err := n.rerun(c.Through, c.Actions); err != nil {
		return err
	}
	w := c.Window
	w.Hosts = nil // set above; setting them again would reset the counts
	if err := n.runWindow(w, c.Silent); err != nil {
		return err
	}
	if c.Silent {
		return nil
	}
	rep, err := n.report(c.Epoch)
	if err != nil {
		return err
	}
	return link.Report(rep, r.chunks)
}

// rerun re-runs silently every event before through, the live actions
// among them taking effect at their times. Every message from other nodes
// is in hand, so the node needs no windows from the service: it runs
// ahead under its own lookahead. A step from its earliest event t to
// t+L cannot miss a message it sends itself, which arrives at t+L or
// later and is taken in before the next step; the node's events are the
// same however its time is cut into steps (as in RunLocal), so its state
// ends as the failed node's did.
func (n *Node) rerun(through liaison.Time, actions []broker.Action) error {
	n.remote.frontier = through
	for {
		if err := n.drain(); err != nil {
			return err
		}
		next := n.queue.next()
		for len(actions) > 0 && actions[0].At <= next {
			if err := n.apply(actions[0]); err != nil {
				return err
			}
			actions = actions[1:]
			next = n.queue.next()
		}
		if next >= through {
			return nil
		}
		until := min(next+n.m.Lookahead, through)
		if len(actions) > 0 {
			until = min(until, actions[0].At)
		}
		n.silent = true
		n.process(&until)
		n.silent = false
		if err := n.slowConsumer(); err != nil {
			return err
		}
	}
}

// catchUpWait bounds how long a replacement waits for the messages the
// other nodes send it again.
const catchUpWait = 20 * time.Second

// replay publishes again everything sent to node j.
func (r *remoteState) replay(j int) {
	if j < len(r.sentLog) {
		for _, s := range r.sentLog[j] {
			// Each agency's own connection: under need to know only it may
			// publish on its subjects.
			if err := r.n.connOf(s.from).Publish(s.subject, s.data); err != nil {
				r.n.pubErrs++
			}
		}
	}
}

// updateIfArrived reports again once the count the service expects has
// arrived.
func (f *follower) updateIfArrived() error {
	n := f.n
	if f.waitFor == 0 {
		return nil
	}
	n.mu.Lock()
	recv := n.recv - n.lateRefused
	n.mu.Unlock()
	if recv < f.waitFor {
		return nil
	}
	f.waitFor = 0
	rep, err := n.report(f.epoch)
	if err != nil {
		return err
	}
	return f.link.Update(rep)
}

// report drains the inbox and describes the node. The received count and
// the messages behind it are taken together: a report must never count a
// message whose delivery time its next event time does not include, or the
// service could grant a window past it.
func (n *Node) report(epoch uint64) (broker.Report, error) {
	recv, err := n.drainCounted()
	return broker.Report{Epoch: epoch, SentTo: n.sentTo, Recv: recv, Next: n.queue.next()}, err
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
		// The item and type tables grow with live injects on this
		// goroutine, so their bounds are checked here rather than in
		// take. Across processes nothing lists what was sent: a forged
		// message that gets this far is refused, and not counted as
		// received, since no node counted it as sent.
		if int(m.Item) >= len(n.m.items) || int(m.Type) >= len(n.m.Names.Types) {
			n.mu.Lock()
			n.refuse(n.subject(m.Channel, m.To, m.From), m, "type or item out of range")
			n.mu.Unlock()
			n.lateRefused++
			continue
		}
		n.deliverLater(w)
	}
	return recv - n.lateRefused, nil
}

// silentSend is a send while a window is re-run: others have had the
// message long ago, so it is only counted, and delivered here if it is for
// an agency of this node.
func (r *remoteState) silentSend(m *Message) {
	n := r.n
	dest := n.hostOf[m.To]
	n.sentTo[dest]++
	if n.agents[m.To] != nil {
		n.mu.Lock()
		w := &work{msg: *m}
		n.inbox = append(n.inbox, w)
		n.recv++
		if r.seen != nil {
			r.seen[msgID{m.From, m.Seq}] = m.DeliverAt
		}
		n.mu.Unlock()
	} else if r.keepSent {
		r.logSent(int(dest), sent{m.From, n.subject(m.Channel, m.To, m.From), m.appendBinary(nil)})
	}
}

// keep holds on to a message about to be published, as far as resilience
// and replacing failed nodes need it.
func (r *remoteState) keep(m *Message, subject string, data []byte) {
	if r.keepSent && r.n.agents[m.To] == nil {
		r.logSent(int(r.n.hostOf[m.To]), sent{m.From, subject, append([]byte(nil), data...)})
	}
	if r.seen != nil {
		r.window = append(r.window, sent{m.From, subject, append([]byte(nil), data...)})
	}
}

// duplicate reports whether a message is a copy of one already received;
// n.mu is held. A message is published in a window at or after its start
// and due no sooner, so one due before the last window's end (settled) is
// a copy; the others are told apart by id, kept until they fall due before
// settled. (Its send time would not do: a message held for a cut channel
// keeps the time it was sent when it goes out later.)
func (r *remoteState) duplicate(m *Message) bool {
	if m.DeliverAt < r.settled {
		return true
	}
	id := msgID{m.From, m.Seq}
	if _, ok := r.seen[id]; ok {
		return true
	}
	r.seen[id] = m.DeliverAt
	return false
}

func (r *remoteState) logSent(dest int, s sent) {
	for len(r.sentLog) <= dest {
		r.sentLog = append(r.sentLog, nil)
	}
	r.sentLog[dest] = append(r.sentLog[dest], s)
}

// republish publishes this window's messages again.
func (r *remoteState) republish() {
	for _, s := range r.window {
		if err := r.n.connOf(s.from).Publish(s.subject, s.data); err != nil {
			r.n.pubErrs++
		}
	}
}

// record appends one event of this window to the chunks reported to the
// time service.
func (r *remoteState) record(e *events.Event) {
	if r.n.silent {
		return // a re-run window: the service has these events already
	}
	r.appendEvent(e)
}

// appendEvent encodes an event into this window's chunks, each cut to fit
// a NATS message.
func (r *remoteState) appendEvent(e *events.Event) {
	if r.limit == 0 {
		// Room for the message's header and one more event past the cut.
		r.limit = r.n.conn.PayloadLimit() - 64
	}
	limit := r.limit
	if len(r.chunks) == 0 || len(r.chunks[len(r.chunks)-1]) > limit-128 {
		if k := len(r.spare); k > 0 {
			r.chunks = append(r.chunks, r.spare[k-1])
			r.spare = r.spare[:k-1]
		} else {
			r.chunks = append(r.chunks, make([]byte, 0, 64<<10))
		}
	}
	last := &r.chunks[len(r.chunks)-1]
	*last = events.AppendBinary(*last, e)
}
