package sim_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"liaison/report"
	"liaison/scenarios"
	"liaison/sim"
)

// Known-answer tests of the channel semantics: who a post, a hub or a
// consent reaches, what TLP allows, what fanout, outages and office hours
// cost. Each runs real runs over the embedded NATS server.

// selectEv returns the events of a kind, optionally only at one agency.
func selectEv(evs []line, kind, agency string) []line {
	var out []line
	for _, e := range evs {
		if e.Kind == kind && (agency == "" || e.Agency == agency) {
			out = append(out, e)
		}
	}
	return out
}

// knowers returns who learned item, sorted.
func knowers(evs []line, item string) []string {
	var out []string
	for _, e := range selectEv(evs, "know", "") {
		if e.Item == item && !slices.Contains(out, e.Agency) {
			out = append(out, e.Agency)
		}
	}
	slices.Sort(out)
	return out
}

func parse(t *testing.T, name, text string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

const redScenario = `
name: red
title: A TLP:RED item its originator shares with one recipient, on every topology
start: 2026-03-02T09:00:00Z
agencies:
  - {id: dk.a, country: DK, handling: 1m}
  - {id: dk.b, country: DK, handling: 1m, clients: [dk.c, dk.d]}
  - {id: dk.c, country: DK, handling: 1m}
  - {id: dk.d, country: DK, handling: 1m}
  - {id: dk.relay, country: DK, handling: 1m}
channels:
  - {id: net, topology: platform, members: [dk.a, dk.b, dk.c, dk.d], latency: 5m}
rules:
  - {at: dk.a, on: secret, share: [dk.b]}
  # A holder may pass RED to no one, not even its clients.
  - {at: dk.b, on: secret, share: [dk.c, dk.d]}
injects:
  - {id: R-1, at: 0s, to: dk.a, type: secret, summary: For dk.b only, tlp: RED, audience: [dk.b]}
variants:
  platform-hub:
    channels: [{id: net, topology: platform, hub: dk.relay, members: [dk.a, dk.b, dk.c, dk.d], latency: 5m}]
  platform-relevant:
    channels: [{id: net, topology: platform, hub: dk.relay, members: [dk.a, dk.b, dk.c, dk.d], relevant: [dk.b, dk.c, dk.d], latency: 5m}]
  hub:
    channels: [{id: net, topology: hub, hub: dk.relay, members: [dk.relay, dk.a, dk.b, dk.c, dk.d], latency: 5m}]
  hub-review:
    channels: [{id: net, topology: hub, hub: dk.relay, review: true, members: [dk.relay, dk.a, dk.b, dk.c, dk.d], latency: 5m}]
  mesh:
    channels: [{id: net, topology: mesh, members: [dk.a, dk.b, dk.c, dk.d], latency: 5m}]
  liaison:
    channels: [{id: net, topology: liaison, officer: dk.relay, sides: [[dk.a], [dk.b, dk.c, dk.d]], latency: 5m}]
`

// TestRedStaysWithNamedRecipients: a RED item that its originator shares
// with dk.b alone reaches dk.b and no one else, on every topology: not
// the other members of a platform (even one with relevant members), not
// the hub or officer that passes it on, and not dk.b's clients.
func TestRedStaysWithNamedRecipients(t *testing.T) {
	sc := parse(t, "red.yaml", redScenario)
	for _, variant := range append([]string{""}, sc.VariantNames()...) {
		sum, log := run(t, sim.Config{Scenario: sc, Variant: variant})
		evs := parseLog(t, log)
		if got := knowers(evs, "R-1"); !slices.Equal(got, []string{"dk.a", "dk.b"}) {
			t.Errorf("variant %q: R-1 known by %v, want [dk.a dk.b]", variant, got)
		}
		for _, e := range selectEv(evs, "deliver", "") {
			if e.Item == "R-1" && e.Agency != "dk.b" && e.Agency != "dk.relay" {
				t.Errorf("variant %q: R-1 delivered to %s", variant, e.Agency)
			}
		}
		if it := sum.Items[0]; it.Reached != 1 || len(it.Audience) != 1 || it.Knowers != 2 {
			t.Errorf("variant %q: item summary %+v, want reach 1/1 and 2 knowers", variant, it)
		}
		if n := sum.Messages.DroppedBy["tlp"]; n != 2 {
			t.Errorf("variant %q: %d tlp drops, want dk.b's 2 attempts", variant, n)
		}
	}
}

const consentScenario = `
name: consent
title: A holder asks the originator to release an item to one recipient on a platform
start: 2026-03-02T09:00:00Z
agencies:
  - {id: dk.a, country: DK, handling: 1m}
  - {id: dk.b, country: DK, handling: 1m}
  - {id: dk.x, country: DK, handling: 1m}
  - {id: dk.y, country: DK, handling: 1m}
  - {id: dk.z, country: DK, handling: 1m}
channels:
  - {id: board, topology: platform, members: [dk.a, dk.b, dk.x, dk.y, dk.z], latency: 5m}
rules:
  - {at: dk.a, on: alert, share: [dk.b]}
  - {at: dk.a, on: alert, send: update, to: [dk.b]}
  - {at: dk.b, on: alert, share: [dk.x]}
  - {at: dk.b, on: update, share: [dk.y]}
injects:
  - {id: I-1, at: 0s, to: dk.a, type: alert, summary: Under the third-party rule, originator-control: true, audience: [dk.b, dk.x, dk.y]}
`

// TestConsentPerRecipient: the consent dk.b obtains for dk.x covers dk.x
// alone. The post that passes the item to dk.x over the platform reaches
// dk.x, not dk.y or dk.z; the later share to dk.y needs a request of its
// own, asked once the first is answered.
func TestConsentPerRecipient(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: parse(t, "consent.yaml", consentScenario)})
	evs := parseLog(t, log)
	if got := knowers(evs, "I-1"); !slices.Equal(got, []string{"dk.a", "dk.b", "dk.x", "dk.y"}) {
		t.Errorf("I-1 known by %v, want [dk.a dk.b dk.x dk.y]", got)
	}
	if n := len(selectEv(evs, "consent_request", "dk.b")); n != 2 {
		t.Errorf("dk.b asked for consent %d times, want 2 (one for dk.x, then one for dk.y)", n)
	}
	for _, e := range selectEv(evs, "deliver", "dk.z") {
		t.Errorf("dk.z got %s (%s): a post reached a member no rule named", e.Msg, e.Type)
	}
	if it := sum.Items[0]; it.Reached != 3 {
		t.Errorf("reached %d of 3", it.Reached)
	}
}

// TestConsentDecidedPerRecipient: an originator that grants half its
// releases decides each third party of one request on its own: some of
// the sixteen go, the others are dropped as consent_refused and never
// learn the item.
func TestConsentDecidedPerRecipient(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: consent16\ntitle: One request for sixteen third parties\nstart: 2026-03-02T09:00:00Z\nagencies:\n")
	b.WriteString("  - {id: x.orig, handling: 1m, consent: 0.5}\n  - {id: x.holder, handling: 1m}\n")
	var thirds []string
	for i := range 16 {
		id := fmt.Sprintf("x.t%02d", i)
		thirds = append(thirds, id)
		fmt.Fprintf(&b, "  - {id: %s, handling: 1m}\n", id)
	}
	all := strings.Join(append([]string{"x.orig", "x.holder"}, thirds...), ", ")
	fmt.Fprintf(&b, "channels:\n  - {id: net, topology: mesh, members: [%s], latency: 5m}\n", all)
	fmt.Fprintf(&b, "rules:\n  - {at: x.orig, on: alert, share: [x.holder]}\n  - {at: x.holder, on: alert, share: [%s]}\n", strings.Join(thirds, ", "))
	b.WriteString("injects:\n  - {id: I-1, at: 0s, to: x.orig, type: alert, summary: s, originator-control: true, audience: [x.holder]}\n")
	sum, log := run(t, sim.Config{Scenario: parse(t, "consent16.yaml", b.String()), Seed: 1})
	evs := parseLog(t, log)
	if n := len(selectEv(evs, "consent_request", "x.holder")); n != 1 {
		t.Fatalf("%d consent requests, want one for all sixteen", n)
	}
	refused := map[string]bool{}
	for _, e := range selectEv(evs, "drop", "x.holder") {
		if e.Reason == "consent_refused" {
			refused[e.To] = true
		}
	}
	known := knowers(evs, "I-1")
	if len(refused) == 0 || len(refused) == 16 {
		t.Fatalf("%d of 16 refused: one decision for the whole request, not one per third party", len(refused))
	}
	for _, id := range thirds {
		if refused[id] == slices.Contains(known, id) {
			t.Errorf("%s: refused %v, knows %v", id, refused[id], !refused[id])
		}
	}
	if sum.Messages.DroppedBy["consent_refused"] != int64(len(refused)) {
		t.Errorf("drops %v", sum.Messages.DroppedBy)
	}
}

const amberScenario = `
name: amber
title: TLP:AMBER passed on by a holder
start: 2026-03-02T09:00:00Z
agencies:
  - {id: dk.pet, country: DK, handling: 1m}
  - {id: se.sapo, country: SE, handling: 1m, clients: [se.police]}
  - {id: se.police, country: SE, handling: 1m}
  - {id: se.fra, country: SE, handling: 1m}
channels:
  - {id: net, topology: mesh, members: [dk.pet, se.sapo, se.police, se.fra], latency: 5m}
rules:
  - {at: dk.pet, on: warning, share: [se.sapo]}
  - {at: se.sapo, on: warning, share: [se.police, se.fra]}
injects:
  - {id: A-1, at: 0s, to: dk.pet, type: warning, summary: s, tlp: AMBER, audience: [se.sapo, se.police, se.fra]}
`

// TestAmberByOrganisation: under TLP 2.0 Säpo may pass an AMBER item to its
// declared client, the Swedish police, and not to FRA, although FRA is
// Swedish; with amber: country it may pass it to both.
func TestAmberByOrganisation(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   []string
		tlp    int64
	}{
		{"", []string{"dk.pet", "se.police", "se.sapo"}, 1},
		{"amber: organisation\n", []string{"dk.pet", "se.police", "se.sapo"}, 1},
		{"amber: country\n", []string{"dk.pet", "se.fra", "se.police", "se.sapo"}, 0},
	} {
		sum, log := run(t, sim.Config{Scenario: parse(t, "amber.yaml", amberScenario+tc.header)})
		if got := knowers(parseLog(t, log), "A-1"); !slices.Equal(got, tc.want) {
			t.Errorf("%q: A-1 known by %v, want %v", tc.header, got, tc.want)
		}
		if n := sum.Messages.DroppedBy["tlp"]; n != tc.tlp {
			t.Errorf("%q: %d tlp drops, want %d", tc.header, n, tc.tlp)
		}
	}
}

// fanoutScenario is one service sharing with 31 others, as in a mesh
// share across the CTG.
func fanoutScenario(header, topology string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: fanout\ntitle: A share to 31 services\nstart: 2026-03-02T09:00:00Z\n%sagencies:\n", header)
	var ids []string
	for i := range 32 {
		ids = append(ids, fmt.Sprintf("x.s%02d", i))
		fmt.Fprintf(&b, "  - {id: %s, handling: 0s}\n", ids[i])
	}
	fmt.Fprintf(&b, "channels:\n  - {id: net, topology: %s, members: [%s], latency: fixed(5m)}\n", topology, strings.Join(ids, ", "))
	fmt.Fprintf(&b, "rules:\n  - {at: x.s00, on: alert, share: [%s]}\n", strings.Join(ids[1:], ", "))
	fmt.Fprintf(&b, "injects:\n  - {id: I-1, at: 0s, to: x.s00, type: alert, summary: s, audience: [%s]}\n", strings.Join(ids[1:], ", "))
	b.WriteString("variants:\n  own:\n    agencies: [{id: x.s00, handling: 0s, fanout: fixed(1m)}]\n")
	return b.String()
}

// TestFanoutCost: with fanout: fixed(2m), a mesh share to 31 services
// sends its k-th copy 2(k-1) minutes after the first, so the last arrives
// at 5m + 60m; an agency's own fanout overrides the scenario's; latency
// stays the 5 minutes of transit. One platform post to the same 31 costs
// one message's time, and without fanout (the default) copies leave
// together.
func TestFanoutCost(t *testing.T) {
	for _, tc := range []struct {
		name, header, topology, variant string
		ttr                             float64
	}{
		{"mesh, fanout 2m", "fanout: fixed(2m)\n", "mesh", "", 300 + 30*120},
		{"mesh, agency's own fanout 1m", "fanout: fixed(2m)\n", "mesh", "own", 300 + 30*60},
		{"platform post, fanout 2m", "fanout: fixed(2m)\n", "platform", "", 300},
		{"mesh, no fanout", "", "mesh", "", 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, "fanout.yaml", fanoutScenario(tc.header, tc.topology))
			sum, log := run(t, sim.Config{Scenario: sc, Variant: tc.variant})
			it := sum.Items[0]
			if it.Reached != 31 || it.TimeToReachSeconds == nil || *it.TimeToReachSeconds != tc.ttr {
				t.Fatalf("reached %d, time to reach %v, want 31 at %vs", it.Reached, it.TimeToReachSeconds, tc.ttr)
			}
			evs := parseLog(t, log)
			for _, e := range selectEv(evs, "deliver", "") {
				if e.Latency != 300 {
					t.Errorf("%s: latency %vs, want the 300s of transit", e.Msg, e.Latency)
				}
			}
			sends := selectEv(evs, "send", "x.s00")
			step := (tc.ttr - 300) / 30
			if tc.topology == "mesh" {
				for k, e := range sends {
					if e.FanoutDelay != float64(k)*step {
						t.Errorf("copy %d: fanout_delay %v, want %v", k+1, e.FanoutDelay, float64(k)*step)
					}
				}
			}
		})
	}
}

const hubScenario = `
name: siena
title: Bilateral traffic over a SIENA-style hub
start: 2026-03-02T09:00:00Z
agencies:
  - {id: eu.hub, handling: 1h}
  - {id: a.x, handling: 1m}
  - {id: b.y, handling: 1m}
channels:
  - {id: siena, topology: hub, hub: eu.hub, members: [eu.hub, a.x, b.y], latency: fixed(2m)}
rules:
  - {at: a.x, on: case, share: [b.y]}
  - {at: a.x, on: case, send: request, to: [eu.hub]}
  - {at: a.x, on: note, share: [b.y]}
injects:
  - {id: I-1, at: 0s, to: a.x, type: case, summary: s, audience: [b.y, eu.hub]}
  - {id: I-2, at: 0s, to: a.x, type: note, summary: bilateral only, audience: [b.y]}
variants:
  review:
    channels: [{id: siena, topology: hub, hub: eu.hub, review: true, members: [eu.hub, a.x, b.y], latency: fixed(2m)}]
`

// TestHubRoutesBilateral: over a hub that does not review traffic, a
// message between members goes in one hop past the hub's desk, which
// handles only what is addressed to it; with review: true every message
// waits for the desk (an hour each here). The hub never learns the items
// it only routes.
func TestHubRoutesBilateral(t *testing.T) {
	sc := parse(t, "siena.yaml", hubScenario)
	for _, tc := range []struct {
		variant       string
		deliveredAt   float64 // I-2 at b.y
		hubHandled    int64
		hubKnowsItems []string
	}{
		// a.x handles the case 0-1m and the note 1m-2m; 2 minutes of transit.
		{"", 4 * 60, 1, []string{"I-1"}},
		// The desk handles the share of I-1, the request and the note, an
		// hour each, in that order, from 3m; then 2 minutes to b.y.
		{"review", 3*60 + 3*3600 + 2*60, 3, []string{"I-1"}},
	} {
		sum, log := run(t, sim.Config{Scenario: sc, Variant: tc.variant})
		evs := parseLog(t, log)
		var at float64 = -1
		for _, e := range selectEv(evs, "deliver", "b.y") {
			if e.Item == "I-2" {
				at = e.T
			}
		}
		if at != tc.deliveredAt {
			t.Errorf("variant %q: I-2 reached b.y at %vs, want %vs", tc.variant, at, tc.deliveredAt)
		}
		for _, a := range sum.Agencies {
			if a.ID == "eu.hub" && a.Handled != tc.hubHandled {
				t.Errorf("variant %q: the hub's desk handled %d messages, want %d", tc.variant, a.Handled, tc.hubHandled)
			}
		}
		var hubKnows []string
		for _, e := range selectEv(evs, "know", "eu.hub") {
			hubKnows = append(hubKnows, e.Item)
		}
		if !slices.Equal(hubKnows, tc.hubKnowsItems) {
			t.Errorf("variant %q: the hub learned %v, want %v (what is addressed to it)", tc.variant, hubKnows, tc.hubKnowsItems)
		}
	}
}

const outageScenario = `
name: outages
title: Every channel down; the second comes back first
start: 2026-03-02T09:00:00Z
agencies:
  - {id: x.a, handling: 0s}
  - {id: x.b, handling: 0s}
channels:
  - {id: first, topology: mesh, members: [x.a, x.b], latency: fixed(1m), outages: [{from: 0s, to: 5h}]}
  - {id: second, topology: mesh, members: [x.a, x.b], latency: fixed(1m), outages: [{from: 0s, to: 1h}]}
rules:
  - {at: x.a, on: note, share: [x.b]}
injects:
  - {id: I-1, at: 0s, to: x.a, type: note, summary: s, audience: [x.b]}
`

// TestOutageWaitApart: when every channel that joins two agencies is
// down, the message waits for the one that comes back first (the second
// listed, after an hour), and the deliver event and the channel figures
// give its transit as latency and the hour as outage_wait.
func TestOutageWaitApart(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: parse(t, "outages.yaml", outageScenario)})
	d := selectEv(parseLog(t, log), "deliver", "x.b")
	if len(d) != 1 {
		t.Fatalf("%d deliveries", len(d))
	}
	if e := d[0]; e.Channel != "second" || e.T != 3660 || e.Latency != 60 || e.OutageWait != 3600 {
		t.Errorf("delivered %+v; want over second at 3660s, latency 60, outage_wait 3600", e)
	}
	for _, c := range sum.Channels {
		if c.ID == "second" && (c.LatencyP50Seconds != 60 || c.LatencyMeanSecond != 60 ||
			c.OutageWaits != 1 || c.OutageWaitSeconds != 3600) {
			t.Errorf("channel summary %+v: latency should be the 60s of transit, and one outage wait of 3600s", c)
		}
	}
}

// TestDSTOpeningsAgree: offices with the same hours open at the same
// instant across daylight saving changes, whenever their messages arrive.
// On the spring-forward Sunday an office open 02:30-04:00 opens at the
// switch (03:00 summer time), as one whose message arrives at 03:05 is
// open; on the fall-back Sunday a message that arrives at 01:00 summer
// time is handled at the first 02:30, one that arrives between the two
// 02:30s at the second.
func TestDSTOpeningsAgree(t *testing.T) {
	for _, tc := range []struct {
		name, start string
		atA, atB    string  // inject times
		wantA       float64 // handle_start at dk.a, seconds
		wantB       float64
	}{
		// Saturday 28 March 23:00 CET (22:00 UTC); the switch is at 01:00
		// UTC, 3h later. dk.a's message comes at 01:55 winter time, dk.b's
		// at 03:05 summer time.
		{"spring", "2026-03-28T23:00:00+01:00", "2h55m", "3h05m", 3 * 3600, 3*3600 + 5*60},
		// Saturday 24 October 23:00 CEST (21:00 UTC); 02:30 CEST is 00:30
		// UTC (3h30m), 02:10 CET is 01:10 UTC (4h10m), 02:30 CET 01:30 UTC.
		{"fall", "2026-10-24T23:00:00+02:00", "2h", "4h10m", 3*3600 + 30*60, 4*3600 + 30*60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, "dst.yaml", fmt.Sprintf(`
name: dst
title: Two offices with the same hours on a daylight saving Sunday
start: %s
timezone: Europe/Copenhagen
agencies:
  - {id: dk.a, hours: "Sun 02:30-04:00", handling: 1m}
  - {id: dk.b, hours: "Sun 02:30-04:00", handling: 1m}
channels:
  - {id: net, topology: mesh, members: [dk.a, dk.b], latency: 1m}
injects:
  - {id: A, at: %s, to: dk.a, type: note, summary: s}
  - {id: B, at: %s, to: dk.b, type: note, summary: s}
`, tc.start, tc.atA, tc.atB))
			_, log := run(t, sim.Config{Scenario: sc})
			evs := parseLog(t, log)
			for ag, want := range map[string]float64{"dk.a": tc.wantA, "dk.b": tc.wantB} {
				h := selectEv(evs, "handle_start", ag)
				if len(h) != 1 || h[0].T != want {
					t.Errorf("%s handled at %+v, want %vs", ag, h, want)
				}
			}
		})
	}
}

// TestUnaskableConsentNamed: a share whose consent cannot be asked is
// dropped as no_consent_route, the scenario loads with a warning at the
// audience member, and the report's finding names the cause.
func TestUnaskableConsentNamed(t *testing.T) {
	sc := load(t, "testdata/semantics.yaml")
	if len(sc.Warnings) != 1 || sc.Warnings[0].Path != "injects[2].audience[0]" || sc.Warnings[0].Kind != scenarios.UnaskableConsent {
		t.Fatalf("warnings %v; want one at injects[2].audience[0]", sc.Warnings)
	}
	_, log := run(t, sim.Config{Scenario: sc})
	lg, err := report.Read(context.Background(), "semantics.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(lg)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range r.Findings {
		if f.Kind == "drop" && f.Where == "no_consent_route" {
			found = strings.Contains(f.Action, "consent")
		}
	}
	if !found {
		t.Errorf("no finding names the unaskable consent: %+v", r.Findings)
	}
}

const relevantScenario = `
name: relevant
title: A platform with relevant members
start: 2026-03-02T09:00:00Z
agencies:
  - {id: p.a, handling: 1m}
  - {id: p.b, handling: 1m}
  - {id: p.c, handling: 1m}
  - {id: p.d, handling: 1m}
  - {id: p.hub, handling: 1m}
channels:
  - {id: board, topology: platform, hub: p.hub, members: [p.a, p.b, p.c, p.d], relevant: [p.c], latency: 5m}
rules:
  - {at: p.a, on: alert, share: [p.b]}
  - {at: p.b, on: alert, share: [p.d]}
  - {at: p.a, on: news, share: [p.b]}
injects:
  - {id: G-1, at: 0s, to: p.a, type: alert, summary: GREEN, audience: [p.b, p.c, p.d]}
  - {id: N-1, at: 0s, to: p.a, type: news, summary: GREEN, originator: p.d, audience: [p.b]}
`

// TestRelevantMembers: the originator's post reaches the platform's
// relevant members besides the named recipient, in one post through the
// hub (one hop to the hub, then one to each); a holder's post reaches only
// whom it names; a post by an agency that is not the item's originator
// does not reach the relevant members either.
func TestRelevantMembers(t *testing.T) {
	sum, log := run(t, sim.Config{Scenario: parse(t, "relevant.yaml", relevantScenario)})
	evs := parseLog(t, log)
	if got := knowers(evs, "G-1"); !slices.Equal(got, []string{"p.a", "p.b", "p.c", "p.d"}) {
		t.Errorf("G-1 known by %v", got)
	}
	if got := knowers(evs, "N-1"); !slices.Equal(got, []string{"p.a", "p.b"}) {
		t.Errorf("N-1 (originator p.d, posted by p.a) known by %v, want [p.a p.b]", got)
	}
	var cDeliveries int
	for _, e := range selectEv(evs, "deliver", "p.c") {
		cDeliveries++
		if e.Item != "G-1" || e.From != "p.hub" {
			t.Errorf("p.c got %+v", e)
		}
	}
	if cDeliveries != 1 {
		t.Errorf("p.c got %d posts, want only p.a's post of G-1", cDeliveries)
	}
	// G-1: p.a to the hub, then to p.b and p.c; p.b to the hub, then to
	// p.d. N-1: p.a to the hub, then to p.b.
	if sum.Messages.Sent != 7 {
		t.Errorf("%d messages, want 7", sum.Messages.Sent)
	}
}
