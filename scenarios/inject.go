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
// inject is delivered when it is sent, at the run's current simulated
// time, so the fields that say when an inject fires (at, when, trigger,
// after) are refused. Errors name file:line:column.
func (s *Scenario) ParseInject(file string, data []byte) (*Inject, error) {
	root, perr := parseYAML(file, data, "inject")
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
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; liveTiming[k.Value] != "" {
			errs = append(errs, &Error{File: file, Pos: Pos{k.Line, k.Column}, Path: k.Value, Kind: UnknownField,
				Msg: fmt.Sprintf("%s does not apply to a live inject, which is delivered when it is sent; expected the inject without %s (%s)", k.Value, k.Value, liveTiming[k.Value])})
		}
	}
	for _, e := range d.errs {
		if e.Kind == Missing && strings.Contains(e.Msg, `"at"`) {
			continue // live injects take the run's current time
		}
		e.Path = strings.TrimPrefix(strings.TrimPrefix(e.Path, prefix), ".")
		if f, _, _ := strings.Cut(e.Path, "."); liveTiming[f] != "" {
			continue // refused above
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}

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

// liveTiming names the inject fields that say when an inject fires, which
// a live inject does not have, with what to do instead.
var liveTiming = map[string]string{
	"at":      "it takes the run's current simulated time",
	"when":    "a contingency inject belongs in the scenario file, from which the facilitator fires it",
	"trigger": "a conditional inject belongs in the scenario file",
	"after":   "it goes with trigger, which belongs in the scenario file",
}

// String describes an inject in one line, for logs and confirmations.
func (in *Inject) String() string {
	return fmt.Sprintf("%s: %s to %s (%s)", in.ID, in.Type, in.To, in.Summary)
}
