package sim_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

// exerciseScript drives the exercise scenario as a facilitator and a player
// would, from the run's own events: when the player's agency has a decision
// due, the player shares with one agency only; the facilitator skips I-2,
// postpones I-3, cuts the national channel and restores it, raises
// dk.police's staff, writes a note and fires the contingency C-1. Each
// action is submitted through Started.Act when the event that prompts it
// is seen, from a goroutine (an observer must not block the recorder).
type exerciseScript struct {
	t       *testing.T
	mu      sync.Mutex
	act     func(broker.Action) broker.ActionResult
	done    map[string]bool
	results []string
	wg      sync.WaitGroup
}

func (x *exerciseScript) once(key string, a broker.Action) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done[key] || x.act == nil {
		return
	}
	x.done[key] = true
	x.wg.Go(func() {
		r := x.act(a)
		x.mu.Lock()
		defer x.mu.Unlock()
		if r.Err != nil {
			x.results = append(x.results, key+": "+r.Err.Error())
		} else {
			x.results = append(x.results, key+": ok")
		}
	})
}

func (x *exerciseScript) observe(e *events.Event, n *events.Names) {
	switch {
	case e.Kind == events.DecisionPending:
		d, ok := events.DecisionDueOf(e)
		if !ok {
			x.t.Errorf("decision_due without its decision: %s", e.Raw)
			return
		}
		k := d.ID
		def, _ := json.Marshal(events.ActionDef{Agency: "dk.pet", Decision: &k, Action: events.ChooseShare,
			To: []liaison.AgencyID{"dk.police"}})
		x.once("decision", broker.Action{Kind: broker.ActionDecision, Def: def})
	case e.Kind == events.Inject && n.Items[e.Item] == "I-1":
		x.once("skip", broker.Action{Kind: broker.ActionSkip, Def: []byte(`{"id":"I-2"}`)})
		x.once("postpone", broker.Action{Kind: broker.ActionPostpone, Def: []byte(`{"id":"I-3","at_seconds":64800}`)})
		x.once("staff", broker.Action{Kind: broker.ActionStaff, Def: []byte(`{"agency":"dk.police","staff":2}`)})
		x.once("note", broker.Action{Kind: broker.ActionNote, Def: []byte(`{"text":"PET held the warning for its player","objective":"Timely sharing"}`)})
	case e.Kind == events.Know && n.Items[e.Item] == "I-1" && n.Agencies[e.Agency] == "dk.police":
		x.once("cut", broker.Action{Kind: broker.ActionCut, Def: []byte(`{"channel":"national"}`)})
	case e.Kind == events.CutChannel:
		x.once("restore", broker.Action{Kind: broker.ActionRestore, Def: []byte(`{"channel":"national"}`)})
	case e.Kind == events.PostponeInject:
		x.once("fire", broker.Action{Kind: broker.ActionFire, Def: []byte(`{"id":"C-1"}`)})
	}
}

// config is the paced run of the exercise scenario that the script drives
// (it takes the run's Act when the run starts).
func (x *exerciseScript) config(sc *scenarios.Scenario) sim.Config {
	return sim.Config{Scenario: sc, Seed: 3, Speed: exerciseSpeed,
		OnStart: []func(sim.Started){func(s sim.Started) {
			x.mu.Lock()
			x.act = s.Act
			x.mu.Unlock()
		}},
		Observers: []func(*events.Event, *events.Names){x.observe},
	}
}

// exerciseSpeed paces the scripted exercise: its facilitator acts when the
// recorder has seen I-1 (at 1h) and must be taken before I-2 is due (at
// 10h). At half a simulated day per wall second that leaves 750 ms for the
// recorder, the script's goroutine and Act on a loaded machine under -race;
// a full run takes four seconds.
const exerciseSpeed = 86400 / 2

// TestExerciseActions: in a paced run, a player decides for dk.pet and a
// facilitator skips, postpones, cuts, restores, changes staff, notes and
// fires a contingency inject. Each action is in the log at the simulated
// time it took effect and does what it says; a replay of the log gives
// the same log byte for byte.
func TestExerciseActions(t *testing.T) {
	sc := load(t, "testdata/exercise.yaml")
	x := &exerciseScript{t: t, done: map[string]bool{}}
	cfg := x.config(sc)
	cfg.OnStart = append(cfg.OnStart, func(s sim.Started) {
		if len(s.Players) != 1 || s.Players[0] != "dk.pet" {
			t.Errorf("players %v", s.Players)
		}
	})
	sum, log := run(t, cfg)
	x.wg.Wait()
	for _, r := range x.results {
		if !strings.HasSuffix(r, ": ok") {
			t.Errorf("action refused: %s", r)
		}
	}
	if len(x.results) != 8 {
		t.Fatalf("%d actions taken, want 8: %v", len(x.results), x.results)
	}
	lines := parseLog(t, log)
	count := map[string]int{}
	for _, l := range lines {
		count[l.Kind]++
	}
	for _, k := range []string{"decision_due", "decided", "decision", "skip_inject", "postpone_inject", "fire_inject",
		"cut_channel", "restore_channel", "set_staff", "note"} {
		if count[k] == 0 {
			t.Errorf("no %s event in the log", k)
		}
	}
	// The player shared with dk.police only: Säpo never heard of I-1.
	for _, l := range lines {
		if l.Kind == "know" && l.Item == "I-1" && l.Agency == "se.sapo" {
			t.Error("se.sapo learned I-1, though the player shared with dk.police only")
		}
		if l.Kind == "inject" && l.Item == "I-2" {
			t.Error("the skipped inject I-2 fired")
		}
		if l.Kind == "inject" && l.Item == "I-3" && l.T != 64800 {
			t.Errorf("the postponed inject I-3 fired at %vs, want 64800s", l.T)
		}
	}
	items := map[string]events.ItemSummary{}
	for _, it := range sum.Items {
		items[string(it.ID)] = it
	}
	if items["I-2"].Status != "skipped" || items["C-1"].Status != "" || items["C-1"].Reached != 1 {
		t.Errorf("items after the actions: %+v", sum.Items)
	}

	// The replay: the same actions at the same times, the same log.
	actions, err := sim.ReadActions("exercise.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 8 {
		t.Fatalf("%d actions read back from the log, want 8", len(actions))
	}
	_, again := run(t, sim.Config{Scenario: sc, Seed: 3, Replay: actions})
	if !bytes.Equal(log, again) {
		t.Fatal("the replay's log differs from the exercise's")
	}
	// And as fast as possible, split over nodes, the replay is the same.
	_, split := run(t, sim.Config{Scenario: sc, Seed: 3, Replay: actions, Nodes: 3})
	if !bytes.Equal(log, split) {
		t.Fatal("the replay over three nodes differs")
	}
}

// TestDecisionTimeout: with a decision timeout, a player who does not
// decide lets the rules act when it runs out.
func TestDecisionTimeout(t *testing.T) {
	sc := load(t, "testdata/exercise.yaml")
	sc.DecisionTimeout = scenarios.Duration(liaison.FromDuration(30 * time.Minute))
	_, log := run(t, sim.Config{Scenario: sc, Seed: 3})
	lines := parseLog(t, log)
	var due, decided float64 = -1, -1
	for _, l := range lines {
		switch l.Kind {
		case "decision_due":
			due = l.T
		case "decided":
			decided = l.T
		}
	}
	if due < 0 || decided != due+1800 {
		t.Fatalf("decision due at %vs, decided at %vs; want 30 minutes later", due, decided)
	}
	if !bytes.Contains(log, []byte(`"by":"rules"`)) {
		t.Error("the timed-out decision is not the rules'")
	}
	if math.IsNaN(firstTime(lines, "know", "se.sapo")) {
		t.Error("the rules did not share with se.sapo after the timeout")
	}
}

// TestCutHoldsUntilRestore: a channel cut by a facilitator carries nothing
// until it is restored, even when the run takes the restore long before
// its time (a fast replay does): messages sent meanwhile arrive after the
// restore, with the wait as outage_wait.
func TestCutHoldsUntilRestore(t *testing.T) {
	sc := load(t, "testdata/exercise.yaml")
	actions := []broker.Action{
		{Kind: broker.ActionCut, At: 1000_000, Def: []byte(`{"channel":"national"}`)},
		{Kind: broker.ActionRestore, At: 40000_000, Def: []byte(`{"channel":"national"}`)},
	}
	_, log := run(t, sim.Config{Scenario: sc, Seed: 3, Replay: actions})
	lines := parseLog(t, log)
	sentAt := map[string]float64{}
	held := 0
	for _, l := range lines {
		switch {
		case l.Kind == "send" && l.Channel == "national":
			sentAt[l.Msg] = l.T
		case l.Kind == "deliver" && l.Channel == "national":
			s := sentAt[l.Msg]
			if s >= 1000 && s < 40000 {
				held++
				if l.T < 40000+120 || math.Abs(l.OutageWait-(40000-s)) > 0.0005 {
					t.Errorf("%s sent at %vs during the cut arrived at %vs (outage wait %vs)", l.Msg, s, l.T, l.OutageWait)
				}
			}
		}
	}
	if held == 0 {
		t.Fatal("nothing was sent on the national channel during the cut")
	}
}
