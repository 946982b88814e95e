package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time zones resolve on machines without a zoneinfo database

	"liaison"
)

var (
	agencyIDSyntax  = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
	channelIDSyntax = regexp.MustCompile(`^[a-z0-9_-]+$`)
	nameSyntax      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// reservedChannels are tokens the broker uses next to channel ids in NATS
// subjects; a channel of that name would collide with them.
var reservedChannels = []string{"time", "ctl", "events", "inject"}

// problem is a semantic error before it has a file position: paths are in
// the scenario being checked, which for a variant is the applied one.
type problem struct {
	path string
	kind Kind
	msg  string
}

// checker finds the semantic problems of one scenario (the base, or the
// base with a variant applied). given reports whether a path was written in
// the file, which tells "staff: 0" from no staff at all.
type checker struct {
	s        *Scenario
	given    func(path string) bool
	problems []problem
	agencies map[liaison.AgencyID]bool
	channels map[liaison.ChannelID]bool

	injectIDs map[liaison.ItemID]int // first inject of each id
	reacher   *reacher               // built on first use
	// streaming: injects come one by one (InjectChecker), so a trigger may
	// name an inject not seen yet; its reference waits in refs.
	streaming bool
	refs      []triggerRef
}

// triggerRef is a trigger's reference to the inject it watches.
type triggerRef struct {
	index            int // of the inject
	file, path, from string
	item             liaison.ItemID
	pos              Pos
}

func (c *checker) addf(path string, kind Kind, format string, args ...any) {
	c.problems = append(c.problems, problem{path, kind, fmt.Sprintf(format, args...)})
}

// check validates s and returns its problems.
func check(s *Scenario, given func(string) bool) []problem {
	c := &checker{s: s, given: given, agencies: map[liaison.AgencyID]bool{}, channels: map[liaison.ChannelID]bool{}}
	c.scenario()
	c.agencyDecls()
	c.channelDecls()
	c.channelShapes()
	c.rules()
	c.injects()
	c.ratings()
	c.background()
	c.reachability()
	c.players()
	if s.DecisionTimeout < 0 {
		c.addf("decision_timeout", BadValue, "decision_timeout is negative; expected a duration such as 30m")
	}
	return c.problems
}

// players checks the agencies seated by people: declared, each once.
func (c *checker) players() {
	c.agencyList("players", c.s.Players)
	first := map[liaison.AgencyID]int{}
	for i, id := range c.s.Players {
		if j, dup := first[id]; dup && id != "" {
			c.addf(index("players", i), Duplicate, "player %s is listed twice (also players[%d]); expected each player once", id, j)
			continue
		}
		first[id] = i
	}
}

func (c *checker) scenario() {
	s := c.s
	if s.Name != "" && !nameSyntax.MatchString(s.Name) {
		c.addf("name", BadID, "scenario name %q is not a machine name; expected lower-case letters, digits, '.', '-' and '_', e.g. ctg-threat-warning", s.Name)
	}
	if s.TimeZone != "" {
		c.timeZone("timezone", s.TimeZone)
	}
	if c.given("duration") && s.Duration <= 0 {
		c.addf("duration", BadDuration, "duration is 0; expected a positive run length such as 72h, or no duration")
	}
}

// timeZone checks a time zone name. "Local" resolves, but to the zone of
// the machine that runs the scenario, so that the same file would give
// other office hours elsewhere; "UTC" is a zone of its own.
func (c *checker) timeZone(path, name string) {
	if strings.EqualFold(name, "Local") {
		c.addf(path, BadTime, "time zone %q is the zone of whichever machine runs the scenario, so runs would differ from machine to machine; expected an IANA name such as Europe/Copenhagen (or UTC)", name)
		return
	}
	if _, err := time.LoadLocation(name); err != nil {
		c.addf(path, BadTime, "unknown time zone %q; expected an IANA name such as Europe/Copenhagen", name)
	}
}

func (c *checker) agencyDecls() {
	first := map[liaison.AgencyID]int{}
	for i, a := range c.s.Agencies {
		p := index("agencies", i)
		switch j, dup := first[a.ID]; {
		case a.ID == "":
		case !agencyIDSyntax.MatchString(string(a.ID)):
			c.addf(p+".id", BadID, "agency id %q is malformed; expected lower-case [a-z0-9_-] segments joined by dots, e.g. dk.pet", a.ID)
		case dup:
			c.addf(p+".id", Duplicate, "agency %q is declared twice (also agencies[%d]); expected unique agency ids", a.ID, j)
		default:
			first[a.ID] = i
		}
		c.agencies[a.ID] = true
		if a.Staff < 0 || a.Staff == 0 && c.given(p+".staff") {
			c.addf(p+".staff", BadValue, "staff of %s is %d; expected at least 1", a.ID, a.Staff)
		}
		if a.Consent != nil && !(*a.Consent >= 0 && *a.Consent <= 1) {
			c.addf(p+".consent", BadValue, "consent of %s is %v; expected a probability from 0 to 1", a.ID, *a.Consent)
		}
		if a.TimeZone != "" {
			c.timeZone(p+".timezone", a.TimeZone)
		}
	}
	// Clients are checked once every agency is known.
	for i, a := range c.s.Agencies {
		p := index("agencies", i) + ".clients"
		c.agencyList(p, a.Clients)
		seen := map[liaison.AgencyID]bool{}
		for j, id := range a.Clients {
			switch {
			case id == a.ID:
				c.addf(index(p, j), BadValue, "%s lists itself as a client; expected other agencies (its own organisation may always receive its TLP:AMBER items)", a.ID)
			case seen[id]:
				c.addf(index(p, j), Duplicate, "%s is listed twice in the clients of %s; expected each client once", id, a.ID)
			}
			seen[id] = true
		}
	}
}

func (c *checker) channelDecls() {
	first := map[liaison.ChannelID]int{}
	for i, ch := range c.s.Channels {
		p := index("channels", i)
		switch j, dup := first[ch.ID]; {
		case ch.ID == "":
		case !channelIDSyntax.MatchString(string(ch.ID)):
			c.addf(p+".id", BadID, "channel id %q is malformed; expected one token of [a-z0-9_-], without dots, e.g. siena", ch.ID)
		case slices.Contains(reservedChannels, string(ch.ID)):
			c.addf(p+".id", BadID, "channel id %q is reserved; expected any id but %s", ch.ID, strings.Join(reservedChannels, ", "))
		case dup:
			c.addf(p+".id", Duplicate, "channel %q is declared twice (also channels[%d]); expected unique channel ids", ch.ID, j)
		default:
			first[ch.ID] = i
		}
		c.channels[ch.ID] = true
	}
}

// agency reports a reference to an undeclared agency. Empty ids come from
// fields already reported missing.
func (c *checker) agency(path string, id liaison.AgencyID) {
	if id == "" || c.agencies[id] {
		return
	}
	c.addf(path, UnknownAgency, "unknown agency %q; expected one of the declared agencies: %s", id, known(c.agencies))
}

func (c *checker) agencyList(path string, ids []liaison.AgencyID) {
	for i, id := range ids {
		c.agency(index(path, i), id)
	}
}

func (c *checker) channel(path string, id liaison.ChannelID) {
	if id == "" || c.channels[id] {
		return
	}
	c.addf(path, UnknownChannel, "unknown channel %q; expected one of the declared channels: %s", id, known(c.channels))
}

// known lists a set's members sorted, for "expected one of" messages; a
// long list is cut short (see shortList), so that a file with thousands of
// agencies gets messages of a line each.
func known[K ~string](set map[K]bool) string {
	var names []string
	for k := range set {
		if k != "" {
			names = append(names, string(k))
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "(none)"
	}
	return shortList(names)
}

func (c *checker) channelShapes() {
	for i, ch := range c.s.Channels {
		p := index("channels", i)
		c.agency(p+".hub", ch.Hub)
		c.agency(p+".officer", ch.Officer)
		c.agencyList(p+".members", ch.Members)
		c.agencyList(p+".relevant", ch.Relevant)
		for j, side := range ch.Sides {
			c.agencyList(index(p+".sides", j), side)
		}
		c.topology(p, ch)
		if !ch.Latency.IsZero() && ch.Latency.Min() <= 0 {
			c.addf(p+".latency", BadLatency, "channel %s has no positive minimum latency; add a floor such as min=1m, expected every channel to have one (it is the lookahead that keeps runs deterministic)", ch.ID)
		}
		for j, o := range ch.Outages {
			if c.given(index(p+".outages", j)+".to") && o.From >= o.To {
				c.addf(index(p+".outages", j), BadValue, "outage of channel %s ends at %s, not after it starts at %s; expected from < to", ch.ID, o.To, o.From)
			}
		}
	}
}

func (c *checker) topology(p string, ch Channel) {
	bad := func(path, format string, args ...any) {
		c.addf(path, BadTopology, "%s channel %s "+format, append([]any{ch.Topology, ch.ID}, args...)...)
	}
	if ch.Topology != Liaison {
		if ch.Officer != "" {
			bad(p+".officer", "has an officer; expected officer only on liaison channels")
		}
		if len(ch.Sides) > 0 {
			bad(p+".sides", "has sides; expected sides only on liaison channels, members on others")
		}
		if len(ch.Members) < 2 {
			bad(p+".members", "has %s; expected at least 2", liaison.Plural(len(ch.Members), "member", "members"))
		}
	}
	seen := map[liaison.AgencyID]bool{}
	for j, m := range ch.Members {
		if seen[m] {
			c.addf(index(p+".members", j), Duplicate, "%s is listed twice in the members of channel %s; expected each member once", m, ch.ID)
		}
		seen[m] = true
	}
	if ch.Review && ch.Topology != Hub {
		bad(p+".review", "has review; expected review only on hub channels, whose hub may review the traffic it routes")
	}
	if len(ch.Relevant) > 0 && ch.Topology != Platform {
		bad(p+".relevant", "has relevant members; expected relevant only on platform channels")
	}
	for j, r := range ch.Relevant {
		switch {
		case !c.agencies[r]: // reported as unknown
		case !slices.Contains(ch.Members, r):
			bad(index(p+".relevant", j), "lists %s as relevant but not among its members; expected relevant members to be members", r)
		case r == ch.Hub:
			bad(index(p+".relevant", j), "lists its hub %s as relevant; expected members that read posts (the hub relays them)", r)
		case slices.Index(ch.Relevant, r) < j:
			c.addf(index(p+".relevant", j), Duplicate, "%s is listed twice in the relevant members of channel %s; expected each once", r, ch.ID)
		}
	}
	switch ch.Topology {
	case Mesh:
		if ch.Hub != "" {
			bad(p+".hub", "has a hub; expected a hub only on hub and platform channels")
		}
	case Hub:
		if ch.Hub == "" {
			bad(p, "has no hub; expected hub: the relaying agency, listed among the members")
		} else if !slices.Contains(ch.Members, ch.Hub) {
			bad(p+".hub", "has hub %s outside its members; expected the hub listed in members", ch.Hub)
		}
	case Liaison:
		if ch.Officer == "" {
			bad(p, "has no officer; expected officer: the liaison officer agency that relays between the sides")
		}
		if ch.Hub != "" {
			bad(p+".hub", "has a hub; expected an officer instead")
		}
		if len(ch.Members) > 0 {
			bad(p+".members", "has members; expected two sides instead, e.g. sides: [[dk.police], [se.police]]")
		}
		if len(ch.Sides) != 2 || len(ch.Sides[0]) == 0 || len(ch.Sides[1]) == 0 {
			bad(p, "has %d non-empty sides; expected exactly two non-empty sides, e.g. sides: [[dk.police], [se.police]]", countNonEmpty(ch.Sides))
			return
		}
		left := map[liaison.AgencyID]bool{}
		for _, a := range ch.Sides[0] {
			left[a] = true
		}
		for j, a := range ch.Sides[1] {
			if left[a] {
				bad(index(p+".sides[1]", j), "has %s on both sides; expected disjoint sides", a)
			}
		}
	}
}

func countNonEmpty(sides [][]liaison.AgencyID) int {
	n := 0
	for _, s := range sides {
		if len(s) > 0 {
			n++
		}
	}
	return n
}

func (c *checker) rules() {
	for i, r := range c.s.Rules {
		p := index("rules", i)
		c.agency(p+".at", r.At)
		c.agencyList(p+".from", r.From)
		c.agencyList(p+".share", r.Share)
		c.agencyList(p+".to", r.To)
		c.channel(p+".channel", r.Channel)
		var actions []string
		if len(r.Share) > 0 {
			actions = append(actions, "share")
		}
		if r.Reply != "" {
			actions = append(actions, "reply")
		}
		if r.Send != "" {
			actions = append(actions, "send")
		}
		switch len(actions) {
		case 0:
			c.addf(p, BadRule, "rule at %s on %s does nothing; expected exactly one of share, reply or send", r.At, r.On)
		case 1:
		default:
			c.addf(p, BadRule, "rule at %s on %s has %s; expected exactly one of share, reply or send", r.At, r.On, strings.Join(actions, " and "))
		}
		if r.Send != "" && len(r.To) == 0 {
			c.addf(p, Missing, "rule at %s on %s sends %s to no one; expected to: a list of recipients", r.At, r.On, r.Send)
		}
		if r.Send == "" && len(r.To) > 0 {
			c.addf(p+".to", BadRule, "rule at %s on %s has to without send; expected to only with send (share lists its own recipients)", r.At, r.On)
		}
		if r.As != "" && len(r.Share) == 0 {
			c.addf(p+".as", BadRule, "rule at %s on %s has as without share; expected as only with share", r.At, r.On)
		}
		if c.given(p+".within") && r.Reply == "" {
			c.addf(p+".within", BadRule, "rule at %s on %s has within without reply; expected within only with reply", r.At, r.On)
		}
		if r.Probability != nil && !(*r.Probability >= 0 && *r.Probability <= 1) {
			c.addf(p+".probability", BadValue, "probability of the rule at %s on %s is %v; expected a number from 0 to 1", r.At, r.On, *r.Probability)
		}
	}
}

func (c *checker) injects() {
	var edges []triggerEdge
	for i, in := range c.s.Injects {
		c.inject(i, in)
		if in.Trigger != nil {
			edges = append(edges, triggerEdge{i, in.ID, in.Trigger.Item})
		}
	}
	for _, cy := range triggerCycles(edges) {
		c.addf(index("injects", edges[cy[0]].index)+".trigger.item", BadRule, "%s", cycleMsg(edges, cy))
	}
}

// triggerEdge is the index'th inject, a conditional one, and the inject
// its trigger watches.
type triggerEdge struct {
	index    int
	from, to liaison.ItemID
}

// triggerCycles finds the cycles among triggers: injects each waiting for
// the next to be injected, which none of them ever is. Each cycle lists
// its edges in that order, starting with the one that comes first in
// edges. An inject has one trigger, so it is on one cycle at most. Only
// the first inject of an id counts (a second is reported as such), and a
// trigger that watches its own inject is no cycle here (it is reported
// as such too).
func triggerCycles(edges []triggerEdge) [][]int {
	watches := map[liaison.ItemID]int{} // inject id -> its edge
	for k, e := range edges {
		if _, dup := watches[e.from]; !dup && e.from != "" && e.to != e.from {
			watches[e.from] = k
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[liaison.ItemID]int{}
	var out [][]int
	for _, e := range edges {
		var path []int // edges
		for id := e.from; ; {
			k, ok := watches[id]
			if !ok || state[id] == done {
				break
			}
			if state[id] == onPath {
				cycle := path[slices.Index(path, k):]
				first := slices.Index(cycle, slices.Min(cycle))
				out = append(out, append(slices.Clone(cycle[first:]), cycle[:first]...))
				break
			}
			state[id] = onPath
			path = append(path, k)
			id = edges[k].to
		}
		for _, k := range path {
			state[edges[k].from] = done
		}
	}
	return out
}

// cycleMsg describes a cycle of triggers from its first edge on.
func cycleMsg(edges []triggerEdge, cycle []int) string {
	names := make([]string, 0, len(cycle)+1)
	for _, k := range cycle {
		names = append(names, string(edges[k].from))
	}
	names = append(names, names[0])
	return fmt.Sprintf("trigger cycle: %s: such injects could never fire, each waiting for the next; expected each chain of triggers to end at an inject that fires by itself (at its time, or by hand with when: manual)", strings.Join(names, " -> "))
}

// inject checks the scenario's i-th inject. Ids are remembered across
// calls, so that duplicates are found whether the injects come from the
// file or one by one (InjectChecker).
func (c *checker) inject(i int, in Inject) {
	if c.injectIDs == nil {
		c.injectIDs = map[liaison.ItemID]int{}
	}
	p := index("injects", i)
	if j, dup := c.injectIDs[in.ID]; dup && in.ID != "" {
		c.addf(p+".id", Duplicate, "inject %q is declared twice (also injects[%d]); expected unique inject ids", in.ID, j)
	} else {
		// A copy: the id may be a slice of a much longer text (a CSV
		// record), which the map would otherwise keep alive.
		c.injectIDs[liaison.ItemID(strings.Clone(string(in.ID)))] = i
	}
	c.agency(p+".to", in.To)
	c.agency(p+".originator", in.Originator)
	c.agencyList(p+".audience", in.Audience)
	if c.s.Duration > 0 && in.At >= c.s.Duration {
		c.addf(p+".at", BadValue, "inject %s at %s is not before the end of the run at %s; expected at < duration", in.ID, in.At, c.s.Duration)
	}
	if c.given(p+".deadline") && in.Deadline <= 0 {
		c.addf(p+".deadline", BadValue, "inject %s has deadline %s; expected a positive duration, or no deadline at all", in.ID, in.Deadline)
	}
	c.trigger(i, p, in)
}

const unknownWatch = "inject %s's trigger watches %q, which is no inject of the scenario"

// trigger checks a conditional inject's condition: one kind of condition,
// on another inject of the scenario, and a delay no shorter than the least
// channel latency (the engine places the inject that much after the
// condition is met, where no agency can have gone yet).
func (c *checker) trigger(i int, p string, in Inject) {
	if c.given(p+".after") && in.Trigger == nil {
		c.addf(p+".after", BadRule, "inject %s has after without trigger; expected after only with trigger", in.ID)
	}
	tr := in.Trigger
	if tr == nil {
		return
	}
	p += ".trigger"
	if in.When == "manual" {
		c.addf(p, BadRule, "inject %s is both a contingency (when: manual) and conditional (trigger); expected one of them", in.ID)
	}
	switch {
	case tr.Item == in.ID:
		c.addf(p+".item", BadRule, "inject %s's trigger watches the inject itself; expected another inject", in.ID)
	case tr.Item == "":
	case c.streaming:
		c.refs = append(c.refs, triggerRef{index: i, path: p + ".item", from: string(in.ID), item: tr.Item})
	default:
		found := false
		for _, o := range c.s.Injects {
			found = found || o.ID == tr.Item
		}
		if !found {
			c.addf(p+".item", BadRule, unknownWatch, in.ID, tr.Item)
		}
	}
	if tr.Agency != "" {
		c.agency(p+".agency", tr.Agency)
	}
	kinds := 0
	for _, set := range []bool{tr.Agency != "", tr.Share != nil, tr.DeadlineMissed} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		c.addf(p, BadRule, "inject %s's trigger has %d conditions; expected one of agency, share (each maybe with missing_by) or deadline_missed", in.ID, kinds)
	}
	if tr.Share != nil && !(*tr.Share > 0 && *tr.Share <= 1) {
		c.addf(p+".share", BadValue, "share is %v; expected a share of the audience above 0 and at most 1, e.g. 0.5", *tr.Share)
	}
	if c.given(p+".missing_by") && (tr.DeadlineMissed || tr.MissingBy <= 0) {
		c.addf(p+".missing_by", BadRule, "missing_by goes with agency or share and is positive; expected e.g. missing_by: 6h")
	}
	if pi := strings.TrimSuffix(p, ".trigger"); c.given(pi+".after") && in.After.Time() < c.s.Lookahead() {
		c.addf(pi+".after", BadValue, "after is %s, shorter than the least channel latency %s; expected at least that", in.After, Duration(c.s.Lookahead()))
	}
}

// ratings checks the evaluators' ratings: one per objective, each naming
// one. Whether an inject carries that objective is only a warning
// (ratingWarnings): a MSEL import checks the scenario without its injects
// before it reads the new ones.
func (c *checker) ratings() {
	seen := map[string]int{}
	for i, r := range c.s.Ratings {
		p := index("ratings", i) + ".objective"
		obj := strings.TrimSpace(r.Objective)
		if obj == "" {
			if c.given(p) {
				c.addf(p, BadValue, "ratings[%d] names no objective; expected an objective as the injects' objective field writes it", i)
			}
			continue
		}
		if j, dup := seen[obj]; dup {
			c.addf(p, Duplicate, "objective %q is rated twice (also ratings[%d]); expected one rating per objective", obj, j)
			continue
		}
		seen[obj] = i
	}
}

// ratingWarnings finds ratings of objectives that no inject carries: they
// rate nothing, most likely because the objective's text changed.
func ratingWarnings(s *Scenario) []problem {
	var objectives []string
	for _, in := range s.Injects {
		if o := strings.TrimSpace(in.Objective); o != "" && !slices.Contains(objectives, o) {
			objectives = append(objectives, o)
		}
	}
	var out []problem
	for i, r := range s.Ratings {
		obj := strings.TrimSpace(r.Objective)
		if obj == "" || slices.Contains(objectives, obj) {
			continue
		}
		hint := "no inject has an objective"
		if len(objectives) > 0 {
			hint = fmt.Sprintf("the injects' objectives are %q", objectives)
			if near := nearest(obj, objectives); near != "" {
				hint = fmt.Sprintf("did you mean %q?", near)
			}
		}
		out = append(out, problem{index("ratings", i) + ".objective", BadValue,
			fmt.Sprintf("no inject has the objective %q, so this rating applies to nothing; expected an objective exactly as an inject writes it (%s)", obj, hint)})
	}
	return out
}

func (c *checker) background() {
	s := c.s
	if len(s.Background) > 0 && s.Duration <= 0 {
		c.addf("background", Missing, "background traffic without a duration would never end; expected duration: such as 72h")
	}
	for i, b := range s.Background {
		p := index("background", i)
		c.agencyList(p+".from", b.From)
		c.agencyList(p+".to", b.To)
		c.channel(p+".channel", b.Channel)
		for j, f := range b.From {
			if len(b.To) > 0 && !slices.ContainsFunc(b.To, func(t liaison.AgencyID) bool { return t != f }) {
				c.addf(index(p+".from", j), BadValue, "%s has no recipient in background[%d].to but itself; expected another agency in to", f, i)
			}
		}
	}
}
