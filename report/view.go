package report

import (
	"fmt"
	"slices"
	"strings"

	"liaison"
)

// objectiveView gathers what the HTML page and the Markdown show for one
// objective, so that both formats say the same things.
type objectiveView struct {
	O        *ObjectiveReport
	Items    []itemView
	Findings []*Finding
}

// itemView is one inject under its objective's "what happened".
type itemView struct {
	It      *ItemReport
	Chart   *Chart // nil in Markdown
	Last    *Learning
	Drops   []string
	Replies []DeadlineMissed
}

func (r *Report) objectiveViews(charts map[string]*Chart) []objectiveView {
	byID := map[string]*ItemReport{}
	for i := range r.Items {
		byID[r.Items[i].ID] = &r.Items[i]
	}
	var out []objectiveView
	for i := range r.Objectives {
		o := &r.Objectives[i]
		v := objectiveView{O: o}
		for _, id := range o.Items {
			it := byID[id]
			iv := itemView{It: it, Chart: charts[id], Drops: dropLines(r, it)}
			for j := range it.Learned {
				if it.Learned[j].Agency == it.Critical {
					iv.Last = &it.Learned[j]
				}
			}
			for _, d := range r.Deadlines {
				if d.Item == id && d.Agency != "" {
					iv.Replies = append(iv.Replies, d)
				}
			}
			v.Items = append(v.Items, iv)
		}
		for _, rank := range o.Findings {
			v.Findings = append(v.Findings, &r.Findings[rank-1])
		}
		out = append(out, v)
	}
	return out
}

// dropLines describes an item's dropped messages, one line per reason:
// how many, from whom to whom, and whether the recipients were in the
// audience.
func dropLines(r *Report, it *ItemReport) []string {
	type group struct {
		n        int
		senders  []string
		to       map[string][]string
		audience []string
	}
	groups := map[string]*group{}
	var reasons []string
	for _, d := range r.Drops {
		if d.Item != it.ID {
			continue
		}
		g := groups[d.Reason]
		if g == nil {
			g = &group{to: map[string][]string{}}
			groups[d.Reason] = g
			reasons = append(reasons, d.Reason)
		}
		g.n++
		if _, ok := g.to[d.Agency]; !ok {
			g.senders = append(g.senders, d.Agency)
		}
		if !slices.Contains(g.to[d.Agency], d.To) {
			g.to[d.Agency] = append(g.to[d.Agency], d.To)
		}
		// Audience members the drop kept from the item: one that learned
		// it another way was not.
		learned := slices.ContainsFunc(it.Learned, func(l Learning) bool { return l.Agency == d.To })
		if slices.Contains(it.Audience, d.To) && !learned && !slices.Contains(g.audience, d.To) {
			g.audience = append(g.audience, d.To)
		}
	}
	var out []string
	for _, reason := range reasons {
		g := groups[reason]
		aud := "no audience member missed the item for it"
		if len(g.audience) > 0 {
			aud = "audience members it kept from the item: " + strings.Join(g.audience, ", ")
		}
		var pairs []string
		for _, from := range g.senders {
			pairs = append(pairs, from+" → "+strings.Join(g.to[from], ", "))
		}
		out = append(out, fmt.Sprintf("%s dropped for %s (%s): %s; %s.", liaison.Plural(g.n, "message", "messages"),
			reason, reasonWords(reason, it), strings.Join(pairs, "; "), aud))
	}
	return out
}

// priorityText capitalises a priority for tables.
func priorityText(p string) string {
	if p == "" {
		return ""
	}
	return strings.ToUpper(p[:1]) + p[1:]
}

// ratingLine says how an objective's rating came about.
func ratingLine(o *ObjectiveReport) string {
	if o.Evaluated {
		s := "Rated by the evaluators (the scenario's ratings)"
		if o.Reason != "" {
			s += ": " + strings.TrimSuffix(o.Reason, ".")
		}
		return fmt.Sprintf("%s. Computed from the run: %s (%s) — %s.", s, o.Computed, liaison.Rating(o.Computed).Text(), o.Basis)
	}
	return fmt.Sprintf("Computed from the run — %s.", o.Basis)
}

// Methodology explains how the report reads the run: the split of each
// path's time, the rating rule, how findings and strengths are chosen and
// ranked. Every format prints it; the README says the same.
func Methodology() []string {
	return []string{
		"What happened is read from the event log alone. An agency learns an item when its staff start handling the first message that carries it. " +
			"Each learner's path is followed back from that message to the inject, and its time is split into office-hours holds, queue waits and handling at agencies, " +
			"fan-out at senders (drafting a share's earlier separate messages before the one on the path left), waits for a channel to come back from an outage, " +
			"transit on channels (their latency), and consent round trips under the third-party rule (charged to the originator).",
		"Ratings follow HSEEP's four levels. An inject is rated U (unable to be performed) when none of its audience learned it by the end of the run; " +
			"M (performed with major challenges) when some audience members never learned it, or more than half learned it after its deadline; " +
			fmt.Sprintf("S (performed with some challenges) when some, at most half, learned it after its deadline, when an answer about it missed its reply deadline, "+
				"or, for an inject without a deadline, when waiting for office hours, staff or consent took %s or more of the time to reach its last audience member; ", pct(majorShare)) +
			"P (performed without challenges) otherwise. An objective takes the worst rating of its injects, except that it is U only when all of them are (M otherwise). " +
			"A rating in the scenario's ratings section replaces the computed one; the report shows both.",
		fmt.Sprintf("Findings (areas for improvement) come from the paths of the audience members who learned an item after its missed deadline, "+
			"or, when the item met its deadline or has none, from the path of the last audience member to learn it. "+
			"The time charged to one agency or channel on such a path is evidence when it holds at least %s of that member's time to learn the item "+
			"(for items that met their deadline or have none: %[2]s of it, and, with a deadline, at least %[2]s of the deadline too); shorter stretches are left out as trivial. "+
			"The evidence of one kind (office hours, queues, handling, fan-out, outages, transit, consent) makes one finding per item, naming every agency or channel with its figures. "+
			"Audience members an item never reached, and answers after their reply deadline, make findings too.", pct(minShareLate), pct(minShareInTime)),
		fmt.Sprintf("Priority: high when audience members were never reached, or when the stretch alone made an audience member miss the deadline "+
			"(without it, that member would have been in time); medium when the deadline was missed anyway, for late answers, "+
			"and for an item without a deadline when the stretch holds %s or more of its time; low otherwise. "+
			"Findings are ranked by priority, then by their share of an audience member's time to learn the item (never reached counts as 100%%), never by totals across injects.", pct(majorShare)),
		fmt.Sprintf("Strengths: an inject whose whole audience learned it in time; the channel that carried it on the last hop to the most audience members in time, "+
			"and the agency that passed it on towards the most of them (at least two each), when each took at most %s of the deadline (of the time to reach without one) "+
			"on every such path and no finding about the item names it.", pct(fastShare)),
	}
}
