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
	knows := c.reacher.reach(in.To, in.Type)
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
	rules    map[ruleKey][]*Rule                   // by (at, on); on "*" under "*"
	byAgency map[liaison.AgencyID][]int            // channels an agency is on, in file order
	member   map[memberKey]uint8                   // membership bits: inAll, onSide0, onSide1
	channel  map[liaison.ChannelID]int             // first channel of each id
	cache    map[ruleKey]map[liaison.AgencyID]bool // results by (inject's agency, type)
	replying bool                                  // some rule replies
	repliers map[post][]liaison.AgencyID           // members of a platform that reply to a type
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
		member: map[memberKey]uint8{}, channel: map[liaison.ChannelID]int{}, cache: map[ruleKey]map[liaison.AgencyID]bool{},
		repliers: map[post][]liaison.AgencyID{}}
	for i := range s.Rules {
		rule := &s.Rules[i]
		k := ruleKey{rule.At, rule.On}
		r.rules[k] = append(r.rules[k], rule)
		r.replying = r.replying || isReply(rule)
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

// reach returns the agencies that can come to know an item injected at
// agency to as a message of type typ. A rule at A on the type (or *) fires:
// share sends As (or the type) to each target, send sends Send to each of
// To, reply sends Reply back to the sender. A message arrives if some
// channel (the forced one, if the rule names it) joins sender and
// recipient; on a platform it reaches every member. Hubs and officers
// relay without coming to know the item.
func (r *reacher) reach(to liaison.AgencyID, typ liaison.MessageType) map[liaison.AgencyID]bool {
	if k := (ruleKey{to, typ}); r.cache[k] != nil {
		return r.cache[k]
	}
	sr := &search{reacher: r, knows: map[liaison.AgencyID]bool{}, holds: map[ruleKey]bool{},
		answered: map[delivery]bool{}, posts: map[post]*posters{}}
	sr.deliver(to, "", typ)
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
	r.cache[ruleKey{to, typ}] = sr.knows
	return sr.knows
}

// delivery is work in the reachability search: agency at holds the item
// as a message of type typ. from is set only for a message that a reply
// rule at at answers; share and send rules act once per agency and type,
// whoever sent it.
type delivery struct {
	at, from liaison.AgencyID
	typ      liaison.MessageType
}

// post is one platform carrying one type; posters records who posted it,
// since after two different senders every member holds it already.
type post struct {
	ch  int
	typ liaison.MessageType
}

type posters struct {
	first  liaison.AgencyID
	second bool
	seen   map[liaison.AgencyID]bool
}

// search is one reachability search: from one inject's agency and type.
type search struct {
	*reacher
	knows    map[liaison.AgencyID]bool
	holds    map[ruleKey]bool  // (agency, type) already queued for share and send
	answered map[delivery]bool // (agency, sender, type) already queued for reply
	posts    map[post]*posters
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
				sr.send(d.at, t, out, rule.Channel)
			}
		}
	case rule.Send != "":
		if d.from == "" {
			for _, t := range rule.To {
				sr.send(d.at, t, rule.Send, rule.Channel)
			}
		}
	case rule.Reply != "":
		if d.from != "" {
			sr.send(d.at, d.from, rule.Reply, rule.Channel)
		}
	}
}

// send carries a message from one agency to another over every channel
// that joins them (only the forced one, when the rule names a channel the
// scenario has).
func (sr *search) send(from, to liaison.AgencyID, typ liaison.MessageType, forced liaison.ChannelID) {
	if from == to {
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
		c := &sr.s.Channels[ch]
		if c.Topology != Platform {
			sr.deliver(to, from, typ)
			continue
		}
		if to == c.Hub {
			sr.deliver(to, from, typ) // a post addressed to the hub
		}
		sr.postTo(ch, c, from, typ)
	}
}

// postTo delivers a platform post to every member but its sender and the
// hub, which relays it. Every member holds the type once two different
// members have posted it, so later posts only reach the members that
// reply to each sender.
func (sr *search) postTo(ch int, c *Channel, from liaison.AgencyID, typ liaison.MessageType) {
	k := post{ch, typ}
	p := sr.posts[k]
	switch {
	case p == nil:
		sr.posts[k] = &posters{first: from, seen: map[liaison.AgencyID]bool{from: true}}
		for _, m := range c.Members {
			if m != from && m != c.Hub {
				sr.deliver(m, from, typ)
			}
		}
		return
	case p.seen[from]:
		return // the same post again
	}
	p.seen[from] = true
	if !p.second {
		p.second = true
		if p.first != c.Hub {
			sr.deliver(p.first, from, typ)
		}
	}
	for _, m := range sr.repliersOn(k) {
		if m != from && m != c.Hub {
			sr.deliver(m, from, typ)
		}
	}
}

// repliersOn lists the members of a platform that reply to the type of
// its post, computed on first use.
func (r *reacher) repliersOn(p post) []liaison.AgencyID {
	if out, ok := r.repliers[p]; ok {
		return out
	}
	var out []liaison.AgencyID
	if r.replying {
		for _, m := range r.s.Channels[p.ch].Members {
			if r.replies(m, p.typ) {
				out = append(out, m)
			}
		}
	}
	r.repliers[p] = out
	return out
}

// shortList joins names for a message, at most 20 of them.
func shortList(names []string) string {
	const most = 20
	if len(names) > most {
		return strings.Join(names[:most], ", ") + ", … (" + strconv.Itoa(len(names)-most) + " more)"
	}
	return strings.Join(names, ", ")
}
