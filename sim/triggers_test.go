package sim_test

import (
	"bytes"
	"testing"

	"liaison/sim"
)

// TestConditionalInjects: conditional injects fire after their delay when
// an agency learns an item, when a share of its audience knows it, when an
// agency does not know it by a time, and when an item misses its
// deadline, at the times the scenario's fixed delays give; the run fires
// them itself, so a replay of its log (which takes no action from it) and
// a run over three nodes give the same log.
func TestConditionalInjects(t *testing.T) {
	sc := load(t, "testdata/triggers.yaml")
	_, log := run(t, sim.Config{Scenario: sc, Seed: 1})
	lines := parseLog(t, log)
	want := map[string]float64{
		"T-1": 3600 + 600 + 120 + 600,              // police learn at 4320
		"T-2": 3600 + 600 + 120 + 1200 + 120 + 600, // FE, the last of the audience, learns at 5640
		"T-3": 3600 + 7200 + 600,                   // Säpo does not know by 10800
		"T-4": 5*3600 + 600 + 600,                  // I-3's deadline passes at 18600
	}
	got := map[string]float64{}
	for _, l := range lines {
		if l.Kind == "inject" {
			got[l.Item] = l.T
		}
	}
	for id, at := range want {
		if got[id] != at {
			t.Errorf("%s injected at %vs, want %vs", id, got[id], at)
		}
	}
	actions, err := sim.ReadActions("triggers.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 0 {
		t.Errorf("the log gives %d actions to replay; the run's own firings are not actions", len(actions))
	}
	_, again := run(t, sim.Config{Scenario: sc, Seed: 1, Replay: actions, Speed: 86400 * 4})
	if !bytes.Equal(log, again) {
		t.Error("a paced replay gives another log")
	}
	_, split := run(t, sim.Config{Scenario: sc, Seed: 1, Nodes: 3})
	if !bytes.Equal(log, split) {
		t.Error("three nodes give another log")
	}
	// Across the time protocol, where windows are granted over NATS and
	// may skip quiet time: the service asks the recorder before each
	// grant, so a condition met in a window (or a missing_by that falls in
	// quiet time) fires as it does in one process.
	across := runAcross(t, sim.Config{Scenario: sc, Seed: 1}, [][]int32{{0, 2}, {1, 3}})
	sameAcross(t, log, across)
}
