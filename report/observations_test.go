package report_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"liaison/broker"
	"liaison/report"
	"liaison/scenarios"
	"liaison/sim"
)

// TestObservations: a player's decision and an evaluator's note in the log
// appear under the objective's "what happened", in every format.
func TestObservations(t *testing.T) {
	sc, err := scenarios.Open("../sim/testdata/exercise.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// dk.pet's first decision is due when it has handled I-1 (at 1h, ten
	// minutes' handling); its player shares with the police a little later.
	actions := []broker.Action{
		{Kind: broker.ActionDecision, At: 4300_000, Def: []byte(`{"agency":"dk.pet","decision":1,"action":"share","to":["dk.police"]}`)},
		{Kind: broker.ActionNote, At: 5000_000, Def: []byte(`{"text":"PET shared with the police only, not with Säpo"}`)},
	}
	var log bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 3, Replay: actions, Events: &log}); err != nil {
		t.Fatal(err)
	}
	lg, err := report.Read(context.Background(), "exercise.jsonl", &log)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(lg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range r.Objectives {
		for _, ob := range o.Observations {
			got = append(got, ob.Kind+": "+ob.Agency+": "+ob.Text)
		}
	}
	want := []string{"decision: dk.pet: the player shared it with dk.police", "note: : PET shared with the police only, not with Säpo"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("observations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"the player shared it with dk.police", "PET shared with the police only"} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("the Markdown report lacks %q", w)
		}
	}
}
