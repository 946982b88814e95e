package scenarios

import (
	"maps"
	"slices"

	"gopkg.in/yaml.v3"

	"liaison"
)

// Handling is how long an agency takes over one message. Desks handle a
// SIRENE hit faster than a routine request, so a file may give one
// distribution or one per message type:
//
//	handling: lognormal(median=20m, sigma=0.6)
//	handling: {default: 30m, sirene-G: uniform(5m, 20m)}
type Handling struct {
	Default Dist                         // for types without their own; zero samples 0
	ByType  map[liaison.MessageType]Dist // per message type
}

// For returns the distribution for messages of type t.
func (h Handling) For(t liaison.MessageType) Dist {
	if d, ok := h.ByType[t]; ok {
		return d
	}
	return h.Default
}

// Types lists the message types with their own distribution, sorted.
func (h Handling) Types() []liaison.MessageType {
	return slices.Sorted(maps.Keys(h.ByType))
}

func (h *Handling) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		d.decode(n, valueOf(&h.Default), path, nil)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			var dist Dist
			d.decode(v, valueOf(&dist), p, nil)
			if isNull(v) {
				d.errorf(v, p, Missing, "%s is empty; expected a distribution (in a flow mapping, quote distributions that contain commas)", p)
			}
			if k.Value == "default" {
				h.Default = dist
				continue
			}
			if _, dup := h.ByType[liaison.MessageType(k.Value)]; dup {
				d.errorf(k, p, Duplicate, "message type %q appears twice in %s; expected each type once", k.Value, path)
				continue
			}
			if h.ByType == nil {
				h.ByType = map[liaison.MessageType]Dist{}
			}
			h.ByType[liaison.MessageType(k.Value)] = dist
		}
	default:
		d.errorf(n, path, BadDistribution, "%s is %s; expected a distribution, or a mapping from message type (or default) to distribution", path, kindNoun[n.Kind])
	}
}

func (Handling) jsonSchema() map[string]any {
	dist := Dist{}.jsonSchema()
	return map[string]any{"anyOf": []any{
		dist,
		map[string]any{"type": "object", "additionalProperties": dist},
	}}
}
