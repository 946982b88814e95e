package scenarios

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"

	"liaison"
)

// Schema returns the JSON Schema (draft 2020-12) of scenario files, for
// editors and for `liaison schema`. It is generated from the same types and
// tags as the decoder (desc, required, enum, and each value type's own
// fragment), so the two cannot disagree about which fields exist. The
// output is indented and stable: objects are printed with sorted keys.
func Schema() []byte {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[Scenario](), nil)
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["title"] = "Liaison scenario"
	root["description"] = "A Liaison scenario: agencies, the channels that join them, rules, injects, background traffic and variants."
	root["$defs"] = g.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic("scenarios: schema: " + err.Error()) // only plain maps, slices and strings go in
	}
	return append(out, '\n')
}

type schemaGen struct{ defs map[string]any }

type schemaFragment interface{ jsonSchema() map[string]any }

// object is the schema of a struct written as a mapping; skip names fields
// that are not written inside it (a variant's name is its key).
func (g *schemaGen) object(t reflect.Type, skip []string) map[string]any {
	props := map[string]any{}
	var required []any
	for _, f := range fieldsOf(t) {
		if slices.Contains(skip, f.name) {
			continue
		}
		p := maps.Clone(g.of(t.Field(f.index).Type))
		if f.desc != "" {
			p["description"] = f.desc
		}
		if f.enum != nil {
			var e []any
			for _, v := range f.enum {
				e = append(e, v)
			}
			p["enum"] = e
		}
		props[f.name] = p
		if f.required {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// of is the schema of a value of type t.
func (g *schemaGen) of(t reflect.Type) map[string]any {
	if f, ok := reflect.New(t).Interface().(schemaFragment); ok {
		return f.jsonSchema()
	}
	switch t {
	case variantsType:
		g.def("Variant", reflect.TypeFor[Variant](), "name")
		return map[string]any{"type": "object",
			"propertyNames":        map[string]any{"pattern": nameSyntax.String()},
			"additionalProperties": map[string]any{"$ref": "#/$defs/Variant"}}
	case reflect.TypeFor[liaison.AgencyID]():
		return map[string]any{"type": "string", "pattern": agencyIDSyntax.String()}
	case reflect.TypeFor[liaison.ChannelID]():
		return map[string]any{"type": "string", "pattern": channelIDSyntax.String(),
			"not": map[string]any{"enum": anys(reservedChannels)}}
	}
	switch t.Kind() {
	case reflect.Struct:
		g.def(t.Name(), t)
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float64, reflect.Float32:
		return map[string]any{"type": "number"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	}
	panic("scenarios: no schema for " + t.String())
}

// def adds a named definition once.
func (g *schemaGen) def(name string, t reflect.Type, skip ...string) {
	if _, ok := g.defs[name]; ok {
		return
	}
	g.defs[name] = nil // mark before recursing
	g.defs[name] = g.object(t, skip)
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
