package scenarios

import (
	"strings"
	"testing"
	"time"

	"liaison"
)

func loadGood(t *testing.T, name string) *Scenario {
	t.Helper()
	s, err := Load("testdata/good/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func channelIDs(s *Scenario) string {
	var ids []string
	for _, c := range s.Channels {
		ids = append(ids, string(c.ID))
	}
	return strings.Join(ids, ",")
}

func TestApply(t *testing.T) {
	s := loadGood(t, "nordic.yaml")
	if got, err := s.Apply(""); got != s || err != nil {
		t.Errorf(`Apply("") = %p, %v; want the base`, got, err)
	}

	hub, err := s.Apply("europol-hub")
	if err != nil {
		t.Fatal(err)
	}
	if got := channelIDs(hub); got != "dk-national,siena" {
		t.Errorf("europol-hub channels = %s, want dk-national,siena", got)
	}
	if got := channelIDs(s); got != "ctg,dk-national,plo" {
		t.Errorf("Apply changed the base: %s", got)
	}
	if len(hub.Variants) != 0 || len(hub.Rules) != len(s.Rules) || len(hub.Background) != 1 {
		t.Errorf("europol-hub: %d variants, %d rules, %d streams", len(hub.Variants), len(hub.Rules), len(hub.Background))
	}
	// Positions of the applied scenario point where each element was written.
	if got, want := hub.Positions["channels[1].latency"], s.Positions["variants[0].channels[0].latency"]; got != want || got.Line == 0 {
		t.Errorf("siena latency at %v, want %v", got, want)
	}
	if got, want := hub.Positions["channels[0].members[1]"], s.Positions["channels[1].members[1]"]; got != want || got.Line == 0 {
		t.Errorf("dk-national member at %v, want %v", got, want)
	}
	if _, ok := hub.Positions["variants[0]"]; ok {
		t.Error("applied positions keep variant paths")
	}

	slow, err := s.Apply("slow-platform")
	if err != nil {
		t.Fatal(err)
	}
	if got := channelIDs(slow); got != "ctg,dk-national,plo" {
		t.Errorf("slow-platform channels = %s", got)
	}
	if slow.Channel("ctg").Latency.Kind != Uniform || s.Channel("ctg").Latency.Kind != Lognormal {
		t.Error("ctg not replaced in the variant only")
	}
	p := slow.Agency("ctg.platform")
	if p.Hours.Always || p.Staff != 1 || p.Location == nil || len(slow.Agencies) != len(s.Agencies) {
		t.Errorf("replaced agency: %+v", p)
	}
	if len(slow.Background) != 1 || slow.Background[0].Rate.Text != "3/h" {
		t.Errorf("background not replaced: %+v", slow.Background)
	}
	if slow.Lookahead() != liaison.Minute {
		t.Errorf("slow-platform lookahead %d", slow.Lookahead())
	}

	_, err = s.Apply("nope")
	if err == nil || !strings.Contains(err.Error(), "europol-hub, slow-platform") {
		t.Errorf("unknown variant: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s := loadGood(t, "nordic.yaml")
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	if s.Location.String() != cph.String() || s.Agency("se.sapo").Location.String() != "Europe/Stockholm" || s.Agency("dk.pet").Location != s.Location {
		t.Errorf("locations: %v %v %v", s.Location, s.Agency("se.sapo").Location, s.Agency("dk.pet").Location)
	}
	if a := s.Agency("se.police"); a.Staff != 1 || !a.Hours.Always || a.ConsentChance() != 1 {
		t.Errorf("agency defaults: %+v", a)
	}
	if a := s.Agency("dk.pet"); a.Staff != 2 || a.ConsentChance() != 0.9 {
		t.Errorf("agency as given: %+v", a)
	}
	in := s.Injects[0]
	if in.TLP.Level != liaison.TLPAmber || in.Originator != "dk.pet" || !in.OriginatorControl || in.At != 0 || in.Deadline.Time() != 6*liaison.Hour {
		t.Errorf("inject: %+v", in)
	}
	if s.Rules[1].Chance() != 0.8 || s.Rules[0].Chance() != 1 || s.Rules[2].Within.Time() != 12*liaison.Hour {
		t.Errorf("rules: %+v", s.Rules)
	}
	if h := s.Agency("se.sapo").Handling; h.For("request").Kind != Uniform || h.For("x").Fixed != 30*liaison.Minute {
		t.Errorf("handling: %+v", h)
	}
	if s.Lookahead() != liaison.Minute || s.Seed != 7 || s.Duration.Time() != 72*liaison.Hour {
		t.Errorf("lookahead %d seed %d duration %d", s.Lookahead(), s.Seed, s.Duration)
	}
	m := loadGood(t, "minimal.yaml")
	if _, off := time.Now().In(m.Location).Zone(); off != 0 || m.Injects != nil {
		t.Errorf("minimal: location %v", m.Location)
	}
	if s.Agency("nobody") != nil || s.Channel("nowhere") != nil {
		t.Error("lookup of unknown ids")
	}
}

func TestPositions(t *testing.T) {
	s := loadGood(t, "nordic.yaml")
	for path, want := range map[string]Pos{
		"name":                           {2, 7},
		"agencies[0]":                    {11, 5},
		"agencies[1].handling.request":   {23, 39},
		"channels[0].outages[0].to":      {44, 31},
		"channels[2].sides[1][0]":        {52, 27},
		"rules[3].tlp[1]":                {71, 18},
		"injects[0].audience[2]":         {85, 36},
		"variants[0]":                    {97, 3},
		"variants[1].channels[0].id":     {109, 13},
		"variants[1].background[0].rate": {122, 15},
	} {
		if got := s.Positions[path]; got != want {
			t.Errorf("Positions[%q] = %v, want %v", path, got, want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	for file, kind := range map[string]Kind{
		"syntax.yaml":                 Syntax,
		"unknown-field.yaml":          UnknownField,
		"unknown-agency-member.yaml":  UnknownAgency,
		"unknown-channel-rule.yaml":   UnknownChannel,
		"bad-duration.yaml":           BadDuration,
		"bad-distribution.yaml":       BadDistribution,
		"zero-floor-latency.yaml":     BadLatency,
		"duplicate-ids.yaml":          Duplicate,
		"unreachable-audience.yaml":   Unreachable,
		"liaison-sides.yaml":          BadTopology,
		"rule-two-actions.yaml":       BadRule,
		"bad-timezone.yaml":           BadTime,
		"bad-tlp.yaml":                BadTLP,
		"bad-hours.yaml":              BadHours,
		"variant-unknown-agency.yaml": UnknownAgency,
		"bad-channel-id.yaml":         BadID,
		"missing-fields.yaml":         Missing,
	} {
		_, err := Load("testdata/bad/" + file)
		list, _ := err.(ErrorList)
		found := false
		for _, e := range list {
			found = found || e.Kind == kind
		}
		if !found {
			t.Errorf("%s: no %v error in %v", file, kind, err)
		}
	}
}

// TestErrorPaths checks that problems found in an applied variant are
// reported at the overlay's own path when the node came from the overlay.
func TestErrorPaths(t *testing.T) {
	for file, want := range map[string][]string{
		"variant-unknown-agency.yaml": {"variants[0].remove-channels[1]", "variants[0].channels[0].hub", "variants[0].channels[0].members[2]"},
		"variant-unreachable.yaml":    {"injects[0].audience[0]", "variants[1].channels[0].hub"},
		"unknown-field.yaml":          {"channels[1]", "channels[1].latncy"},
	} {
		_, err := Load("testdata/bad/" + file)
		list, _ := err.(ErrorList)
		var got []string
		for _, e := range list {
			got = append(got, e.Path)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: paths %q, want %q", file, got, want)
		}
	}
}
