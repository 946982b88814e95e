package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"liaison/events"
)

// findings ranks what cost time-to-reach. For every item the path of its
// critical learner (the last audience member to learn it) is split into
// segments charged to agencies and channels; the same charge summed over
// items ranks the bottlenecks. Items that never reached their audience and
// drops follow.
func findings(r *Report) []Finding {
	type key struct{ kind, where string }
	cost := map[key]*Finding{}
	var order []key
	for _, it := range r.Items {
		if it.Critical == "" {
			continue
		}
		var l *Learning
		for i := range it.Learned {
			if it.Learned[i].Agency == it.Critical {
				l = &it.Learned[i]
			}
		}
		for _, s := range l.Segments {
			k := key{s.Kind, s.Agency}
			if s.Kind == SegTransit {
				k.where = s.Channel
			}
			f := cost[k]
			if f == nil {
				f = &Finding{Kind: s.Kind, Where: k.where}
				cost[k] = f
				order = append(order, k)
			}
			f.Seconds += s.Seconds
			if !slices.Contains(f.Items, it.ID) {
				f.Items = append(f.Items, it.ID)
			}
		}
	}
	var out []Finding
	for _, k := range order {
		f := cost[k]
		f.Seconds = round3(f.Seconds)
		out = append(out, *f)
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(b.Seconds, a.Seconds) })
	for i := range out {
		f := &out[i]
		f.Text, f.Action = bottleneckWords(r, f)
	}

	for _, it := range r.Items {
		if len(it.NeverLearned) > 0 {
			reasons := map[string]int{}
			for _, d := range r.Drops {
				if d.Item == it.ID {
					reasons[d.Reason]++
				}
			}
			why := "no path reached them before the run ended"
			if len(reasons) > 0 {
				var parts []string
				for _, k := range sortedKeys(reasons) {
					parts = append(parts, fmt.Sprintf("%d dropped for %s", reasons[k], k))
				}
				why = "messages about it were dropped (" + strings.Join(parts, ", ") + ")"
			}
			out = append(out, Finding{Kind: "unreached", Where: strings.Join(it.NeverLearned, ", "), Items: []string{it.ID},
				Text: fmt.Sprintf("%s never reached %d of its %d audience members (%s): %s.",
					it.ID, len(it.NeverLearned), len(it.Audience), strings.Join(it.NeverLearned, ", "), why),
				Action: unreachedAction(reasons)})
		}
	}
	drops := map[string]map[string]int{} // reason → agency → count
	for _, d := range r.Drops {
		if drops[d.Reason] == nil {
			drops[d.Reason] = map[string]int{}
		}
		drops[d.Reason][d.Agency]++
	}
	for _, reason := range sortedKeys(drops) {
		var parts []string
		n := 0
		for _, ag := range sortedKeys(drops[reason]) {
			parts = append(parts, fmt.Sprintf("%s %d", ag, drops[reason][ag]))
			n += drops[reason][ag]
		}
		var items []string
		for _, d := range r.Drops {
			if d.Reason == reason && d.Item != "" && !slices.Contains(items, d.Item) {
				items = append(items, d.Item)
			}
		}
		out = append(out, Finding{Kind: "drop", Where: reason, Items: items,
			Text:   fmt.Sprintf("%d messages dropped for %s (%s).", n, reason, strings.Join(parts, ", ")),
			Action: dropAction(reason)})
	}
	for i := range out {
		out[i].Rank = i + 1
		if out[i].Items == nil {
			out[i].Items = []string{}
		}
	}
	if out == nil {
		out = []Finding{}
	}
	return out
}

func bottleneckWords(r *Report, f *Finding) (text, action string) {
	var ttr float64
	for _, it := range r.Items {
		if slices.Contains(f.Items, it.ID) {
			for _, l := range it.Learned {
				if l.Agency == it.Critical {
					ttr += l.SinceInject
				}
			}
		}
	}
	share := ""
	if ttr > 0 {
		share = fmt.Sprintf(" (%.0f%% of their time to reach the last audience member)", 100*f.Seconds/ttr)
	}
	items := strings.Join(f.Items, ", ")
	switch f.Kind {
	case SegHold:
		return fmt.Sprintf("Office hours at %s held %s for %s%s.", f.Where, items, Human(f.Seconds), share),
			fmt.Sprintf("Give %s a duty officer outside office hours, or route urgent items to a partner that is open around the clock.", f.Where)
	case SegQueue:
		return fmt.Sprintf("%s's queue kept %s waiting for %s%s.", f.Where, items, Human(f.Seconds), share),
			fmt.Sprintf("Add staff at %s, or mark these items urgent so that they jump the queue.", f.Where)
	case SegHandling:
		return fmt.Sprintf("Handling at %s took %s on the critical path of %s%s.", f.Where, Human(f.Seconds), items, share),
			fmt.Sprintf("Shorten handling at %s: pre-agreed forwarding lists, templates, or forwarding before full analysis.", f.Where)
	case SegTransit:
		return fmt.Sprintf("Transit on channel %s took %s on the critical path of %s%s.", f.Where, Human(f.Seconds), items, share),
			fmt.Sprintf("Check %s's latency and outages, or prefer a faster channel for urgent items.", f.Where)
	case SegConsent:
		return fmt.Sprintf("Waiting for %s's consent under the third-party rule cost %s for %s%s.", f.Where, Human(f.Seconds), items, share),
			fmt.Sprintf("Agree standing release conditions with %s (pre-authorised onward sharing to named partners) so that holders need not ask each time.", f.Where)
	}
	return f.Kind, ""
}

func unreachedAction(reasons map[string]int) string {
	switch {
	case reasons["tlp"] > 0:
		return "Review the TLP level: the originator can share directly with the audience members that holders may not pass it to, or release the item at a lower level."
	case reasons["consent_refused"] > 0:
		return "The originator refused onward release: have it share directly with the audience it wants informed."
	case reasons["no_route"] > 0:
		return "Add a channel or a rule that joins the holders to these agencies."
	}
	return "Add a rule that shares the item with these agencies, or lengthen the exercise."
}

func dropAction(reason string) string {
	switch reason {
	case "tlp":
		return "TLP keeps holders from passing these on: the originator should address such recipients itself."
	case "consent_refused":
		return "The originator refused release: agree in advance which partners may receive such items."
	case "no_route":
		return "No channel joined sender and recipient: add a channel or a rule that routes through a partner."
	case "no_consent_route":
		return "A channel joined holder and recipient, but the item needs its originator's consent and no channel joins the holder to the originator: add such a channel, or have the originator share with these recipients itself."
	case "run_end":
		return "Messages were still in transit when the run ended; lengthen the run to see them arrive."
	}
	return "Check the configuration of the channels and agencies involved."
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
