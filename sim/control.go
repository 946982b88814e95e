package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/agents"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
)

// Control subjects. A run answers on liaison.<run>.ctl.<verb>; every run
// on a server also answers liaison.runs, so that a facilitator with one
// run need not know its id.
const (
	ctlInject   = "inject"
	ctlPause    = "pause"
	ctlResume   = "resume"
	RunsSubject = "liaison.runs"
)

// ControlSubject is where a run takes the facilitator's verb.
func ControlSubject(runID, verb string) string { return "liaison." + runID + ".ctl." + verb }

// actionWait bounds how long a facilitator waits for an action to take
// effect: a paused or slow run answers within it or says it is busy.
const actionWait = 30 * time.Second

// serveControl answers the facilitator's requests for one run over NATS:
// live injects (checked against the scenario as the loader would), pause
// and resume, submitted through ctl.
//
// Answers: "ok T" (taken at simulated time T), "unchanged paused T" (a
// pause while paused since T) or "unchanged running" (a resume while not
// paused), "invalid: …" (a bad inject), "error: …".
func serveControl(c *broker.Conn, runID string, sc *scenarios.Scenario, speed float64, ctl *actor) (func(), error) {
	accepted := *sc
	accepted.Injects = append([]scenarios.Inject(nil), sc.Injects...)
	act := func(a broker.Action) (string, bool) {
		r := ctl.act(a)
		if r.Err != nil {
			return "error: " + r.Err.Error(), false
		}
		return "ok " + liaison.FormatSeconds(r.At), true
	}
	handle := func(verb string) nats.MsgHandler {
		return func(m *nats.Msg) {
			// One action at a time: later injects are checked against
			// earlier ones.
			ctl.mu.Lock()
			defer ctl.mu.Unlock()
			var reply string
			switch verb {
			case ctlInject:
				file, body, _ := bytes.Cut(m.Data, []byte("\n"))
				in, err := accepted.ParseInject(string(file), body)
				if err != nil {
					reply = "invalid: " + err.Error()
					break
				}
				def, _ := json.Marshal(agents.DefOf(in))
				var ok bool
				if reply, ok = act(broker.Action{Kind: broker.ActionInject, Def: def}); ok {
					accepted.Injects = append(accepted.Injects, *in)
				}
			case ctlPause:
				if ctl.paused {
					reply = "unchanged paused " + liaison.FormatSeconds(ctl.pausedAt)
					break
				}
				reply, _ = act(broker.Action{Kind: broker.ActionPause})
			case ctlResume:
				if !ctl.paused {
					reply = "unchanged running"
					break
				}
				reply, _ = act(broker.Action{Kind: broker.ActionResume})
			}
			m.Respond([]byte(reply))
		}
	}
	var subs []*nats.Subscription
	stop := func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}
	for _, verb := range []string{ctlInject, ctlPause, ctlResume} {
		s, err := c.Subscribe(ControlSubject(runID, verb), handle(verb))
		if err != nil {
			stop()
			return nil, fmt.Errorf("sim: subscribing to control: %w", err)
		}
		subs = append(subs, s)
	}
	pace := "as fast as possible"
	if speed > 0 {
		pace = fmt.Sprintf("speed %g", speed)
	}
	s, err := c.Subscribe(RunsSubject, func(m *nats.Msg) {
		m.Respond(fmt.Appendf(nil, "%s %s (%s)", runID, sc.Name, pace))
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("sim: subscribing to %s: %w", RunsSubject, err)
	}
	subs = append(subs, s)
	return stop, nil
}

// timeAfter is time.After, a variable for tests of slow runs.
var timeAfter = time.After

// actionEvent records a live action in the log and, for an inject,
// registers its item with the recorder.
func actionEvent(a broker.Action, m *agents.Model, rec *events.Recorder) (events.Event, error) {
	e := events.Event{T: a.At, Rank: events.RankAgent, Agency: -1, Seq: a.Seq, MsgFrom: -1,
		Channel: -1, Type: -1, Item: -1, Peer: -1, Reason: -1, CauseFrom: -1}
	switch a.Kind {
	case broker.ActionInject:
		item, _, err := m.AddLive(a.Def, a.At)
		if err != nil {
			return e, err
		}
		rec.AddItem(m.ItemInfo(item))
		e.Kind, e.Item = events.LiveInject, item
		e.Raw = events.InjectMember(a.Def)
		return e, nil
	case broker.ActionPause:
		e.Kind = events.Pause
		return e, nil
	case broker.ActionResume:
		e.Kind = events.Resume
		return e, nil
	}
	k, ok := actionKinds[a.Kind]
	if !ok {
		return e, fmt.Errorf("sim: unknown action %q", a.Kind)
	}
	d, err := m.ParseAction(a)
	if err != nil {
		return e, err
	}
	e.Kind, e.Raw = k, events.ActionMember(a.Def)
	switch a.Kind {
	case broker.ActionSkip:
		e.Item = m.ItemByID(d.ID)
		rec.SkipItem(e.Item)
	case broker.ActionPostpone:
		e.Item = m.ItemByID(d.ID)
		rec.MoveItem(e.Item, d.PostponedTo(a.At))
	case broker.ActionFire:
		e.Item = m.ItemByID(d.ID)
		rec.MoveItem(e.Item, a.At)
	case broker.ActionCut, broker.ActionRestore:
		e.Channel = m.ChannelByID(d.Channel)
	}
	return e, nil
}

// actionKinds names the log's record of each live action besides injects,
// pauses and resumes.
var actionKinds = map[string]events.Kind{
	broker.ActionSkip: events.SkipInject, broker.ActionPostpone: events.PostponeInject,
	broker.ActionFire: events.FireInject, broker.ActionCut: events.CutChannel,
	broker.ActionRestore: events.RestoreChannel, broker.ActionStaff: events.SetStaff,
	broker.ActionNote: events.Note, broker.ActionDecision: events.PlayerDecision,
}

// ReadActions reads the live actions recorded in an event log, to replay
// them: the run then gives the same log. The whole log is read and
// checked (events.Reader), so a damaged log is refused before the replay
// starts rather than half-way.
func ReadActions(name string, r io.Reader) ([]broker.Action, error) {
	_, out, err := ReadReplay(name, r)
	return out, err
}

// ReadReplay is ReadActions that also returns the log's run header, so
// that a replay can check it is of the run it replays (CheckReplay).
func ReadReplay(name string, r io.Reader) (*events.RunInfo, []broker.Action, error) {
	rd, err := events.NewReader(name, r)
	if err != nil {
		return nil, nil, err
	}
	out, err := readActions(rd)
	return rd.Info(), out, err
}

// CheckReplay says what is wrong with replaying, in a run of scenario sc
// with seed and variant, the actions of the log name whose header is info:
// only the run the log records gives the same log again, and another
// scenario's actions name agencies, injects and decisions it lacks.
func CheckReplay(name string, info *events.RunInfo, sc *scenarios.Scenario, seed uint64, variant string) error {
	if info.Scenario == sc.Name && info.Seed == seed && info.Variant == variant {
		return nil
	}
	flags := fmt.Sprintf("--seed %d", info.Seed)
	if info.Variant != "" {
		flags += " --variant " + info.Variant
	}
	return &events.LogError{File: name, Line: 1, Msg: fmt.Sprintf(
		"the log is of scenario %s, seed %d, variant %q; this run is of %s, seed %d, variant %q: a replay must run the scenario the log records, with %s",
		info.Scenario, info.Seed, info.Variant, sc.Name, seed, variant, flags)}
}

func readActions(rd *events.Reader) ([]broker.Action, error) {
	var out []broker.Action
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		a := broker.Action{At: rec.T}
		switch rec.Kind {
		case events.LiveInject:
			a.Kind, a.Def = broker.ActionInject, events.InjectJSON(&rec.Event)
		case events.Pause:
			a.Kind = broker.ActionPause
		case events.Resume:
			a.Kind = broker.ActionResume
		default:
			if !rec.Kind.IsAction() {
				continue
			}
			if rec.Kind == events.FireInject {
				if d, ok := events.ActionDefOf(&rec.Event); ok && d.Trigger {
					continue // the run fires it again by itself
				}
			}
			for kind, k := range actionKinds {
				if k == rec.Kind {
					a.Kind = kind
				}
			}
			a.Def = append([]byte(nil), events.ActionOf(&rec.Event)...)
		}
		out = append(out, a)
	}
}
