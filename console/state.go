package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Bounds on what the console keeps per run, whatever the run's length:
// the newest entries stay, older ones are counted.
const (
	maxInbox    = 300  // inbox entries per player seat
	maxDecided  = 200  // decisions made, per player seat
	maxPending  = 1000 // decisions waiting, per player seat
	maxActions  = 500  // live actions shown to the facilitator
	maxItems    = 2000 // injects, scheduled and live
	maxTypes    = 200  // message types offered to a player
	maxNoteText = 2000 // characters of an evaluator's note
)

// obs is one observed event with its names resolved and its extra
// members read (through the events package, their one reader): the
// console keeps nothing of the *events.Event, as observers must not.
type obs struct {
	t       liaison.Time
	kind    events.Kind
	agency  string // "" for none
	item    string
	typ     string
	channel string
	msg     string // sender#number
	peer    string
	value   liaison.Time
	count   int32
	def     []byte // a live action's definition, or a live inject's
	inject  *events.InjectDef
	due     *events.DecisionDue
	decided *events.Decided
}

// observed resolves an event against the names table, defensively: an
// index out of range reads as none, and members that do not read are
// left out.
func observed(e *events.Event, n *events.Names) obs {
	o := obs{t: e.T, kind: e.Kind, value: e.Value, count: e.Count}
	o.agency = events.Name(n.Agencies, e.Agency)
	o.item = events.Name(n.Items, e.Item)
	o.typ = events.Name(n.Types, e.Type)
	o.channel = events.Name(n.Channels, e.Channel)
	o.peer = events.Name(n.Agencies, e.Peer)
	if from := events.Name(n.Agencies, e.MsgFrom); from != "" {
		o.msg = events.MessageID(liaison.AgencyID(from), e.MsgSeq)
	}
	switch {
	case e.Kind == events.LiveInject:
		o.def = bytes.Clone(events.InjectJSON(e))
		o.inject, _ = events.LiveInjectOf(e)
	case e.Kind.IsAction():
		o.def = bytes.Clone(events.ActionOf(e))
	case e.Kind == events.DecisionPending:
		if d, ok := events.DecisionDueOf(e); ok {
			o.due = &d
		}
	case e.Kind == events.DecisionMade:
		if d, ok := events.DecidedOf(e); ok {
			o.decided = &d
		}
	}
	return o
}

type item struct {
	desc        events.ItemDesc
	live        bool
	contingency bool
	at          liaison.Time // when it fires or fired
	status      string
	statusAt    liaison.Time
	statusSet   bool
	pending     bool
	audience    map[string]bool
	knowers     []Knower
	knows       map[string]bool
	known       int
	reached     liaison.Time
	reachedSet  bool
	missed      bool
	dropped     int
}

type agency struct {
	info    events.AgencyInfo
	staff   int
	queue   int
	knows   int
	player  *seat
	members []string // channels it belongs to
}

type channel struct {
	info      events.ChannelInfo
	up        bool
	changed   liaison.Time
	changedOK bool
}

// seat is a player's agency: its inbox and decisions.
type seat struct {
	id        string
	inbox     []*InboxEntry
	omitted   int
	byMsg     map[string]*InboxEntry
	pending   map[uint64]*DecisionView
	order     []uint64
	decided   []DecidedView
	dropped   int // decided entries no longer kept
	types     []string
	typeSet   map[string]bool
	known     []PlayerKnown
	overflown int // decisions not kept because too many waited
}

// record is a live action: from the log, or accepted and not yet there.
type record struct {
	at      liaison.Time
	kind    string
	def     []byte // compact JSON
	what    string
	note    *NoteView
	pending bool
}

// state is what the console knows of the run, built from the run header
// and the events in log order. It is guarded by the Console's mutex.
type state struct {
	info     *events.RunInfo
	end      liaison.Time
	last     liaison.Time // the latest event's time
	timeout  *float64     // decision timeout, seconds
	items    []*item
	itemIx   map[string]*item
	agencies []*agency
	agIx     map[string]*agency
	channels []*channel
	chIx     map[string]*channel
	seats    []*seat
	records  []*record
	omitted  int
}

func newState(info *events.RunInfo, players []string, timeout *float64) *state {
	s := &state{info: info, end: liaison.Never, itemIx: map[string]*item{}, agIx: map[string]*agency{},
		chIx: map[string]*channel{}, timeout: timeout}
	if d := info.DurationSeconds; d != nil {
		s.end = liaison.FromSeconds(*d)
	}
	for _, a := range info.Agencies {
		ag := &agency{info: a, staff: a.Staff}
		s.agencies = append(s.agencies, ag)
		s.agIx[a.ID] = ag
	}
	for _, c := range info.Channels {
		ch := &channel{info: c, up: true}
		s.channels = append(s.channels, ch)
		s.chIx[c.ID] = ch
		for _, m := range c.Members {
			if ag := s.agIx[m]; ag != nil {
				ag.members = append(ag.members, c.ID)
			}
		}
		if ag := s.agIx[c.Relay]; ag != nil && c.Relay != "" && !slices.Contains(ag.members, c.ID) {
			ag.members = append(ag.members, c.ID)
		}
	}
	for _, it := range info.Items {
		s.addItem(it, false, contingent(it))
	}
	for _, p := range players {
		ag := s.agIx[p]
		if ag == nil || ag.player != nil {
			continue
		}
		ag.player = &seat{id: p, byMsg: map[string]*InboxEntry{}, pending: map[uint64]*DecisionView{},
			typeSet: map[string]bool{}}
		s.seats = append(s.seats, ag.player)
	}
	return s
}

func secs(t liaison.Time) float64 { return t.Seconds() }

func ptr(t liaison.Time) *float64 {
	v := t.Seconds()
	return &v
}

func (s *state) addItem(d events.ItemDesc, live, contingency bool) *item {
	if s.itemIx[d.ID] != nil || len(s.items) >= maxItems {
		return nil
	}
	it := &item{desc: d, live: live, contingency: contingency, at: liaison.FromSeconds(d.AtSeconds),
		audience: map[string]bool{}, knows: map[string]bool{}, status: "scheduled"}
	if contingency {
		it.status = "contingency"
	}
	for _, a := range d.Audience {
		it.audience[a] = true
	}
	s.items = append(s.items, it)
	s.itemIx[d.ID] = it
	return it
}

func (s *state) setStatus(it *item, status string, at liaison.Time, pending bool) {
	if it == nil {
		return
	}
	it.status, it.statusAt, it.statusSet, it.pending = status, at, true, pending
}

// apply takes one event into the state.
func (s *state) apply(o obs) {
	s.last = max(s.last, o.t)
	ag := s.agIx[o.agency]
	var st *seat
	if ag != nil {
		st = ag.player
	}
	switch o.kind {
	case events.Inject:
		it := s.itemIx[o.item]
		if it != nil && it.status != "fired" {
			it.at = o.t
			s.setStatus(it, "fired", o.t, false)
		}
		if st != nil && it != nil {
			st.add(&InboxEntry{Seconds: secs(o.t), Kind: "inject", From: it.desc.From, Type: o.typ,
				Item: o.item, TLP: it.desc.TLP, Summary: it.desc.Summary, Status: "queued",
				Originator: it.desc.Originator, OrigControl: it.desc.OriginatorControl}, "inject:"+o.item)
			st.addType(o.typ)
		}
	case events.LiveInject:
		d := o.inject
		if d == nil {
			break
		}
		if it := s.addItem(d.Desc(o.t), true, false); it != nil {
			s.setStatus(it, "fired", o.t, false)
		}
		s.logged(o.t, broker.ActionInject, o.def, "live inject "+string(d.ID)+" to "+string(d.To))
	case events.Deliver:
		if ag != nil {
			ag.queue = int(o.count)
		}
		if st != nil {
			e := &InboxEntry{Seconds: secs(o.t), Kind: "message", Message: o.msg, From: o.peer,
				FromName: s.agencyName(o.peer), Channel: o.channel, Type: o.typ, Item: o.item, Status: "queued"}
			if it := s.itemIx[o.item]; it != nil {
				e.TLP, e.Summary = it.desc.TLP, it.desc.Summary
				e.Originator, e.OrigControl = it.desc.Originator, it.desc.OriginatorControl
			}
			st.add(e, o.msg)
			st.addType(o.typ)
		}
	case events.Hold:
		if st != nil {
			if e := st.entry(o); e != nil {
				e.Status, e.HeldUntil = "held", ptr(o.value)
			}
		}
	case events.HandleStart:
		if ag != nil {
			ag.queue = int(o.count)
		}
		if st != nil {
			if e := st.entry(o); e != nil {
				e.Status, e.HeldUntil = "handling", nil
			}
		}
	case events.HandleEnd:
		if st != nil {
			if e := st.entry(o); e != nil {
				e.Status = "handled"
			}
		}
	case events.Know:
		it := s.itemIx[o.item]
		if it == nil || ag == nil || it.knows[o.agency] {
			break
		}
		it.knows[o.agency] = true
		aud := it.audience[o.agency]
		it.knowers = append(it.knowers, Knower{Agency: o.agency, Seconds: secs(o.t), Audience: aud})
		if aud {
			it.known++
		}
		ag.knows++
		if st != nil {
			st.known = append(st.known, PlayerKnown{Item: o.item, Seconds: secs(o.t)})
		}
	case events.Reached:
		if it := s.itemIx[o.item]; it != nil {
			it.reached, it.reachedSet = o.t, true
		}
	case events.DeadlineMissed:
		if it := s.itemIx[o.item]; it != nil && o.agency == "" {
			it.missed = true
		}
	case events.Drop:
		if it := s.itemIx[o.item]; it != nil {
			it.dropped++
		}
	case events.Pause, events.Resume:
		s.logged(o.t, o.kind.String(), nil, o.kind.String()+"d")
	case events.DecisionPending:
		if st != nil && o.due != nil {
			s.due(st, o.t, o.due)
		}
	case events.DecisionMade:
		if st != nil && o.decided != nil {
			st.decide(o.t, o.decided)
		}
	default:
		if !o.kind.IsAction() {
			break
		}
		var d events.ActionDef
		if json.Unmarshal(o.def, &d) != nil {
			break
		}
		s.action(o.kind.String(), o.t, d, o.def, false)
	}
}

// agencyName is an agency's name from the header.
func (s *state) agencyName(id string) string {
	if ag := s.agIx[id]; ag != nil {
		return ag.info.Name
	}
	return ""
}

// logged notes a live action seen in the log: it confirms the same
// action accepted through the console, or is new (the CLI's, a replay's,
// the run's own for a conditional inject).
func (s *state) logged(at liaison.Time, kind string, def []byte, what string) {
	def = compact(def)
	for i := len(s.records) - 1; i >= 0; i-- {
		r := s.records[i]
		if r.pending && r.kind == kind && r.at == at && bytes.Equal(r.def, def) {
			r.pending = false
			if r.note != nil {
				r.note.Pending = false
			}
			return
		}
	}
	s.addRecord(&record{at: at, kind: kind, def: def, what: what})
}

func compact(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return bytes.Clone(b)
	}
	return buf.Bytes()
}

func (s *state) addRecord(r *record) {
	s.records = append(s.records, r)
	if len(s.records) > maxActions {
		// Keep pending records: they are waiting to be confirmed.
		drop := s.records[0]
		s.records = s.records[1:]
		s.omitted++
		if drop.pending {
			s.records = append([]*record{drop}, s.records...)
			s.omitted--
		}
	}
}

// action applies a live action: from the log (pending false) or accepted
// through the console and not yet in the log (pending true). Each effect
// is idempotent, so the log's record of an accepted action changes
// nothing but its pending mark.
func (s *state) action(kind string, at liaison.Time, d events.ActionDef, def []byte, pending bool) {
	var what string
	id := string(d.ID)
	switch kind {
	case broker.ActionPause, broker.ActionResume:
		what = kind + "d"
	case broker.ActionSkip:
		s.setStatus(s.itemIx[id], "skipped", at, pending)
		what = "skipped " + id
	case broker.ActionPostpone:
		if d.AtSeconds == nil {
			break
		}
		if it := s.itemIx[id]; it != nil {
			it.at = liaison.FromSeconds(*d.AtSeconds)
			s.setStatus(it, "postponed", at, pending)
		}
		what = "postponed " + id + " to " + clockText(liaison.FromSeconds(*d.AtSeconds))
	case broker.ActionFire:
		if it := s.itemIx[id]; it != nil && it.status != "fired" {
			it.at = at
			s.setStatus(it, "fired", at, pending)
		}
		what = "fired " + id
		if d.Trigger {
			what += " (its trigger held)"
		}
	case broker.ActionCut, broker.ActionRestore:
		ch := string(d.Channel)
		if c := s.chIx[ch]; c != nil {
			c.up, c.changed, c.changedOK = kind == broker.ActionRestore, at, true
		}
		if kind == broker.ActionCut {
			what = "cut " + ch
		} else {
			what = "restored " + ch
		}
	case broker.ActionStaff:
		if ag := s.agIx[string(d.Agency)]; ag != nil && d.Staff != nil {
			ag.staff = *d.Staff
			what = "staff of " + string(d.Agency) + " set to " + strconv.Itoa(*d.Staff)
		}
	case broker.ActionNote:
		what = "note"
		if d.Agency != "" {
			what += " on " + string(d.Agency)
		}
	case broker.ActionDecision:
		what = "decision " + string(d.Agency)
		if d.Decision != nil {
			what += " #" + strconv.FormatUint(*d.Decision, 10)
		}
		what += ": " + d.Action
		if len(d.To) > 0 {
			what += " to " + strings.Join(agencyIDs(d.To), ", ")
		}
		if ag := s.agIx[string(d.Agency)]; ag != nil && ag.player != nil && d.Decision != nil {
			// The decision took effect; the decided event follows.
			if p := ag.player.pending[*d.Decision]; p != nil && p.Submitted == nil {
				p.Submitted = ptr(at)
			}
		}
	}
	if !pending {
		s.logged(at, kind, def, what)
		return
	}
	s.addRecord(&record{at: at, kind: kind, def: compact(def), what: what, pending: true})
}

func agencyIDs(ids []liaison.AgencyID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// noteView returns a record's note, made once from its definition.
func (r *record) noteView() *NoteView {
	if r.kind != broker.ActionNote {
		return nil
	}
	if r.note == nil {
		var d events.ActionDef
		json.Unmarshal(r.def, &d)
		if r := []rune(d.Text); len(r) > maxNoteText {
			d.Text = string(r[:maxNoteText])
		}
		r.note = &NoteView{Seconds: secs(r.at), Text: d.Text, Objective: d.Objective, Agency: string(d.Agency)}
	}
	r.note.Pending = r.pending
	return r.note
}

// due adds a decision a seat waits for.
func (s *state) due(st *seat, t liaison.Time, d *events.DecisionDue) {
	if _, ok := st.pending[d.ID]; ok {
		return
	}
	if len(st.order) >= maxPending {
		st.overflown++
		return
	}
	v := &DecisionView{ID: d.ID, DueSeconds: secs(t), Message: d.Message, Item: string(d.Item), Type: string(d.Type),
		From: string(d.From), FromName: s.agencyName(string(d.From)), Proposal: []Proposal{}}
	for _, p := range d.Proposal {
		v.Proposal = append(v.Proposal, Proposal{Action: p.Action, To: agencyIDs(p.To), Channel: string(p.Channel),
			Type: string(p.Type)})
		st.addType(string(p.Type))
	}
	if it := s.itemIx[v.Item]; it != nil {
		v.TLP, v.Summary = it.desc.TLP, it.desc.Summary
		v.Originator, v.OrigControl = it.desc.Originator, it.desc.OriginatorControl
	}
	if s.timeout != nil {
		v.TimeoutAt = ptr(t + liaison.FromSeconds(*s.timeout))
	}
	st.pending[d.ID] = v
	st.order = append(st.order, d.ID)
	st.addType(v.Type)
}

func (st *seat) decide(t liaison.Time, d *events.Decided) {
	v := DecidedView{ID: d.ID, Seconds: secs(t), By: d.By, Action: d.Action, To: agencyIDs(d.To),
		Channel: string(d.Channel), Type: string(d.Type)}
	if len(v.To) == 0 {
		v.To = nil
	}
	if p := st.pending[d.ID]; p != nil {
		v.Message, v.Item = p.Message, p.Item
		delete(st.pending, d.ID)
		st.order = slices.DeleteFunc(st.order, func(k uint64) bool { return k == d.ID })
	}
	st.decided = append(st.decided, v)
	if len(st.decided) > maxDecided {
		st.decided = st.decided[1:]
		st.dropped++
	}
}

func (st *seat) add(e *InboxEntry, key string) {
	st.inbox = append(st.inbox, e)
	if key != "" {
		st.byMsg[key] = e
	}
	if len(st.inbox) > maxInbox {
		old := st.inbox[0]
		st.inbox = st.inbox[1:]
		st.omitted++
		for k, v := range st.byMsg {
			if v == old {
				delete(st.byMsg, k)
				break
			}
		}
	}
}

// entry finds the inbox entry an agency event is about: its message, or
// the inject it handles.
func (st *seat) entry(o obs) *InboxEntry {
	if o.msg != "" {
		return st.byMsg[o.msg]
	}
	if o.item != "" {
		return st.byMsg["inject:"+o.item]
	}
	return nil
}

func (st *seat) addType(t string) {
	if t == "" || st.typeSet[t] || len(st.types) >= maxTypes {
		return
	}
	st.typeSet[t] = true
	st.types = append(st.types, t)
}

// clockText formats a simulated time as a duration since the start
// ("+2h30m"), for action summaries.
func clockText(t liaison.Time) string {
	s := int64(t.Duration().Round(time.Second) / time.Second)
	sign := "+"
	if s < 0 {
		sign, s = "-", -s
	}
	d, h, m, sec := s/86400, s/3600%24, s/60%60, s%60
	var out string
	switch {
	case d > 0:
		out = fmt.Sprintf("%dd%02dh%02dm", d, h, m)
	case h > 0:
		out = fmt.Sprintf("%dh%02dm", h, m)
	default:
		out = fmt.Sprintf("%dm", m)
	}
	if sec != 0 {
		out += fmt.Sprintf("%02ds", sec)
	}
	return sign + out
}

// contingent reports whether a scheduled inject fires only when the
// facilitator fires it.
func contingent(d events.ItemDesc) bool { return d.When == "manual" }
