package scenarios

import (
	"cmp"
	"slices"
	"strings"

	"liaison"
)

// consentWarnings reports audience members of an item under originator
// control that rules and channels reach only through shares whose consent
// cannot be asked: the holder must ask the originator first, and no
// channel joins the holder to the originator. Every run drops those shares
// (reason no_consent_route), so such a member never learns the item by
// that path. It is a warning, not an error: the file may mean it.
//
// The search follows the engine's routing: a share or send reaches its
// named recipient over any channel that joins them, and on a platform also
// the channel's relevant members when the originator posts (not for
// TLP:RED). It is run twice, once as if every consent could be asked and
// once without the shares that need an unaskable one; members reached in
// the first but not the second are reported. Probabilities, TLP, office
// hours and outages are ignored, as in the reachability check.
func consentWarnings(s *Scenario) []problem {
	var out []problem
	for i, in := range s.Injects {
		if !in.OriginatorControl || in.To == "" || in.Type == "" {
			continue
		}
		all, _ := consentReach(s, in, false)
		some, blocked := consentReach(s, in, true)
		for j, a := range in.Audience {
			if !all[a] || some[a] {
				continue
			}
			orig := cmp.Or(in.Originator, in.To)
			out = append(out, problem{index(index("injects", i)+".audience", j), UnaskableConsent,
				"audience member " + string(a) + " of inject " + string(in.ID) + " is reached only through shares that need the consent of its originator " +
					string(orig) + ", and no channel joins " + strings.Join(blocked, ", ") + " to " + string(orig) +
					": the consent can never be asked and every run drops those shares (no_consent_route); expected a channel between them and " +
					string(orig) + ", or a rule by which " + string(orig) + " shares with " + string(a) + " itself"})
		}
	}
	return out
}

// consentReach returns who can come to know inject in's item, and, when
// strict, the holders whose shares were left out because they cannot ask
// the originator for consent (sorted).
func consentReach(s *Scenario, in Inject, strict bool) (map[liaison.AgencyID]bool, []string) {
	orig := cmp.Or(in.Originator, in.To)
	red := in.TLP.Set && in.TLP.Level == liaison.TLPRed
	knows := map[liaison.AgencyID]bool{in.To: true}
	seen := map[delivery]bool{}
	queue := []delivery{{at: in.To, typ: in.Type}}
	blocked := map[liaison.AgencyID]bool{}
	askable := func(from liaison.AgencyID) bool {
		for _, ch := range s.Channels {
			if joins(ch, from, orig) {
				return true
			}
		}
		return false
	}
	send := func(from, to liaison.AgencyID, typ liaison.MessageType, forced liaison.ChannelID, share bool) {
		if from == to {
			return
		}
		if strict && share && from != orig && to != orig && !askable(from) {
			blocked[from] = true
			return
		}
		if s.Channel(forced) == nil {
			forced = ""
		}
		for _, ch := range s.Channels {
			if forced != "" && ch.ID != forced || !joins(ch, from, to) {
				continue
			}
			recipients := []liaison.AgencyID{to}
			if ch.Topology == Platform && from == orig && !red {
				recipients = append(recipients, ch.Relevant...)
			}
			for _, r := range recipients {
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
					send(d.at, t, out, r.Channel, true)
				}
			case r.Send != "":
				for _, t := range r.To {
					send(d.at, t, r.Send, r.Channel, true)
				}
			case r.Reply != "" && d.from != "":
				send(d.at, d.from, r.Reply, r.Channel, false) // a reply needs no consent
			}
		}
	}
	var holders []string
	for h := range blocked {
		holders = append(holders, string(h))
	}
	slices.Sort(holders)
	return knows, holders
}
