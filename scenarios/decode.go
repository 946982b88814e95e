package scenarios

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// nodeDecoder is implemented by value types that read more than a scalar
// (Handling takes a distribution or a mapping of them).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
	jsonSchema() map[string]any
}

// decoder fills the model types from a yaml.Node tree by reflection over
// their yaml tags, recording every node's position by path and collecting
// every problem rather than stopping at the first.
type decoder struct {
	file string
	pos  Positions
	errs ErrorList

	// Aliases make a small file expand into a huge document ("billion
	// laughs"); counting the nodes the decoder visits, through aliases
	// too, bounds the work and memory a file can ask for.
	nodes, aliased int
	alias          *yaml.Node // the outermost alias being expanded, if any
	tooLarge       bool       // a cap was passed: stop decoding
}

// Caps on what one scenario file may expand to. A node is a scalar, a list
// or a mapping, visited once per place it appears: an alias visits its
// anchor's nodes again. Real scenarios, even with tens of thousands of
// agencies or injects, stay far below both.
const (
	// MaxAliasNodes caps the nodes visited through aliases.
	MaxAliasNodes = 100_000
	// MaxNodes caps the nodes of the document after alias expansion.
	MaxNodes = 10_000_000
)

// count records a visit to n (reached through an alias when d.alias is
// set) and reports whether decoding may go on.
func (d *decoder) count(n *yaml.Node) bool {
	if d.tooLarge {
		return false
	}
	d.nodes++
	if d.alias != nil {
		d.aliased++
	}
	switch {
	case d.alias != nil && d.aliased > MaxAliasNodes:
		d.tooLarge = true
		d.errorf(d.alias, "", TooLarge, "alias *%s expands the file past %d nodes reached through aliases; expected aliases that repeat small parts (write large repeated parts out, or refer to them by id)", d.alias.Value, MaxAliasNodes)
	case d.nodes > MaxNodes:
		d.tooLarge = true
		at := n
		if d.alias != nil {
			at = d.alias
		}
		d.errorf(at, "", TooLarge, "the file expands to more than %d nodes (scalars, lists and mappings, aliases counted where they are used); expected a smaller scenario", MaxNodes)
	}
	return !d.tooLarge
}

// resolve follows n to the node an alias stands for, noting the outermost
// alias so that what it expands to is counted against MaxAliasNodes. done
// restores the state when the alias has been decoded.
func (d *decoder) resolve(n *yaml.Node) (target *yaml.Node, done func()) {
	outer := d.alias
	for n.Kind == yaml.AliasNode {
		if d.alias == nil {
			d.alias = n
		}
		n = n.Alias
	}
	return n, func() { d.alias = outer }
}

// field is one yaml-tagged struct field.
type field struct {
	name     string
	index    int
	required bool
	enum     []string
	desc     string
}

// fieldCache holds fieldsOf's answers: reading struct tags for every
// mapping of a large file would cost more than decoding it.
var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the yaml fields of a struct type in declaration order.
// The result is shared: do not change it.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		var enum []string
		if e := f.Tag.Get("enum"); e != "" {
			enum = strings.Split(e, ",")
		}
		out = append(out, field{name: name, index: i, required: f.Tag.Get("required") == "true", enum: enum, desc: f.Tag.Get("desc")})
	}
	fieldCache.Store(t, out)
	return out
}

var variantsType = reflect.TypeFor[[]Variant]()

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// where names a path for messages; the root has none.
func where(path string) string {
	if path == "" {
		return "the scenario"
	}
	return path
}

func (d *decoder) errorf(n *yaml.Node, path string, kind Kind, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: Pos{n.Line, n.Column}, Path: path, Kind: kind, Msg: fmt.Sprintf(format, args...)})
}

var kindNoun = map[yaml.Kind]string{
	yaml.ScalarNode:   "a single value",
	yaml.MappingNode:  "a mapping",
	yaml.SequenceNode: "a list",
	yaml.DocumentNode: "a document",
	yaml.AliasNode:    "an alias",
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// decode fills v from n. enum, when not nil, lists the values a string may
// take.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, enum []string) {
	n, done := d.resolve(n)
	defer done()
	if !d.count(n) {
		return
	}
	d.pos[path] = Pos{n.Line, n.Column}
	if isNull(n) {
		return // absent; required fields are checked by the parent
	}
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, path)
		return
	}
	if sc, ok := v.Addr().Interface().(scalar); ok {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, BadValue, "%s is %s; expected a single value (%s)", path, kindNoun[n.Kind], typeNoun(v.Type()))
			return
		}
		if err := sc.decodeScalar(n.Value); err != nil {
			kind := BadValue
			var ve *valueError
			if errors.As(err, &ve) {
				kind = ve.kind
			}
			d.errorf(n, path, kind, "%s: %v", path, err)
		}
		return
	}
	if v.Type() == variantsType {
		d.variants(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, BadValue, "%s is %s; expected a list", path, kindNoun[n.Kind])
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), index(path, i), enum)
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path, enum)
		v.Set(p)
	default:
		d.scalarValue(n, v, path, enum)
	}
}

// scalarValue fills strings, numbers and booleans, insisting on the right
// YAML kind so that "staff: two" or "urgent: maybe" are caught here.
func (d *decoder) scalarValue(n *yaml.Node, v reflect.Value, path string, enum []string) {
	want := typeNoun(v.Type())
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, BadValue, "%s is %s; expected %s", path, kindNoun[n.Kind], want)
		return
	}
	bad := func() { d.errorf(n, path, BadValue, "%s is %q; expected %s", path, n.Value, want) }
	switch v.Kind() {
	case reflect.String:
		if enum != nil && !slices.Contains(enum, n.Value) {
			kind := BadValue
			if v.Type() == reflect.TypeFor[Topology]() {
				kind = BadTopology
			}
			d.errorf(n, path, kind, "%s is %q; expected one of %s", path, n.Value, strings.Join(enum, ", "))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if n.Tag != "!!int" || err != nil || v.OverflowInt(i) {
			bad()
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		u, err := strconv.ParseUint(n.Value, 0, 64)
		if n.Tag != "!!int" || err != nil || v.OverflowUint(u) {
			bad()
			return
		}
		v.SetUint(u)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(n.Value, 64)
		if (n.Tag != "!!int" && n.Tag != "!!float") || err != nil {
			bad()
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Tag != "!!bool" || err != nil {
			bad()
			return
		}
		v.SetBool(b)
	default:
		panic("scenarios: no decoder for " + v.Type().String())
	}
}

// typeNoun says in words what a value of type t looks like.
func typeNoun(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return durationExpected
	case reflect.TypeFor[Dist]():
		return "a distribution such as 10m or lognormal(median=10m, sigma=0.4, min=1m)"
	case reflect.TypeFor[Calendar]():
		return "an RFC 3339 time such as 2026-03-06T16:00:00+01:00"
	case reflect.TypeFor[Rate]():
		return rateExpected
	case reflect.TypeFor[Hours]():
		return hoursExpected
	case reflect.TypeFor[TLPLevel]():
		return "a TLP level"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Pointer:
		return typeNoun(t.Elem())
	}
	return "a " + t.Name()
}

// mapping fills a struct from a YAML mapping. skip names a field that is
// not written inside the mapping (a variant's name, which is its key).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, skip ...string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, BadValue, "%s is %s; expected a mapping with keys %s", where(path), kindNoun[n.Kind], strings.Join(fieldNames(v.Type(), skip), ", "))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		at := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if at < 0 || slices.Contains(skip, k.Value) {
			names := fieldNames(v.Type(), skip)
			hint := ""
			if near := nearest(k.Value, names); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			d.errorf(k, join(path, k.Value), UnknownField, "unknown field %q in %s%s; expected one of %s", k.Value, where(path), hint, strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, join(path, k.Value), Duplicate, "field %q appears twice in %s; expected each field once", k.Value, where(path))
			continue
		}
		seen[k.Value] = true
		f := fields[at]
		d.decode(val, v.Field(f.index), join(path, f.name), f.enum)
		if f.required && isNull(val) {
			d.errorf(val, join(path, f.name), Missing, "%s is empty; expected %s", join(path, f.name), firstSentence(f.desc))
		}
	}
	for _, f := range fields {
		if f.required && !seen[f.name] && !slices.Contains(skip, f.name) {
			d.errorf(n, path, Missing, "missing field %q in %s; expected %s", f.name, where(path), firstSentence(f.desc))
		}
	}
}

func fieldNames(t reflect.Type, skip []string) []string {
	var names []string
	for _, f := range fieldsOf(t) {
		if !slices.Contains(skip, f.name) {
			names = append(names, f.name)
		}
	}
	return names
}

// firstSentence shortens a desc tag for an error message.
func firstSentence(desc string) string {
	for i := 0; i < len(desc)-1; i++ {
		if desc[i] == '.' && desc[i+1] == ' ' && !strings.HasSuffix(desc[:i], "e.g") && !strings.HasSuffix(desc[:i], "i.e") {
			desc = desc[:i]
			break
		}
	}
	desc = strings.TrimSuffix(desc, ".")
	if desc == "" {
		return "a value"
	}
	return strings.ToLower(desc[:1]) + desc[1:]
}

// variants reads the variants mapping, name to overlay, into []Variant in
// document order. The key's position is the variant's position.
func (d *decoder) variants(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, BadValue, "%s is %s; expected a mapping from variant name to overlay", path, kindNoun[n.Kind])
		return
	}
	var out []Variant
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := index(path, len(out))
		if seen[k.Value] {
			d.errorf(k, p, Duplicate, "variant %q is declared twice; expected unique variant names", k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, Variant{Name: k.Value})
		d.pos[p] = Pos{k.Line, k.Column}
		val, done := d.resolve(val)
		if d.count(val) && !isNull(val) {
			d.mapping(val, reflect.ValueOf(&out[len(out)-1]).Elem(), p, "name")
		}
		done()
	}
	d.pos[path] = Pos{n.Line, n.Column}
	v.Set(reflect.ValueOf(out))
}

// decodeFile parses data and decodes it into a Scenario. The Scenario is
// filled as far as the document allows even when there are errors.
func decodeFile(file string, data []byte) (*Scenario, ErrorList) {
	d := &decoder{file: file, pos: Positions{}}
	root, perr := parseYAML(file, data, "scenario")
	if perr != nil {
		return nil, ErrorList{perr}
	}
	s := &Scenario{Source: file, Positions: d.pos}
	if len(root.Content) == 0 {
		return s, ErrorList{{File: file, Pos: Pos{1, 1}, Kind: Missing, Msg: "the file is empty; expected a scenario mapping with name, title, start, agencies and channels"}}
	}
	d.decode(root.Content[0], reflect.ValueOf(s).Elem(), "", nil)
	if d.tooLarge {
		// What was decoded is a fragment; checking it would only add
		// complaints about what was never read.
		return nil, slices.DeleteFunc(d.errs, func(e *Error) bool { return e.Kind != TooLarge })
	}
	return s, d.errs
}

func valueOf[T any](p *T) reflect.Value { return reflect.ValueOf(p).Elem() }

// nearest returns the name within two edits of s, if there is one, for a
// "did you mean" hint on a misspelt field.
func nearest(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
