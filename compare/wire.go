package compare

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"liaison/events"
	"liaison/scenarios"
)

// The wire format between a comparison and its workers: JSON requests on
// JobsSubject (one replication each) answered on the request's reply
// subject, and pings on PingSubject. This file is its only writer and
// reader; both ends check what they read, since a peer may be of another
// version, or not Liaison at all.
const (
	// JobsSubject carries replication requests; workers subscribe in the
	// QueueGroup, so that NATS gives each request to one of them.
	JobsSubject = "liaison-compare.jobs"
	QueueGroup  = "liaison-compare-workers"
	// PingSubject is how a comparison finds its workers and their slots.
	PingSubject = "liaison-compare.ping"
	// protocol changes whenever the format or the meaning of a field does.
	protocol = 1
)

// request asks a worker for one replication: the scenario file (bytes and
// name, so that the worker parses exactly what the comparison parsed), the
// row's variant and settings, and the seed.
type request struct {
	Protocol int           `json:"protocol"`
	Job      int           `json:"job"`
	File     string        `json:"file"`
	Data     []byte        `json:"data"`
	Digest   string        `json:"digest"` // SHA-256 of Data, hex: the worker's cache key
	Variant  string        `json:"variant"`
	Settings []wireSetting `json:"settings"`
	Seed     uint64        `json:"seed"`
}

type wireSetting struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// The kinds of reply a worker sends on a request's reply subject.
const (
	replyStarted = "started" // taken; heartbeats follow
	replyAlive   = "alive"   // still running (every heartbeat)
	replyBusy    = "busy"    // every slot taken: ask another worker
	replyGone    = "gone"    // the worker stops before finishing: send it again
	replyResult  = "result"
	replyError   = "error" // the replication failed (as it would here)
)

type reply struct {
	Kind   string   `json:"kind"`
	Job    int      `json:"job"`
	Worker string   `json:"worker"`
	Run    *wireRun `json:"run,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// wireRun is a Run on the wire. Go's JSON writes every float64 in the
// shortest form that reads back to the same bits, so a run survives the
// trip exactly; +Inf, which JSON lacks, travels as a missing time.
type wireRun struct {
	Summary *events.Summary `json:"summary"`
	Items   []wireItem      `json:"items"`
}

type wireItem struct {
	ID                string    `json:"id"`
	Audience          int       `json:"audience"`
	Reached           int       `json:"reached"`
	ReachedAtDeadline int       `json:"reached_at_deadline"`
	TimeToReach       *float64  `json:"time_to_reach_seconds"` // nil when censored
	Deadline          *float64  `json:"deadline_seconds"`
	DeadlineMet       *bool     `json:"deadline_met"`
	Learned           []float64 `json:"learned_seconds"`
	Horizon           float64   `json:"horizon_seconds"`
}

type pingReply struct {
	Protocol int    `json:"protocol"`
	Worker   string `json:"worker"`
	Slots    int    `json:"slots"`
}

func digest(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func toWire(r *Run) *wireRun {
	w := &wireRun{Summary: r.Summary}
	for _, it := range r.Items {
		wi := wireItem{ID: it.ID, Audience: it.Audience, Reached: it.Reached, ReachedAtDeadline: it.ReachedAtDeadline,
			Deadline: it.Deadline, DeadlineMet: it.DeadlineMet, Learned: it.Learned, Horizon: it.Horizon}
		if !it.Censored {
			t := it.TimeToReach
			wi.TimeToReach = &t
		}
		w.Items = append(w.Items, wi)
	}
	return w
}

// fromWire checks a run read from a worker against the scenario the row
// runs (its injects, their audiences) and fills r.
func fromWire(w *wireRun, sc *scenarios.Scenario, r *Run) error {
	if w == nil || w.Summary == nil {
		return fmt.Errorf("a result without a run or summary")
	}
	if len(w.Items) != len(sc.Injects) {
		return fmt.Errorf("a result with %d items; the scenario has %d injects", len(w.Items), len(sc.Injects))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	var items []ItemRun
	for i, wi := range w.Items {
		in := sc.Injects[i]
		switch {
		case wi.ID != string(in.ID):
			return fmt.Errorf("item %d is %q; expected %s", i, wi.ID, in.ID)
		case wi.Audience != len(in.Audience) || wi.Reached < 0 || wi.Reached > wi.Audience ||
			wi.ReachedAtDeadline < 0 || wi.ReachedAtDeadline > wi.Audience || len(wi.Learned) > wi.Audience:
			return fmt.Errorf("item %s: counts out of range for an audience of %d", in.ID, len(in.Audience))
		case !slices.IsSorted(wi.Learned) || slices.ContainsFunc(wi.Learned, func(t float64) bool { return !finite(t) }) || !finite(wi.Horizon):
			return fmt.Errorf("item %s: learning times or horizon not sorted or not finite", in.ID)
		case wi.TimeToReach != nil && !finite(*wi.TimeToReach):
			return fmt.Errorf("item %s: time to reach not finite", in.ID)
		}
		it := ItemRun{ID: wi.ID, Audience: wi.Audience, Reached: wi.Reached, ReachedAtDeadline: wi.ReachedAtDeadline,
			TimeToReach: math.Inf(1), Censored: true, Deadline: wi.Deadline, DeadlineMet: wi.DeadlineMet,
			Learned: wi.Learned, Horizon: wi.Horizon}
		if wi.TimeToReach != nil {
			it.TimeToReach, it.Censored = *wi.TimeToReach, false
		}
		items = append(items, it)
	}
	r.Summary, r.Items = w.Summary, items
	return nil
}

// runDigest identifies a result, to tell a harmless duplicate (the same
// replication run twice) from a worker that computes something else.
func runDigest(w *wireRun) string {
	b, _ := json.Marshal(w)
	return digest(b)
}
