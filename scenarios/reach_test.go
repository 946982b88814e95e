package scenarios

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"liaison"
)

// naiveReach is the plain breadth-first search over (agency, sender, type)
// that the indexed search must agree with: every delivery runs every rule,
// every send tries every channel.
func naiveReach(s *Scenario, q query) (map[liaison.AgencyID]bool, []string) {
	type delivery struct {
		at, from liaison.AgencyID
		typ      liaison.MessageType
	}
	joins := func(ch Channel, a, b liaison.AgencyID) bool {
		if ch.Topology == Liaison {
			if len(ch.Sides) != 2 {
				return false
			}
			l, r := ch.Sides[0], ch.Sides[1]
			return slices.Contains(l, a) && slices.Contains(r, b) || slices.Contains(r, a) && slices.Contains(l, b)
		}
		return slices.Contains(ch.Members, a) && slices.Contains(ch.Members, b)
	}
	knows := map[liaison.AgencyID]bool{q.to: true}
	seen := map[delivery]bool{}
	queue := []delivery{{at: q.to, typ: q.typ}}
	blocked := map[liaison.AgencyID]bool{}
	askable := func(from liaison.AgencyID) bool {
		for _, ch := range s.Channels {
			if joins(ch, from, q.orig) {
				return true
			}
		}
		return false
	}
	send := func(from, to liaison.AgencyID, typ liaison.MessageType, forced liaison.ChannelID, share bool) {
		if from == to {
			return
		}
		if q.strict && share && from != q.orig && to != q.orig && !askable(from) {
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
			if ch.Topology == Platform && from == q.orig && !q.red {
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
				send(d.at, d.from, r.Reply, r.Channel, false)
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

// randomScenario makes a scenario of every topology and rule kind, with
// hubs inside and outside platforms and rules on * and on forced channels.
func randomScenario(rng *rand.Rand, agencies int) *Scenario {
	s := &Scenario{}
	ids := make([]liaison.AgencyID, agencies)
	for i := range ids {
		ids[i] = liaison.AgencyID(fmt.Sprintf("a%d", i))
	}
	pick := func(n int) []liaison.AgencyID {
		var out []liaison.AgencyID
		for range n {
			out = append(out, ids[rng.IntN(len(ids))])
		}
		return out
	}
	types := []liaison.MessageType{"t0", "t1", "t2"}
	typ := func() liaison.MessageType { return types[rng.IntN(len(types))] }
	for i := range 1 + rng.IntN(6) {
		ch := Channel{ID: liaison.ChannelID(fmt.Sprintf("c%d", i))}
		switch rng.IntN(4) {
		case 0:
			ch.Topology, ch.Members = Mesh, pick(2+rng.IntN(5))
		case 1:
			ch.Topology, ch.Members = Hub, pick(2+rng.IntN(5))
			ch.Hub = ch.Members[0]
		case 2:
			ch.Topology, ch.Members = Platform, pick(2+rng.IntN(6))
			if rng.IntN(2) == 0 {
				ch.Hub = ch.Members[rng.IntN(len(ch.Members))]
			}
			if rng.IntN(2) == 0 {
				ch.Relevant = pick(1 + rng.IntN(3))
			}
		case 3:
			ch.Topology, ch.Sides = Liaison, [][]liaison.AgencyID{pick(1 + rng.IntN(3)), pick(1 + rng.IntN(3))}
			ch.Officer = ids[rng.IntN(len(ids))]
		}
		s.Channels = append(s.Channels, ch)
	}
	for range rng.IntN(12) {
		r := Rule{At: ids[rng.IntN(len(ids))], On: typ()}
		if rng.IntN(5) == 0 {
			r.On = "*"
		}
		switch rng.IntN(3) {
		case 0:
			r.Share = pick(1 + rng.IntN(3))
			if rng.IntN(3) == 0 {
				r.As = typ()
			}
		case 1:
			r.Send, r.To = typ(), pick(1+rng.IntN(3))
		case 2:
			r.Reply = typ()
		}
		if rng.IntN(4) == 0 {
			r.Channel = s.Channels[rng.IntN(len(s.Channels))].ID
		}
		s.Rules = append(s.Rules, r)
	}
	return s
}

func TestReachAgreesWithNaiveSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 3000 {
		s := randomScenario(rng, 3+rng.IntN(8))
		r := newReacher(s)
		for range 3 {
			q := query{to: liaison.AgencyID(fmt.Sprintf("a%d", rng.IntN(5))),
				orig: liaison.AgencyID(fmt.Sprintf("a%d", rng.IntN(5))),
				typ:  liaison.MessageType(fmt.Sprintf("t%d", rng.IntN(3))), red: rng.IntN(4) == 0, strict: rng.IntN(2) == 0}
			got, gotBlocked := r.reach(q)
			want, wantBlocked := naiveReach(s, q)
			if !maps.Equal(got, want) || !slices.Equal(gotBlocked, wantBlocked) {
				t.Fatalf("scenario %d, %+v: got %v %v, want %v %v\nchannels %+v\nrules %+v", n, q, got, gotBlocked, want, wantBlocked, s.Channels, s.Rules)
			}
		}
	}
}

// bigPlatform is a scenario of n agencies on one platform, each sharing
// what it hears with the next and answering requests, with one inject
// whose audience is everyone.
func bigPlatform(n int) string {
	var b strings.Builder
	b.WriteString("name: big\ntitle: One big platform\nstart: 2026-01-05T09:00:00Z\nagencies:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: a%d\n", i)
	}
	b.WriteString("channels:\n  - id: p\n    topology: platform\n    latency: 1m\n    members: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "a%d", i)
	}
	b.WriteString("]\nrules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {at: a%d, on: warning, share: [a%d]}\n  - {at: a%d, on: request, reply: answer}\n", i, (i+1)%n, i)
	}
	b.WriteString("injects:\n  - {id: I-1, at: 0h, to: a0, type: warning, summary: x, audience: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "a%d", i)
	}
	b.WriteString("]}\n")
	return b.String()
}

// TestBigPlatformValidates: a large platform whose every member is in the
// audience validates, every member reached through the relay of shares.
// (30,000 agencies on one platform took 46 s to validate when every share
// re-posted to every member; BenchmarkValidateBigPlatform measures it.)
func TestBigPlatformValidates(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 3_000
	}
	start := time.Now()
	if _, err := Parse("big.yaml", []byte(bigPlatform(n))); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d agencies on a platform validate in %v", n, time.Since(start))
}

// BenchmarkValidateBigPlatform measures validation of 30,000 agencies on
// one platform (go test ./scenarios -run '^$' -bench BigPlatform).
func BenchmarkValidateBigPlatform(b *testing.B) {
	data := []byte(bigPlatform(30_000))
	for b.Loop() {
		if _, err := Parse("big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
