package scenarios

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"liaison"
)

// Parse decodes and validates a scenario file's contents; file names it in
// errors and becomes the scenario's Source. It checks the base scenario and
// every variant applied to it, and reports all problems as an ErrorList.
// On success the defaults are filled in: staff 1, hours 24/7, inject TLP
// GREEN, originator the receiving agency, and every Location resolved.
func Parse(file string, data []byte) (*Scenario, error) {
	s, errs := decodeFile(file, data)
	if s == nil {
		return nil, errs.err()
	}
	given := func(p string) bool { _, ok := s.Positions[p]; return ok }
	// A value the decoder rejected is left zero; checking it again would
	// only repeat the complaint in other words.
	rejected := map[string]bool{}
	for _, e := range errs {
		if e.Kind != Missing { // a missing field's path is its parent's
			rejected[e.Path] = true
		}
	}
	type key struct{ path, msg string }
	base := map[key]bool{}
	for _, p := range check(s, given) {
		if rejected[p.path] {
			continue
		}
		base[key{p.path, p.msg}] = true
		errs = append(errs, s.errorAt(p.path, p.kind, p.msg))
	}
	for k, v := range s.Variants {
		for _, p := range s.variantDecls(k) {
			errs = append(errs, s.errorAt(p.path, p.kind, p.msg))
		}
		applied, org := s.apply(k)
		for _, p := range check(applied, func(p string) bool { return given(org.file(p)) }) {
			path := org.file(p.path)
			if rejected[path] {
				continue
			}
			if !strings.HasPrefix(path, "variants[") {
				if base[key{path, p.msg}] {
					continue // the base's own problem, already reported
				}
				p.msg += fmt.Sprintf(" (in variant %s)", v.Name)
			}
			errs = append(errs, s.errorAt(path, p.kind, p.msg))
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	s.Warnings = s.warnings()
	s.fillDefaults()
	return s, nil
}

// InjectChecker checks injects one at a time against a parsed scenario,
// as Parse checks a scenario's own: fields, agencies, unique ids, a time
// before the end of the run, and an audience that can be reached in the
// base scenario and in every variant. A tool can so stream a long inject
// list (an MSEL import) without building it into one document. The
// scenario's own injects count as given before the first.
type InjectChecker struct {
	checkers []*checker // the base, then each variant applied
	variants []string
	n        int // index of the next inject
}

// NewInjectChecker returns a checker of further injects for s, which
// Parse has accepted.
func (s *Scenario) NewInjectChecker() *InjectChecker {
	ic := &InjectChecker{n: len(s.Injects)}
	given := func(p string) bool { _, ok := s.Positions[p]; return ok }
	c := &checker{s: s, given: given, agencies: map[liaison.AgencyID]bool{}, channels: map[liaison.ChannelID]bool{}}
	c.agencyDecls()
	c.channelDecls()
	c.injects()
	ic.checkers, ic.variants = append(ic.checkers, c), append(ic.variants, "")
	for k, v := range s.Variants {
		applied, _ := s.apply(k)
		c := &checker{s: applied, given: given, agencies: map[liaison.AgencyID]bool{}, channels: map[liaison.ChannelID]bool{}}
		c.agencyDecls()
		c.channelDecls()
		c.injects()
		ic.checkers, ic.variants = append(ic.checkers, c), append(ic.variants, v.Name)
	}
	for _, c := range ic.checkers {
		c.problems = nil
		c.streaming = true
	}
	return ic
}

// Done checks what could only be checked once every inject was seen: that
// each trigger watches an inject of the scenario, and that no triggers
// wait for each other in a cycle. A cycle is reported at the first of its
// injects that was checked here.
func (ic *InjectChecker) Done() error {
	c := ic.checkers[0]
	var errs ErrorList
	// The scenario's injects come before those checked here, and the
	// triggers of these are refs.
	var edges []triggerEdge
	for i, in := range c.s.Injects {
		if in.Trigger != nil {
			edges = append(edges, triggerEdge{i, in.ID, in.Trigger.Item})
		}
	}
	own := len(edges)
	for _, r := range c.refs {
		if _, ok := c.injectIDs[r.item]; !ok {
			errs = append(errs, &Error{File: r.file, Pos: r.pos, Path: r.path, Kind: BadRule,
				Msg: fmt.Sprintf(unknownWatch, r.from, r.item)})
		}
		edges = append(edges, triggerEdge{r.index, liaison.ItemID(r.from), r.item})
	}
	for _, cy := range triggerCycles(edges) {
		// The scenario's own injects, which Parse accepted, have no
		// cycle of their own: one of the cycle was checked here.
		at := slices.IndexFunc(cy, func(k int) bool { return k >= own })
		if at < 0 {
			p := index("injects", edges[cy[0]].index) + ".trigger.item"
			errs = append(errs, c.s.errorAt(p, BadRule, cycleMsg(edges, cy)))
			continue
		}
		cy = slices.Concat(cy[at:], cy[:at])
		r := c.refs[cy[0]-own]
		errs = append(errs, &Error{File: r.file, Pos: r.pos, Path: r.path, Kind: BadRule, Msg: cycleMsg(edges, cy)})
	}
	return errs.err()
}

// Check decodes n, a mapping in the scenario file's inject format, as the
// scenario's next inject and checks it. Errors name file and the
// positions of n's nodes, and their paths start with injects[N], N being
// the inject's index in the scenario.
func (ic *InjectChecker) Check(file string, n *yaml.Node) (*Inject, error) {
	i := ic.n
	ic.n++
	prefix := index("injects", i)
	d := &decoder{file: file, pos: Positions{}}
	var in Inject
	d.decode(n, valueOf(&in), prefix, nil)
	if d.tooLarge {
		return nil, d.errs.err()
	}
	errs := d.errs
	rejected := map[string]bool{}
	for _, e := range errs {
		if e.Kind != Missing {
			rejected[e.Path] = true
		}
	}
	type key struct{ path, msg string }
	base := map[key]bool{}
	refs := len(ic.checkers[0].refs)
	defer func() {
		// Where the trigger's reference is, for Done.
		for j := refs; j < len(ic.checkers[0].refs); j++ {
			r := &ic.checkers[0].refs[j]
			r.file, r.pos = file, d.pos[r.path]
		}
	}()
	for k, c := range ic.checkers {
		c.problems = c.problems[:0]
		c.inject(i, in)
		c.reachable(i, in)
		for _, p := range c.problems {
			switch {
			case rejected[p.path]:
				continue
			case k == 0:
				base[key{p.path, p.msg}] = true
			case base[key{p.path, p.msg}]:
				continue // the base's problem, already reported
			default:
				p.msg += fmt.Sprintf(" (in variant %s)", ic.variants[k])
			}
			pos, ok := d.pos[p.path]
			for q := p.path; !ok && q != prefix && q != ""; {
				q = q[:max(strings.LastIndexAny(q, ".["), 0)]
				pos, ok = d.pos[q]
			}
			errs = append(errs, &Error{File: file, Pos: pos, Path: p.path, Kind: p.kind, Msg: p.msg})
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return &in, nil
}

// warnings finds what a valid file probably does not mean, in the base
// scenario and in each variant (a variant's own warnings say so).
func (s *Scenario) warnings() ErrorList {
	var out ErrorList
	base := map[string]bool{}
	for _, p := range consentWarnings(s) {
		base[p.path+"\x00"+p.msg] = true
		out = append(out, s.warningAt(p.path, p.kind, p.msg))
	}
	for _, p := range ratingWarnings(s) { // variants do not change the injects
		out = append(out, s.warningAt(p.path, p.kind, p.msg))
	}
	for k, v := range s.Variants {
		applied, org := s.apply(k)
		for _, p := range consentWarnings(applied) {
			path := org.file(p.path)
			if base[path+"\x00"+p.msg] {
				continue
			}
			out = append(out, s.warningAt(path, p.kind, p.msg+" (in variant "+v.Name+")"))
		}
	}
	out.sort()
	return out
}

func (s *Scenario) warningAt(path string, kind Kind, msg string) *Error {
	e := s.errorAt(path, kind, msg)
	e.Warning = true
	return e
}

// Load reads and parses a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// errorAt positions a problem at its path, or at the nearest enclosing node
// the file has (a missing field is reported where its parent starts).
func (s *Scenario) errorAt(path string, kind Kind, msg string) *Error {
	p := path
	for {
		if pos, ok := s.Positions[p]; ok {
			return &Error{File: s.Source, Pos: pos, Path: path, Kind: kind, Msg: msg}
		}
		if p == "" {
			return &Error{File: s.Source, Pos: Pos{1, 1}, Path: path, Kind: kind, Msg: msg}
		}
		p = p[:max(strings.LastIndexAny(p, ".["), 0)]
	}
}

// variantDecls checks what only makes sense in the overlay itself: ids
// given twice in one overlay, and removals of channels the base lacks.
func (s *Scenario) variantDecls(k int) []problem {
	v := s.Variants[k]
	vp := index("variants", k)
	c := &checker{s: s}
	seen := map[string]int{}
	for j, ch := range v.Channels {
		if i, dup := seen[string(ch.ID)]; dup {
			c.addf(index(vp+".channels", j)+".id", Duplicate, "channel %q is given twice in variant %s (also %s.channels[%d]); expected each id once", ch.ID, v.Name, vp, i)
		}
		seen[string(ch.ID)] = j
	}
	clear(seen)
	for j, a := range v.Agencies {
		if i, dup := seen[string(a.ID)]; dup {
			c.addf(index(vp+".agencies", j)+".id", Duplicate, "agency %q is given twice in variant %s (also %s.agencies[%d]); expected each id once", a.ID, v.Name, vp, i)
		}
		seen[string(a.ID)] = j
	}
	ids := map[liaison.ChannelID]bool{}
	for _, ch := range s.Channels {
		ids[ch.ID] = true
	}
	for j, id := range v.RemoveChannels {
		if !ids[id] {
			c.addf(index(vp+".remove-channels", j), UnknownChannel, "variant %s removes unknown channel %q; expected one of the base channels: %s", v.Name, id, known(ids))
		}
	}
	return c.problems
}

// fillDefaults fills what a file may leave out. It is idempotent, so
// Apply can call it on a scenario that Parse has filled already.
func (s *Scenario) fillDefaults() {
	if s.Location == nil && s.TimeZone != "" {
		s.Location, _ = time.LoadLocation(s.TimeZone)
	}
	if s.Location == nil {
		_, off := s.Start.Zone()
		s.Location = time.FixedZone("UTC"+s.Start.Format("-07:00"), off)
	}
	agency := func(a *Agency) {
		if a.Staff == 0 {
			a.Staff = 1
		}
		if !a.Hours.Always && len(a.Hours.Spans) == 0 {
			a.Hours = Hours{Always: true, Text: "24/7"}
		}
		if a.Location == nil && a.TimeZone != "" {
			a.Location, _ = time.LoadLocation(a.TimeZone)
		}
		if a.Location == nil {
			a.Location = s.Location
		}
	}
	for i := range s.Agencies {
		agency(&s.Agencies[i])
	}
	for k := range s.Variants {
		for i := range s.Variants[k].Agencies {
			agency(&s.Variants[k].Agencies[i])
		}
	}
	for i := range s.Injects {
		in := &s.Injects[i]
		if !in.TLP.Set {
			in.TLP.Level = liaison.TLPGreen
		}
		if in.Originator == "" {
			in.Originator = in.To
		}
	}
}

// Agency returns the agency with the given id, or nil.
func (s *Scenario) Agency(id liaison.AgencyID) *Agency {
	for i := range s.Agencies {
		if s.Agencies[i].ID == id {
			return &s.Agencies[i]
		}
	}
	return nil
}

// Channel returns the channel with the given id, or nil.
// Parties returns every agency that takes part in the channel, sorted:
// its members, both sides of a liaison channel, and its hub or officer.
func (c *Channel) Parties() []liaison.AgencyID {
	var out []liaison.AgencyID
	out = append(out, c.Members...)
	for _, side := range c.Sides {
		out = append(out, side...)
	}
	for _, relay := range []liaison.AgencyID{c.Hub, c.Officer} {
		if relay != "" {
			out = append(out, relay)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Scenario) Channel(id liaison.ChannelID) *Channel {
	for i := range s.Channels {
		if s.Channels[i].ID == id {
			return &s.Channels[i]
		}
	}
	return nil
}

// Lookahead is the least latency of any channel: no message sent at t can
// arrive before t plus the lookahead, which is what lets the time service
// advance every agent together. It is liaison.Never without channels.
func (s *Scenario) Lookahead() liaison.Time {
	l := liaison.Never
	for _, ch := range s.Channels {
		l = min(l, ch.Latency.Min())
	}
	return l
}

// ConsentChance is the probability that the agency grants a third-party
// release it is asked for: Consent, or 1 when the file gives none.
func (a *Agency) ConsentChance() float64 {
	if a.Consent == nil {
		return 1
	}
	return *a.Consent
}

// Chance is the probability that the rule fires: Probability, or 1 when
// the file gives none.
func (r *Rule) Chance() float64 {
	if r.Probability == nil {
		return 1
	}
	return *r.Probability
}
