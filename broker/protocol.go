package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"liaison"
	"liaison/internal/wire"
)

// The time protocol has one type per message. Downward, on Subjects.Grant,
// every node hears every message, and ignores those addressed to another
// node: Grant, Expect, Resend, Replay, Catchup (sent in parts) and Abort.
// Upward, each node publishes on its own Subjects.Up, in order on one
// subject so that a window's events come before its report: Events,
// Report, Fail and Heartbeat.
//
// Each payload starts with its kind's byte, then fixed fields as varints.
// The payloads come from other processes, so the decoders check every
// field, refuse counts the payload cannot hold and bytes after the record:
// a forged or truncated message is an error, never a panic or an
// allocation beyond its own size.

// Message kinds, the first byte of every payload.
const (
	tagGrant   byte = 'G'
	tagExpect  byte = 'X'
	tagResend  byte = 'S'
	tagReplay  byte = 'P'
	tagCatchup byte = 'C'
	tagAbort   byte = 'A'

	tagEvents    byte = 'E'
	tagReport    byte = 'R'
	tagFail      byte = 'F'
	tagHeartbeat byte = 'H'
)

// maxIndex bounds node indices: a node hosts at least one agency, and
// agency indices fit 23 bits (see agents).
const maxIndex = 1 << 23

// ErrMalformed wraps every decoding failure of the time protocol.
var ErrMalformed = errors.New("broker: malformed time protocol message")

// Down is a message from the time service to the nodes: Grant, Expect,
// Resend, Replay, Catchup or Abort.
type Down interface {
	appendDown(b []byte) []byte
}

// Up is a message from a node to the time service: Events, Report, Fail or
// Heartbeat.
type Up interface {
	appendUp(b []byte) []byte
}

// Grant is one window: process every event with T < Until.
type Grant struct {
	Epoch uint64
	Until liaison.Time
	// End: the run is over; run what happens at Until itself, drop what
	// is in transit at Until, and report once more.
	End bool
	// Hosts, in the first grant only, gives the node index of every
	// agency, in the order of Service.Agencies: nodes count what they send
	// to each node.
	Hosts []int
	// Actions are the live actions that change what agencies do (see
	// ChangesModel: injects, a player's decisions, a facilitator's skips,
	// cuts, staff changes...) and take effect in this window, each at its
	// At, in the order they were accepted. Their Def aliases the payload
	// they were decoded from.
	Actions []Action
}

// Expect tells node Node to report again once it has received Count
// messages since the run began: every node reported for window Epoch, and
// others sent it more than it had received.
type Expect struct {
	Epoch uint64
	Node  int
	Count uint64
}

// Resend asks every node to publish the messages of window Epoch again
// (some were lost, say with a server of a cluster); receivers drop the
// copies they already have.
type Resend struct {
	Epoch uint64
}

// Replay tells every node but Node, a replacement for one that failed, to
// publish again everything it ever sent to Node.
type Replay struct {
	Epoch uint64
	Node  int
}

// Catchup tells replacement node Node how to rebuild the state of the node
// it replaces: wait for Others messages from the other nodes (sent again
// after Replay), re-run silently every event before Through, taking
// Actions (every action of the windows before the current one, in order)
// as it goes, then run Window, the current one, silently too when Silent (the
// failed node had reported it). Hosts is the first grant's.
//
// A replacement needs no record of the windows before: with every input in
// hand it runs ahead under its own lookahead (see agents), so the service
// keeps nothing per window. Catchup goes out in parts that each fit a NATS
// message; Node reassembles them.
type Catchup struct {
	Epoch   uint64
	Node    int
	Others  uint64
	Hosts   []int
	Through liaison.Time
	Actions []Action
	Window  Grant
	Silent  bool
}

// Abort ends the run: nodes stop, saying Reason.
type Abort struct {
	Reason string
}

// Report is a node's account of itself after (or while waiting after) a
// window.
type Report struct {
	Epoch uint64
	// SentTo counts the messages this node has published since the run
	// began, by destination node.
	SentTo []uint64
	Recv   uint64       // messages this node has received since the run began
	Next   liaison.Time // its earliest pending event, or liaison.Never
	// Chunks is how many Events preceded this report for the epoch;
	// zero in the re-reports that only update counts.
	Chunks uint64
}

// Events is one chunk of a window's events, numbered within the window.
// Data (events.AppendBinary's form) aliases the payload it was decoded
// from.
type Events struct {
	Epoch uint64
	Chunk uint64
	Data  []byte
}

// Fail tells the service that the node cannot go on, and why.
type Fail struct {
	Reason string
}

// Heartbeat says only "still here".
type Heartbeat struct{}

func (g Grant) appendDown(b []byte) []byte { return appendGrantBody(append(b, tagGrant), &g) }

func appendGrantBody(b []byte, g *Grant) []byte {
	b = binary.AppendUvarint(b, g.Epoch)
	b = binary.AppendVarint(b, int64(g.Until))
	b = appendBool(b, g.End)
	b = appendHosts(b, g.Hosts)
	return appendActions(b, g.Actions)
}

func (x Expect) appendDown(b []byte) []byte {
	b = append(b, tagExpect)
	b = binary.AppendUvarint(b, x.Epoch)
	b = binary.AppendUvarint(b, uint64(x.Node))
	return binary.AppendUvarint(b, x.Count)
}

func (x Resend) appendDown(b []byte) []byte {
	return binary.AppendUvarint(append(b, tagResend), x.Epoch)
}

func (x Replay) appendDown(b []byte) []byte {
	b = append(b, tagReplay)
	b = binary.AppendUvarint(b, x.Epoch)
	return binary.AppendUvarint(b, uint64(x.Node))
}

func (x Abort) appendDown(b []byte) []byte { return append(append(b, tagAbort), x.Reason...) }

// appendDown encodes the whole catch-up as one part, however long; the
// service sends it with parts.
func (c Catchup) appendDown(b []byte) []byte {
	body := c.appendBody(nil)
	return appendPart(b, c.Epoch, c.Node, 0, 1, body)
}

func (c *Catchup) appendBody(b []byte) []byte {
	b = binary.AppendUvarint(b, c.Epoch)
	b = binary.AppendUvarint(b, uint64(c.Node))
	b = binary.AppendUvarint(b, c.Others)
	b = appendHosts(b, c.Hosts)
	b = binary.AppendVarint(b, int64(c.Through))
	b = appendActions(b, c.Actions)
	b = appendGrantBody(b, &c.Window)
	return appendBool(b, c.Silent)
}

// PayloadLimit is the largest message to publish on c: MaxPayload, or less
// when the server allows less (its max_payload).
func (c *Conn) PayloadLimit() int {
	if m := c.MaxPayload(); m > 0 && m < MaxPayload {
		return int(m)
	}
	return MaxPayload
}

// A catch-up's parts: at most maxCatchupParts, each within the payload
// limit.
const (
	maxCatchupParts = 256
	partOverhead    = 1 + 4*binary.MaxVarintLen64
)

// parts encodes the catch-up in parts of at most max bytes each.
func (c *Catchup) parts(max int) ([][]byte, error) {
	body := c.appendBody(nil)
	room := max - partOverhead
	count := (len(body) + room - 1) / room
	if count > maxCatchupParts {
		return nil, fmt.Errorf("broker: the catch-up for node %d takes %d bytes, more than %d messages of %d bytes", c.Node, len(body), maxCatchupParts, max)
	}
	out := make([][]byte, 0, count)
	for i := range count {
		part := body[i*room : min(len(body), (i+1)*room)]
		out = append(out, appendPart(nil, c.Epoch, c.Node, i, count, part))
	}
	return out, nil
}

func appendPart(b []byte, epoch uint64, node, index, count int, data []byte) []byte {
	b = append(b, tagCatchup)
	b = binary.AppendUvarint(b, epoch)
	b = binary.AppendUvarint(b, uint64(node))
	b = binary.AppendUvarint(b, uint64(index))
	b = binary.AppendUvarint(b, uint64(count))
	return append(b, data...)
}

func (r Report) appendUp(b []byte) []byte {
	b = append(b, tagReport)
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

func (e Events) appendUp(b []byte) []byte {
	b = append(b, tagEvents)
	b = binary.AppendUvarint(b, e.Epoch)
	b = binary.AppendUvarint(b, e.Chunk)
	return append(b, e.Data...)
}

func (f Fail) appendUp(b []byte) []byte { return append(append(b, tagFail), f.Reason...) }

func (Heartbeat) appendUp(b []byte) []byte { return append(b, tagHeartbeat) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendHosts(b []byte, hosts []int) []byte {
	b = binary.AppendUvarint(b, uint64(len(hosts)))
	for _, h := range hosts {
		b = binary.AppendUvarint(b, uint64(h))
	}
	return b
}

func appendActions(b []byte, actions []Action) []byte {
	b = binary.AppendUvarint(b, uint64(len(actions)))
	for _, a := range actions {
		b = wire.AppendBytes(b, []byte(a.Kind))
		b = binary.AppendVarint(b, int64(a.At))
		b = wire.AppendBytes(b, a.Def)
	}
	return b
}

// catchupPart is one part of an encoded Catchup, as it travels.
type catchupPart struct {
	epoch        uint64
	node         int
	index, count int
	data         []byte
}

func (p catchupPart) appendDown(b []byte) []byte {
	return appendPart(b, p.epoch, p.node, p.index, p.count, p.data)
}

// decodeDown decodes a message from the time service: a Grant, Expect,
// Resend, Replay or Abort, or a catchupPart.
func decodeDown(b []byte) (Down, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	r := wire.NewReader(b[1:])
	var d Down
	switch b[0] {
	case tagGrant:
		var g Grant
		readGrant(&r, &g)
		d = g
	case tagExpect:
		d = Expect{Epoch: r.Uvarint(), Node: readIndex(&r), Count: r.Uvarint()}
	case tagResend:
		d = Resend{Epoch: r.Uvarint()}
	case tagReplay:
		d = Replay{Epoch: r.Uvarint(), Node: readIndex(&r)}
	case tagCatchup:
		p := catchupPart{epoch: r.Uvarint(), node: readIndex(&r), index: readIndex(&r), count: readIndex(&r)}
		if r.Err() == nil && (p.count < 1 || p.count > maxCatchupParts || p.index >= p.count) {
			r.Fail(fmt.Errorf("catch-up part %d of %d", p.index, p.count))
		}
		p.data = r.Rest()
		d = p
		return d, wrap("catch-up part", r.Err())
	case tagAbort:
		reason, err := readText(b[1:])
		return Abort{Reason: reason}, wrap("abort", err)
	default:
		return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, b[0])
	}
	return d, wrap(fmt.Sprintf("%T", d), r.Done())
}

// decodeCatchup decodes a reassembled catch-up.
func decodeCatchup(b []byte) (Catchup, error) {
	r := wire.NewReader(b)
	c := Catchup{Epoch: r.Uvarint(), Node: readIndex(&r), Others: r.Uvarint()}
	c.Hosts = readHosts(&r)
	c.Through = readTime(&r)
	c.Actions = readActions(&r)
	readGrant(&r, &c.Window)
	c.Silent = r.Bool()
	if r.Err() == nil && (c.Window.Epoch != c.Epoch || c.Through > c.Window.Until) {
		r.Fail(errors.New("its window does not follow what it re-runs"))
	}
	for _, a := range c.Actions {
		if a.At >= c.Through {
			r.Fail(errors.New("an action to re-run comes after what it re-runs"))
		}
	}
	return c, wrap("catch-up", r.Done())
}

// decodeUp decodes a node's message. A Report's SentTo reuses scratch.
func decodeUp(b []byte, scratch []uint64) (Up, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	r := wire.NewReader(b[1:])
	switch b[0] {
	case tagEvents:
		e := Events{Epoch: r.Uvarint(), Chunk: r.Uvarint()}
		e.Data = r.Rest()
		return e, wrap("events", r.Err())
	case tagReport:
		rep := Report{Epoch: r.Uvarint(), Recv: r.Uvarint(), Next: readTime(&r), Chunks: r.Uvarint()}
		n := r.Count(1)
		rep.SentTo = scratch[:0]
		for range n {
			rep.SentTo = append(rep.SentTo, r.Uvarint())
		}
		return rep, wrap("report", r.Done())
	case tagFail:
		reason, err := readText(b[1:])
		return Fail{Reason: reason}, wrap("fail", err)
	case tagHeartbeat:
		return Heartbeat{}, wrap("heartbeat", r.Done())
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, b[0])
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}

func readGrant(r *wire.Reader, g *Grant) {
	g.Epoch = r.Uvarint()
	g.Until = readTime(r)
	g.End = r.Bool()
	g.Hosts = readHosts(r)
	g.Actions = readActions(r)
}

// readTime reads a simulated time: never negative (Never is the largest).
func readTime(r *wire.Reader) liaison.Time {
	t := r.Varint()
	if t < 0 {
		r.Fail(wire.ErrRange)
		return 0
	}
	return liaison.Time(t)
}

func readIndex(r *wire.Reader) int {
	v := r.Uvarint()
	if v >= maxIndex {
		r.Fail(wire.ErrRange)
		return 0
	}
	return int(v)
}

// readHosts reads the node of every agency; nodes are numbered from 0 and
// there are no more of them than agencies.
func readHosts(r *wire.Reader) []int {
	n := r.Count(1)
	if n == 0 {
		return nil
	}
	hosts := make([]int, n)
	for i := range hosts {
		h := readIndex(r)
		if h >= n {
			r.Fail(wire.ErrRange)
		}
		hosts[i] = h
	}
	return hosts
}

// readActions reads live actions: each of a kind that changes the model,
// at a time before Never.
func readActions(r *wire.Reader) []Action {
	n := r.Count(3) // a kind's length, a time and a definition's length at least
	if n == 0 {
		return nil
	}
	out := make([]Action, 0, n)
	for range n {
		kind := r.Bytes()
		a := Action{At: readTime(r), Def: r.Bytes()}
		if r.Err() != nil {
			return nil
		}
		a.Kind = string(kind)
		if !knownAction(a.Kind) || !ChangesModel(a.Kind) || a.At == liaison.Never {
			r.Fail(fmt.Errorf("action %.20q at %d", kind, a.At))
			return nil
		}
		out = append(out, a)
	}
	return out
}

// readText reads a reason: the rest of the payload, as UTF-8.
func readText(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errors.New("not UTF-8")
	}
	return string(b), nil
}
