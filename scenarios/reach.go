package scenarios

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"liaison"
)

// reachability reports audience members that no chain of rules can reach
// from an inject. It is a static over-approximation: probabilities, from
// and tlp conditions, office hours, outages and the third-party rule are
// ignored, so an audience member it calls unreachable is unreachable in
// every run, which is almost always a mistake in the file.
func (c *checker) reachability() {
	for i, in := range c.s.Injects {
		c.reachable(i, in)
	}
}

// reachable checks that the audience of the scenario's i-th inject can
// come to know it.
func (c *checker) reachable(i int, in Inject) {
	if !c.agencies[in.To] || in.Type == "" {
		return // already reported
	}
	if c.reacher == nil {
		c.reacher = newReacher(c.s)
	}
	knows, _ := c.reacher.reach(queryOf(in, false))
	for j, a := range in.Audience {
		if knows[a] || !c.agencies[a] {
			continue
		}
		c.addf(index(index("injects", i)+".audience", j), Unreachable,
			"audience member %s of inject %s is unreachable: no chain of rules and channels carries %s from %s to it (it reaches %s); expected a rule that shares, sends or replies to %s over a channel both are on",
			a, in.ID, in.Type, in.To, knowers(knows), a)
	}
}

// knowers lists who an item reaches, for the message; a long list is cut
// short, since the point is the missing member.
func knowers(set map[liaison.AgencyID]bool) string {
	var ids []string
	for id := range set {
		ids = append(ids, string(id))
	}
	slices.Sort(ids)
	return shortList(ids)
}

// reacher answers reachability questions about one scenario. Its indexes
// (rules by agency and type, channels by agency, membership by channel
// and agency) are built once, so that a search costs about the size of
// the scenario rather than its square: thousands of agencies on one
// platform are checked in milliseconds.
type reacher struct {
	s        *Scenario
	rules    map[ruleKey][]*Rule        // by (at, on); on "*" under "*"
	byAgency map[liaison.AgencyID][]int // channels an agency is on, in file order
	member   map[memberKey]uint8        // membership bits: inAll, onSide0, onSide1
	channel  map[liaison.ChannelID]int  // first channel of each id
	cache    map[query]reached          // results by question
}

type ruleKey struct {
	at liaison.AgencyID
	on liaison.MessageType
}

type memberKey struct {
	ch int
	a  liaison.AgencyID
}

// Membership of an agency in a channel, as bits: a member of a mesh, hub
// or platform channel, or on the first or second side of a liaison
// channel (both, in a file that is wrong about it).
const (
	onSide0 uint8 = 1 << iota
	onSide1
	inAll
)

func newReacher(s *Scenario) *reacher {
	r := &reacher{s: s, rules: map[ruleKey][]*Rule{}, byAgency: map[liaison.AgencyID][]int{},
		member: map[memberKey]uint8{}, channel: map[liaison.ChannelID]int{}, cache: map[query]reached{}}
	for i := range s.Rules {
		rule := &s.Rules[i]
		k := ruleKey{rule.At, rule.On}
		r.rules[k] = append(r.rules[k], rule)
	}
	join := func(ch int, a liaison.AgencyID, how uint8) {
		k := memberKey{ch, a}
		if r.member[k] == 0 {
			r.byAgency[a] = append(r.byAgency[a], ch)
		}
		r.member[k] |= how
	}
	for i, ch := range s.Channels {
		if _, dup := r.channel[ch.ID]; !dup {
			r.channel[ch.ID] = i
		}
		if ch.Topology == Liaison {
			if len(ch.Sides) == 2 {
				for _, a := range ch.Sides[0] {
					join(i, a, onSide0)
				}
				for _, a := range ch.Sides[1] {
					join(i, a, onSide1)
				}
			}
			continue
		}
		for _, a := range ch.Members {
			join(i, a, inAll)
		}
	}
	return r
}

// rulesFor returns the rules at agency a that fire on type typ.
func (r *reacher) rulesFor(a liaison.AgencyID, typ liaison.MessageType) (exact, any []*Rule) {
	return r.rules[ruleKey{a, typ}], r.rules[ruleKey{a, "*"}]
}

// replies reports whether a rule at a on typ replies: the only action that
// depends on who sent the message.
func (r *reacher) replies(a liaison.AgencyID, typ liaison.MessageType) bool {
	exact, any := r.rulesFor(a, typ)
	return slices.ContainsFunc(exact, isReply) || slices.ContainsFunc(any, isReply)
}

func isReply(rule *Rule) bool { return len(rule.Share) == 0 && rule.Send == "" && rule.Reply != "" }

// joins reports whether channel ch can carry a message from a to b: both
// members of a mesh, hub or platform channel, or on opposite sides of a
// liaison channel.
func (r *reacher) joins(ch int, a, b liaison.AgencyID) bool {
	ma, mb := r.member[memberKey{ch, a}], r.member[memberKey{ch, b}]
	return ma&inAll != 0 && mb&inAll != 0 || ma&onSide0 != 0 && mb&onSide1 != 0 || ma&onSide1 != 0 && mb&onSide0 != 0
}

// query is one reachability question: who can come to know an item
// injected at to as a message of type typ, whose originator is orig, at
// TLP:RED or not. Strict leaves out the shares that need a consent no
// channel can ask for (see consentWarnings).
type query struct {
	to, orig liaison.AgencyID
	typ      liaison.MessageType
	red      bool
	strict   bool
}

func queryOf(in Inject, strict bool) query {
	return query{to: in.To, orig: cmp.Or(in.Originator, in.To), typ: in.Type,
		red: in.TLP.Set && in.TLP.Level == liaison.TLPRed, strict: strict}
}

// reach returns the agencies that can come to know an item, and, when the
// query is strict, the holders whose shares were left out because they
// cannot ask the originator for consent (sorted). A rule at A on the type
// (or *) fires: share sends As (or the type) to each target, send sends
// Send to each of To, reply sends Reply back to the sender. A message
// arrives if some channel (the forced one, if the rule names it) joins
// sender and recipient; a platform post reaches the recipients named, and
// a post by the originator also the platform's relevant members (not for
// TLP:RED). Hubs and officers relay without coming to know the item.
func (r *reacher) reach(q query) (map[liaison.AgencyID]bool, []string) {
	if c, ok := r.cache[q]; ok {
		return c.knows, c.blocked
	}
	sr := &search{reacher: r, q: q, knows: map[liaison.AgencyID]bool{}, holds: map[ruleKey]bool{},
		answered: map[delivery]bool{}, blocked: map[liaison.AgencyID]bool{}}
	sr.deliver(q.to, "", q.typ)
	for len(sr.queue) > 0 {
		d := sr.queue[0]
		sr.queue = sr.queue[1:]
		exact, any := r.rulesFor(d.at, d.typ)
		for _, rules := range [][]*Rule{exact, any} {
			for _, rule := range rules {
				sr.fire(rule, d)
			}
		}
	}
	var holders []string
	for h := range sr.blocked {
		holders = append(holders, string(h))
	}
	slices.Sort(holders)
	r.cache[q] = reached{sr.knows, holders}
	return sr.knows, holders
}

// reached is the answer to a query.
type reached struct {
	knows   map[liaison.AgencyID]bool
	blocked []string
}

// delivery is work in the reachability search: agency at holds the item
// as a message of type typ. from is set only for a message that a reply
// rule at at answers; share and send rules act once per agency and type,
// whoever sent it.
type delivery struct {
	at, from liaison.AgencyID
	typ      liaison.MessageType
}

// search is one reachability search: from one inject's agency and type.
type search struct {
	*reacher
	q        query
	knows    map[liaison.AgencyID]bool
	holds    map[ruleKey]bool  // (agency, type) already queued for share and send
	answered map[delivery]bool // (agency, sender, type) already queued for reply
	blocked  map[liaison.AgencyID]bool
	queue    []delivery
}

// deliver notes that agency at received a message of type typ from from
// and queues what its rules do with it.
func (sr *search) deliver(at, from liaison.AgencyID, typ liaison.MessageType) {
	sr.knows[at] = true
	if k := (ruleKey{at, typ}); !sr.holds[k] {
		sr.holds[k] = true
		sr.queue = append(sr.queue, delivery{at: at, typ: typ})
	}
	if from != "" && sr.replies(at, typ) {
		if d := (delivery{at, from, typ}); !sr.answered[d] {
			sr.answered[d] = true
			sr.queue = append(sr.queue, d)
		}
	}
}

// fire applies one rule to a delivery: share and send on the first
// delivery of a type (from unset), reply on each sender's.
func (sr *search) fire(rule *Rule, d delivery) {
	switch {
	case len(rule.Share) > 0:
		if d.from == "" {
			out := cmp.Or(rule.As, d.typ)
			for _, t := range rule.Share {
				sr.send(d.at, t, out, rule.Channel, true)
			}
		}
	case rule.Send != "":
		if d.from == "" {
			for _, t := range rule.To {
				sr.send(d.at, t, rule.Send, rule.Channel, true)
			}
		}
	case rule.Reply != "":
		if d.from != "" {
			sr.send(d.at, d.from, rule.Reply, rule.Channel, false) // a reply needs no consent
		}
	}
}

// send carries a message from one agency to another over every channel
// that joins them (only the forced one, when the rule names a channel the
// scenario has).
func (sr *search) send(from, to liaison.AgencyID, typ liaison.MessageType, forced liaison.ChannelID, share bool) {
	if from == to {
		return
	}
	if sr.q.strict && share && from != sr.q.orig && to != sr.q.orig && !sr.askable(from, sr.q.orig) {
		sr.blocked[from] = true
		return
	}
	only := -1
	if i, ok := sr.channel[forced]; ok {
		only = i
	}
	for _, ch := range sr.byAgency[from] {
		if only >= 0 && ch != only || !sr.joins(ch, from, to) {
			continue
		}
		sr.deliver(to, from, typ)
		if c := &sr.s.Channels[ch]; c.Topology == Platform && from == sr.q.orig && !sr.q.red {
			for _, m := range c.Relevant {
				if m != from {
					sr.deliver(m, from, typ)
				}
			}
		}
	}
}

// askable reports whether some channel joins a holder to the originator,
// so that it can ask for consent.
func (r *reacher) askable(holder, orig liaison.AgencyID) bool {
	for _, ch := range r.byAgency[holder] {
		if r.joins(ch, holder, orig) {
			return true
		}
	}
	return false
}

// shortList joins names for a message, at most 20 of them.
func shortList(names []string) string {
	const most = 20
	if len(names) > most {
		return strings.Join(names[:most], ", ") + ", … (" + strconv.Itoa(len(names)-most) + " more)"
	}
	return strings.Join(names, ", ")
}
