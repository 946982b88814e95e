package agents

import (
	"math"
	"math/rand/v2"

	"liaison"
	"liaison/events"
	"liaison/scenarios"
)

// work is one message (or inject) in an agency's hands: queued, or being
// handled by one of its staff.
type work struct {
	msg     Message // the message, when fromMsg
	fromMsg bool    // false for an inject
	item    int32
	typ     int32
	origin  int32 // who shared it; -1 for an inject
	urgent  bool
	arrival liaison.Time
	src     int32 // tie-break key: (src, seq) is unique per agency
	seq     uint64
	handled liaison.Time
}

func (w *work) before(o *work) bool {
	if w.urgent != o.urgent {
		return w.urgent
	}
	if w.arrival != o.arrival {
		return w.arrival < o.arrival
	}
	if w.src != o.src {
		return w.src < o.src
	}
	return w.seq < o.seq
}

// pendingShare is a share held back until the originator consents.
type pendingShare struct {
	target  int32
	typ     int32
	channel int32
	urgent  bool
}

const (
	consentNone uint8 = iota
	consentAsked
	consentGranted
	consentRefused
	consentUnreachable // no channel joins the holder to the originator
)

type ruleItem struct {
	rule int
	item int32
}

// agent is one agency's behaviour and state.
type agent struct {
	n   *Node
	m   *Model
	ix  int32
	def *agencyModel

	rngNet, rngHandle, rngRule, rngBG *rand.Rand

	msgSeq, evSeq, localSeq uint64

	free       int
	queue      []*work // binary heap by work.before
	wakeAt     liaison.Time
	knows      map[int32]bool
	fired      map[ruleItem]bool
	consent    map[int32]uint8
	pending    map[int32][]pendingShare
	routeCache map[[2]int32][]int32 // forced routes, by (recipient, channel)
	route1     []int32              // the only channel to each recipient, or routeUnknown, routeMany, -1
	routes     [][]int32            // router's candidates by recipient where there are several
	others     [][]int32            // each stream's recipients other than this agency
	posted     []postKey            // platform posts of the current rule firing
	// The message being acted on, named as the cause of what is sent.
	causeFrom int32
	causeSeq  uint64
}

// postKey names a platform post: a rule firing posts each type once on
// each platform, however many of its targets the platform reaches.
type postKey struct{ channel, typ int32 }

func newAgent(n *Node, ix int32) *agent {
	m := n.m
	def := &m.agencies[ix]
	id := m.Names.Agencies[ix]
	return &agent{n: n, m: m, ix: ix, def: def, free: def.staff, wakeAt: liaison.Never,
		causeFrom: -1, rngNet: m.newRand(id, "net"), rngHandle: m.newRand(id, "handle"),
		rngRule: m.newRand(id, "rule"), rngBG: m.newRand(id, "background"),
		knows: map[int32]bool{}, fired: map[ruleItem]bool{}, consent: map[int32]uint8{},
		pending: map[int32][]pendingShare{}, routeCache: map[[2]int32][]int32{}}
}

// start schedules the agency's injects and the first message of each of its
// background streams.
func (a *agent) start() {
	for _, it := range a.def.injects {
		a.schedule(qevent{t: a.m.items[it].at, prio: prioInject, aux: it})
	}
	for s := range a.def.streams {
		var others []int32
		for _, t := range a.def.streams[s].to {
			if t != a.ix {
				others = append(others, t)
			}
		}
		a.others = append(a.others, others)
		a.scheduleStream(int32(s), 0)
	}
}

func (a *agent) schedule(e qevent) {
	e.agent = a.ix
	if e.src == 0 && e.seq == 0 {
		e.src = a.ix
		a.localSeq++
		e.seq = a.localSeq
	}
	a.n.queue.push(e)
}

func (a *agent) scheduleStream(s int32, now liaison.Time) {
	st := &a.def.streams[s]
	gap := liaison.Time(math.Ceil(a.rngBG.ExpFloat64() * st.mean))
	t := now + max(gap, 1)
	if t > a.m.End {
		return
	}
	a.schedule(qevent{t: t, prio: prioBackground, aux: s})
}

// emit stamps an event with this agency and its next sequence number and
// hands it to the node.
func (a *agent) emit(e events.Event) {
	e.Agency = a.ix
	if e.Kind != events.Send {
		e.CauseFrom, e.CauseSeq = -1, 0
	}
	a.evSeq++
	e.Seq = a.evSeq
	if e.Kind != events.Drop {
		e.Reason = -1
	}
	a.n.record(&e)
}

func noEvent(t liaison.Time, k events.Kind) events.Event {
	return events.Event{T: t, Kind: k, MsgFrom: -1, Channel: -1, Type: -1, Item: -1, Peer: -1, Reason: -1, CauseFrom: -1}
}

func (a *agent) handle(e *qevent) {
	switch e.prio {
	case prioDeliver:
		a.deliver(e.t, e.work)
	case prioInject:
		it := &a.m.items[e.aux]
		ev := noEvent(e.t, events.Inject)
		ev.Item, ev.Type = e.aux, it.typ
		a.emit(ev)
		a.enqueue(e.t, &work{item: e.aux, typ: it.typ, origin: -1, urgent: it.urgent,
			arrival: e.t, src: e.src, seq: e.seq})
	case prioHandleEnd:
		a.finish(e.t, e.work)
	case prioWake:
		a.wakeAt = liaison.Never
		a.dispatch(e.t)
	case prioBackground:
		st := &a.def.streams[e.aux]
		to := a.pickOther(a.others[e.aux])
		if to >= 0 {
			a.posted = a.posted[:0]
			a.causeFrom, a.causeSeq = -1, 0
			a.sendTo(e.t, to, st.typ, -1, st.channel, false)
		}
		a.scheduleStream(e.aux, e.t)
	}
}

// pickOther draws a recipient uniformly from the stream's recipients other
// than this agency.
func (a *agent) pickOther(others []int32) int32 {
	if len(others) == 0 {
		return -1
	}
	return others[a.rngBG.IntN(len(others))]
}

func (a *agent) deliver(t liaison.Time, w *work) {
	m := &w.msg
	ev := events.Event{T: t, Kind: events.Deliver, MsgFrom: m.From, MsgSeq: m.Seq, Channel: m.Channel,
		Type: m.Type, Item: m.Item, Peer: m.From, Value: t - m.SentAt, Count: int32(len(a.queue) + 1)}
	a.emit(ev)
	a.enqueue(t, w)
}

// open returns when the office is next open at or after t.
func (a *agent) open(t liaison.Time) liaison.Time {
	if a.def.always {
		return t
	}
	wall := a.m.Start.Add(t.Duration()).In(a.def.loc)
	next := a.def.sc.Hours.NextOpen(wall)
	if !next.After(wall) {
		return t
	}
	return t + liaison.FromDuration(next.Sub(wall))
}

func (a *agent) enqueue(t liaison.Time, w *work) {
	opens := a.open(t)
	if opens > t {
		ev := noEvent(t, events.Hold)
		ev.Item, ev.Type, ev.Value = w.item, w.typ, opens
		if w.fromMsg {
			ev.MsgFrom, ev.MsgSeq = w.msg.From, w.msg.Seq
		}
		a.emit(ev)
	}
	a.pushWork(w)
	if a.free > 0 {
		a.dispatchOpen(t, opens) // the office hours are known already
	}
}

// dispatch starts handling queued work while staff are free and the office
// is open; when closed it sets an alarm for the opening.
func (a *agent) dispatch(t liaison.Time) {
	if len(a.queue) == 0 || a.free == 0 {
		return
	}
	a.dispatchOpen(t, a.open(t))
}

// dispatchOpen is dispatch when the office's next opening at or after t
// is known.
func (a *agent) dispatchOpen(t, opens liaison.Time) {
	if opens > t {
		if a.wakeAt > opens {
			a.wakeAt = opens
			a.schedule(qevent{t: opens, prio: prioWake})
		}
		return
	}
	for a.free > 0 && len(a.queue) > 0 {
		w := a.popWork()
		a.free--
		ev := noEvent(t, events.HandleStart)
		ev.Item, ev.Type, ev.Value, ev.Peer = w.item, w.typ, t-w.arrival, w.origin
		ev.Count = int32(len(a.queue))
		if w.fromMsg {
			ev.MsgFrom, ev.MsgSeq = w.msg.From, w.msg.Seq
		}
		a.emit(ev)
		if w.item >= 0 && !a.knows[w.item] && (!w.fromMsg || w.msg.Kind == kindPlain && !w.msg.Relay) {
			a.knows[w.item] = true
			k := noEvent(t, events.Know)
			k.Item, k.Type, k.Peer, k.Value = w.item, w.typ, w.origin, t-a.m.items[w.item].at
			if w.fromMsg {
				k.MsgFrom, k.MsgSeq = w.msg.From, w.msg.Seq
			}
			a.emit(k)
		}
		d := a.def.handlingFor(a.m, w.typ).Sample(a.rngHandle)
		w.handled = d
		a.schedule(qevent{t: t + d, prio: prioHandleEnd, work: w})
	}
}

func (a *agent) finish(t liaison.Time, w *work) {
	a.free++
	ev := noEvent(t, events.HandleEnd)
	ev.Item, ev.Type, ev.Value, ev.Peer = w.item, w.typ, w.handled, w.origin
	if w.fromMsg {
		ev.MsgFrom, ev.MsgSeq = w.msg.From, w.msg.Seq
	}
	a.emit(ev)
	kind := kindPlain
	if w.fromMsg {
		kind = w.msg.Kind
	}
	// Whatever this handling sends, it sends because of this message.
	a.causeFrom, a.causeSeq = -1, 0
	if w.fromMsg {
		a.causeFrom, a.causeSeq = w.msg.From, w.msg.Seq
	}
	switch {
	case w.fromMsg && w.msg.Relay:
		a.relay(t, &w.msg)
	case kind == kindConsentReq:
		a.answerConsent(t, w)
	case kind == kindConsentGrant, kind == kindConsentRefuse:
		a.consentAnswered(t, w, kind == kindConsentGrant)
	default:
		a.applyRules(t, w)
	}
	a.dispatch(t)
}

func (a *agent) applyRules(t liaison.Time, w *work) {
	var tlp liaison.TLP
	if w.item >= 0 {
		tlp = a.m.items[w.item].tlp
	}
	for i := range a.def.rules {
		r := &a.def.rules[i]
		if r.on >= 0 && r.on != w.typ || r.on < 0 && w.item < 0 {
			continue
		}
		if r.from != nil && (w.origin < 0 || !r.from[w.origin]) {
			continue
		}
		if r.tlp != nil && (w.item < 0 || !r.tlp[tlp]) {
			continue
		}
		if r.action != 'r' && w.item >= 0 {
			key := ruleItem{r.index, w.item}
			if a.fired[key] {
				continue
			}
			a.fired[key] = true
		}
		if r.action == 'r' && w.origin < 0 {
			continue // an inject has no sender to answer
		}
		if r.probability < 1 && a.rngRule.Float64() >= r.probability {
			ev := noEvent(t, events.Skip)
			ev.Item, ev.Type = w.item, w.typ
			a.emit(ev)
			continue
		}
		out := r.outType
		if out < 0 {
			out = w.typ
		}
		a.posted = a.posted[:0] // one post per platform per firing
		switch r.action {
		case 's', 'n':
			for _, target := range r.targets {
				a.share(t, target, out, w.item, r.channel, r.urgent || w.urgent && r.action == 's')
			}
		case 'r':
			if r.within > 0 && t-w.arrival > r.within {
				ev := noEvent(t, events.DeadlineMissed)
				ev.Item, ev.Type, ev.Value = w.item, w.typ, r.within
				if w.fromMsg {
					ev.MsgFrom, ev.MsgSeq = w.msg.From, w.msg.Seq
				}
				a.emit(ev)
			}
			a.sendTo(t, w.origin, out, w.item, r.channel, r.urgent || w.urgent)
		}
	}
}

// share passes an item to one target under TLP and the third-party rule.
func (a *agent) share(t liaison.Time, target, typ, item, channel int32, urgent bool) {
	if target == a.ix {
		return
	}
	if item >= 0 {
		it := &a.m.items[item]
		if a.ix != it.originator && target != it.originator {
			if !a.tlpAllows(it.tlp, target) {
				a.sendDropped(t, target, typ, item, liaison.DropTLP)
				return
			}
			if it.control {
				switch a.consent[item] {
				case consentRefused:
					a.sendDropped(t, target, typ, item, liaison.DropConsentRefuse)
					return
				case consentUnreachable:
					a.sendDropped(t, target, typ, item, liaison.DropNoRoute)
					return
				case consentNone:
					ev := noEvent(t, events.ConsentRequest)
					ev.Item, ev.Peer = item, it.originator
					a.emit(ev)
					if !a.sendKind(t, it.originator, a.m.typeConsentReq, item, -1, urgent, kindConsentReq) {
						// No channel reaches the originator: the consent can
						// never come, and what waits for it cannot go.
						a.consent[item] = consentUnreachable
						a.sendDropped(t, target, typ, item, liaison.DropNoRoute)
						return
					}
					a.consent[item] = consentAsked
					fallthrough
				case consentAsked:
					a.pending[item] = append(a.pending[item], pendingShare{target, typ, channel, urgent})
					return
				}
			}
		}
	}
	a.sendTo(t, target, typ, item, channel, urgent)
}

// tlpAllows says whether a holder other than the originator may pass an item
// of level l to target: CLEAR and GREEN to anyone in the scenario, AMBER
// within the holder's own country, AMBER+STRICT and RED to no one.
func (a *agent) tlpAllows(l liaison.TLP, target int32) bool {
	switch l {
	case liaison.TLPClear, liaison.TLPGreen:
		return true
	case liaison.TLPAmber:
		return a.def.country != "" && a.m.agencies[target].country == a.def.country
	}
	return false
}

func (a *agent) answerConsent(t liaison.Time, w *work) {
	grant := true
	if p := a.def.consent; p < 1 {
		grant = a.rngRule.Float64() < p
	}
	kind, typ, ek := kindConsentGrant, a.m.typeConsentGrant, events.ConsentGrant
	if !grant {
		kind, typ, ek = kindConsentRefuse, a.m.typeConsentRefuse, events.ConsentRefuse
	}
	ev := noEvent(t, ek)
	ev.Item, ev.Peer = w.item, w.origin
	a.emit(ev)
	a.sendKind(t, w.origin, typ, w.item, -1, w.urgent, kind)
}

func (a *agent) consentAnswered(t liaison.Time, w *work, granted bool) {
	pend := a.pending[w.item]
	delete(a.pending, w.item)
	if granted {
		a.consent[w.item] = consentGranted
		a.posted = a.posted[:0]
		for _, p := range pend {
			a.sendTo(t, p.target, p.typ, w.item, p.channel, p.urgent)
		}
		return
	}
	a.consent[w.item] = consentRefused
	for _, p := range pend {
		a.sendDropped(t, p.target, p.typ, w.item, liaison.DropConsentRefuse)
	}
}

// relay passes on a message that a hub or liaison officer has handled.
func (a *agent) relay(t liaison.Time, m *Message) {
	ch := &a.m.channels[m.Channel]
	if m.Final >= 0 {
		a.hop(t, m.Final, m.Channel, m.Type, m.Item, m.Origin, -1, m.Urgent, m.Kind, false)
		return
	}
	for _, to := range ch.members {
		if to != m.Origin && to != a.ix {
			a.hop(t, to, m.Channel, m.Type, m.Item, m.Origin, -1, m.Urgent, m.Kind, false)
		}
	}
}

func (a *agent) sendTo(t liaison.Time, to, typ, item, channel int32, urgent bool) {
	a.sendKind(t, to, typ, item, channel, urgent, kindPlain)
}

// sendKind routes a message from this agency to another and sends its first
// hop: straight to the recipient, to a relay, or as a platform post.
//
// It reports whether the message went (false: dropped for want of a route).
func (a *agent) sendKind(t liaison.Time, to, typ, item, channel int32, urgent bool, kind uint8) bool {
	c := a.route(t, to, channel)
	if c < 0 {
		a.sendDropped(t, to, typ, item, liaison.DropNoRoute)
		return false
	}
	ch := &a.m.channels[c]
	switch {
	case ch.topo == scenarios.Platform && kind == kindPlain && to != ch.relay && a.mayPost(item, ch):
		// (A message for the platform's hub itself goes to it directly:
		// as a relay it would pass the post on without learning it.)
		// One post reaches every member, through the hub when there is one;
		// other recipients of the same firing on this platform are
		// already reached by it.
		key := postKey{c, typ}
		for _, p := range a.posted {
			if p == key {
				return true
			}
		}
		a.posted = append(a.posted, key)
		if ch.relay >= 0 && ch.relay != a.ix {
			a.hop(t, ch.relay, c, typ, item, a.ix, -1, urgent, kind, true)
			return true
		}
		for _, m := range ch.members {
			if m != a.ix && m != ch.relay {
				a.hop(t, m, c, typ, item, a.ix, -1, urgent, kind, false)
			}
		}
	case ch.relay >= 0 && ch.relay != a.ix && ch.relay != to:
		a.hop(t, ch.relay, c, typ, item, a.ix, to, urgent, kind, true)
	default:
		a.hop(t, to, c, typ, item, a.ix, -1, urgent, kind, false)
	}
	return true
}

// mayPost says whether this agency may post an item to every member of a
// platform: a post reaches them all, so TLP and the third-party rule must
// allow each, not just the rule's target. When they do not, the message
// goes to its recipient alone, point to point over the platform.
func (a *agent) mayPost(item int32, ch *channelModel) bool {
	if item < 0 {
		return true
	}
	it := &a.m.items[item]
	if a.ix == it.originator {
		return true // the originator decides who is in the exchange
	}
	for _, m := range ch.members {
		if m == a.ix || m == ch.relay || m == it.originator {
			continue
		}
		if !a.tlpAllows(it.tlp, m) || it.control && a.consent[item] != consentGranted {
			return false
		}
	}
	return true
}

// hop sends one message over one channel to the next agency on its path; a
// relay hop asks the recipient (hub or officer) to pass it on to final, or
// to every member of a platform when final is -1.
func (a *agent) hop(t liaison.Time, to, c, typ, item, origin, final int32, urgent bool, kind uint8, relay bool) {
	ch := &a.m.channels[c]
	// Wait out outages, in whatever order the file lists them, until the
	// departure falls in none.
	depart := t
	for moved := true; moved; {
		moved = false
		for _, o := range ch.outages {
			if depart >= o[0] && depart < o[1] {
				depart, moved = o[1], true
			}
		}
	}
	lat := ch.latency.Sample(a.rngNet)
	a.msgSeq++
	m := &Message{From: a.ix, To: to, Seq: a.msgSeq, Channel: c, Type: typ, Item: item, SentAt: t,
		DeliverAt: depart + lat, Urgent: urgent, Kind: kind, Relay: relay, Origin: origin, Final: final}
	ev := events.Event{T: t, Kind: events.Send, MsgFrom: a.ix, MsgSeq: m.Seq, Channel: c, Type: typ,
		Item: item, Peer: to, CauseFrom: a.causeFrom, CauseSeq: a.causeSeq}
	a.emit(ev)
	a.n.publish(m)
}

// sendDropped accounts for a message that could not go: it counts as sent
// and dropped, with the reason, so nothing disappears silently.
func (a *agent) sendDropped(t liaison.Time, to, typ, item int32, reason string) {
	a.msgSeq++
	ev := events.Event{T: t, Kind: events.Send, MsgFrom: a.ix, MsgSeq: a.msgSeq, Channel: -1, Type: typ,
		Item: item, Peer: to, CauseFrom: a.causeFrom, CauseSeq: a.causeSeq}
	a.emit(ev)
	ev.Kind, ev.Reason = events.Drop, events.ReasonIndex(reason)
	a.emit(ev)
}

// route picks the channel for a message to another agency: the forced one
// if given (when it joins them), else the first channel in scenario order
// that joins them and is up; when all are down, the first, whose outage the
// message then waits out.
func (a *agent) route(t liaison.Time, to, forced int32) int32 {
	var cands []int32
	if forced < 0 {
		// The common case, one channel joins them, is one load from a
		// small array: the router runs for every message.
		if a.route1 == nil {
			a.route1 = make([]int32, len(a.m.agencies))
			for i := range a.route1 {
				a.route1[i] = routeUnknown
			}
			a.routes = make([][]int32, len(a.m.agencies))
		}
		switch r := a.route1[to]; r {
		case routeUnknown:
			for c := range a.m.channels {
				if a.joins(int32(c), to) {
					cands = append(cands, int32(c))
				}
			}
			switch len(cands) {
			case 0:
				a.route1[to] = -1
			case 1:
				a.route1[to] = cands[0]
			default:
				a.route1[to] = routeMany
				a.routes[to] = cands
			}
		case routeMany:
			cands = a.routes[to]
		default:
			return r
		}
	} else {
		key := [2]int32{to, forced}
		var ok bool
		if cands, ok = a.routeCache[key]; !ok {
			if a.joins(forced, to) {
				cands = []int32{forced}
			}
			a.routeCache[key] = cands
		}
	}
	if len(cands) == 0 {
		return -1
	}
	for _, c := range cands {
		if !a.m.channels[c].down(t) {
			return c
		}
	}
	return cands[0]
}

const (
	routeUnknown int32 = -2
	routeMany    int32 = -3
)

// joins says whether channel c can carry a message from this agency to b.
func (a *agent) joins(c, b int32) bool {
	ch := &a.m.channels[c]
	from := a.ix
	if !ch.member[from] || !ch.member[b] {
		return false
	}
	if ch.topo != scenarios.Liaison {
		return true
	}
	if from == ch.relay || b == ch.relay {
		return true
	}
	return ch.side[from] != ch.side[b]
}

func (c *channelModel) down(t liaison.Time) bool {
	for _, o := range c.outages {
		if t >= o[0] && t < o[1] {
			return true
		}
	}
	return false
}

func (a *agent) pushWork(w *work) {
	a.queue = append(a.queue, w)
	q := a.queue
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (a *agent) popWork() *work {
	q := a.queue
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = nil
	q = q[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(q) {
			break
		}
		c := l
		if r := l + 1; r < len(q) && q[r].before(q[l]) {
			c = r
		}
		if !q[c].before(q[i]) {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	a.queue = q
	return top
}
