package scenarios

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"liaison"
)

// Settings reach the element a path names, by index or id, read with the
// loader's decoders.
func TestWith(t *testing.T) {
	for _, tc := range []struct {
		settings []Setting
		check    func(*Scenario) bool
	}{
		{[]Setting{{"agencies[dk.pet].staff", "4"}}, func(s *Scenario) bool { return s.Agency("dk.pet").Staff == 4 }},
		{[]Setting{{"agencies[3].staff", "3"}}, func(s *Scenario) bool { return s.Agency("se.police").Staff == 3 }},
		{[]Setting{{"channels[ctg].latency", "lognormal(median=5m, sigma=0.5, min=30s)"}}, func(s *Scenario) bool {
			d := s.Channel("ctg").Latency
			return d.Kind == Lognormal && d.Center == 5*liaison.Minute && d.Floor == 30*liaison.Second
		}},
		{[]Setting{{"agencies[se.sapo].handling.request", "uniform(1m, 2m)"}}, func(s *Scenario) bool {
			h := s.Agency("se.sapo").Handling
			return h.For("request").Kind == Uniform && h.Default.Fixed == 30*liaison.Minute
		}},
		{[]Setting{{"agencies[dk.police].handling.default", "45m"}}, func(s *Scenario) bool {
			return s.Agency("dk.police").Handling.Default.Fixed == 45*liaison.Minute
		}},
		{[]Setting{{"agencies[dk.pet].handling", "{default: 1h, ack: 1m}"}}, func(s *Scenario) bool {
			h := s.Agency("dk.pet").Handling
			return h.Default.Fixed == liaison.Hour && h.For("ack").Fixed == liaison.Minute
		}},
		{[]Setting{{"injects[I-1].deadline", "2h"}, {"duration", "4d"}}, func(s *Scenario) bool {
			return s.Injects[0].Deadline.Time() == 2*liaison.Hour && s.Duration.Time() == 4*liaison.Day
		}},
		{[]Setting{{"channels[ctg].members", "[dk.pet, se.sapo, dk.police]"}}, func(s *Scenario) bool {
			return len(s.Channel("ctg").Members) == 3
		}},
		{[]Setting{{"channels[ctg].outages[0].to", "40h"}}, func(s *Scenario) bool {
			return s.Channel("ctg").Outages[0].To.Time() == 40*liaison.Hour
		}},
		{[]Setting{{"channels[ctg].outages", "[]"}}, func(s *Scenario) bool { return len(s.Channel("ctg").Outages) == 0 }},
		{[]Setting{{"agencies[dk.police].hours", "Mon-Fri 07:00-19:00; Sat 09:00-12:00"}}, func(s *Scenario) bool {
			return len(s.Agency("dk.police").Hours.Spans) == 6
		}},
		{[]Setting{{"agencies[dk.pet].consent", "0.25"}}, func(s *Scenario) bool { return *s.Agency("dk.pet").Consent == 0.25 }},
		// A whole element: fields it leaves out take their defaults.
		{[]Setting{{"agencies[ctg.platform]", "{id: ctg.platform, hours: Mon-Fri 08:00-16:00}"}}, func(s *Scenario) bool {
			a := s.Agency("ctg.platform")
			return a.Staff == 1 && a.Handling.Default.IsZero() && len(a.Hours.Spans) == 5 && a.Location != nil
		}},
		// Derived defaults follow: the scenario's time zone reaches the
		// agencies without their own, and an inject's originator its
		// receiver when the file gave none.
		{[]Setting{{"timezone", "Europe/Helsinki"}}, func(s *Scenario) bool {
			return s.Location.String() == "Europe/Helsinki" && s.Agency("dk.pet").Location.String() == "Europe/Helsinki" &&
				s.Agency("se.sapo").Location.String() == "Europe/Stockholm"
		}},
		{[]Setting{{"injects[0].to", "dk.police"}, {"injects[0].audience", "[se.police]"}}, func(s *Scenario) bool { return s.Injects[0].Originator == "dk.police" }},
		{[]Setting{{"injects[I-1].tlp", "AMBER+STRICT"}}, func(s *Scenario) bool { return s.Injects[0].TLP.Level == liaison.TLPAmberStrict }},
	} {
		s := loadGood(t, "nordic.yaml")
		fresh := loadGood(t, "nordic.yaml")
		got, err := s.With(tc.settings...)
		if err != nil {
			t.Errorf("%v: %v", tc.settings, err)
			continue
		}
		if !tc.check(got) {
			t.Errorf("%v: not applied", tc.settings)
		}
		if !reflect.DeepEqual(s, fresh) {
			t.Errorf("%v: changed the scenario it was applied to", tc.settings)
		}
	}
}

// Set works on an applied variant without touching the base or the
// variant's other results, which share lists with it.
func TestSetAppliedVariant(t *testing.T) {
	s := loadGood(t, "nordic.yaml")
	fresh := loadGood(t, "nordic.yaml")
	slow, err := s.Apply("slow-platform")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.Apply("slow-platform")
	if err := slow.Set("agencies[ctg.platform].staff", "5"); err != nil {
		t.Fatal(err)
	}
	if err := slow.Set("channels[ctg].latency", "20m"); err != nil {
		t.Fatal(err)
	}
	if slow.Agency("ctg.platform").Staff != 5 || slow.Channel("ctg").Latency.Fixed != 20*liaison.Minute {
		t.Error("settings not applied to the variant")
	}
	if other.Agency("ctg.platform").Staff != 1 || other.Channel("ctg").Latency.Kind != Uniform {
		t.Error("another result of Apply changed")
	}
	if !reflect.DeepEqual(s, fresh) {
		t.Error("the base changed")
	}
	// A failed Set leaves the scenario as it was.
	before := *slow
	if err := slow.Set("agencies[ctg.platform].staff", "0"); err == nil {
		t.Fatal("staff 0 accepted")
	}
	if !reflect.DeepEqual(*slow, before) {
		t.Error("a failed Set changed the scenario")
	}
}

// Bad settings fail with a message that names the setting, says what is
// wrong and what was expected, and a kind tools can test.
func TestWithErrors(t *testing.T) {
	for _, tc := range []struct {
		settings []Setting
		kind     Kind
		want     []string
	}{
		{[]Setting{{"agencies[dk.pet].staf", "2"}}, UnknownField,
			[]string{`--set agencies[dk.pet].staf=2: unknown field "staf" in agencies[dk.pet] (did you mean "staff"?); expected one of id, name`}},
		{[]Setting{{"agencies[dk.pt].staff", "2"}}, BadValue,
			[]string{`no element of agencies has id "dk.pt"; expected one of dk.pet, se.sapo`}},
		{[]Setting{{"agencies[9].staff", "2"}}, BadValue, []string{"agencies has 7 elements; expected an index from 0 to 6 or an id"}},
		{[]Setting{{"rules[x].urgent", "true"}}, BadValue, []string{"rules has no ids; expected an index from 0 to 3"}},
		{[]Setting{{"agencies[dk.pet].staff", "two"}}, BadValue,
			[]string{`--set agencies[dk.pet].staff=two: agencies[dk.pet].staff is "two"; expected an integer`}},
		{[]Setting{{"agencies[dk.pet].staff", "0"}}, BadValue,
			[]string{"--set agencies[dk.pet].staff=0: staff of dk.pet is 0; expected at least 1"}},
		{[]Setting{{"channels[ctg].latency", "lognormal(median=5m, sigma=0.5)"}}, BadLatency,
			[]string{"--set channels[ctg].latency=lognormal(median=5m, sigma=0.5): ", "positive"}},
		{[]Setting{{"channels[ctg].latency", "lognormal(median=5m)"}}, BadDistribution, []string{"sigma"}},
		{[]Setting{{"channels[ctg].members", "[dk.pet, no.pst]"}}, UnknownAgency,
			[]string{`--set channels[ctg].members=[dk.pet, no.pst]: unknown agency "no.pst"; expected one of the declared agencies`}},
		{[]Setting{{"channels[ctg].topology", "star"}}, BadTopology, []string{`"star"; expected one of mesh, hub, platform, liaison`}},
		{[]Setting{{"agencies[dk.pet].staff.x", "1"}}, UnknownField, []string{"agencies[dk.pet].staff is a single value"}},
		{[]Setting{{"agencies[dk.pet].hours.always", "1"}}, UnknownField, []string{"agencies[dk.pet].hours is a single value"}},
		{[]Setting{{"variants[0].title", "x"}}, BadValue, []string{"variants cannot be set"}},
		{[]Setting{{"agencies[dk.pet.staff", "1"}}, BadValue, []string{`bad path "agencies[dk.pet.staff"`}},
		{[]Setting{{"agencies..staff", "1"}}, BadValue, []string{"a field name is missing at offset 9"}},
		{[]Setting{{"agencies[dk.pet].staff", ""}}, Missing, []string{"has no value"}},
		{[]Setting{{"agencies[dk.pet].staff", "[1"}}, Syntax, []string{"the value is not YAML"}},
		{[]Setting{{"agencies[dk.pet].staff", "2"}, {"agencies[0]", "{id: dk.pet}"}}, Duplicate, []string{"overlaps"}},
		// A setting can leave a problem elsewhere: the audience member a
		// changed channel no longer reaches.
		{[]Setting{{"channels[plo].sides", "[[dk.police], [eu.europol]]"}}, Unreachable,
			[]string{"--set channels[plo].sides=[[dk.police], [eu.europol]]: ", "(at injects[0].audience[2], testdata/good/nordic.yaml:"}},
	} {
		s := loadGood(t, "nordic.yaml")
		_, err := s.With(tc.settings...)
		var list ErrorList
		if !errors.As(err, &list) {
			t.Errorf("%v: error %v, want an ErrorList", tc.settings, err)
			continue
		}
		found := false
		for _, e := range list {
			found = found || e.Kind == tc.kind
		}
		if !found {
			t.Errorf("%v: kinds %v, want %v: %v", tc.settings, kinds(list), tc.kind, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v:\n%v\nlacks %q", tc.settings, err, w)
			}
		}
	}
}

func kinds(l ErrorList) []Kind {
	var out []Kind
	for _, e := range l {
		out = append(out, e.Kind)
	}
	return out
}

// Every built-in scenario and variant as loaded passes the checks again,
// so that a problem after settings is the settings' doing.
func TestWithNothing(t *testing.T) {
	for _, info := range List() {
		s, err := Builtin(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range append([]string{""}, s.VariantNames()...) {
			a, err := s.Apply(v)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.With(); err != nil {
				t.Errorf("%s %s: %v", info.Name, v, err)
			}
		}
	}
}
