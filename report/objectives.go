package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"liaison"
	"liaison/events"
)

// ExecutiveSummary opens the report, as HSEEP's after-action report does:
// what was exercised, when and by whom, how each objective was rated, and
// the most important strengths and findings.
type ExecutiveSummary struct {
	Scenario    string            `json:"scenario"`
	Title       string            `json:"title"`
	Variant     string            `json:"variant"`
	Seed        uint64            `json:"seed"`
	Exercised   string            `json:"exercised"` // the calendar span, in the scenario's time zone
	Injects     string            `json:"injects"`   // how many, from when to when
	Agencies    int               `json:"agencies"`
	Countries   []CountryAgencies `json:"countries"`
	Objectives  []ObjectiveRated  `json:"objectives"`
	Strengths   []string          `json:"major_strengths"`
	KeyFindings []Finding         `json:"key_findings"` // the first findings of the ranking, at most maxKeyFindings
}

// CountryAgencies lists the participating agencies of one country.
type CountryAgencies struct {
	Country  string   `json:"country"`
	Agencies []string `json:"agencies"`
}

// ObjectiveRated is an objective and its rating, for the summary table.
type ObjectiveRated struct {
	ID         string `json:"id"`
	Objective  string `json:"objective"`
	Rating     string `json:"rating"`
	RatingText string `json:"rating_text"`
	Evaluated  bool   `json:"rated_by_evaluators"`
}

// ObjectiveReport is the analysis of one exercise objective: the injects
// that serve it, what the players were expected to do, what happened, its
// rating, strengths and areas for improvement.
type ObjectiveReport struct {
	ID        string           `json:"id"`        // 1, 2, ... in order of the first inject
	Objective string           `json:"objective"` // as the injects write it; "" for injects without one
	Title     string           `json:"title"`
	Items     []string         `json:"items"`
	Expected  []ExpectedAction `json:"expected_actions"`
	// Rating is the evaluators' rating when the scenario gives one, else
	// Computed, the rating from the run (see rateObjective).
	Rating     string     `json:"rating"`
	RatingText string     `json:"rating_text"`
	Computed   string     `json:"computed_rating"`
	Basis      string     `json:"rating_basis"`
	Evaluated  bool       `json:"rated_by_evaluators"`
	Reason     string     `json:"evaluators_reason,omitempty"`
	Strengths  []Strength `json:"strengths"`
	// Findings are the ranks of its areas for improvement in the
	// report's Findings.
	Findings     []int         `json:"findings"`
	Facilitator  []LiveAction  `json:"facilitator_actions"` // the facilitator's actions while its injects were under way
	Observations []Observation `json:"observations"`
}

// ExpectedAction is an inject's expected player action.
type ExpectedAction struct {
	Item string `json:"item"`
	Text string `json:"text"`
}

// Strength is something the run shows went well, with its figures.
type Strength struct {
	Item  string `json:"item"`
	Kind  string `json:"kind"` // reach, channel or relay
	Where string `json:"where,omitempty"`
	Text  string `json:"text"`
}

// Observation is a player decision or an evaluator's note about an
// objective's injects.
type Observation struct {
	TSeconds float64 `json:"t_seconds"`
	At       string  `json:"at"`
	Kind     string  `json:"kind"` // decision or note
	Agency   string  `json:"agency,omitempty"`
	Item     string  `json:"item,omitempty"`
	Text     string  `json:"text"`
}

// General is the heading of the injects that name no objective.
const General = "General: injects without an objective"

// How many findings and strengths the executive summary lists.
const (
	minKeyFindings = 3
	maxKeyFindings = 5
	maxStrengths   = 3
)

// rateItem rates an inject on HSEEP's scale from its reach (see the
// methodology note):
//
//   - U when no audience member learned it by the end of the run;
//   - M when some audience members never learned it, or more than half
//     learned it after its deadline;
//   - S when some (at most half) learned it after its deadline, when a
//     reply about it missed its deadline, or, for an inject without a
//     deadline, when waits (office hours, queues, consent) took at least
//     majorShare of the time to reach its last audience member;
//   - P otherwise: the whole audience learned it in time.
//
// An inject without an audience is rated on its replies alone.
// lateFactor: an inject whose last audience member learned it more than
// this many times its deadline after the inject is rated M however few
// were late.
const lateFactor = 3

func rateItem(r *Report, it *ItemReport) {
	a := len(it.Audience)
	replies := 0
	for _, d := range r.Deadlines {
		if d.Item == it.ID && d.Agency != "" {
			replies++
		}
	}
	inTime := it.Reached
	if it.ReachedAtDeadline != nil {
		inTime = *it.ReachedAtDeadline
	}
	late := a - inTime - len(it.NeverLearned)
	deadline := ""
	if it.DeadlineSeconds != nil {
		deadline = Human(*it.DeadlineSeconds)
	}
	rating, basis := liaison.RatingP, ""
	switch {
	case a == 0:
		basis = "it has no audience, so it is rated on its replies alone"
	case it.Reached == 0:
		rating, basis = liaison.RatingU, fmt.Sprintf("none of its %d audience members learned it by the end of the run", a)
	case len(it.NeverLearned) > 0:
		rating, basis = liaison.RatingM, fmt.Sprintf("%d of its %d audience members never learned it", len(it.NeverLearned), a)
		if late > 0 {
			basis += fmt.Sprintf(" and %d learned it after its %s deadline", late, deadline)
		}
	case 2*late > a:
		rating, basis = liaison.RatingM, fmt.Sprintf("%d of its %d audience members, more than half, learned it after its %s deadline", late, a, deadline)
		if late == a {
			basis = fmt.Sprintf("%s learned it after its %s deadline", capital(allOf(a)), deadline)
		}
	case late > 0 && it.TimeToReachSeconds != nil && it.DeadlineSeconds != nil && *it.TimeToReachSeconds > lateFactor**it.DeadlineSeconds:
		// A few members, but so late that the deadline meant nothing to
		// them: how late counts as well as how many.
		rating, basis = liaison.RatingM, fmt.Sprintf("%d of its %d audience members learned it after its %s deadline, the last after %s, more than %d times the deadline",
			late, a, deadline, Human(*it.TimeToReachSeconds), lateFactor)
	case late > 0:
		rating, basis = liaison.RatingS, fmt.Sprintf("%d of its %d audience members learned it after its %s deadline", late, a, deadline)
	case it.DeadlineSeconds != nil:
		basis = fmt.Sprintf("%s learned it within its %s deadline, the last after %s", allOf(a), deadline, optHuman(it.TimeToReachSeconds))
	default:
		basis = fmt.Sprintf("%s learned it, the last after %s (it has no deadline)", allOf(a), optHuman(it.TimeToReachSeconds))
		if w := waitShare(it); w >= majorShare {
			rating = liaison.RatingS
			basis += fmt.Sprintf("; waiting for office hours, staff or consent took %s of that time", pct(w))
		}
	}
	if replies > 0 {
		if rating == liaison.RatingP {
			rating = liaison.RatingS
		}
		basis += fmt.Sprintf("; %s about it missed the reply deadline", liaison.Plural(replies, "answer", "answers"))
	}
	it.Rating, it.RatingBasis = string(rating), basis
}

// allOf names a whole audience of n: "its only audience member", "both
// audience members", "all 5 audience members".
func allOf(n int) string {
	switch n {
	case 1:
		return "its only audience member"
	case 2:
		return "both audience members"
	}
	return fmt.Sprintf("all %d audience members", n)
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// waitShare is the share of the last audience member's time to learn an
// item spent waiting: for office hours, for staff, for consent, or for a
// player's decision.
func waitShare(it *ItemReport) float64 {
	for _, l := range it.Learned {
		if l.Agency != it.Critical || l.SinceInject <= 0 {
			continue
		}
		w := 0.0
		for _, s := range l.Segments {
			if s.Kind == SegHold || s.Kind == SegQueue || s.Kind == SegConsent || s.Kind == SegDecision {
				w += s.Seconds
			}
		}
		return w / l.SinceInject
	}
	return 0
}

// rateObjective combines its injects' ratings: the worst of them, except
// that an objective is unable to be performed (U) only when all of its
// injects are; when only some are, it was performed with major
// challenges (M).
func rateObjective(items []*ItemReport) (liaison.Rating, string) {
	worst, allU := liaison.RatingP, true
	var parts []string
	for _, it := range items {
		ir := liaison.Rating(it.Rating)
		if ir.Worse(worst) {
			worst = ir
		}
		allU = allU && ir == liaison.RatingU
		parts = append(parts, fmt.Sprintf("%s %s (%s)", it.ID, it.Rating, it.RatingBasis))
	}
	if len(items) == 1 {
		return worst, fmt.Sprintf("%s: %s", items[0].ID, items[0].RatingBasis)
	}
	basis := "the worst of its injects' ratings: " + strings.Join(parts, "; ")
	if worst == liaison.RatingU && !allU {
		worst = liaison.RatingM
		basis += "; as not all of them were unable to be performed, the objective was performed with major challenges"
	}
	return worst, basis
}

// objectives groups the items by objective (in order of their first
// item, those without one last under General) and analyses each.
func (r *Report) objectives(lg *Log) {
	r.Objectives = []ObjectiveReport{}
	byText := map[string]int{}
	var members [][]*ItemReport
	general := -1
	for i := range r.Items {
		it := &r.Items[i]
		k, ok := byText[it.Objective]
		if !ok {
			k = len(members)
			byText[it.Objective] = k
			members = append(members, nil)
			if it.Objective == "" {
				general = k
			}
		}
		members[k] = append(members[k], it)
	}
	if general >= 0 { // the general heading comes last
		members = append(append(members[:general:general], members[general+1:]...), members[general])
	}
	ratings := map[string]int{}
	for i, o := range lg.Info.Ratings {
		ratings[strings.TrimSpace(o.Objective)] = i
	}
	applied := map[string]bool{}
	for n, its := range members {
		o := ObjectiveReport{ID: fmt.Sprint(n + 1), Objective: its[0].Objective, Title: its[0].Objective,
			Expected: []ExpectedAction{}, Strengths: []Strength{}, Findings: []int{}, Facilitator: []LiveAction{}}
		if o.Objective == "" {
			o.Title = General
		}
		rating, basis := rateObjective(its)
		o.Computed, o.Rating, o.Basis = string(rating), string(rating), basis
		if i, ok := ratings[o.Objective]; ok && o.Objective != "" {
			ev := lg.Info.Ratings[i]
			o.Rating, o.Evaluated, o.Reason = ev.Rating, true, ev.Reason
			applied[o.Objective] = true
		}
		o.RatingText = liaison.Rating(o.Rating).Text()
		first, last := r.Overview.EndSeconds, 0.0
		for _, it := range its {
			o.Items = append(o.Items, it.ID)
			text := it.Expected
			if text == "" {
				text = "(the inject gives no expected action)"
			}
			o.Expected = append(o.Expected, ExpectedAction{Item: it.ID, Text: text})
			o.Strengths = append(o.Strengths, strengths(r, it)...)
			first, last = min(first, it.AtSeconds), max(last, itemEnd(r, it))
		}
		for _, f := range r.Findings {
			if slices.Contains(o.Items, f.Item) {
				o.Findings = append(o.Findings, f.Rank)
			}
		}
		for _, l := range r.Live {
			if l.TSeconds >= first && l.TSeconds <= last {
				o.Facilitator = append(o.Facilitator, l)
			}
		}
		o.Observations = observations(r, lg, &o)
		r.Objectives = append(r.Objectives, o)
	}
	for _, o := range lg.Info.Ratings {
		if !applied[strings.TrimSpace(o.Objective)] {
			r.Unrated = append(r.Unrated, o)
		}
	}
}

// itemEnd is when an item stopped mattering: its deadline or its last
// audience member's learning, whichever is later (the end of the run
// when some never learned it).
func itemEnd(r *Report, it *ItemReport) float64 {
	end := it.AtSeconds
	if it.DeadlineSeconds != nil {
		end += *it.DeadlineSeconds
	}
	switch {
	case len(it.NeverLearned) > 0:
		return r.Overview.EndSeconds
	case it.TimeToReachSeconds != nil:
		return max(end, it.AtSeconds+*it.TimeToReachSeconds)
	}
	return end
}

// observations returns the player decisions and evaluator notes that the
// log records about an objective, in log order: the decided events of its
// items (a player's choice, or the rules' when the player's time ran out)
// and the notes that name the objective (notes that name none go under the
// injects without one). It is the one place the report takes them from;
// every format lists them under the objective's "what happened".
func observations(r *Report, lg *Log, o *ObjectiveReport) []Observation {
	out := []Observation{}
	for _, rec := range lg.Events {
		switch rec.Kind {
		case events.DecisionMade:
			if rec.Item < 0 || !slices.Contains(o.Items, string(lg.Names.Items[rec.Item])) {
				continue
			}
			d, ok := events.DecidedOf(&rec.Event)
			if !ok {
				continue
			}
			out = append(out, Observation{TSeconds: rec.T.Seconds(), At: r.wall(rec.T.Seconds()), Kind: "decision",
				Agency: string(lg.Names.Agencies[rec.Agency]), Item: string(lg.Names.Items[rec.Item]), Text: decisionText(d)})
		case events.Note:
			d, ok := events.ActionDefOf(&rec.Event)
			if !ok || strings.TrimSpace(d.Objective) != o.Objective {
				continue
			}
			out = append(out, Observation{TSeconds: rec.T.Seconds(), At: r.wall(rec.T.Seconds()), Kind: "note",
				Agency: string(d.Agency), Text: d.Text})
		}
	}
	return out
}

// decisionText says what a player's agency did with a handled message.
func decisionText(d events.Decided) string {
	var what string
	switch d.Action {
	case events.ChooseShare:
		what = "shared it with " + strings.Join(agencyStrings(d.To), ", ")
		if d.Channel != "" {
			what += " over " + string(d.Channel)
		}
	case events.ChooseReply:
		what = "replied"
	case events.ChooseHold:
		what = "held it"
	case events.ChooseRules:
		what = "did what its rules say"
	default:
		what = d.Action
	}
	if d.By == "rules" {
		return "the player did not decide in time; the agency's rules acted"
	}
	return "the player " + what
}

func agencyStrings(ids []liaison.AgencyID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// strengths finds what went well with an item, among the audience members
// who learned it in time (by its deadline; all who learned it when it
// has none):
//
//   - reach: the whole audience learned it in time;
//   - channel: the channel that carried it on the last hop to the most of
//     them (two at least), when the time on it (transit, and any wait
//     for an outage to end) was at most fastShare of the reference time
//     (the deadline, or the time to reach) on each path;
//   - relay: the agency that passed it on towards the most of them (two
//     at least), when it held the item (office hours, queue, handling,
//     fan-out) at most fastShare of the reference time on each path.
//
// A channel or agency that one of the item's findings names is no
// strength of it.
func strengths(r *Report, it *ItemReport) []Strength {
	var out []Strength
	a := len(it.Audience)
	var inTime []*Learning
	for i := range it.Learned {
		l := &it.Learned[i]
		if l.InAudience && (it.DeadlineSeconds == nil || l.SinceInject <= *it.DeadlineSeconds) {
			inTime = append(inTime, l)
		}
	}
	if a > 0 && len(inTime) == a {
		t := optHuman(it.TimeToReachSeconds)
		all := allOf(a)
		text := fmt.Sprintf("%s reached %s; the last, %s, after %s.", it.ID, all, it.Critical, t)
		if a == 1 {
			text = fmt.Sprintf("%s reached its only audience member, %s, after %s.", it.ID, it.Critical, t)
		}
		if d := it.DeadlineSeconds; d != nil {
			text = fmt.Sprintf("%s reached %s in %s, %s inside its %s deadline.", it.ID, all, t,
				Human(*d-*it.TimeToReachSeconds), Human(*d))
		}
		out = append(out, Strength{Item: it.ID, Kind: "reach", Text: text})
	}
	ref, refText := 0.0, ""
	switch {
	case it.DeadlineSeconds != nil:
		ref, refText = *it.DeadlineSeconds, "of the "+Human(*it.DeadlineSeconds)+" deadline"
	case it.TimeToReachSeconds != nil:
		ref, refText = *it.TimeToReachSeconds, "of the "+Human(*it.TimeToReachSeconds)+" time to reach"
	}
	if ref <= 0 || len(inTime) == 0 {
		return out
	}
	named := map[string]bool{} // what the item's findings name, by kind
	for _, f := range r.Findings {
		if f.Item == it.ID {
			for _, e := range f.Evidence {
				named[f.Kind+"/"+e.Where] = true
			}
		}
	}
	type tally struct {
		learners []string
		longest  float64
	}
	better := func(m map[string]*tally, x, y string) bool {
		if len(m[x].learners) != len(m[y].learners) {
			return len(m[x].learners) > len(m[y].learners)
		}
		return m[x].longest < m[y].longest || m[x].longest == m[y].longest && x < y
	}
	channels, relays := map[string]*tally{}, map[string]*tally{}
	for _, l := range inTime {
		if len(l.Path) == 0 {
			continue
		}
		ch := l.Path[len(l.Path)-1].Channel
		transit := 0.0
		held := map[string]float64{}
		for _, s := range l.Segments {
			switch s.Kind {
			case SegTransit, SegOutage:
				if s.Channel == ch {
					transit += s.Seconds
				}
			case SegHold, SegQueue, SegHandling, SegDecision, SegFanout:
				held[s.Agency] += s.Seconds
			}
		}
		if channels[ch] == nil {
			channels[ch] = &tally{}
		}
		channels[ch].learners = append(channels[ch].learners, l.Agency)
		channels[ch].longest = max(channels[ch].longest, transit)
		seen := map[string]bool{}
		for _, h := range l.Path {
			if consentTypes[h.Type] || h.From == l.Agency || seen[h.From] {
				continue
			}
			seen[h.From] = true
			if relays[h.From] == nil {
				relays[h.From] = &tally{}
			}
			relays[h.From].learners = append(relays[h.From].learners, l.Agency)
			relays[h.From].longest = max(relays[h.From].longest, held[h.From])
		}
	}
	pick := func(m map[string]*tally, excluded func(string) bool) string {
		best := ""
		for _, k := range sortedKeys(m) {
			if !excluded(k) && len(m[k].learners) >= 2 && m[k].longest <= fastShare*ref && (best == "" || better(m, k, best)) {
				best = k
			}
		}
		return best
	}
	inTimeWords := "in time"
	if it.DeadlineSeconds == nil {
		inTimeWords = "who learned it"
	}
	if ch := pick(channels, func(c string) bool { return named[SegTransit+"/"+c] || named[SegOutage+"/"+c] }); ch != "" {
		t := channels[ch]
		out = append(out, Strength{Item: it.ID, Kind: "channel", Where: ch, Text: fmt.Sprintf(
			"Channel %s carried %s to %s %s (%s), taking at most %s on each path (%s %s).",
			ch, it.ID, liaison.Plural(len(t.learners), "audience member", "audience members"), inTimeWords, joinAnd(t.learners),
			Human(t.longest), pct(t.longest/ref), refText)})
	}
	if ag := pick(relays, func(a string) bool {
		return named[SegHold+"/"+a] || named[SegQueue+"/"+a] || named[SegHandling+"/"+a] || named[SegDecision+"/"+a] || named[SegFanout+"/"+a]
	}); ag != "" {
		t := relays[ag]
		out = append(out, Strength{Item: it.ID, Kind: "relay", Where: ag, Text: fmt.Sprintf(
			"%s passed %s on towards %s %s (%s), holding it at most %s on each path (%s %s).",
			ag, it.ID, liaison.Plural(len(t.learners), "audience member", "audience members"), inTimeWords, joinAnd(t.learners),
			Human(t.longest), pct(t.longest/ref), refText)})
	}
	return out
}

// summarise writes the executive summary from the rest of the report.
func (r *Report) summarise() {
	o := &r.Overview
	s := ExecutiveSummary{Scenario: o.Scenario, Title: o.Title, Variant: o.Variant, Seed: o.Seed,
		Exercised: fmt.Sprintf("%s to %s (%s; %s of simulated time)", r.wall(0), r.wall(o.EndSeconds), o.TimeZone, Human(o.EndSeconds)),
		Agencies:  len(o.Agencies), Countries: []CountryAgencies{}, Objectives: []ObjectiveRated{},
		Strengths: []string{}, KeyFindings: []Finding{}}
	if n := len(r.Items); n > 0 {
		first, last := r.Items[0].AtSeconds, r.Items[0].AtSeconds
		for _, it := range r.Items {
			first, last = min(first, it.AtSeconds), max(last, it.AtSeconds)
		}
		s.Injects = liaison.Plural(n, "inject", "injects")
		if first == last {
			s.Injects += ", at " + r.wall(first)
		} else {
			s.Injects += fmt.Sprintf(", from %s to %s", r.wall(first), r.wall(last))
		}
	} else {
		s.Injects = "no injects"
	}
	at := map[string]int{}
	for _, a := range o.Agencies {
		c := a.Country
		if c == "" {
			c = "(no country)"
		}
		i, ok := at[c]
		if !ok {
			i = len(s.Countries)
			at[c] = i
			s.Countries = append(s.Countries, CountryAgencies{Country: c})
		}
		s.Countries[i].Agencies = append(s.Countries[i].Agencies, a.ID)
	}
	for _, ob := range r.Objectives {
		s.Objectives = append(s.Objectives, ObjectiveRated{ID: ob.ID, Objective: ob.Title, Rating: ob.Rating,
			RatingText: ob.RatingText, Evaluated: ob.Evaluated})
	}
	// Major strengths: whole audiences reached in time first, then the
	// channels and agencies that passed items fast.
	// channels and agencies that passed items fast, each named once.
	named := map[string]bool{}
	for _, kind := range []string{"reach", "channel", "relay"} {
		for _, ob := range r.Objectives {
			for _, st := range ob.Strengths {
				if st.Kind == kind && len(s.Strengths) < maxStrengths && (st.Where == "" || !named[kind+"/"+st.Where]) {
					s.Strengths = append(s.Strengths, st.Text)
					named[kind+"/"+st.Where] = true
				}
			}
		}
	}
	// Key findings: the high and medium ones, at most maxKeyFindings; low
	// ones only to make up minKeyFindings.
	for _, f := range r.Findings {
		if len(s.KeyFindings) < maxKeyFindings && (f.Priority != PriorityLow || len(s.KeyFindings) < minKeyFindings) {
			s.KeyFindings = append(s.KeyFindings, f)
		}
	}
	r.Summary = s
}

// ratingClass is the CSS class of a rating's badge.
func ratingClass(rating string) string {
	return "rating rating-" + strings.ToLower(cmp.Or(rating, "none"))
}
