package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"liaison"
	"liaison/events"
)

// Finding is one area for improvement, with the figures it rests on: a
// stretch of time (office hours, queue, handling, fan-out, outage,
// transit, consent) that
// holds a large share of an audience member's time to learn an item,
// audience members the item never reached, or replies that missed their
// deadline. The ranked findings are the improvement plan: Text is the
// issue, Action the recommendation.
type Finding struct {
	Rank     int    `json:"rank"`
	Priority string `json:"priority"` // high, medium or low (see priorityOf)
	// Kind is a segment kind, "drop" (audience members not reached because
	// messages to them were dropped; Where is the reason), "unreached" (no
	// path reached them), "withheld" (a player chose not to pass the item
	// on where the rules would have; Where is the agency) or "reply"
	// (answers after their deadline).
	Kind      string `json:"kind"`
	Where     string `json:"where"`
	Item      string `json:"item"`
	Objective string `json:"objective"` // the objective heading it belongs to
	// Share is the largest share of one audience member's time to learn
	// the item that this finding holds (1 for audience members never
	// reached); Seconds the largest time it cost one of them.
	Share       float64    `json:"share"`
	Seconds     float64    `json:"seconds"`
	Responsible []string   `json:"responsible"`
	Evidence    []Evidence `json:"evidence"`
	Text        string     `json:"text"`
	Action      string     `json:"action"`
}

// Evidence is one figure behind a finding: time charged to an agency or a
// channel on the path by which one audience member learned the item.
type Evidence struct {
	Where   string `json:"where"`   // the agency or channel charged (drop: the agency that dropped)
	Learner string `json:"learner"` // the audience member on whose path it lies
	// Seconds is the time charged; LearnedAfter the learner's time to
	// learn since the inject (0 for one that never learned), Share the
	// first over the second.
	Seconds      float64 `json:"seconds"`
	LearnedAfter float64 `json:"learned_after_seconds"`
	Share        float64 `json:"share"`
	// Decisive: without this time the learner would have met the deadline.
	Decisive bool   `json:"decisive"`
	Until    string `json:"until,omitempty"` // office hours: when the office opened
	At       string `json:"at,omitempty"`    // replies: when the late answer went
}

// Priorities of findings.
const (
	PriorityHigh   = "high"
	PriorityMedium = "medium"
	PriorityLow    = "low"
)

// Thresholds of the findings and strengths; the methodology note and the
// README state them.
const (
	// minShareLate: below this share of a late audience member's time to
	// learn, a stretch is trivial and makes no finding.
	minShareLate = 0.05
	// minShareInTime: for an item that met its deadline or has none, a
	// stretch must hold this share of the last learner's time to learn
	// (and, with a deadline, be at least this share of the deadline).
	minShareInTime = 0.25
	// majorShare: a stretch holding this share of an item without a
	// deadline is of medium priority; waits (office hours, queue,
	// consent) over it make the item's rating S.
	majorShare = 0.5
	// fastShare: a channel or agency passed an item fast when the time
	// it took is at most this share of the deadline (or, without one, of
	// the time to reach).
	fastShare = 0.25
)

var segKinds = []string{SegHold, SegQueue, SegConsent, SegDecision, SegHandling, SegFanout, SegOutage, SegTransit}

func priorityRank(p string) int {
	switch p {
	case PriorityHigh:
		return 0
	case PriorityMedium:
		return 1
	}
	return 2
}

// lateLearners are the audience members whose paths the findings analyse:
// those who learned the item after its missed deadline (none when the
// deadline was missed only by members who never learned it, which
// unreachedFindings covers); for an item that met its deadline or has
// none, the last audience member to learn it, whose path sets the time
// to reach.
func lateLearners(it *ItemReport) (ls []*Learning, late bool) {
	if it.DeadlineMet != nil && !*it.DeadlineMet && it.DeadlineSeconds != nil {
		for i := range it.Learned {
			l := &it.Learned[i]
			if l.InAudience && l.SinceInject > *it.DeadlineSeconds {
				ls = append(ls, l)
			}
		}
		return ls, len(ls) > 0
	}
	for i := range it.Learned {
		if it.Learned[i].Agency == it.Critical && it.Critical != "" {
			return []*Learning{&it.Learned[i]}, false
		}
	}
	return nil, false
}

// chargedTo names what a segment is charged to: the channel for transit
// and outages, else the agency.
func chargedTo(s *Segment) string {
	if onChannel(s.Kind) {
		return s.Channel
	}
	return s.Agency
}

// onChannel says whether a kind of segment is charged to a channel.
func onChannel(kind string) bool { return kind == SegTransit || kind == SegOutage }

// findings ranks the areas for improvement. For each item, every stretch
// of time on the paths of its late learners (see lateLearners) is charged
// to an agency or channel; a charge that holds at least minShareLate of a
// late learner's time to learn (minShareInTime when the item met its
// deadline or has none) is evidence, and the evidence of one kind makes
// one finding per item. Audience members never reached and late replies
// make findings too. They are ranked by priority, then by share.
func findings(r *Report) []Finding {
	var out []Finding
	for i := range r.Items {
		it := &r.Items[i]
		out = append(out, delayFindings(r, it)...)
		out = append(out, unreachedFindings(r, it)...)
		out = append(out, replyFindings(r, it)...)
	}
	order := map[string]int{}
	for i, it := range r.Items {
		order[it.ID] = i
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(priorityRank(a.Priority), priorityRank(b.Priority)),
			cmp.Compare(b.Share, a.Share), cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(order[a.Item], order[b.Item]))
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	if out == nil {
		out = []Finding{}
	}
	return out
}

func delayFindings(r *Report, it *ItemReport) []Finding {
	ls, late := lateLearners(it)
	minShare := minShareInTime
	if late {
		minShare = minShareLate
	}
	byKind := map[string][]Evidence{}
	senders := map[string][]string{} // channel → agencies that sent on it on these paths
	for _, l := range ls {
		if l.SinceInject <= 0 {
			continue
		}
		type key struct{ kind, where string }
		sum := map[key]float64{}
		until := map[key]float64{}
		var keys []key
		for i := range l.Segments {
			s := &l.Segments[i]
			k := key{s.Kind, chargedTo(s)}
			if _, ok := sum[k]; !ok {
				keys = append(keys, k)
			}
			sum[k] += s.Seconds
			until[k] = s.Start + s.Seconds
		}
		for _, h := range l.Path {
			if !slices.Contains(senders[h.Channel], h.From) {
				senders[h.Channel] = append(senders[h.Channel], h.From)
			}
		}
		for _, k := range keys {
			sec := events.Round3(sum[k])
			share := sec / l.SinceInject
			if sec <= 0 || share < minShare || !late && it.DeadlineSeconds != nil && sec < minShareInTime**it.DeadlineSeconds {
				continue
			}
			e := Evidence{Where: k.where, Learner: l.Agency, Seconds: sec, LearnedAfter: l.SinceInject, Share: events.Round3(share)}
			if late {
				e.Decisive = l.SinceInject-sec <= *it.DeadlineSeconds
			}
			if k.kind == SegHold {
				e.Until = r.wall(until[k])
			}
			byKind[k.kind] = append(byKind[k.kind], e)
		}
	}
	var out []Finding
	for _, kind := range segKinds {
		evs := byKind[kind]
		if len(evs) == 0 {
			continue
		}
		slices.SortStableFunc(evs, func(a, b Evidence) int {
			return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Where, b.Where),
				cmp.Compare(a.Learner, b.Learner))
		})
		f := Finding{Kind: kind, Item: it.ID, Objective: it.Objective, Evidence: evs}
		var wheres []string
		for _, e := range evs {
			f.Share = max(f.Share, e.Share)
			f.Seconds = max(f.Seconds, e.Seconds)
			if !slices.Contains(wheres, e.Where) {
				wheres = append(wheres, e.Where)
			}
		}
		f.Where = strings.Join(wheres, ", ")
		f.Responsible = responsible(r, kind, wheres, senders)
		f.Priority = delayPriority(it, late, evs, f.Share)
		f.Text = delayText(it, kind, evs, late, len(ls))
		f.Action = delayAction(kind, wheres)
		out = append(out, f)
	}
	return out
}

// delayPriority: high when the stretch alone made an audience member miss
// the deadline; medium when the deadline was missed anyway, or when an
// item without a deadline spent at least majorShare of its time in it;
// low otherwise.
func delayPriority(it *ItemReport, late bool, evs []Evidence, share float64) string {
	switch {
	case late && slices.ContainsFunc(evs, func(e Evidence) bool { return e.Decisive }):
		return PriorityHigh
	case late, it.DeadlineSeconds == nil && share >= majorShare:
		return PriorityMedium
	}
	return PriorityLow
}

// responsible names who can act on a finding: the agencies charged, the
// originator for consent, and for transit and outages the channel's relay
// (hub or officer), or else the agencies that sent on it.
func responsible(r *Report, kind string, wheres []string, senders map[string][]string) []string {
	if !onChannel(kind) {
		return slices.Clone(wheres)
	}
	var out []string
	for _, ch := range wheres {
		who := senders[ch]
		for _, c := range r.Overview.Channels {
			if c.ID == ch && c.Relay != "" {
				who = []string{c.Relay}
			}
		}
		for _, a := range who {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// pct writes a share as a percentage: "41%", or "under 1%".
func pct(share float64) string {
	if share > 0 && share < 0.005 {
		return "under 1%"
	}
	return fmt.Sprintf("%.0f%%", math.Round(100*share))
}

// delayText writes a delay finding with its evidence, grouped by what
// was charged.
func delayText(it *ItemReport, kind string, evs []Evidence, late bool, nLate int) string {
	var b strings.Builder
	switch kind {
	case SegHold:
		fmt.Fprintf(&b, "Office hours held %s", it.ID)
	case SegQueue:
		fmt.Fprintf(&b, "Queues for staff held %s", it.ID)
	case SegConsent:
		fmt.Fprintf(&b, "Waiting for the originator's consent (third-party rule) held %s", it.ID)
	case SegHandling:
		fmt.Fprintf(&b, "Handling took a large share of %s's time", it.ID)
	case SegDecision:
		fmt.Fprintf(&b, "Waiting for players' decisions held %s", it.ID)
	case SegFanout:
		fmt.Fprintf(&b, "Drafting separate messages one after another (fan-out) delayed %s", it.ID)
	case SegOutage:
		fmt.Fprintf(&b, "Channel outages held %s", it.ID)
	case SegTransit:
		fmt.Fprintf(&b, "Transit took a large share of %s's time", it.ID)
	}
	switch {
	case late:
		fmt.Fprintf(&b, ", which missed its %s deadline", Human(*it.DeadlineSeconds))
	case it.DeadlineSeconds != nil:
		fmt.Fprintf(&b, " (its %s deadline was met)", Human(*it.DeadlineSeconds))
	}
	b.WriteString(": ")
	b.WriteString(evidenceText(kind, evs))
	b.WriteString(".")
	if late {
		var decisive []string
		for _, e := range evs {
			if e.Decisive && !slices.Contains(decisive, e.Learner) {
				decisive = append(decisive, e.Learner)
			}
		}
		switch {
		case len(decisive) == 0:
		case nLate == 1:
			fmt.Fprintf(&b, " Without this time %s would have learned it in time.", decisive[0])
		case len(decisive) == nLate:
			fmt.Fprintf(&b, " Without this time all %d late audience members would have learned it in time.", nLate)
		default:
			fmt.Fprintf(&b, " Without this time %d of the %d late audience members would have learned it in time (%s).",
				len(decisive), nLate, joinAnd(decisive))
		}
	}
	return b.String()
}

// clause is what one agency or channel cost the learners whose paths it
// lies on, as written; wheres whose clauses read alike are written once.
type clause struct {
	wheres, learners         []string
	dur, share, after, until string
	self                     bool // the learner waited at its own office
}

// evidenceText writes the evidence of a finding, grouped by what was
// charged: "at dk.fe and dk.cfcs 2d13h each (99% of the 2d14h each took
// to learn it)".
func evidenceText(kind string, evs []Evidence) string {
	var clauses []*clause
	byWhere := map[string]*clause{}
	for _, e := range evs {
		c := byWhere[e.Where]
		if c == nil {
			c = &clause{wheres: []string{e.Where}, self: true, until: e.Until}
			byWhere[e.Where] = c
			clauses = append(clauses, c)
		}
		c.learners = append(c.learners, e.Learner)
		c.self = c.self && e.Learner == e.Where
		if c.until != e.Until {
			c.until = ""
		}
	}
	for _, c := range clauses {
		var longest, share, after float64
		var durs []float64
		for _, e := range evs {
			if e.Where == c.wheres[0] {
				durs = append(durs, e.Seconds)
				longest, share, after = max(longest, e.Seconds), max(share, e.Share), max(after, e.LearnedAfter)
			}
		}
		c.dur, c.share, c.after = Human(longest), pct(share), Human(after)
		if slices.Min(durs) != longest {
			c.dur = "up to " + c.dur
		}
	}
	// Merge the clauses of agencies that waited alike at their own offices.
	var merged []*clause
	for _, c := range clauses {
		if n := len(merged); n > 0 {
			m := merged[n-1]
			if m.self && c.self && len(c.learners) == 1 && m.dur == c.dur && m.share == c.share && m.after == c.after && m.until == c.until {
				m.wheres = append(m.wheres, c.wheres...)
				m.learners = append(m.learners, c.learners...)
				continue
			}
		}
		merged = append(merged, c)
	}
	until := merged[0].until
	for _, c := range merged {
		if c.until != until {
			until = ""
		}
	}
	place := map[string]string{SegTransit: "on channel ", SegOutage: "on channel ", SegConsent: "from "}[kind]
	if place == "" {
		place = "at "
	}
	var parts []string
	for _, c := range merged {
		var s string
		switch {
		case c.self && len(c.wheres) > 1:
			s = fmt.Sprintf("%s%s %s each (%s of the %s each took to learn it)", place, joinAnd(c.wheres), c.dur, c.share, c.after)
		case len(c.learners) == 1:
			s = fmt.Sprintf("%s%s %s (%s of the %s it took %s to learn it)", place, c.wheres[0], c.dur, c.share, c.after, c.learners[0])
		default:
			s = fmt.Sprintf("%s%s %s on the paths of %s (up to %s of their time to learn it)", place, c.wheres[0], c.dur, joinAnd(c.learners), c.share)
		}
		if c.until != "" && until == "" {
			s += ", closed until " + c.until
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, "; ")
	switch {
	case until == "":
	case len(evs) == 1:
		out += "; it was closed until " + until
	default:
		out += "; each was closed until " + until
	}
	return out
}

func delayAction(kind string, wheres []string) string {
	w := joinAnd(wheres)
	switch kind {
	case SegHold:
		return fmt.Sprintf("Give %s a duty officer outside office hours, or route urgent items to a partner that is open around the clock.", w)
	case SegQueue:
		return fmt.Sprintf("Add staff at %s, or mark such items urgent so that they jump the queue.", w)
	case SegHandling:
		return fmt.Sprintf("Shorten handling at %s: pre-agreed forwarding lists, templates, or forwarding before full analysis.", w)
	case SegFanout:
		return fmt.Sprintf("Let %s reach several recipients with one message (a platform post), or name the recipients who need the item most first.", w)
	case SegOutage:
		return fmt.Sprintf("Give the agencies that %s joins a second channel that stays up when it is down, or keep its outages out of the hours urgent items travel.", w)
	case SegTransit:
		return fmt.Sprintf("Check the latency of %s, or prefer a faster channel for urgent items.", w)
	case SegConsent:
		return fmt.Sprintf("Agree standing release conditions with %s (onward sharing to named partners authorised in advance) so that holders need not ask each time.", w)
	case SegDecision:
		return fmt.Sprintf("Agree in advance what the players at %s may pass on without deliberating, or set a decision time limit (decision_timeout) after which the agency's rules act.", w)
	}
	return ""
}

// unreachedFindings: the item's audience members who never learned it,
// grouped by why: the reason messages to them were dropped, or no path at
// all.
func unreachedFindings(r *Report, it *ItemReport) []Finding {
	if len(it.NeverLearned) == 0 {
		return nil
	}
	byReason := map[string][]Evidence{}
	var reasons []string
	for _, m := range it.NeverLearned {
		seen := map[string]bool{}
		for _, d := range r.Drops {
			if d.Item != it.ID || d.To != m || seen[d.Reason+d.Agency] {
				continue
			}
			seen[d.Reason+d.Agency] = true
			if _, ok := byReason[d.Reason]; !ok {
				reasons = append(reasons, d.Reason)
			}
			byReason[d.Reason] = append(byReason[d.Reason], Evidence{Where: d.Agency, Learner: m, Share: 1})
		}
		if len(seen) == 0 {
			// Kept from it by a player's choice, where the rules would
			// have passed it on; else no rule or path.
			reason := ""
			where := ""
			for _, w := range r.withheld {
				if w.item == it.ID && slices.Contains(w.from, m) {
					reason, where = "withheld:"+w.agency, w.agency
					break
				}
			}
			if _, ok := byReason[reason]; !ok {
				reasons = append(reasons, reason)
			}
			byReason[reason] = append(byReason[reason], Evidence{Where: where, Learner: m, Share: 1})
		}
	}
	var out []Finding
	for _, reason := range reasons {
		evs := byReason[reason]
		var members, senders []string
		for _, e := range evs {
			if !slices.Contains(members, e.Learner) {
				members = append(members, e.Learner)
			}
			if e.Where != "" && !slices.Contains(senders, e.Where) {
				senders = append(senders, e.Where)
			}
		}
		f := Finding{Kind: "drop", Where: reason, Item: it.ID, Objective: it.Objective, Share: 1,
			Priority: PriorityHigh, Evidence: evs, Responsible: []string{it.Originator}}
		head := fmt.Sprintf("%s never reached %s (%d of its %d audience members)", it.ID, joinAnd(members), len(members), len(it.Audience))
		switch {
		case reason == "":
			f.Kind, f.Where = "unreached", strings.Join(members, ", ")
			f.Text = head + ": no rule or path passed it to them before the run ended."
			f.Action = "Add a rule that shares the item with these agencies (or a channel that joins them to a holder), or lengthen the exercise."
		case strings.HasPrefix(reason, "withheld:"):
			ag := strings.TrimPrefix(reason, "withheld:")
			var when []string
			for _, w := range r.withheld {
				if w.item == it.ID && w.agency == ag {
					when = append(when, r.wall(w.at))
				}
			}
			f.Kind, f.Where, f.Responsible = "withheld", ag, []string{ag}
			f.Text = fmt.Sprintf("%s: the player at %s chose not to pass it to them (decided %s), though the agency's rules would have.",
				head, ag, joinAnd(when))
			f.Action = fmt.Sprintf("Review the decision with the players at %s: if the rules are right, brief players on them; if the players were, change the rules.", ag)
		default:
			f.Text = fmt.Sprintf("%s: messages to them from %s were dropped for %s: %s.", head, joinAnd(senders), reason, reasonWords(reason, it))
			f.Action = dropAction(reason)
			switch reason {
			case "no_route", "permission", "publish_error":
				f.Responsible = senders
			case "no_consent_route":
				// the holders lack a channel to the originator, who could
				// also share with them itself
				f.Responsible = append([]string{it.Originator}, slices.DeleteFunc(slices.Clone(senders), func(s string) bool { return s == it.Originator })...)
			}
		}
		out = append(out, f)
	}
	return out
}

// reasonWords says what a drop reason meant for the item.
func reasonWords(reason string, it *ItemReport) string {
	switch reason {
	case "tlp":
		return fmt.Sprintf("TLP:%s does not let holders pass it to them", it.TLP)
	case "consent_refused":
		return fmt.Sprintf("the originator %s refused the release", it.Originator)
	case "no_route":
		return "no channel joins the sender and them"
	case "no_consent_route":
		return fmt.Sprintf("the holder had no channel to ask the originator %s for consent", it.Originator)
	case "run_end":
		return "they were still in transit when the run ended"
	case "permission":
		return "the NATS server refused the publish (need to know)"
	case "publish_error":
		return "publishing the message failed"
	}
	return "see the drops table"
}

func dropAction(reason string) string {
	switch reason {
	case "tlp":
		return "TLP keeps holders from passing the item on: the originator should address such recipients itself, or release it at a lower level."
	case "consent_refused":
		return "The originator refused release: agree in advance which partners may receive such items, or have the originator share directly."
	case "no_route":
		return "No channel joined sender and recipient: add a channel or a rule that routes through a partner."
	case "no_consent_route":
		return "A channel joined holder and recipient, but the item needs its originator's consent and no channel joins the holder to the originator: add such a channel, or have the originator share with these recipients itself."
	case "run_end":
		return "Messages were still in transit when the run ended; lengthen the run to see them arrive."
	}
	return "Check the configuration of the channels and agencies involved."
}

// replyFindings: answers about the item sent after their reply deadline,
// one finding per answering agency.
func replyFindings(r *Report, it *ItemReport) []Finding {
	var out []Finding
	at := map[string]int{}
	for _, d := range r.Deadlines {
		if d.Item != it.ID || d.Agency == "" {
			continue
		}
		i, ok := at[d.Agency]
		if !ok {
			i = len(out)
			at[d.Agency] = i
			out = append(out, Finding{Kind: "reply", Where: d.Agency, Item: it.ID, Objective: it.Objective,
				Priority: PriorityMedium, Seconds: d.DeadlineSeconds, Responsible: []string{d.Agency}})
		}
		out[i].Evidence = append(out[i].Evidence, Evidence{Where: d.Agency, Seconds: d.DeadlineSeconds, At: d.At})
	}
	for i := range out {
		f := &out[i]
		var when []string
		for _, e := range f.Evidence {
			when = append(when, e.At)
		}
		f.Text = fmt.Sprintf("%s answered %s about %s after the %s reply deadline (%s).", f.Where,
			liaison.Plural(len(f.Evidence), "request", "requests"), it.ID, Human(f.Seconds), strings.Join(when, "; "))
		f.Action = fmt.Sprintf("Make sure %s can answer such requests within %s at any hour: a duty officer, or an answer agreed in advance.", f.Where, Human(f.Seconds))
	}
	return out
}

// joinAnd joins names as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Human formats seconds as a short duration: 45s, 12m30s, 6h05m, 2d03h.
func Human(sec float64) string { return events.Human(sec) }
