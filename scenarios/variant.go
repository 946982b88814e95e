package scenarios

import (
	"fmt"
	"strings"

	"liaison"
)

// Apply returns the scenario with the named variant's overlay applied, so
// that the rest of Liaison only ever sees plain scenarios: channels and
// agencies with an existing id are replaced, others appended; the
// variant's remove-channels go first; its rules are appended; its
// background, when it has any, replaces the base streams. "" returns s.
//
// The copy is deep enough that the result's slices of agencies, channels,
// rules, injects and background can be changed without touching s; the
// values inside them (member lists, handling maps) are shared and must be
// treated as read-only. The result has no variants of its own, and its
// Positions point into the file where each element was written.
func (s *Scenario) Apply(variant string) (*Scenario, error) {
	if variant == "" {
		return s, nil
	}
	for k, v := range s.Variants {
		if v.Name == variant {
			out, origin := s.apply(k)
			out.Positions = remapPositions(s.Positions, origin)
			out.fillDefaults()
			return out, nil
		}
	}
	known := strings.Join(s.VariantNames(), ", ")
	if known == "" {
		known = "none, it has no variants"
	}
	return nil, fmt.Errorf("scenarios: %s has no variant %q; expected one of: %s", s.Name, variant, known)
}

// VariantNames lists the variants in file order.
func (s *Scenario) VariantNames() []string {
	names := make([]string, len(s.Variants))
	for i, v := range s.Variants {
		names[i] = v.Name
	}
	return names
}

// origins maps an element path of an applied scenario ("channels[3]") to
// the path in the file where that element was written ("channels[3]", or
// "variants[1].channels[0]"). Paths not listed map to themselves.
type origins map[string]string

// apply builds variant k over s without filling defaults, so that the
// checker still sees what the file said.
func (s *Scenario) apply(k int) (*Scenario, origins) {
	v := s.Variants[k]
	vp := index("variants", k)
	out := *s
	out.Variants = nil
	org := origins{}

	removed := map[liaison.ChannelID]bool{}
	for _, id := range v.RemoveChannels {
		removed[id] = true
	}
	out.Channels, org = overlay(s.Channels, v.Channels, "channels", vp, org,
		func(c Channel) string { return string(c.ID) },
		func(c Channel) bool { return removed[c.ID] })
	out.Agencies, org = overlay(s.Agencies, v.Agencies, "agencies", vp, org,
		func(a Agency) string { return string(a.ID) }, nil)

	out.Rules, org = overlay(s.Rules, v.Rules, "rules", vp, org, nil, nil)
	out.Injects, org = overlay(s.Injects, nil, "injects", vp, org, nil, nil)
	if len(v.Background) > 0 {
		out.Background, org = overlay(nil, v.Background, "background", vp, org, nil, nil)
	} else {
		out.Background, org = overlay(s.Background, nil, "background", vp, org, nil, nil)
	}
	return &out, org
}

// overlay removes, replaces by id and appends, recording where each
// resulting element came from. Without id, it only appends.
func overlay[T any](base, add []T, list, vp string, org origins, id func(T) string, remove func(T) bool) ([]T, origins) {
	var out []T
	at := map[string]int{} // first element of each id
	for i, e := range base {
		if remove != nil && remove(e) {
			continue
		}
		if _, dup := at[key(id, e)]; id != nil && !dup {
			at[key(id, e)] = len(out)
		}
		org[index(list, len(out))] = index(list, i)
		out = append(out, e)
	}
	for j, e := range add {
		i, found := at[key(id, e)]
		if id == nil || !found {
			i = len(out)
			out = append(out, e)
			if id != nil {
				at[key(id, e)] = i
			}
		} else {
			out[i] = e
		}
		org[index(list, i)] = index(vp+"."+list, j)
	}
	return out, org
}

func key[T any](id func(T) string, e T) string {
	if id == nil {
		return ""
	}
	return id(e)
}

// element splits a path into its leading list element ("channels[3]") and
// the rest (".members[2]"); ok is false for paths outside list elements.
func element(path string) (head, rest string, ok bool) {
	i := strings.IndexByte(path, ']')
	if i < 0 || strings.HasPrefix(path, "variants") {
		return path, "", false
	}
	return path[:i+1], path[i+1:], true
}

// file returns the path in the file of an applied scenario's path.
func (o origins) file(path string) string {
	if head, rest, ok := element(path); ok {
		if src, found := o[head]; found {
			return src + rest
		}
	}
	return path
}

// remapPositions returns the positions of an applied scenario: every path
// of the result with the position of the node it came from.
func remapPositions(pos Positions, org origins) Positions {
	back := map[string]string{} // file element path -> applied path
	for applied, src := range org {
		back[src] = applied
	}
	out := Positions{}
	for path, p := range pos {
		// Elements go where they ended up, or nowhere if they were
		// removed or replaced; other paths outside variants stay.
		if head, rest, ok := elementOrOverlay(path); ok {
			if applied, found := back[head]; found {
				out[applied+rest] = p
			}
			continue
		}
		if !strings.HasPrefix(path, "variants") {
			out[path] = p
		}
	}
	return out
}

// elementOrOverlay is element that also splits overlay paths
// ("variants[1].channels[0].id" into "variants[1].channels[0]" and ".id").
func elementOrOverlay(path string) (head, rest string, ok bool) {
	start := 0
	if strings.HasPrefix(path, "variants[") {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			return path, "", false
		}
		start = dot + 1
	}
	i := strings.IndexByte(path[start:], ']')
	if i < 0 {
		return path, "", false
	}
	return path[:start+i+1], path[start+i+1:], true
}
