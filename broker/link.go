package broker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
)

// Node is one participant's link to the time service: it receives the
// service's messages and sends reports. Agents' own traffic goes over the
// same connection on their own subjects.
type Node struct {
	// Replacement is set when the node joined a run that had lost a node
	// with the same agencies: it must catch up (see Catchup).
	Replacement bool

	conn   *Conn
	subj   Subjects
	up     string // this node's Up subject
	index  int
	downs  chan Down
	done   chan struct{} // closed by Close: no one reads downs any more
	wg     sync.WaitGroup
	sub    *nats.Subscription
	buf    []byte
	beatMu sync.Mutex
	beat   error // the first heartbeat that could not be published

	// Set once the join is answered, read by the subscription's callback:
	// -2 while joining, -1 for a node that takes no catch-up, else the
	// index of a replacement.
	catchupFor atomic.Int64
	part       assembly

	abortOnce sync.Once
	aborted   chan struct{} // closed when an Abort arrives
	reason    string        // the Abort's, set before aborted is closed
}

// assembly gathers a catch-up's parts, which arrive in order on the one
// subject; a gap or another catch-up starts over (the service sends the
// whole catch-up again when it hears nothing).
type assembly struct {
	epoch uint64
	node  int
	next  int // the part expected next; 0 when none is under way
	count int
	body  []byte
}

// add takes one part and returns the catch-up once its last part is in.
func (a *assembly) add(p catchupPart) (Catchup, bool, error) {
	if p.index == 0 {
		*a = assembly{epoch: p.epoch, node: p.node, count: p.count, body: a.body[:0]}
	} else if a.next != p.index || a.epoch != p.epoch || a.node != p.node || a.count != p.count {
		a.next = 0 // a part was lost: wait for the catch-up to come again
		return Catchup{}, false, nil
	}
	a.body = append(a.body, p.data...)
	a.next = p.index + 1
	if a.next < a.count {
		return Catchup{}, false, nil
	}
	c, err := decodeCatchup(a.body)
	a.next, a.body = 0, nil // the catch-up's actions alias the body
	if err == nil && (c.Epoch != p.epoch || c.Node != p.node) {
		err = fmt.Errorf("%w: catch-up parts for node %d of window %d hold one for node %d of window %d", ErrMalformed, p.node, p.epoch, c.Node, c.Epoch)
	}
	return c, err == nil, err
}

// JoinRun subscribes to the service's messages and asks the time service
// to admit a node hosting the given agencies. It retries until ctx ends,
// so a node may start before the service, and gives up when the service
// aborts the run meanwhile (a join that failed).
//
// The digest names the scenario, variant and seed the node compiled: the
// service refuses a node whose digest differs from its own, since such a
// node would not give the same results.
func JoinRun(ctx context.Context, c *Conn, subj Subjects, name, digest string, agencies []liaison.AgencyID) (*Node, error) {
	if name == "" || strings.ContainsAny(name, "\n") {
		return nil, fmt.Errorf("broker: a node needs a name of one line, not %q", name)
	}
	n := &Node{conn: c, subj: subj, downs: make(chan Down, 16), done: make(chan struct{}), aborted: make(chan struct{})}
	n.catchupFor.Store(-2)
	sub, err := c.Subscribe(subj.Grant(), n.receive)
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
		msg, err := c.RequestWithContext(rctx, subj.Join(name), []byte(req))
		cancel()
		pause := 50 * time.Millisecond
		switch {
		case err == nil:
			reply := string(msg.Data)
			idx, ok := strings.CutPrefix(reply, "ok ")
			if r, resumed := strings.CutPrefix(reply, "resume "); resumed {
				idx, ok, n.Replacement = r, true, true
			}
			if ok {
				n.index, err = strconv.Atoi(idx)
				if err != nil || n.index < 0 || n.index >= maxIndex {
					n.Close()
					return nil, fmt.Errorf("broker: bad join reply %q", reply)
				}
				if n.Replacement {
					n.catchupFor.Store(int64(n.index))
				} else {
					n.catchupFor.Store(-1)
				}
				n.up = subj.Up(name)
				n.wg.Go(n.heartbeat)
				return n, nil
			}
			if !strings.HasPrefix(reply, "wait: ") {
				n.Close()
				return nil, fmt.Errorf("broker: the time service refused node %s: %s", name, reply)
			}
			// A replacement asks again until its predecessor is
			// declared failed.
			pause = 200 * time.Millisecond
		case ctx.Err() != nil:
			n.Close()
			return nil, fmt.Errorf("broker: no time service answered node %s: %w", name, ctx.Err())
		}
		select {
		case <-n.aborted:
			n.Close()
			return nil, fmt.Errorf("broker: node %s: the run was aborted before it began: %s", name, n.reason)
		case <-time.After(pause):
		}
	}
}

// receive decodes one of the service's messages and hands it on; it runs
// on the subscription's goroutine. Messages for one node (expectations,
// catch-ups) reach every node and the receiver filters them (see Downs),
// since a catch-up can come before the join's answer has told this node
// its index.
func (n *Node) receive(m *nats.Msg) {
	d, err := decodeDown(m.Data)
	if err != nil {
		d = Abort{Reason: fmt.Sprintf("a message on %s did not decode: %v", m.Subject, err)}
	}
	switch x := d.(type) {
	case catchupPart:
		who := n.catchupFor.Load()
		if who == -1 || (who >= 0 && int64(x.node) != who) {
			return // not for this node: leave it undecoded
		}
		c, ok, err := n.part.add(x)
		switch {
		case err != nil:
			d = Abort{Reason: err.Error()}
		case !ok:
			return
		default:
			d = c
		}
	case Abort:
		n.abortOnce.Do(func() { n.reason = x.Reason; close(n.aborted) })
	}
	select {
	case n.downs <- d:
	case <-n.done:
	}
}

// Downs delivers the service's messages, in order: Grant, Expect, Resend,
// Replay, Catchup, Abort. Those addressed to another node (an Expect's,
// Replay's or Catchup's Node that is not Index) are for the receiver to
// ignore.
func (n *Node) Downs() <-chan Down { return n.downs }

// Index is the node's number in the run, assigned when it joined.
func (n *Node) Index() int { return n.index }

// Report sends the events of a window, already cut into chunks that each fit
// a NATS message (see MaxPayload), then the node's report.
func (n *Node) Report(r Report, chunks [][]byte) error {
	r.Chunks = 0
	for _, c := range chunks {
		if len(c) == 0 {
			continue
		}
		if err := n.send(Events{Epoch: r.Epoch, Chunk: r.Chunks, Data: c}); err != nil {
			return fmt.Errorf("broker: publishing events: %w", err)
		}
		r.Chunks++
	}
	return n.Update(r)
}

// Update sends a report without events: the count the service expects has
// arrived.
func (n *Node) Update(r Report) error {
	if err := n.send(r); err != nil {
		return fmt.Errorf("broker: publishing report: %w", err)
	}
	return nil
}

func (n *Node) send(u Up) error {
	n.beatMu.Lock()
	err := n.beat
	n.beatMu.Unlock()
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	n.buf = u.appendUp(n.buf[:0])
	return n.conn.Publish(n.up, n.buf)
}

// Fail tells the service that this node cannot go on. It is the node's
// last word, so what fails here has no one left to tell.
func (n *Node) Fail(err error) {
	n.conn.Publish(n.up, Fail{Reason: err.Error()}.appendUp(nil))
	n.conn.Flush()
}

// Close stops receiving the service's messages.
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

// heartbeat publishes heartbeats until Close; the first that cannot be
// published fails the node's next report.
func (n *Node) heartbeat() {
	t := time.NewTicker(HeartbeatInterval)
	defer t.Stop()
	beat := Heartbeat{}.appendUp(nil)
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
			if err := n.conn.Publish(n.up, beat); err != nil {
				n.beatMu.Lock()
				if n.beat == nil {
					n.beat = err
				}
				n.beatMu.Unlock()
			}
		}
	}
}
