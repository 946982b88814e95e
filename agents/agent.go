package agents

import (
	"math"
	"math/rand/v2"
	"slices"

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
	sum     uint64 // the payload's checksum, as it arrived
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

// pendingShare is a share held back until the originator consents to its
// target.
type pendingShare struct {
	target  int32
	typ     int32
	channel int32
	urgent  bool
}

// Consent states of one (item, third party) at a holder.
const (
	consentNone uint8 = iota
	consentGranted
	consentRefused
)

// consentKey names a release under the third-party rule: an item, to one
// third party. Consent is asked and given per recipient, not per item.
type consentKey struct{ item, third int32 }

// outMsg is a message a handling decided to send, collected so that the
// copies of one share can be grouped into platform posts and paced by the
// sender's fanout time.
type outMsg struct {
	to, typ, item, channel int32
	urgent                 bool
	kind                   uint8
	parties                []int32 // consent messages: the third parties
}

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

	rngNet, rngHandle, rngRule, rngBG, rngFanout *rand.Rand

	msgSeq, evSeq, localSeq uint64

	free      int
	queue     []*work // binary heap by work.before
	wakeAt    liaison.Time
	knows     map[int32]bool
	fired     map[ruleItem]bool
	consent   map[consentKey]uint8 // the originators' answers
	asked     map[int32][]int32    // by item: third parties of the request awaiting an answer
	noConsent map[int32]bool       // items whose originator no channel reaches
	pending   map[int32][]pendingShare
	self      []int    // each stream's position of this agency among its recipients, or -1
	outbox    []outMsg // what the current handling sends, not yet routed
	units     []unit   // flush's scratch: the outbox grouped into messages
	// The message being acted on, named as the cause of what is sent.
	causeFrom int32
	causeSeq  uint64

	staff        int              // handle this many at once (live actions may change it)
	decisions    map[uint64]*work // a player's: handled messages waiting for a decision
	nextDecision uint64
}

func newAgent(n *Node, ix int32) *agent {
	m := n.m
	def := &m.agencies[ix]
	id := m.Names.Agencies[ix]
	return &agent{n: n, m: m, ix: ix, def: def, free: def.staff, staff: def.staff, wakeAt: liaison.Never,
		causeFrom: -1, rngNet: m.newRand(id, "net"), rngHandle: m.newRand(id, "handle"),
		rngRule: m.newRand(id, "rule"), rngBG: m.newRand(id, "background"),
		rngFanout: m.newRand(id, "fanout"),
		knows:     map[int32]bool{}, fired: map[ruleItem]bool{}, consent: map[consentKey]uint8{},
		asked: map[int32][]int32{}, noConsent: map[int32]bool{},
		pending: map[int32][]pendingShare{}}
}

// start schedules the agency's injects and the first message of each of its
// background streams.
func (a *agent) start() {
	for _, it := range a.def.injects {
		if !a.m.items[it].manual {
			a.schedule(qevent{t: a.m.items[it].at, prio: prioInject, aux: it})
		}
	}
	for s := range a.def.streams {
		a.self = append(a.self, a.def.streams[s].position(a.ix))
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

// event is an event of kind k at t about the work: its item and type, and
// the message it came as, if it did.
func (w *work) event(t liaison.Time, k events.Kind) events.Event {
	ev := noEvent(t, k)
	ev.Item, ev.Type = w.item, w.typ
	if w.fromMsg {
		ev.MsgFrom, ev.MsgSeq = w.msg.From, w.msg.Seq
	}
	return ev
}

// causedBy names the work's message as the cause of what the agency sends
// next (none for an inject).
func (a *agent) causedBy(w *work) {
	a.causeFrom, a.causeSeq = -1, 0
	if w.fromMsg {
		a.causeFrom, a.causeSeq = w.msg.From, w.msg.Seq
	}
}

func (a *agent) handle(e *qevent) {
	switch e.prio {
	case prioDeliver:
		a.deliver(e.t, e.work)
	case prioAction:
		a.handleAction(e.t, e.aux)
	case prioInject:
		if !a.n.injectFires(e.aux, e.t) {
			return // skipped, moved, or a contingency not fired
		}
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
		to := a.pickOther(e.aux)
		if to >= 0 {
			a.causeFrom, a.causeSeq = -1, 0
			a.sendTo(e.t, to, st.typ, -1, st.channel, false)
		}
		a.scheduleStream(e.aux, e.t)
	}
}

// pickOther draws a recipient uniformly from a stream's recipients other
// than this agency, with one draw, without a list per agency.
func (a *agent) pickOther(stream int32) int32 {
	to := a.def.streams[stream].to
	self := a.self[stream]
	if self == -2 {
		// Listed more than once: draw among the others as listed.
		var others []int32
		for _, t := range to {
			if t != a.ix {
				others = append(others, t)
			}
		}
		if len(others) == 0 {
			return -1
		}
		return others[a.rngBG.IntN(len(others))]
	}
	n := len(to)
	if self >= 0 {
		n--
	}
	if n <= 0 {
		return -1
	}
	i := a.rngBG.IntN(n)
	if self >= 0 && i >= self {
		i++
	}
	return to[i]
}

func (a *agent) deliver(t liaison.Time, w *work) {
	m := &w.msg
	// Latency is the channel's transit alone; a wait for an outage is
	// logged apart, and the sender's fanout time shows on its send.
	ev := events.Event{T: t, Kind: events.Deliver, MsgFrom: m.From, MsgSeq: m.Seq, Channel: m.Channel,
		Type: m.Type, Item: m.Item, Peer: m.From, Value: m.transit(), OutageWait: m.OutageWait,
		Count: int32(len(a.queue) + 1)}
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
		ev := w.event(t, events.Hold)
		ev.Value = opens
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
		ev := w.event(t, events.HandleStart)
		ev.Value, ev.Peer = t-w.arrival, w.origin
		ev.Count = int32(len(a.queue))
		a.emit(ev)
		if w.item >= 0 && !a.knows[w.item] && (!w.fromMsg || w.msg.Kind == kindPlain && !w.msg.Relay) {
			a.knows[w.item] = true
			k := w.event(t, events.Know)
			k.Peer, k.Value = w.origin, t-a.n.itemAt(w.item)
			a.emit(k)
		}
		d := a.def.handlingFor(a.m, w.typ).Sample(a.rngHandle)
		w.handled = d
		a.schedule(qevent{t: t + d, prio: prioHandleEnd, work: w})
	}
}

func (a *agent) finish(t liaison.Time, w *work) {
	a.free++
	ev := w.event(t, events.HandleEnd)
	ev.Value, ev.Peer = w.handled, w.origin
	a.emit(ev)
	kind := kindPlain
	if w.fromMsg {
		kind = w.msg.Kind
	}
	// Whatever this handling sends, it sends because of this message.
	a.causedBy(w)
	switch {
	case w.fromMsg && w.msg.Relay:
		a.relay(t, &w.msg)
	case kind == kindConsentReq:
		a.answerConsent(t, w)
	case kind == kindConsentGrant, kind == kindConsentRefuse:
		a.consentAnswered(t, w)
	case a.m.players[a.ix] && a.decides(w):
		a.awaitDecision(t, w)
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
		if !r.matches(w, tlp) {
			continue
		}
		if r.action != 'r' && w.item >= 0 {
			key := ruleItem{r.index, w.item}
			if a.fired[key] {
				continue
			}
			a.fired[key] = true
		}
		if r.probability < 1 && a.rngRule.Float64() >= r.probability {
			ev := noEvent(t, events.Skip)
			ev.Item, ev.Type = w.item, w.typ
			a.emit(ev)
			continue
		}
		out := r.outTypeFor(w)
		switch r.action {
		case 's', 'n':
			urgent := r.urgent || w.urgent && r.action == 's'
			for _, target := range r.targets {
				a.share(t, target, out, w.item, r.channel, urgent)
			}
			a.flush(t)
			if w.item >= 0 {
				a.askConsent(t, w.item)
			}
		case 'r':
			if r.within > 0 && t-w.arrival > r.within {
				ev := w.event(t, events.DeadlineMissed)
				ev.Value = r.within
				a.emit(ev)
			}
			a.sendTo(t, w.origin, out, w.item, r.channel, r.urgent || w.urgent)
		}
	}
}

// share passes an item to one target under TLP and the third-party rule:
// the copy goes to the outbox, waits for the originator's consent to this
// target, or is dropped with the reason.
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
				switch a.consent[consentKey{item, target}] {
				case consentRefused:
					a.sendDropped(t, target, typ, item, liaison.DropConsentRefuse)
					return
				case consentNone:
					if a.noConsent[item] {
						a.sendDropped(t, target, typ, item, liaison.DropNoConsentRoute)
						return
					}
					a.pending[item] = append(a.pending[item], pendingShare{target, typ, channel, urgent})
					return
				}
			}
		}
	}
	a.outbox = append(a.outbox, outMsg{to: target, typ: typ, item: item, channel: channel, urgent: urgent})
}

// tlpAllows says whether a holder other than the originator may pass an item
// of level l to target under TLP 2.0: CLEAR and GREEN to anyone in the
// scenario; AMBER within the holder's organisation and to its declared
// clients (or, when the scenario asks for amber: country, within the
// holder's country); AMBER+STRICT and RED to no one (the holder's
// organisation is the holder itself).
func (a *agent) tlpAllows(l liaison.TLP, target int32) bool {
	switch l {
	case liaison.TLPClear, liaison.TLPGreen:
		return true
	case liaison.TLPAmber:
		if a.m.amberCountry {
			return a.def.country != "" && a.m.agencies[target].country == a.def.country
		}
		_, ok := slices.BinarySearch(a.def.clients, target)
		return ok
	}
	return false
}

// askConsent asks the item's originator to release it to the third parties
// that shares wait for, in one request. A holder has at most one request
// for an item out at a time; third parties that come up meanwhile are
// asked about when its answer is in. When no channel reaches the
// originator the consent can never come: the waiting shares are dropped
// with reason no_consent_route.
func (a *agent) askConsent(t liaison.Time, item int32) {
	if _, out := a.asked[item]; out {
		return
	}
	var thirds []int32
	urgent := false
	for _, p := range a.pending[item] {
		if !slices.Contains(thirds, p.target) {
			thirds = append(thirds, p.target)
		}
		urgent = urgent || p.urgent
	}
	if len(thirds) == 0 {
		return
	}
	it := &a.m.items[item]
	ev := noEvent(t, events.ConsentRequest)
	ev.Item, ev.Peer = item, it.originator
	a.emit(ev)
	if !a.sendKind(t, it.originator, a.m.typeConsentReq, item, -1, urgent, kindConsentReq, thirds) {
		a.noConsent[item] = true
		for _, p := range a.pending[item] {
			a.sendDropped(t, p.target, p.typ, item, liaison.DropNoConsentRoute)
		}
		delete(a.pending, item)
		return
	}
	a.asked[item] = thirds
}

// answerConsent is the originator deciding a release request: each third
// party is granted or refused on its own draw. One answer goes back,
// naming those granted; the holder knows whom it asked about.
func (a *agent) answerConsent(t liaison.Time, w *work) {
	var granted []int32
	refused := false
	for _, third := range w.msg.Parties {
		if p := a.def.consent; p >= 1 || a.rngRule.Float64() < p {
			granted = append(granted, third)
		} else {
			refused = true
		}
	}
	if len(granted) > 0 {
		ev := noEvent(t, events.ConsentGrant)
		ev.Item, ev.Peer = w.item, w.origin
		a.emit(ev)
	}
	if refused || len(w.msg.Parties) == 0 {
		ev := noEvent(t, events.ConsentRefuse)
		ev.Item, ev.Peer = w.item, w.origin
		a.emit(ev)
	}
	kind, typ := kindConsentGrant, a.m.typeConsentGrant
	if len(granted) == 0 {
		kind, typ = kindConsentRefuse, a.m.typeConsentRefuse
	}
	a.sendKind(t, w.origin, typ, w.item, -1, w.urgent, kind, granted)
}

// consentAnswered records the originator's answer for each third party it
// was asked about, sends the shares now granted, drops those refused, and
// asks about third parties that came up while the request was out.
func (a *agent) consentAnswered(t liaison.Time, w *work) {
	item := w.item
	if item < 0 || int(item) >= len(a.m.items) {
		return
	}
	thirds, ok := a.asked[item]
	if !ok {
		return // no request of ours is out: nothing to decide
	}
	delete(a.asked, item)
	for _, third := range thirds {
		state := consentRefused
		if slices.Contains(w.msg.Parties, third) {
			state = consentGranted
		}
		a.consent[consentKey{item, third}] = state
	}
	var keep []pendingShare
	for _, p := range a.pending[item] {
		switch a.consent[consentKey{item, p.target}] {
		case consentGranted:
			a.outbox = append(a.outbox, outMsg{to: p.target, typ: p.typ, item: item, channel: p.channel, urgent: p.urgent})
		case consentRefused:
			a.sendDropped(t, p.target, p.typ, item, liaison.DropConsentRefuse)
		default:
			keep = append(keep, p)
		}
	}
	if keep == nil {
		delete(a.pending, item)
	} else {
		a.pending[item] = keep
	}
	a.flush(t)
	a.askConsent(t, item)
}

// relay passes on a message that a hub or liaison officer has handled: to
// its final recipient, or to each recipient of a platform post. A relay
// sends what it was given, so it spends no fanout time.
func (a *agent) relay(t liaison.Time, m *Message) {
	if m.Final >= 0 {
		a.hop(t, 0, m.Final, m.Channel, m.Type, m.Item, m.Origin, -1, m.Urgent, m.Kind, false, m.Parties)
		return
	}
	for _, to := range m.Parties {
		if to != m.Origin && to != a.ix && to >= 0 && int(to) < len(a.m.agencies) {
			a.hop(t, 0, to, m.Channel, m.Type, m.Item, m.Origin, -1, m.Urgent, m.Kind, false, nil)
		}
	}
}

func (a *agent) sendTo(t liaison.Time, to, typ, item, channel int32, urgent bool) {
	a.sendKind(t, to, typ, item, channel, urgent, kindPlain, nil)
}

// sendKind sends one message from this agency to another (a reply,
// background traffic, a consent request or answer) and reports whether it
// went (false: dropped for want of a route).
func (a *agent) sendKind(t liaison.Time, to, typ, item, channel int32, urgent bool, kind uint8, parties []int32) bool {
	c := a.route(t, to, channel)
	if c < 0 {
		a.sendDropped(t, to, typ, item, liaison.DropNoRoute)
		return false
	}
	// Routed once: flush finds the channel chosen (a channel that joins
	// them is all route checks when one is given).
	a.outbox = append(a.outbox, outMsg{to: to, typ: typ, item: item, channel: c, urgent: urgent,
		kind: kind, parties: parties})
	a.flush(t)
	return true
}

// unit is one message the sender drafts: a point-to-point copy, or one
// platform post for several recipients.
type unit struct {
	c     int32
	first int // index in the outbox of its first message
	post  []int32
}

// flush routes and sends what the current handling put in the outbox.
//
// Copies of an item bound for the same platform (same type and urgency)
// become one post, which reaches exactly their recipients, plus the
// platform's relevant members when this agency is the item's originator
// and the item is not TLP:RED. Every other copy is a message of its own.
// The sender drafts these messages one after the other: the first leaves
// at once, each further one a fanout sample after the one before.
func (a *agent) flush(t liaison.Time) {
	if len(a.outbox) == 0 {
		return
	}
	units := a.units[:0]
	for i := range a.outbox {
		o := &a.outbox[i]
		c := a.route(t, o.to, o.channel)
		if c < 0 {
			a.sendDropped(t, o.to, o.typ, o.item, liaison.DropNoRoute)
			continue
		}
		ch := &a.m.channels[c]
		if ch.topo != scenarios.Platform || o.kind != kindPlain || o.to == ch.relay {
			// (A message for the platform's hub itself goes to it: as a
			// relay it would pass the post on without reading it.)
			units = append(units, unit{c: c, first: i})
			continue
		}
		joined := false
		for u := range units {
			f := &a.outbox[units[u].first]
			if units[u].post != nil && units[u].c == c && f.typ == o.typ && f.item == o.item && f.urgent == o.urgent {
				if !slices.Contains(units[u].post, o.to) {
					units[u].post = append(units[u].post, o.to)
				}
				joined = true
				break
			}
		}
		if !joined {
			units = append(units, unit{c: c, first: i, post: []int32{o.to}})
		}
	}
	var delay liaison.Time
	for n, u := range units {
		if n > 0 {
			delay += a.def.fanout.Sample(a.rngFanout)
		}
		o := &a.outbox[u.first]
		ch := &a.m.channels[u.c]
		switch {
		case u.post != nil:
			to := a.postRecipients(ch, u.post, o.item)
			if ch.relay >= 0 && ch.relay != a.ix {
				a.hop(t, delay, ch.relay, u.c, o.typ, o.item, a.ix, -1, o.urgent, o.kind, true, to)
				continue
			}
			for _, r := range to {
				a.hop(t, delay, r, u.c, o.typ, o.item, a.ix, -1, o.urgent, o.kind, false, nil)
			}
		case ch.relayed() && ch.relay != a.ix && ch.relay != o.to:
			a.hop(t, delay, ch.relay, u.c, o.typ, o.item, a.ix, o.to, o.urgent, o.kind, true, o.parties)
		default:
			a.hop(t, delay, o.to, u.c, o.typ, o.item, a.ix, -1, o.urgent, o.kind, false, o.parties)
		}
	}
	a.outbox = a.outbox[:0]
	clear(units)
	a.units = units[:0]
}

// postRecipients is who a post reaches: the named recipients, and for the
// item's originator the platform's relevant members (never for TLP:RED,
// which goes to the named recipients alone). A holder other than the
// originator reaches only the named recipients, each of which TLP and the
// third-party rule have allowed.
func (a *agent) postRecipients(ch *channelModel, named []int32, item int32) []int32 {
	if item < 0 || len(ch.relevant) == 0 {
		return named
	}
	it := &a.m.items[item]
	if it.originator != a.ix || it.tlp == liaison.TLPRed {
		return named
	}
	out := slices.Clone(named)
	for _, r := range ch.relevant {
		if r != a.ix && r != ch.relay && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// relayed says whether a point-to-point message on the channel passes
// through its relay agency's desk: always on liaison channels and
// platforms with a hub, on hub channels only when the hub reviews traffic.
// A hub that does not review routes messages over its network in one hop.
func (c *channelModel) relayed() bool {
	switch c.topo {
	case scenarios.Hub:
		return c.review
	case scenarios.Liaison, scenarios.Platform:
		return c.relay >= 0
	}
	return false
}

// hop sends one message over one channel to the next agency on its path,
// delay after t (the sender's fanout time); it departs when the channel is
// up. A relay hop asks the recipient (hub or officer) to pass it on to
// final, or to each of parties for a platform post (final -1).
func (a *agent) hop(t, delay liaison.Time, to, c, typ, item, origin, final int32, urgent bool, kind uint8, relay bool, parties []int32) {
	ch := &a.m.channels[c]
	ready := t + delay
	depart := a.n.upAt(c, ready)
	lat := ch.latency.Sample(a.rngNet)
	a.msgSeq++
	// On the stack: publishing copies what it keeps, and only a held
	// message outlives this call.
	m := Message{From: a.ix, To: to, Seq: a.msgSeq, Channel: c, Type: typ, Item: item, SentAt: t,
		DeliverAt: depart + lat, Urgent: urgent, Kind: kind, Relay: relay, Origin: origin, Final: final,
		Fanout: delay, OutageWait: depart - ready, Parties: parties}
	ev := events.Event{T: t, Kind: events.Send, MsgFrom: a.ix, MsgSeq: m.Seq, Channel: c, Type: typ,
		Item: item, Peer: to, Value: delay, CauseFrom: a.causeFrom, CauseSeq: a.causeSeq}
	a.emit(ev)
	if depart == liaison.Never && !a.n.ending {
		// A facilitator cut the channel: the message waits until it is
		// restored (DeliverAt holds the latency meanwhile).
		held := m
		held.DeliverAt, held.OutageWait = lat, 0
		a.n.hold(&held)
		return
	}
	a.n.publish(&m)
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
// that joins them and is up; when all are down, the one that comes back
// first (the first in order among those that come back together), whose
// outage the message then waits out.
//
// It looks only at the channels this agency is on, and keeps nothing per
// recipient: a table by pair of agencies would grow with the square of
// their number.
func (a *agent) route(t liaison.Time, to, forced int32) int32 {
	if forced >= 0 {
		if !a.joins(forced, to) {
			return -1
		}
		return forced
	}
	best, bestUp := int32(-1), liaison.Never
	for _, c := range a.def.channels {
		if !a.joins(c, to) {
			continue
		}
		ch := &a.m.channels[c]
		if len(ch.outages) == 0 && a.n.acts == nil {
			return c
		}
		up := a.n.upAt(c, t)
		if up == liaison.Never {
			// Cut until a facilitator restores it: as late as can be.
			if best < 0 {
				best = c
			}
			continue
		}
		if up == t {
			return c
		}
		if up < bestUp {
			best, bestUp = c, up
		}
	}
	return best
}

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

// upAt returns the first instant at or after t when the channel is up:
// outages are waited out in whatever order the file lists them, until the
// instant falls in none.
func (c *channelModel) upAt(t liaison.Time) liaison.Time {
	for moved := true; moved; {
		moved = false
		for _, o := range c.outages {
			if t >= o[0] && t < o[1] {
				t, moved = o[1], true
			}
		}
	}
	return t
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
