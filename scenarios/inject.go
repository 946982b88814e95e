package scenarios

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"liaison"
)

// ParseInject reads one inject, in the scenario file's inject format (YAML
// or JSON), for delivery into a running scenario, and checks it against s
// as the loader checks the scenario's own injects: fields, agencies,
// unique id, reachable audience. The time is not the file's to give: a live
// inject takes effect at the run's current simulated time, so `at` may be
// left out (and is ignored when given). Errors name file:line:column.
func (s *Scenario) ParseInject(file string, data []byte) (*Inject, error) {
	root, perr := parseYAML(file, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, ErrorList{{File: file, Pos: Pos{1, 1}, Kind: Missing,
			Msg: "expected one inject: a mapping with id, to, type, summary and optionally tlp, audience, deadline, originator-control"}}
	}
	n := len(s.Injects)
	prefix := index("injects", n)
	d := &decoder{file: file, pos: Positions{}}
	var in Inject
	d.decode(root.Content[0], reflect.ValueOf(&in).Elem(), prefix, nil)
	var errs ErrorList
	for _, e := range d.errs {
		if e.Kind == Missing && strings.Contains(e.Msg, `"at"`) {
			continue // live injects take the run's current time
		}
		e.Path = strings.TrimPrefix(strings.TrimPrefix(e.Path, prefix), ".")
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	in.At = 0

	// Check it in place, as the scenario's next inject.
	trial := *s
	trial.Duration = 0 // the time is the run's, not the file's
	trial.Injects = append(append([]Inject(nil), s.Injects...), in)
	trial.Positions = Positions{}
	for p, pos := range s.Positions {
		trial.Positions[p] = pos
	}
	for p, pos := range d.pos {
		trial.Positions[p] = pos
	}
	given := func(p string) bool { _, ok := trial.Positions[p]; return ok }
	for _, p := range check(&trial, given) {
		if p.path != prefix && !strings.HasPrefix(p.path, prefix+".") {
			continue // the scenario's own problems are not this file's
		}
		pos, ok := d.pos[p.path]
		for q := p.path; !ok && q != prefix; {
			q = q[:max(strings.LastIndexAny(q, ".["), 0)]
			pos, ok = d.pos[q]
		}
		if !ok {
			pos = Pos{1, 1}
		}
		path := strings.TrimPrefix(strings.TrimPrefix(p.path, prefix), ".")
		errs = append(errs, &Error{File: file, Pos: pos, Path: path, Kind: p.kind, Msg: p.msg})
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if !in.TLP.Set {
		in.TLP = TLPLevel{Level: liaison.TLPGreen, Set: true}
	}
	if in.Originator == "" {
		in.Originator = in.To
	}
	return &in, nil
}

// String describes an inject in one line, for logs and confirmations.
func (in *Inject) String() string {
	return fmt.Sprintf("%s: %s to %s (%s)", in.ID, in.Type, in.To, in.Summary)
}
