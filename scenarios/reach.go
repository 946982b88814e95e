package scenarios

import (
	"cmp"
	"slices"
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
		if !c.agencies[in.To] || in.Type == "" {
			continue // already reported
		}
		knows := reach(c.s, in.To, in.Type)
		for j, a := range in.Audience {
			if knows[a] || !c.agencies[a] {
				continue
			}
			c.addf(index(index("injects", i)+".audience", j), Unreachable,
				"audience member %s of inject %s is unreachable: no chain of rules and channels carries %s from %s to it (it reaches %s); expected a rule that shares, sends or replies to %s over a channel both are on",
				a, in.ID, in.Type, in.To, knowers(knows), a)
		}
	}
}

func knowers(set map[liaison.AgencyID]bool) string {
	var ids []string
	for id := range set {
		ids = append(ids, string(id))
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

// delivery is a message in the reachability search: who holds the item,
// by which message type, and from whom (the target of a reply).
type delivery struct {
	at, from liaison.AgencyID
	typ      liaison.MessageType
}

// reach returns the agencies that can come to know an item injected at
// agency to as a message of type typ. A rule at A on the type (or *) fires:
// share sends As (or the type) to each target, send sends Send to each of
// To, reply sends Reply back to the sender. A message arrives if some
// channel (the forced one, if the rule names it) joins sender and
// recipient; on a platform it reaches every member. Hubs and officers
// relay without coming to know the item.
func reach(s *Scenario, to liaison.AgencyID, typ liaison.MessageType) map[liaison.AgencyID]bool {
	knows := map[liaison.AgencyID]bool{to: true}
	seen := map[delivery]bool{}
	queue := []delivery{{at: to, typ: typ}}
	send := func(from, to liaison.AgencyID, typ liaison.MessageType, forced liaison.ChannelID) {
		if from == to {
			return
		}
		if s.Channel(forced) == nil {
			forced = "" // an unknown channel is reported elsewhere
		}
		for _, ch := range s.Channels {
			if forced != "" && ch.ID != forced || !joins(ch, from, to) {
				continue
			}
			recipients := []liaison.AgencyID{to}
			if ch.Topology == Platform {
				recipients = ch.Members
			}
			for _, r := range recipients {
				if r == ch.Hub && r != to {
					continue // the platform's hub relays the post
				}
				if d := (delivery{r, from, typ}); r != from && !seen[d] {
					seen[d] = true
					knows[r] = true
					queue = append(queue, d)
				}
			}
		}
	}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, r := range s.Rules {
			if r.At != d.at || r.On != d.typ && r.On != "*" {
				continue
			}
			switch {
			case len(r.Share) > 0:
				out := cmp.Or(r.As, d.typ)
				for _, t := range r.Share {
					send(d.at, t, out, r.Channel)
				}
			case r.Send != "":
				for _, t := range r.To {
					send(d.at, t, r.Send, r.Channel)
				}
			case r.Reply != "" && d.from != "":
				send(d.at, d.from, r.Reply, r.Channel)
			}
		}
	}
	return knows
}

// joins reports whether ch can carry a message from a to b: both members
// of a mesh, hub or platform channel, or on opposite sides of a liaison.
func joins(ch Channel, a, b liaison.AgencyID) bool {
	if ch.Topology == Liaison {
		if len(ch.Sides) != 2 {
			return false
		}
		l, r := ch.Sides[0], ch.Sides[1]
		return slices.Contains(l, a) && slices.Contains(r, b) || slices.Contains(r, a) && slices.Contains(l, b)
	}
	return slices.Contains(ch.Members, a) && slices.Contains(ch.Members, b)
}
