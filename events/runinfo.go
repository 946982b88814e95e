package events

import "encoding/json"

// RunInfo is the first line of every event log (kind "run"): what was run,
// on which calendar, with which agencies, channels and items, so that a log
// can be read on its own (reports, comparisons) without the scenario file.
type RunInfo struct {
	T                float64       `json:"t"`
	Kind             string        `json:"kind"`
	Scenario         string        `json:"scenario"`
	Title            string        `json:"title"`
	Seed             uint64        `json:"seed"`
	Variant          string        `json:"variant"`
	Start            string        `json:"start"`
	TimeZone         string        `json:"timezone"`
	DurationSeconds  *float64      `json:"duration_seconds"`
	LookaheadSeconds float64       `json:"lookahead_seconds"`
	Agencies         []AgencyInfo  `json:"agencies"`
	Channels         []ChannelInfo `json:"channels"`
	Items            []ItemDesc    `json:"items"`
	// Ratings are the evaluators' ratings of objectives from the
	// scenario's ratings section; the report shows them in place of the
	// ratings it computes. Absent when the scenario gives none.
	Ratings []ObjectiveRating `json:"ratings,omitempty"`
	// Players are the agencies people seated in the run; DecisionTimeout
	// how long a player had before the rules acted (absent: no limit).
	Players                []string `json:"players,omitempty"`
	DecisionTimeoutSeconds *float64 `json:"decision_timeout_seconds,omitempty"`
}

// ObjectiveRating is the evaluators' HSEEP rating of one objective (an
// objective text of the items), with their reason.
type ObjectiveRating struct {
	Objective string `json:"objective"`
	Rating    string `json:"rating"` // P, S, M or U (liaison.Rating)
	Reason    string `json:"reason,omitempty"`
}

// AgencyInfo describes one agency in the run header.
type AgencyInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Hours   string `json:"hours"`
	Staff   int    `json:"staff"`
}

// ChannelInfo describes one channel in the run header.
type ChannelInfo struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Topology string   `json:"topology"`
	Relay    string   `json:"relay,omitempty"`
	Members  []string `json:"members"`
	Latency  string   `json:"latency"`
}

// ItemDesc describes one inject in the run header.
type ItemDesc struct {
	ID                string   `json:"id"`
	AtSeconds         float64  `json:"at_seconds"`
	To                string   `json:"to"`
	From              string   `json:"from,omitempty"`
	Type              string   `json:"type"`
	Summary           string   `json:"summary"`
	TLP               string   `json:"tlp"`
	OriginatorControl bool     `json:"originator_control"`
	Originator        string   `json:"originator"`
	Audience          []string `json:"audience"`
	DeadlineSeconds   *float64 `json:"deadline_seconds"`
	Expected          string   `json:"expected,omitempty"`
	Objective         string   `json:"objective,omitempty"`
	// When is "manual" for a contingency inject, which fires only when a
	// facilitator fires it, and "trigger" for a conditional one, which
	// fires when Trigger holds (AtSeconds is then its planned time).
	When    string `json:"when,omitempty"`
	Trigger string `json:"trigger,omitempty"`
}

// Line returns the header as one JSON line, newline included.
func (r *RunInfo) Line() ([]byte, error) {
	r.Kind = "run"
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
