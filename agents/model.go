// Package agents is agency behaviour: queues and staff, office hours, rules,
// routing over the four channel topologies, the third-party rule and TLP,
// and the Node that hosts a set of agencies as NATS agents under the time
// service's grants.
//
// An agency knows an item when its staff start handling the first message
// that carries it: arrival in an inbox is not knowledge, reading is.
package agents

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
)

// Model is a scenario compiled for the engine: every name replaced by an
// index, every rule filed under its agency. It is read-only once built and
// shared by all nodes in a process.
type Model struct {
	Scenario  *scenarios.Scenario
	Names     events.Names
	Lookahead liaison.Time
	End       liaison.Time // last simulated instant, or liaison.Never
	Start     time.Time
	Seed      uint64

	agencies []agencyModel
	tokens   []string // each agency's id as a subject token
	channels []channelModel
	items    []itemModel
	agencyIx map[liaison.AgencyID]int32
	typeIx   map[liaison.MessageType]int32

	typeConsentReq, typeConsentGrant, typeConsentRefuse int32

	players         []bool       // by agency index: seated by a person
	decisionTimeout liaison.Time // 0: players have no time limit
	triggers        []events.TriggerSpec
	amberCountry    bool // TLP:AMBER read as the holder's country
}

type agencyModel struct {
	sc       *scenarios.Agency
	country  string
	loc      *time.Location
	always   bool
	staff    int
	consent  float64
	clients  []int32          // its TLP 2.0 clients, sorted
	channels []int32          // the channels it takes part in, in file order
	fanout   scenarios.Dist   // drafting time per additional message of a share
	handling []scenarios.Dist // by type index; zero Dist samples 0
	rules    []ruleModel
	streams  []streamModel
	injects  []int32 // item indices delivered to this agency
}

type ruleModel struct {
	index       int
	on          int32 // type index, -1 for any
	from        map[int32]bool
	tlp         map[liaison.TLP]bool
	action      byte // 's' share, 'r' reply, 'n' send
	targets     []int32
	outType     int32 // -1: same as received
	within      liaison.Time
	channel     int32 // forced, or -1
	probability float64
	urgent      bool
}

// matches says whether the rule applies to a handled message (or
// inject) w of an item with TLP tlp: its type, sender and TLP, and for a
// reply a sender to answer. Whether it already fired for the item, and
// its chance, are the handler's to judge.
func (r *ruleModel) matches(w *work, tlp liaison.TLP) bool {
	return !(r.on >= 0 && r.on != w.typ || r.on < 0 && w.item < 0 ||
		r.from != nil && (w.origin < 0 || !r.from[w.origin]) ||
		r.tlp != nil && (w.item < 0 || !r.tlp[tlp]) ||
		r.action == 'r' && w.origin < 0)
}

// outType is the type the rule sends on for w: its own, or w's.
func (r *ruleModel) outTypeFor(w *work) int32 {
	if r.outType < 0 {
		return w.typ
	}
	return r.outType
}

type streamModel struct {
	to      []int32
	at      map[int32]int32 // position of each recipient in to; -1 for one listed twice
	typ     int32
	mean    float64 // mean interval, ms
	channel int32
}

// position is where agency ix is among the stream's recipients, -1 when it
// is not one of them, -2 when it is listed more than once.
func (st *streamModel) position(ix int32) int {
	p, ok := st.at[ix]
	switch {
	case !ok:
		return -1
	case p < 0:
		return -2
	}
	return int(p)
}

type channelModel struct {
	id       liaison.ChannelID
	topo     scenarios.Topology
	relay    int32 // hub or officer, -1 for none
	review   bool  // hub: every message passes the hub's desk
	relevant []int32
	member   []bool
	side     []int8 // liaison: 1 or 2 for members of each side, 0 otherwise
	members  []int32
	latency  scenarios.Dist
	// minLatency is latency.Min(), which every arrival is checked
	// against (some distributions scan their values for it).
	minLatency liaison.Time
	outages    [][2]liaison.Time
	// subjects, by agency index: that agency's anonymous subject on this
	// channel (broker.Subjects.Inbox then broker.Anonymous), built once
	// since most runs publish on it; inbox gives its prefix.
	subjects []string
}

type itemModel struct {
	id         liaison.ItemID
	at         liaison.Time
	to         int32
	typ        int32
	tlp        liaison.TLP
	control    bool
	originator int32
	audience   []int32
	deadline   liaison.Time
	urgent     bool
	manual     bool // a contingency inject: only the facilitator fires it
}

// Compile builds the Model of a loaded (and variant-applied) scenario for a
// run with the given seed and subjects.
func Compile(sc *scenarios.Scenario, seed uint64, subj broker.Subjects) (*Model, error) {
	m := &Model{
		Scenario: sc, Seed: seed, Start: sc.Start.Time,
		agencyIx: map[liaison.AgencyID]int32{}, typeIx: map[liaison.MessageType]int32{},
		End: liaison.Never, Lookahead: sc.Lookahead(), amberCountry: sc.Amber == scenarios.AmberCountry,
	}
	if sc.Duration > 0 {
		m.End = sc.Duration.Time()
	}
	if m.Lookahead <= 0 {
		return nil, fmt.Errorf("agents: scenario %s has no positive lookahead", sc.Name)
	}
	m.Names.Reasons = events.Reasons
	for i := range sc.Agencies {
		a := &sc.Agencies[i]
		m.agencyIx[a.ID] = int32(i)
		m.Names.Agencies = append(m.Names.Agencies, a.ID)
		m.tokens = append(m.tokens, broker.Token(a.ID))
	}
	ag := func(id liaison.AgencyID) int32 {
		ix, ok := m.agencyIx[id]
		if !ok {
			panic("agents: unknown agency " + string(id) + " in a validated scenario")
		}
		return ix
	}
	ags := func(ids []liaison.AgencyID) []int32 {
		out := make([]int32, len(ids))
		for i, id := range ids {
			out[i] = ag(id)
		}
		return out
	}
	m.typeConsentReq = m.typeIndex("consent-request")
	m.typeConsentGrant = m.typeIndex("consent-grant")
	m.typeConsentRefuse = m.typeIndex("consent-refuse")

	chIx := map[liaison.ChannelID]int32{}
	for i := range sc.Channels {
		c := &sc.Channels[i]
		chIx[c.ID] = int32(i)
		m.Names.Channels = append(m.Names.Channels, c.ID)
		cm := channelModel{id: c.ID, topo: c.Topology, relay: -1, latency: c.Latency, minLatency: c.Latency.Min(),
			review: c.Review && c.Topology == scenarios.Hub, relevant: ags(c.Relevant),
			member: make([]bool, len(sc.Agencies)), side: make([]int8, len(sc.Agencies)),
			subjects: make([]string, len(sc.Agencies))}
		switch c.Topology {
		case scenarios.Hub, scenarios.Platform:
			if c.Hub != "" {
				cm.relay = ag(c.Hub)
			}
		case scenarios.Liaison:
			cm.relay = ag(c.Officer)
		}
		for _, id := range c.Parties() {
			cm.member[ag(id)] = true
		}
		for s, side := range c.Sides {
			for _, id := range side {
				cm.side[ag(id)] = int8(s + 1)
			}
		}
		for a, ok := range cm.member {
			if ok {
				cm.members = append(cm.members, int32(a))
				cm.subjects[a] = subj.Inbox(c.ID, m.Names.Agencies[a]) + broker.Anonymous
			}
		}
		for _, o := range c.Outages {
			cm.outages = append(cm.outages, [2]liaison.Time{o.From.Time(), o.To.Time()})
		}
		m.channels = append(m.channels, cm)
	}
	forced := func(id liaison.ChannelID) int32 {
		if id == "" {
			return -1
		}
		return chIx[id]
	}

	m.agencies = make([]agencyModel, len(sc.Agencies))
	m.players = make([]bool, len(sc.Agencies))
	for _, p := range sc.Players {
		m.players[ag(p)] = true
	}
	m.decisionTimeout = sc.DecisionTimeout.Time()
	for i := range sc.Agencies {
		a := &sc.Agencies[i]
		am := &m.agencies[i]
		am.sc, am.country, am.loc, am.always = a, a.Country, a.Location, a.Hours.Always
		if am.loc == nil {
			am.loc = sc.Location
		}
		if am.loc == nil {
			am.loc = time.UTC
		}
		am.staff = max(a.Staff, 1)
		am.consent = 1
		if a.Consent != nil {
			am.consent = *a.Consent
		}
		am.clients = ags(a.Clients)
		slices.Sort(am.clients)
		am.fanout = a.Fanout
		if am.fanout.IsZero() {
			am.fanout = sc.Fanout
		}
	}
	for c := range m.channels {
		for _, a := range m.channels[c].members {
			m.agencies[a].channels = append(m.agencies[a].channels, int32(c))
		}
	}
	for i, r := range sc.Rules {
		rm := ruleModel{index: i, on: -1, outType: -1, channel: forced(r.Channel), probability: 1,
			urgent: r.Urgent, within: r.Within.Time()}
		if r.On != "*" {
			rm.on = m.typeIndex(r.On)
		}
		if len(r.From) > 0 {
			rm.from = map[int32]bool{}
			for _, f := range ags(r.From) {
				rm.from[f] = true
			}
		}
		if len(r.TLP) > 0 {
			rm.tlp = map[liaison.TLP]bool{}
			for _, l := range r.TLP {
				rm.tlp[l.Level] = true
			}
		}
		switch {
		case len(r.Share) > 0:
			rm.action, rm.targets = 's', ags(r.Share)
			if r.As != "" {
				rm.outType = m.typeIndex(r.As)
			}
		case r.Reply != "":
			rm.action, rm.outType = 'r', m.typeIndex(r.Reply)
		case r.Send != "":
			rm.action, rm.targets, rm.outType = 'n', ags(r.To), m.typeIndex(r.Send)
		}
		if r.Probability != nil {
			rm.probability = *r.Probability
		}
		at := ag(r.At)
		m.agencies[at].rules = append(m.agencies[at].rules, rm)
	}
	for _, s := range sc.Background {
		to := ags(s.To)
		at := make(map[int32]int32, len(to))
		for i, t := range to {
			if _, twice := at[t]; twice {
				at[t] = -1
			} else {
				at[t] = int32(i)
			}
		}
		typ := m.typeIndex(s.Type)
		for _, f := range ags(s.From) {
			m.agencies[f].streams = append(m.agencies[f].streams,
				streamModel{to: to, at: at, typ: typ, mean: s.Rate.MeanInterval(), channel: forced(s.Channel)})
		}
	}
	for i, in := range sc.Injects {
		it := itemModel{id: in.ID, at: in.At.Time(), to: ag(in.To), typ: m.typeIndex(in.Type),
			tlp: liaison.TLPGreen, control: in.OriginatorControl, audience: ags(in.Audience),
			deadline: in.Deadline.Time(), urgent: in.Urgent, manual: in.When == "manual" || in.Trigger != nil}
		if in.TLP.Set {
			it.tlp = in.TLP.Level
		}
		it.originator = it.to
		if in.Originator != "" {
			it.originator = ag(in.Originator)
		}
		m.items = append(m.items, it)
		m.Names.Items = append(m.Names.Items, in.ID)
		m.agencies[it.to].injects = append(m.agencies[it.to].injects, int32(i))
	}
	ids := map[liaison.ItemID]int32{}
	for i, in := range sc.Injects {
		ids[in.ID] = int32(i)
	}
	for i, in := range sc.Injects {
		tr := in.Trigger
		if tr == nil {
			continue
		}
		spec := events.TriggerSpec{Item: int32(i), Watch: ids[tr.Item], Agency: -1, MissingBy: tr.MissingBy.Time(),
			Deadline: tr.DeadlineMissed, After: max(in.After.Time(), m.Lookahead)}
		if tr.Agency != "" {
			spec.Agency = ag(tr.Agency)
		}
		if tr.Share != nil {
			spec.Share = *tr.Share
		}
		m.triggers = append(m.triggers, spec)
	}
	// Handling distributions by type index, now that every type is known.
	for i := range m.agencies {
		am := &m.agencies[i]
		am.handling = make([]scenarios.Dist, len(m.Names.Types))
		for t, name := range m.Names.Types {
			am.handling[t] = am.sc.Handling.For(name)
		}
	}
	return m, nil
}

// DecisionTimeout is how long a player has for a decision before the
// agency's rules act; zero when there is no limit.
func (m *Model) DecisionTimeout() liaison.Time { return m.decisionTimeout }

func (m *Model) typeIndex(t liaison.MessageType) int32 {
	if ix, ok := m.typeIx[t]; ok {
		return ix
	}
	ix := int32(len(m.Names.Types))
	m.typeIx[t] = ix
	m.Names.Types = append(m.Names.Types, t)
	return ix
}

// Digest names what the model would compute: the scenario (as applied
// with its variant) and the seed. Nodes of one run must agree on it.
func (m *Model) Digest() string {
	sc := *m.Scenario
	sc.Source, sc.Positions = "", nil
	b, err := json.Marshal(&sc)
	if err != nil {
		panic("agents: a scenario that does not marshal: " + err.Error())
	}
	h := sha256.New()
	h.Write(b)
	fmt.Fprintf(h, "\x00seed %d", m.Seed)
	return hex.EncodeToString(h.Sum(nil))
}

// subject is where a message from one agency to another travels on a
// channel, under the sender's name when named is true and as
// broker.Anonymous otherwise (see Node.subject).
func (m *Model) subject(c, to, from int32, named bool) string {
	if !named {
		return m.channels[c].subjects[to]
	}
	return m.inbox(c, to) + m.tokens[from]
}

// inbox is the prefix of every subject on which agency to receives on
// channel c (broker.Subjects.Inbox).
func (m *Model) inbox(c, to int32) string {
	s := m.channels[c].subjects[to]
	return s[:len(s)-len(broker.Anonymous)]
}

// onSubject reports whether subject is where a message from one agency to
// another travels on a channel (without building the subject): under the
// sender's name, or anonymously when anonymous is true.
func (m *Model) onSubject(subject string, c, to, from int32, anonymous bool) bool {
	prefix := m.inbox(c, to)
	if len(subject) <= len(prefix) || subject[:len(prefix)] != prefix {
		return false
	}
	last := subject[len(prefix):]
	return last == m.tokens[from] || anonymous && last == broker.Anonymous
}

// AgencyIndex returns the index of an agency, or -1.
func (m *Model) AgencyIndex(id liaison.AgencyID) int32 {
	if ix, ok := m.agencyIx[id]; ok {
		return ix
	}
	return -1
}

// Triggers returns the conditions of the scenario's conditional injects.
func (m *Model) Triggers() []events.TriggerSpec { return m.triggers }

// Triggered reports whether an inject is conditional.
func (m *Model) Triggered(item int32) bool {
	for _, t := range m.triggers {
		if t.Item == item {
			return true
		}
	}
	return false
}

// Items returns what the Recorder needs to measure reach.
func (m *Model) Items() []events.ItemInfo {
	out := make([]events.ItemInfo, len(m.items))
	for i, it := range m.items {
		out[i] = events.ItemInfo{ID: it.id, At: it.at, Audience: it.audience, Deadline: it.deadline, Manual: it.manual}
	}
	return out
}

// newRand returns the random stream of one agency for one purpose. Streams
// are independent by purpose, so that (for instance) a variant that changes
// channels, and so latency draws, leaves handling times as they were:
// common random numbers for comparisons.
func (m *Model) newRand(agency liaison.AgencyID, purpose string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", m.Seed, agency, purpose)
	a := h.Sum64()
	h.Write([]byte{0xff})
	return rand.New(rand.NewPCG(a, h.Sum64()))
}
