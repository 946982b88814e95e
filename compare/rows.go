package compare

import (
	"fmt"
	"slices"
	"strings"

	"liaison/scenarios"
)

// Sweep is one swept parameter: a path in the scenario, as validation
// messages write paths (agencies[dk.pet].staff), and the values it takes.
type Sweep struct {
	Path   string
	Values []string
}

// ParseSweep reads PATH=V1,V2,... Commas inside parentheses, brackets,
// braces or quotes belong to the value, so that distributions and lists
// can be swept: channels[siena].latency=lognormal(median=5m, sigma=0.5,
// min=1m),20m gives two values.
func ParseSweep(s string) (Sweep, error) {
	path, values, ok := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Sweep{}, fmt.Errorf("--set %s: expected PATH=VALUE[,VALUE...], such as agencies[dk.pet].staff=1,2,4", s)
	}
	sw := Sweep{Path: path}
	depth, quote, start := 0, byte(0), 0
	for i := 0; i <= len(values); i++ {
		if i < len(values) {
			switch c := values[i]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
				continue
			case c == '"' || c == '\'':
				quote = c
				continue
			case c == '(' || c == '[' || c == '{':
				depth++
				continue
			case c == ')' || c == ']' || c == '}':
				depth--
				continue
			case c != ',' || depth > 0:
				continue
			}
		}
		v := strings.TrimSpace(values[start:i])
		if v == "" {
			return Sweep{}, fmt.Errorf("--set %s: value %d is empty; expected PATH=VALUE[,VALUE...]", s, len(sw.Values)+1)
		}
		if slices.Contains(sw.Values, v) {
			return Sweep{}, fmt.Errorf("--set %s: value %q is given twice; expected each value once", s, v)
		}
		sw.Values = append(sw.Values, v)
		start = i + 1
	}
	if depth != 0 || quote != 0 {
		return Sweep{}, fmt.Errorf("--set %s: unbalanced brackets or quotes; expected values such as lognormal(median=5m, sigma=0.5, min=1m)", s)
	}
	return sw, nil
}

// Row is one combination compared: a variant and one value of every
// swept path. Each row runs with the same seeds (common random numbers).
type Row struct {
	Variant  string
	Settings []scenarios.Setting
}

// rows is the full factorial of variants and sweeps: variants outermost,
// then the sweeps in the order given, the last varying fastest.
func rows(variants []string, sweeps []Sweep) []Row {
	var out []Row
	for _, v := range variants {
		combos := [][]scenarios.Setting{nil}
		for _, sw := range sweeps {
			var next [][]scenarios.Setting
			for _, c := range combos {
				for _, val := range sw.Values {
					next = append(next, append(slices.Clone(c), scenarios.Setting{Path: sw.Path, Value: val}))
				}
			}
			combos = next
		}
		for _, c := range combos {
			out = append(out, Row{Variant: v, Settings: c})
		}
	}
	return out
}

// prepare returns the scenario a row runs: its variant applied, then its
// settings. The base scenario is not changed.
func prepare(sc *scenarios.Scenario, r Row) (*scenarios.Scenario, error) {
	applied, err := sc.Apply(r.Variant)
	if err != nil {
		return nil, err
	}
	for _, st := range r.Settings {
		if st.Path == "seed" {
			return nil, fmt.Errorf("--set seed: replications take their seeds from --seed; expected another path")
		}
	}
	if len(r.Settings) == 0 {
		return applied, nil
	}
	out, err := applied.With(r.Settings...)
	if err != nil {
		if r.Variant != "" {
			return nil, fmt.Errorf("in variant %s:\n%w", r.Variant, err)
		}
		return nil, err
	}
	return out, nil
}

// name says which row this is: the variant, when the comparison has more
// than the base, and each setting, joined by " · " (values may hold commas
// and semicolons). Paths are shortened to their last fields, as many as
// keep them apart (agencies[dk.pet].staff is staff, unless another swept
// path ends in staff too); short maps each path to its short form.
func (r Row) name(showVariant bool, short map[string]string) string {
	var parts []string
	if showVariant || len(r.Settings) == 0 {
		parts = append(parts, variantName(r.Variant))
	}
	for _, st := range r.Settings {
		parts = append(parts, short[st.Path]+"="+st.Value)
	}
	return strings.Join(parts, " · ")
}

// shortPaths gives each path the fewest trailing fields that no other
// path ends with.
func shortPaths(paths []string) map[string]string {
	fields := func(p string) []string {
		var out []string
		depth, start := 0, 0
		for i := 0; i < len(p); i++ {
			switch p[i] {
			case '[':
				depth++
			case ']':
				depth--
			case '.':
				if depth == 0 {
					out = append(out, p[start:i])
					start = i + 1
				}
			}
		}
		return append(out, p[start:])
	}
	out := map[string]string{}
	for _, p := range paths {
		f := fields(p)
		for n := 1; n <= len(f); n++ {
			suffix := strings.Join(f[len(f)-n:], ".")
			clash := false
			for _, o := range paths {
				of := fields(o)
				if o != p && n <= len(of) && strings.Join(of[len(of)-n:], ".") == suffix {
					clash = true
				}
			}
			if !clash || n == len(f) {
				out[p] = suffix
				break
			}
		}
	}
	return out
}

func variantName(v string) string {
	if v == "" {
		return "(base)"
	}
	return v
}
