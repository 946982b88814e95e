package scenarios

import (
	"cmp"
	"strings"
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
	var r *reacher
	for i, in := range s.Injects {
		if !in.OriginatorControl || in.To == "" || in.Type == "" {
			continue
		}
		if r == nil {
			r = newReacher(s)
		}
		all, _ := r.reach(queryOf(in, false))
		some, blocked := r.reach(queryOf(in, true))
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
