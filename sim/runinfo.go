package sim

import (
	"strings"
	"time"

	"liaison"
	"liaison/events"
	"liaison/scenarios"
)

// runInfo describes a run for the first line of its event log.
func runInfo(sc *scenarios.Scenario, seed uint64, variant string) *events.RunInfo {
	ri := &events.RunInfo{
		Scenario: sc.Name, Title: sc.Title, Seed: seed, Variant: variant,
		Start: sc.Start.Time.Format(time.RFC3339), TimeZone: sc.TimeZone,
		LookaheadSeconds: sc.Lookahead().Seconds(),
		Agencies:         []events.AgencyInfo{}, Channels: []events.ChannelInfo{}, Items: []events.ItemDesc{},
	}
	if sc.TimeZone == "" && sc.Location != nil {
		ri.TimeZone = sc.Location.String()
	}
	if sc.DecisionTimeout > 0 {
		t := sc.DecisionTimeout.Time().Seconds()
		ri.DecisionTimeoutSeconds = &t
	}
	if sc.Duration > 0 {
		d := sc.Duration.Time().Seconds()
		ri.DurationSeconds = &d
	}
	ids := func(as []liaison.AgencyID) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = string(a)
		}
		return out
	}
	if len(sc.Players) > 0 {
		ri.Players = ids(sc.Players)
	}
	for _, a := range sc.Agencies {
		hours := a.Hours.Text
		if hours == "" || a.Hours.Always {
			hours = "24/7"
		}
		ri.Agencies = append(ri.Agencies, events.AgencyInfo{ID: string(a.ID), Name: a.Name,
			Country: a.Country, Kind: a.Kind, Hours: hours, Staff: max(a.Staff, 1)})
	}
	for _, c := range sc.Channels {
		ci := events.ChannelInfo{ID: string(c.ID), Name: c.Name, Topology: string(c.Topology),
			Members: ids(c.Members), Latency: c.Latency.Text}
		switch {
		case c.Hub != "":
			ci.Relay = string(c.Hub)
		case c.Officer != "":
			ci.Relay = string(c.Officer)
		}
		for _, side := range c.Sides {
			ci.Members = append(ci.Members, ids(side)...)
		}
		ri.Channels = append(ri.Channels, ci)
	}
	for _, in := range sc.Injects {
		tlp := liaison.TLPGreen
		if in.TLP.Set {
			tlp = in.TLP.Level
		}
		orig := in.Originator
		if orig == "" {
			orig = in.To
		}
		d := events.ItemDesc{ID: string(in.ID), AtSeconds: in.At.Time().Seconds(), To: string(in.To),
			From: in.From, Type: string(in.Type), Summary: in.Summary, TLP: tlp.String(),
			OriginatorControl: in.OriginatorControl, Originator: string(orig),
			Audience: ids(in.Audience), Expected: in.Expected, Objective: in.Objective, When: in.When}
		if in.Trigger != nil {
			d.When, d.Trigger = "trigger", in.Trigger.String()
		}
		if in.Deadline > 0 {
			s := in.Deadline.Time().Seconds()
			d.DeadlineSeconds = &s
		}
		ri.Items = append(ri.Items, d)
	}
	for _, r := range sc.Ratings {
		ri.Ratings = append(ri.Ratings, events.ObjectiveRating{Objective: strings.TrimSpace(r.Objective),
			Rating: string(r.Rating), Reason: r.Reason})
	}
	return ri
}
