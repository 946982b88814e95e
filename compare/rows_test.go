package compare

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseSweep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		path string
		vals []string
		err  string
	}{
		{in: "agencies[dk.pet].staff=1,2,4", path: "agencies[dk.pet].staff", vals: []string{"1", "2", "4"}},
		{in: "channels[siena].latency=lognormal(median=5m, sigma=0.5, min=1m), 20m", path: "channels[siena].latency",
			vals: []string{"lognormal(median=5m, sigma=0.5, min=1m)", "20m"}},
		{in: "channels[ctg].members=[dk.pet, se.sapo],[dk.pet]", path: "channels[ctg].members", vals: []string{"[dk.pet, se.sapo]", "[dk.pet]"}},
		{in: "agencies[x].hours=\"Mon-Fri 08:00-16:00, roughly\",24/7", path: "agencies[x].hours", vals: []string{"\"Mon-Fri 08:00-16:00, roughly\"", "24/7"}},
		{in: "channels[ctg].outages=[{from: 1h, to: 2h}],[]", path: "channels[ctg].outages", vals: []string{"[{from: 1h, to: 2h}]", "[]"}},
		{in: "duration=3d", path: "duration", vals: []string{"3d"}},
		{in: "staff", err: "expected PATH=VALUE"},
		{in: "=1,2", err: "expected PATH=VALUE"},
		{in: "staff=1,,2", err: "value 2 is empty"},
		{in: "staff=", err: "value 1 is empty"},
		{in: "staff=1,1", err: `value "1" is given twice`},
		{in: "latency=lognormal(median=5m, 20m", err: "unbalanced"},
	} {
		sw, err := ParseSweep(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || sw.Path != tc.path || !reflect.DeepEqual(sw.Values, tc.vals) {
			t.Errorf("%q: %+v, %v; want %s = %q", tc.in, sw, err, tc.path, tc.vals)
		}
	}
}

// Rows are every combination, variants outermost and the last sweep
// fastest, named by their settings with paths shortened as far as they
// stay apart.
func TestRows(t *testing.T) {
	sweeps := []Sweep{{"agencies[dk.pet].staff", []string{"1", "2"}}, {"agencies[se.sapo].staff", []string{"3"}},
		{"channels[ctg].latency", []string{"5m", "lognormal(median=5m, sigma=0.5, min=1m)"}}}
	rs := rows([]string{"", "mesh"}, sweeps)
	short := shortPaths([]string{"agencies[dk.pet].staff", "agencies[se.sapo].staff", "channels[ctg].latency"})
	var names []string
	for _, r := range rs {
		names = append(names, r.name(true, short))
	}
	want := []string{
		"(base) · agencies[dk.pet].staff=1 · agencies[se.sapo].staff=3 · latency=5m",
		"(base) · agencies[dk.pet].staff=1 · agencies[se.sapo].staff=3 · latency=lognormal(median=5m, sigma=0.5, min=1m)",
		"(base) · agencies[dk.pet].staff=2 · agencies[se.sapo].staff=3 · latency=5m",
		"(base) · agencies[dk.pet].staff=2 · agencies[se.sapo].staff=3 · latency=lognormal(median=5m, sigma=0.5, min=1m)",
		"mesh · agencies[dk.pet].staff=1 · agencies[se.sapo].staff=3 · latency=5m",
		"mesh · agencies[dk.pet].staff=1 · agencies[se.sapo].staff=3 · latency=lognormal(median=5m, sigma=0.5, min=1m)",
		"mesh · agencies[dk.pet].staff=2 · agencies[se.sapo].staff=3 · latency=5m",
		"mesh · agencies[dk.pet].staff=2 · agencies[se.sapo].staff=3 · latency=lognormal(median=5m, sigma=0.5, min=1m)",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if got := (Row{}).name(false, nil); got != "(base)" {
		t.Errorf("the base alone is named %q", got)
	}
}

// Bad sweeps are refused before anything runs, with what is wrong.
func TestCheck(t *testing.T) {
	sc := research(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Runs: 0}, "runs must be at least 1"},
		{Config{Runs: 1, Level: 1.5}, "expected a number between 0 and 1"},
		// A mistyped --runs is refused before anything is allocated.
		{Config{Runs: 1_000_000_000}, "rows of 1000000000 runs each exceed 100000 replications"},
		{Config{Runs: MaxReplications / 2, Variants: []string{"", "mesh", "hub"}}, "3 rows of 50000 runs each"},
		{Config{Runs: 2, Seed: math.MaxUint64}, "pass the largest seed"},
		{Config{Runs: 1, Variants: []string{"", ""}}, "variant (base) is given twice"},
		{Config{Runs: 1, Variants: []string{"nope"}}, `no variant "nope"`},
		{Config{Runs: 1, Sweeps: []Sweep{{"duration", []string{"1d"}}, {"duration", []string{"2d"}}}}, "given twice"},
		{Config{Runs: 1, Sweeps: []Sweep{{"seed", []string{"3"}}}}, "seeds from --seed"},
		{Config{Runs: 1, Sweeps: []Sweep{{"agencies[dk.pet].staff", []string{"1", "0"}}}}, "--set agencies[dk.pet].staff=0: staff of dk.pet is 0; expected at least 1"},
		// The ctg channel of the mesh variant needs its floor like any other.
		{Config{Runs: 1, Variants: []string{"mesh"}, Sweeps: []Sweep{{"channels[ctg].latency", []string{"lognormal(median=5m, sigma=0.5)"}}}},
			"in variant mesh:\n--set channels[ctg].latency=lognormal(median=5m, sigma=0.5): channel ctg has no positive minimum latency"},
	} {
		tc.cfg.Scenario = sc
		err := tc.cfg.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if _, err := Compare(context.Background(), tc.cfg); err == nil {
			t.Errorf("%+v: Compare ran", tc.cfg)
		}
	}
}
