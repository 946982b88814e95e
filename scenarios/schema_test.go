package scenarios

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// yamlToJSON converts a YAML document to the JSON value an editor's schema
// validator sees: scalars by their resolved tag, so 0 is a number and
// "24/7" a string.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		switch n.Kind {
		case yaml.DocumentNode:
			return conv(n.Content[0])
		case yaml.AliasNode:
			return conv(n.Alias)
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				m[n.Content[i].Value] = conv(n.Content[i+1])
			}
			return m
		case yaml.SequenceNode:
			s := []any{}
			for _, c := range n.Content {
				s = append(s, conv(c))
			}
			return s
		}
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			b, _ := strconv.ParseBool(n.Value)
			return b
		case "!!int", "!!float":
			return json.Number(n.Value)
		}
		return n.Value
	}
	// Round-trip through the validator's own decoder for its number types.
	j, err := json.Marshal(conv(&doc))
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("scenario.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSchemaAcceptsGoodFiles validates the good fixtures and every
// built-in against the schema.
func TestSchemaAcceptsGoodFiles(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	builtins, _ := filepath.Glob("*.yaml")
	for _, f := range append(files, builtins...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s does not match the schema: %v", f, err)
		}
	}
}

// TestSchemaRejectsUnknownFields checks that a misspelt field fails both
// the schema and the loader.
func TestSchemaRejectsUnknownFields(t *testing.T) {
	sch := compileSchema(t)
	for _, f := range []string{"testdata/bad/unknown-field.yaml", "testdata/bad/bad-topology.yaml", "testdata/bad/wrong-kinds.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(yamlToJSON(t, data)); err == nil {
			t.Errorf("%s matches the schema", f)
		}
		if _, err := Parse(f, data); err == nil {
			t.Errorf("%s loads", f)
		}
	}
	// An unknown field inside a variant overlay, and a name inside it.
	for _, extra := range []string{"variants: {v: {titel: x}}", "variants: {v: {name: v}}"} {
		data := append(must(os.ReadFile("testdata/good/minimal.yaml")), []byte(extra+"\n")...)
		if err := sch.Validate(yamlToJSON(t, data)); err == nil {
			t.Errorf("%q matches the schema", extra)
		}
		if _, err := Parse("x.yaml", data); err == nil {
			t.Errorf("%q loads", extra)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSchemaCoversModel walks the model types and proves that every yaml
// field has a property in the schema, with its required flag, so that a
// field added to model.go cannot be forgotten there.
func TestSchemaCoversModel(t *testing.T) {
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
		Defs       map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(t0 reflect.Type, props map[string]json.RawMessage, required []string)
	walk = func(typ reflect.Type, props map[string]json.RawMessage, required []string) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		for _, f := range fieldsOf(typ) {
			if typ == reflect.TypeFor[Variant]() && f.name == "name" {
				continue // the key of the variants mapping
			}
			if _, ok := props[f.name]; !ok {
				t.Errorf("%s.%s (yaml %q) is missing from the schema", typ.Name(), typ.Field(f.index).Name, f.name)
			}
			if f.required != slices.Contains(required, f.name) {
				t.Errorf("%s.%s: required is %v in the model but not in the schema", typ.Name(), typ.Field(f.index).Name, f.required)
			}
			ft := typ.Field(f.index).Type
			for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if _, custom := reflect.New(ft).Interface().(schemaFragment); custom {
					continue
				}
				def, ok := schema.Defs[ft.Name()]
				if !ok {
					t.Errorf("no $defs/%s in the schema", ft.Name())
					continue
				}
				walk(ft, def.Properties, def.Required)
			}
		}
		if n := len(fieldsOf(typ)); typ != reflect.TypeFor[Variant]() && len(props) != n || typ == reflect.TypeFor[Variant]() && len(props) != n-1 {
			t.Errorf("%s has %d yaml fields but the schema %d properties", typ.Name(), n, len(props))
		}
	}
	walk(reflect.TypeFor[Scenario](), schema.Properties, schema.Required)
	if !seen[reflect.TypeFor[Variant]()] || !seen[reflect.TypeFor[Outage]()] {
		t.Error("the walk missed Variant or Outage")
	}
}

func TestSchemaStable(t *testing.T) {
	if !bytes.Equal(Schema(), Schema()) {
		t.Error("two calls differ")
	}
	if !json.Valid(Schema()) {
		t.Error("not JSON")
	}
}
