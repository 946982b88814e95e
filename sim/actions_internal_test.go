package sim

import (
	"encoding/json"
	"strings"
	"testing"

	"liaison"
	"liaison/agents"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
)

// TestDecisionCheck: a player's decision is accepted only while it waits:
// not before it is logged as due, not once made, and not at or after the
// time its rules act when the decision's time runs out, so that a player is
// never told of a decision that changed nothing.
func TestDecisionCheck(t *testing.T) {
	sc, err := scenarios.Open("../cmd/liaison/testdata/tabletop-oresund.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.DecisionTimeout = scenarios.Duration(liaison.FromSeconds(1200))
	m, err := agents.Compile(sc, 1, broker.NewSubjects("test"))
	if err != nil {
		t.Fatal(err)
	}
	c := newActionCheck(m)
	names := &m.Names
	pet := int32(-1)
	for i, id := range names.Agencies {
		if id == "dk.pet" {
			pet = int32(i)
		}
	}
	due := func(at float64, id uint64) {
		e := events.Event{T: liaison.FromSeconds(at), Kind: events.DecisionPending, Agency: pet,
			Raw: events.Member("decision", events.DecisionDue{ID: id})}
		c.observe(&e, names)
	}
	decide := func(at float64, id uint64) error {
		def, _ := json.Marshal(events.ActionDef{Agency: "dk.pet", Decision: &id, Action: agents.ChooseHold})
		return c.accept(broker.Action{Kind: broker.ActionDecision, At: liaison.FromSeconds(at), Def: def})
	}
	due(100, 1)
	due(200, 2)
	due(300, 3)
	for _, tc := range []struct {
		at   float64
		id   uint64
		want string // "" when accepted
	}{
		{150, 4, "dk.pet has no decision 4 waiting"},
		{150, 1, ""},
		{160, 1, "decision 1 of dk.pet has been made already"},
		{1400, 2, "the rules made decision 2 of dk.pet at 1400s"},
		{1499.999, 3, ""},
	} {
		err := decide(tc.at, tc.id)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("decision %d at %vs: %v; want it accepted", tc.id, tc.at, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("decision %d at %vs: %v; want %q", tc.id, tc.at, err, tc.want)
		}
	}
	// A decision the rules made is made.
	e := events.Event{T: liaison.FromSeconds(1500), Kind: events.DecisionMade, Agency: pet,
		Raw: events.Member("decided", events.Decided{ID: 5, By: "rules", Action: agents.ChooseRules})}
	due(300, 5)
	c.observe(&e, names)
	if err := decide(310, 5); err == nil || !strings.Contains(err.Error(), "made already") {
		t.Errorf("a decision the rules made: %v", err)
	}
}
