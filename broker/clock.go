package broker

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"liaison"
)

// Action kinds. Each Def is JSON; see agents.ApplyDefs for the shapes of
// those that change the model.
const (
	ActionInject   = "inject"          // a new inject (events.InjectDef)
	ActionPause    = "pause"           // the clock stops
	ActionResume   = "resume"          // the clock goes on
	ActionSkip     = "skip_inject"     // a scheduled inject will not fire: {"id"}
	ActionPostpone = "postpone_inject" // a scheduled inject fires later: {"id", "at_seconds"}
	ActionFire     = "fire_inject"     // a contingency inject fires now: {"id"}
	ActionCut      = "cut_channel"     // a channel goes down until restored: {"channel"}
	ActionRestore  = "restore_channel" // a cut channel comes back: {"channel"}
	ActionStaff    = "set_staff"       // an agency's staff changes: {"agency", "staff"}
	ActionNote     = "note"            // an evaluator's note, for the record: {"text", "objective", "agency"}
	ActionDecision = "decision"        // a player decides for its agency: {"agency", "decision", "action", "to", "channel", "type"}
)

// ChangesModel reports whether an action of this kind changes what the
// agencies do, so that every node must take it at its time (pause, resume
// and notes are for the record and the clock only).
func ChangesModel(kind string) bool {
	switch kind {
	case ActionPause, ActionResume, ActionNote:
		return false
	}
	return true
}

// Action is a facilitator's action during a run: an inject delivered at the
// current simulated time, or a pause or resume of the clock. Every action
// is recorded in the event log at the simulated time it took effect, so a
// live run can be replayed exactly from its log.
type Action struct {
	Kind string
	// Def is an inject's definition, passed to the nodes as is.
	Def []byte
	// At is when the action takes effect: set by the service for live
	// actions; given for replayed ones.
	At liaison.Time
	// Done, when not nil, is told when the action was accepted and the
	// simulated time it takes effect at, or why it was refused. (A
	// facilitator is answered at once, even while the run is paused.)
	Done chan<- ActionResult
	// Seq orders actions that take effect at the same time.
	Seq uint64
}

// ActionResult answers a live action.
type ActionResult struct {
	At  liaison.Time
	Err error
}

// ErrTooLate refuses an inject that would take effect after the run's end.
var ErrTooLate = errors.New("broker: the run ends before the inject could take effect")

// Clock decides where simulated time may go next: to the earliest pending
// event or live inject, and, in a paced run, not before the wall clock says
// so. It takes the facilitator's actions while it waits and gives each the
// simulated time it takes effect at. The time service uses one across
// processes, the in-process synchronisation another.
type Clock struct {
	// Accept, when set, decides whether a live action may take effect at
	// its time (a.At): a skipped inject must not have fired yet, say. It
	// runs on the goroutine that calls Next.
	Accept func(a Action) error

	speed      float64
	end        liaison.Time
	input      <-chan Action
	t0         time.Time // wall time of simulated time 0, moved on by pauses
	pending    []Action  // accepted actions not yet granted, by (At, Seq)
	seq        uint64
	paused     bool
	pausedWall time.Time
	pausedSim  liaison.Time
}

// knownAction reports whether kind is one of the Action kinds.
func knownAction(kind string) bool {
	switch kind {
	case ActionInject, ActionPause, ActionResume, ActionSkip, ActionPostpone, ActionFire,
		ActionCut, ActionRestore, ActionStaff, ActionNote, ActionDecision:
		return true
	}
	return false
}

// NewClock returns the clock of a run that ends at end (liaison.Never for
// none), paced at speed simulated seconds per wall second (0: as fast as
// possible), taking live actions from live (nil for none) and replaying
// script, the actions of an earlier run's log, at their times.
func NewClock(speed float64, end liaison.Time, live <-chan Action, script []Action) *Clock {
	c := &Clock{speed: speed, end: end, t0: time.Now(), input: live}
	for _, a := range script {
		c.add(a)
	}
	return c
}

// Start sets simulated time 0 to now: a run calls it when its nodes are
// ready, so that setting up is not counted as running late. Call it before
// Next, once.
func (c *Clock) Start() { c.t0 = time.Now() }

// Paced reports whether the clock follows the wall clock.
func (c *Clock) Paced() bool { return c.speed > 0 }

// Paused reports whether a facilitator has paused the run.
func (c *Clock) Paused() bool { return c.paused }

// Now is the simulated time the wall clock stands at, in a paced run.
func (c *Clock) Now() liaison.Time {
	if c.paused {
		return c.pausedSim
	}
	return liaison.FromDuration(scale(float64(time.Since(c.t0)) * c.speed))
}

// scale converts nanoseconds to a Duration, saturating: a very slow or
// fast pace must not wrap a time around into the past.
func scale(ns float64) time.Duration {
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// WallAt is the wall time of simulated time t, in a paced run.
func (c *Clock) WallAt(t liaison.Time) time.Time {
	return c.t0.Add(scale(float64(t.Duration()) / c.speed))
}

// Drift is how far the scaled wall clock has run past simulated time t.
func (c *Clock) Drift(t liaison.Time) time.Duration {
	if !c.Paced() {
		return 0
	}
	return time.Since(c.WallAt(t))
}

// Script adds an action that takes effect at its time a.At, as a replayed
// one does: a conditional inject the run fires itself. Call it from the
// goroutine that calls Next, before time passes a.At.
func (c *Clock) Script(a Action) { c.add(a) }

// NextAction is the time of the earliest accepted action not yet taken, or
// liaison.Never.
func (c *Clock) NextAction() liaison.Time {
	if len(c.pending) == 0 {
		return liaison.Never
	}
	return c.pending[0].At
}

func (c *Clock) add(a Action) {
	c.seq++
	a.Seq = c.seq
	i, _ := slices.BinarySearchFunc(c.pending, a, func(x, y Action) int {
		if x.At != y.At {
			if x.At < y.At {
				return -1
			}
			return 1
		}
		if x.Seq < y.Seq {
			return -1
		}
		return 1
	})
	c.pending = slices.Insert(c.pending, i, a)
}

// Take removes and returns the pending actions that take effect before
// limit.
func (c *Clock) Take(limit liaison.Time) []Action {
	k := 0
	for k < len(c.pending) && c.pending[k].At < limit {
		k++
	}
	out := slices.Clone(c.pending[:k])
	c.pending = c.pending[k:]
	return out
}

// Next returns where simulated time goes next, given the earliest pending
// event anywhere (next) and how far time has been granted (frontier). A
// live inject takes effect at the current simulated time: the wall clock's
// in a paced run, the frontier otherwise; never in the past of a granted
// window. In a paced run Next waits for the wall clock, and while paused
// for a resume, taking actions all the while.
func (c *Clock) Next(ctx context.Context, next, frontier liaison.Time) (liaison.Time, error) {
	for {
		target := next
		for _, a := range c.pending {
			if a.Kind == ActionInject {
				target = min(target, a.At)
				break
			}
		}
		var wake <-chan time.Time
		switch {
		case c.paused:
			// Only a resume (or another action) moves on.
		case !c.Paced():
			// As fast as possible: take what has already arrived, then go.
			select {
			case a, ok := <-c.input:
				if !ok {
					c.input = nil
				} else {
					c.live(a, frontier)
				}
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			default:
				return target, nil
			}
		default:
			until := min(target, c.end)
			if until == liaison.Never {
				return target, nil // quiet, with no end: nothing is left to pace
			}
			d := time.Until(c.WallAt(until))
			if d <= 0 {
				return target, nil
			}
			t := time.NewTimer(d)
			wake = t.C
			defer t.Stop()
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-wake:
			return target, nil
		case a, ok := <-c.input:
			if !ok {
				c.input = nil
				if c.paused {
					return 0, errors.New("broker: the run was paused and its control channel closed")
				}
				continue
			}
			c.live(a, frontier)
		}
	}
}

// live applies one facilitator action.
func (c *Clock) live(a Action, frontier liaison.Time) {
	at := frontier
	if c.Paced() && !c.paused {
		at = max(at, c.Now())
	}
	switch a.Kind {
	case ActionPause, ActionResume:
	default:
		if !knownAction(a.Kind) {
			c.reply(a, errors.New("broker: unknown action "+a.Kind))
			return
		}
		// Everything else takes effect where the run stands, paused or
		// not, and not after its end.
		if c.paused {
			at = c.pausedSim
		}
		if c.end != liaison.Never && at >= c.end {
			c.reply(a, ErrTooLate)
			return
		}
	}
	switch a.Kind {
	case ActionPause:
		if c.paused {
			c.reply(a, errors.New("broker: the run is already paused"))
			return
		}
		c.paused, c.pausedWall, c.pausedSim = true, time.Now(), at
	case ActionResume:
		if !c.paused {
			c.reply(a, errors.New("broker: the run is not paused"))
			return
		}
		// Simulated time stood still while paused.
		c.paused, at = false, c.pausedSim
		c.t0 = c.t0.Add(time.Since(c.pausedWall))
	}
	a.At = at
	if c.Accept != nil {
		if err := c.Accept(a); err != nil {
			if a.Kind == ActionPause {
				c.paused = false
			}
			c.reply(a, err)
			return
		}
	}
	c.add(a)
	if a.Done != nil {
		a.Done <- ActionResult{At: at}
	}
}

func (c *Clock) reply(a Action, err error) {
	if a.Done != nil {
		a.Done <- ActionResult{Err: err}
	}
}
