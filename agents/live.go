package agents

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"liaison"
	"liaison/events"
	"liaison/scenarios"
)

// InjectDef is a live inject as it travels from the time service to the
// nodes; the event log carries the same JSON, so its type is the log
// format's (events.InjectDef).
type InjectDef = events.InjectDef

// DefOf describes a checked inject (scenarios.ParseInject) for the wire.
func DefOf(in *scenarios.Inject) InjectDef {
	d := InjectDef{ID: in.ID, To: in.To, From: in.From, Type: in.Type, Summary: in.Summary,
		TLP: in.TLP.Level.String(), OriginatorControl: in.OriginatorControl, Originator: in.Originator,
		Audience: in.Audience, DeadlineSeconds: in.Deadline.Time().Seconds(), Urgent: in.Urgent}
	if d.Audience == nil {
		d.Audience = []liaison.AgencyID{}
	}
	if d.Originator == "" {
		d.Originator = in.To
	}
	return d
}

// ForNode returns a copy of the model whose tables of items and types can
// grow with live injects without touching other nodes' copies (or the
// recorder's).
func (m *Model) ForNode() *Model {
	c := *m
	c.items = slices.Clip(m.items)
	c.Names.Items = slices.Clip(m.Names.Items)
	c.Names.Types = slices.Clip(m.Names.Types)
	c.typeIx = maps.Clone(m.typeIx)
	return &c
}

// AddLive registers a live inject taking effect at at, as the next item:
// every node and the recorder add the same injects in the same order, so
// indices agree everywhere.
func (m *Model) AddLive(def []byte, at liaison.Time) (int32, *InjectDef, error) {
	var d InjectDef
	if err := json.Unmarshal(def, &d); err != nil {
		return 0, nil, fmt.Errorf("agents: bad live inject: %w", err)
	}
	to := m.AgencyIndex(d.To)
	orig := m.AgencyIndex(d.Originator)
	if to < 0 || orig < 0 {
		return 0, nil, fmt.Errorf("agents: live inject %s names an agency the scenario lacks", d.ID)
	}
	tlp, ok := liaison.ParseTLP(d.TLP)
	if !ok {
		return 0, nil, fmt.Errorf("agents: live inject %s has TLP %q", d.ID, d.TLP)
	}
	it := itemModel{id: d.ID, at: at, to: to, typ: m.typeIndex(d.Type), tlp: tlp,
		control: d.OriginatorControl, originator: orig, urgent: d.Urgent,
		deadline: liaison.Time(d.DeadlineSeconds*1000 + 0.5)}
	for _, a := range d.Audience {
		ix := m.AgencyIndex(a)
		if ix < 0 {
			return 0, nil, fmt.Errorf("agents: live inject %s names an agency the scenario lacks", d.ID)
		}
		it.audience = append(it.audience, ix)
	}
	m.items = append(m.items, it)
	m.Names.Items = append(m.Names.Items, d.ID)
	return int32(len(m.items) - 1), &d, nil
}

// ItemInfo returns what the recorder needs to measure an item's reach.
func (m *Model) ItemInfo(item int32) events.ItemInfo {
	it := &m.items[item]
	return events.ItemInfo{ID: it.id, At: it.at, Audience: it.audience, Deadline: it.deadline}
}

// handlingFor returns an agency's handling time distribution for a type,
// including types first seen in live injects.
func (am *agencyModel) handlingFor(m *Model, typ int32) *scenarios.Dist {
	if int(typ) < len(am.handling) {
		return &am.handling[typ]
	}
	d := am.sc.Handling.For(m.Names.Types[typ])
	return &d
}
