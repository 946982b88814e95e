package scenarios

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"liaison"
)

// Setting is one PATH=VALUE override of a loaded scenario, as parameter
// sweeps give them (liaison compare --set). The path is written the way
// validation messages write paths, with an element picked by index or by
// its id: agencies[dk.pet].staff, channels[siena].latency,
// injects[I-1].deadline, channels[ctg].outages[0].to,
// agencies[de.sirene].handling.sirene-G. The value is YAML, as the file
// would have it: 2, 30m, lognormal(median=5m, sigma=0.5), [dk.pet, se.sapo],
// {from: 30h, to: 36h}.
type Setting struct {
	Path  string
	Value string
}

func (st Setting) String() string { return st.Path + "=" + st.Value }

// Set changes one value of s in place, reading it with the loader's own
// decoders and checking the result as the loader checks a file; on error s
// is unchanged. See With.
func (s *Scenario) Set(path, value string) error {
	out, err := s.With(Setting{path, value})
	if err != nil {
		return err
	}
	*s = *out
	return nil
}

// With returns a copy of s with the settings applied, leaving s untouched:
// every slice and map on a setting's path is copied before it is written,
// so s and scenarios that share its lists (Apply's results) stay as they
// were. The settings are checked together, as the loader checks a file
// (an unknown agency, a latency without a positive minimum, an audience no
// rule reaches), and defaults that follow from other fields (time zones,
// an inject's originator) are derived again.
//
// Settings change the scenario as it is: to set values in a variant, apply
// the variant first. Errors are an ErrorList whose entries name the
// setting, the path and what was expected.
func (s *Scenario) With(settings ...Setting) (*Scenario, error) {
	out := *s
	// Defaults are derived again below; these lists are written to.
	out.Agencies = slices.Clone(s.Agencies)
	out.Injects = slices.Clone(s.Injects)
	var errs ErrorList
	var set []setPath
	for _, st := range settings {
		canon, pos, err := out.set(st)
		if err != nil {
			errs = append(errs, err...)
			continue
		}
		set = append(set, setPath{st, canon, pos})
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	for i, p := range set {
		for _, q := range set[:i] {
			if covers(q.canon, p.canon) || covers(p.canon, q.canon) {
				errs = append(errs, &Error{File: "--set " + p.String(), Path: p.Path, Kind: Duplicate,
					Msg: fmt.Sprintf("%s overlaps --set %s (both change %s); expected each value set once", p.Path, q.Path, q.canon)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	given := func(p string) bool {
		for _, sp := range set {
			if covers(sp.canon, p) {
				_, ok := sp.pos[p]
				return ok
			}
		}
		_, ok := s.Positions[p]
		return ok
	}
	for _, p := range check(&out, given) {
		errs = append(errs, s.settingError(set, p))
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	// Derive again what follows from other fields: the time zones (start,
	// timezone), and an inject's originator when neither the file nor a
	// setting gave one.
	out.Location = nil
	for i := range out.Agencies {
		out.Agencies[i].Location = nil
	}
	for i := range out.Injects {
		if !given(index("injects", i) + ".originator") {
			out.Injects[i].Originator = ""
		}
	}
	out.fillDefaults()
	return &out, nil
}

// setPath is a setting with its path by index (canon) and the positions
// the decoder recorded for it, by canonical path.
type setPath struct {
	Setting
	canon string
	pos   Positions
}

// covers reports whether path p is at or below path c.
func covers(c, p string) bool {
	return p == c || strings.HasPrefix(p, c) && (p[len(c)] == '.' || p[len(c)] == '[')
}

// settingError turns a problem of the scenario with settings into an error
// naming the setting that causes it, or every setting when the problem lies
// elsewhere (an audience that a changed channel no longer reaches), and
// where in the file the affected element is.
func (s *Scenario) settingError(set []setPath, p problem) *Error {
	var names []string
	for _, sp := range set {
		if covers(sp.canon, p.path) {
			// The setting's own value: the setting is where it is.
			return &Error{File: "--set " + sp.String(), Path: p.path, Kind: p.kind, Msg: p.msg}
		}
		names = append(names, sp.String())
	}
	msg := p.msg
	if pos, ok := s.Positions[p.path]; ok {
		msg += fmt.Sprintf(" (at %s, %s:%d:%d)", p.path, s.Source, pos.Line, pos.Column)
	} else if p.path != "" {
		msg += fmt.Sprintf(" (at %s)", p.path)
	}
	return &Error{File: "--set " + strings.Join(names, " --set "), Path: p.path, Kind: p.kind, Msg: msg}
}

// set applies one setting to s, which With has made safe to write, and
// returns its canonical path (elements by index) and the positions the
// decoder recorded under it.
func (s *Scenario) set(st Setting) (string, Positions, ErrorList) {
	fail := func(kind Kind, format string, args ...any) (string, Positions, ErrorList) {
		return "", nil, ErrorList{{File: "--set " + st.String(), Path: st.Path, Kind: kind, Msg: fmt.Sprintf(format, args...)}}
	}
	steps, err := parsePath(st.Path)
	if err != nil {
		return fail(BadValue, "%v", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(st.Value), &root); err != nil {
		return fail(Syntax, "the value is not YAML (%s); expected a value as the file would have it, quoted if needed", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return fail(Missing, "%s has no value; expected PATH=VALUE", st.Path)
	}
	v := reflect.ValueOf(s).Elem()
	var enum []string
	canon, user := "", ""
	for i, stp := range steps {
		if v.Type() == reflect.TypeFor[Handling]() {
			// agencies[x].handling.TYPE: one message type's distribution
			// (or the default), in a copy of the map.
			if i != len(steps)-1 || len(stp.keys) > 0 {
				return fail(UnknownField, "a handling time is set as a whole or per message type; expected %s, %s.TYPE or %s.default", user, user, user)
			}
			return setHandling(v.Addr().Interface().(*Handling), stp.name, root.Content[0], join(user, stp.name), join(canon, stp.name), st)
		}
		if _, scalar := v.Addr().Interface().(scalar); scalar || v.Kind() != reflect.Struct {
			return fail(UnknownField, "%s is a single value; expected nothing after it", user)
		}
		names := fieldNames(v.Type(), nil)
		at := slices.IndexFunc(fieldsOf(v.Type()), func(f field) bool { return f.name == stp.name })
		if at < 0 {
			hint := ""
			if near := nearest(stp.name, names); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			return fail(UnknownField, "unknown field %q in %s%s; expected one of %s", stp.name, where(user), hint, strings.Join(names, ", "))
		}
		f := fieldsOf(v.Type())[at]
		if f.name == "variants" {
			return fail(BadValue, "variants cannot be set; expected a path in the scenario (choose variants with liaison compare --variants and set their values)")
		}
		v, enum = v.Field(f.index), f.enum
		canon, user = join(canon, f.name), join(user, f.name)
		for _, key := range stp.keys {
			if v.Kind() != reflect.Slice {
				return fail(BadValue, "%s is not a list; expected no [%s] after it", user, key)
			}
			// Copy the list before writing into it: the original may be
			// shared with the scenario this one came from.
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			v.Set(c)
			k, err := listElement(v, key, user)
			if err != nil {
				return fail(BadValue, "%v", err)
			}
			v = v.Index(k)
			canon, user = index(canon, k), user+"["+key+"]"
		}
	}
	v.Set(reflect.Zero(v.Type())) // a mapping replaces the whole element
	return decodeSetting(root.Content[0], v, user, canon, enum, st)
}

// decodeSetting reads a setting's value into v with the loader's decoder.
func decodeSetting(n *yaml.Node, v reflect.Value, user, canon string, enum []string, st Setting) (string, Positions, ErrorList) {
	d := &decoder{file: "--set " + st.String(), pos: Positions{}}
	d.decode(n, v, user, enum)
	for _, e := range d.errs {
		e.Pos = Pos{} // a line and column inside the value say nothing
	}
	if len(d.errs) > 0 {
		return "", nil, d.errs
	}
	pos := Positions{}
	for p, at := range d.pos {
		pos[canon+strings.TrimPrefix(p, user)] = at
	}
	return canon, pos, nil
}

// setHandling sets one message type's handling time (or the default).
func setHandling(h *Handling, typ string, n *yaml.Node, user, canon string, st Setting) (string, Positions, ErrorList) {
	var dist Dist
	path, pos, errs := decodeSetting(n, reflect.ValueOf(&dist).Elem(), user, canon, nil, st)
	if errs != nil {
		return "", nil, errs
	}
	if typ == "default" {
		h.Default = dist
	} else {
		h.ByType = maps.Clone(h.ByType)
		if h.ByType == nil {
			h.ByType = map[liaison.MessageType]Dist{}
		}
		h.ByType[liaison.MessageType(typ)] = dist
	}
	return path, pos, nil
}

// listElement finds the list element that key names: an index, or the id of
// an element that has one (agencies, channels, injects).
func listElement(list reflect.Value, key, path string) (int, error) {
	if i, err := strconv.Atoi(key); err == nil {
		if i < 0 || i >= list.Len() {
			return 0, fmt.Errorf("%s has %d elements; expected an index from 0 to %d or an id", path, list.Len(), list.Len()-1)
		}
		return i, nil
	}
	t := list.Type().Elem()
	idField := -1
	if t.Kind() == reflect.Struct {
		for _, f := range fieldsOf(t) {
			if f.name == "id" {
				idField = f.index
			}
		}
	}
	if idField < 0 {
		return 0, fmt.Errorf("%s has no ids; expected an index from 0 to %d", path, list.Len()-1)
	}
	var ids []string
	for i := range list.Len() {
		id := list.Index(i).Field(idField).String()
		if id == key {
			return i, nil
		}
		ids = append(ids, id)
	}
	return 0, fmt.Errorf("no element of %s has id %q; expected one of %s", path, key, strings.Join(ids, ", "))
}

// step is one dot-separated part of a path: a field name and the list
// keys after it (sides[0][1] has two).
type step struct {
	name string
	keys []string
}

// parsePath splits a path at dots outside brackets, since ids have dots.
func parsePath(path string) ([]step, error) {
	var steps []step
	rest := path
	for {
		i := 0
		for i < len(rest) && rest[i] != '.' && rest[i] != '[' {
			i++
		}
		st := step{name: rest[:i]}
		if st.name == "" {
			return nil, fmt.Errorf("bad path %q: a field name is missing at offset %d; expected names joined by dots, each with optional [INDEX] or [ID], such as agencies[dk.pet].staff", path, len(path)-len(rest))
		}
		rest = rest[i:]
		for strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 2 {
				return nil, fmt.Errorf("bad path %q: an empty or unclosed [ at offset %d; expected [INDEX] or [ID]", path, len(path)-len(rest))
			}
			st.keys = append(st.keys, rest[1:end])
			rest = rest[end+1:]
		}
		steps = append(steps, st)
		if rest == "" {
			return steps, nil
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("bad path %q: %q at offset %d; expected . or [ after a name or ]", path, rest[:1], len(path)-len(rest))
		}
		rest = rest[1:]
	}
}
