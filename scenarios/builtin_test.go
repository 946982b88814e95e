package scenarios

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBuiltins loads every built-in scenario and applies each variant, so a
// scenario file that stops loading fails the build's tests, not a user's run.
func TestBuiltins(t *testing.T) {
	list := List()
	if len(list) == 0 {
		t.Skip("no built-in scenarios yet")
	}
	for i, info := range list {
		if i > 0 && list[i-1].Name >= info.Name {
			t.Errorf("List not sorted: %s before %s", list[i-1].Name, info.Name)
		}
		s, err := Builtin(info.Name)
		if err != nil {
			t.Errorf("%s: %v", info.Name, err)
			continue
		}
		if s.Source != "scenarios/"+info.Name+".yaml" || s.Title != info.Title {
			t.Errorf("%s: source %q, title %q vs %q", info.Name, s.Source, s.Title, info.Title)
		}
		if s.Name != info.Name {
			t.Errorf("%s: the file says name: %s; expected the file name, which is what users type", info.Name, s.Name)
		}
		for _, v := range s.VariantNames() {
			a, err := s.Apply(v)
			if err != nil {
				t.Errorf("%s: apply %s: %v", info.Name, v, err)
				continue
			}
			if a.Lookahead() <= 0 {
				t.Errorf("%s/%s: lookahead %d", info.Name, v, a.Lookahead())
			}
		}
	}
}

func TestOpen(t *testing.T) {
	s, err := Open("testdata/good/minimal.yaml")
	if err != nil || s.Name != "minimal" || s.Source != "testdata/good/minimal.yaml" {
		t.Fatalf("Open(file) = %v, %v", s, err)
	}
	for _, info := range List() {
		if s, err := Open(info.Name); err != nil || s.Source != "scenarios/"+info.Name+".yaml" {
			t.Errorf("Open(%s) = %v", info.Name, err)
		}
	}
	_, err = Open("no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "expected a path or one of:") {
		t.Errorf("Open(unknown) = %v", err)
	}
	if _, err := Builtin("../scenarios/x"); err == nil {
		t.Error("Builtin accepted a path")
	}
}

// TestBuiltinsCiteSources: every built-in cites its facts from the project's
// own sources page, docs/SOURCES.md, by entries that exist there, and points
// at nothing a user of the repository does not have. The README's links into
// the page must land on entries too.
func TestBuiltinsCiteSources(t *testing.T) {
	page, err := os.ReadFile("../docs/SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	entries := sourceEntries(t, string(page))
	if len(entries) == 0 {
		t.Fatal("docs/SOURCES.md has no entries")
	}
	cite := regexp.MustCompile(`\[S(\d+)\]`)
	outside := regexp.MustCompile(`domain-facts|\.\./shared|/work/|seed page|[^.]\bseeds?/`)
	for _, info := range List() {
		data, err := builtinFS.ReadFile(info.Name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if m := outside.Find(data); m != nil {
			t.Errorf("%s.yaml refers to %q, which is outside the repository; expected citations of docs/SOURCES.md", info.Name, m)
		}
		for _, m := range cite.FindAllStringSubmatch(string(data), -1) {
			if !entries[m[1]] {
				t.Errorf("%s.yaml cites [S%s], which docs/SOURCES.md does not have", info.Name, m[1])
			}
		}
		s, err := Builtin(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.Description, "docs/SOURCES.md") || !cite.MatchString(s.Description) {
			t.Errorf("%s: the description cites no entry of docs/SOURCES.md", info.Name)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`docs/SOURCES\.md#s(\d+)`).FindAllStringSubmatch(string(readme), -1)
	if len(links) == 0 {
		t.Error("README links to no entry of docs/SOURCES.md")
	}
	for _, m := range links {
		if !entries[m[1]] {
			t.Errorf("README links to docs/SOURCES.md#s%s, which does not exist", m[1])
		}
	}
	for _, name := range []string{"../README.md", "../docs/SOURCES.md"} {
		data, _ := os.ReadFile(name)
		if m := regexp.MustCompile(`domain-facts|\.\./shared|/work/`).Find(data); m != nil {
			t.Errorf("%s refers to %q, outside the repository", name, m)
		}
	}
}

// sourceEntries returns the numbers of the entries of the sources page: an
// anchor <a id="sN"></a> followed by the heading "### SN. ...", each with at
// least one address.
func sourceEntries(t *testing.T, page string) map[string]bool {
	t.Helper()
	entry := regexp.MustCompile(`(?m)^<a id="s(\d+)"></a>\n### S(\d+)\. `)
	locs := entry.FindAllStringSubmatchIndex(page, -1)
	got := map[string]bool{}
	for i, l := range locs {
		anchor, heading := page[l[2]:l[3]], page[l[4]:l[5]]
		if anchor != heading {
			t.Errorf("docs/SOURCES.md: anchor s%s heads entry S%s", anchor, heading)
		}
		if got[heading] {
			t.Errorf("docs/SOURCES.md: entry S%s appears twice", heading)
		}
		got[heading] = true
		end := len(page)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if !strings.Contains(page[l[0]:end], "http") {
			t.Errorf("docs/SOURCES.md: entry S%s gives no address", heading)
		}
	}
	if n := strings.Count(page, `<a id="s`); n != len(locs) {
		t.Errorf("docs/SOURCES.md: %d anchors but %d well-formed entries; expected each anchor on the line before its \"### SN. \" heading", n, len(locs))
	}
	return got
}

// TestBuiltinsCoverTheSources: every body and channel of the public pages the
// project models appears in at least one built-in, as an agency or channel
// (matched by name) or as a message type some rule sends. Removing or
// trimming a built-in must not silently drop one.
func TestBuiltinsCoverTheSources(t *testing.T) {
	var names, types []string
	for _, info := range List() {
		s, err := Builtin(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range s.Agencies {
			names = append(names, a.Name)
		}
		for _, c := range s.Channels {
			names = append(names, c.Name)
		}
		for _, r := range s.Rules {
			types = append(types, string(r.As), string(r.Reply), string(r.Send), string(r.On))
		}
		for _, in := range s.Injects {
			types = append(types, string(in.Type))
		}
	}
	for _, want := range []struct{ what, name, typ string }{
		{what: "Säpo", name: "Säpo"},
		{what: "NCT", name: "(NCT)"},
		{what: "Must", name: "(Must)"},
		{what: "FRA", name: "(Försvarets radioanstalt, FRA)"},
		{what: "the Swedish Police Authority", name: "Polismyndigheten"},
		{what: "the Economic Crime Authority", name: "Ekobrottsmyndigheten"},
		{what: "the Migration Agency", name: "Migrationsverket"},
		{what: "the Counter-Terrorism Cooperation Council", name: "Samverkansrådet mot terrorism"},
		{what: "PET", name: "(PET)"},
		{what: "FE", name: "(FE / DDIS)"},
		{what: "CFCS", name: "(CFCS)"},
		{what: "the Danish police", name: "Københavns Politi"},
		{what: "the Danish Prosecution Service", name: "Anklagemyndigheden"},
		{what: "the Danish Defence", name: "Danish Defence (Forsvaret)"},
		{what: "the Danish Immigration Service", name: "Udlændingestyrelsen"},
		{what: "the Prison and Probation Service", name: "Kriminalforsorgen"},
		{what: "the Danish Business Authority", name: "Erhvervsstyrelsen"},
		{what: "the CTG platform", name: "CTG operational platform"},
		{what: "the Club de Berne", name: "Club de Berne"},
		{what: "the EU Terrorism Working Group", name: "Terrorism Working Party"},
		{what: "the PWGT", name: "PWGT"},
		{what: "NATO's Civilian Intelligence Committee", name: "Civilian Intelligence Committee"},
		{what: "Europol", name: "Europol"},
		{what: "the FBI in Denmark", name: "FBI legal attaché"},
		{what: "the DEA in Denmark", name: "DEA country office"},
		{what: "HSI in Denmark", name: "HSI attaché"},
		{what: "the Swedish liaison officer in Denmark", name: "Swedish police liaison officer at the Danish National Police"},
		{what: "Nordic (PTN) liaison officers", name: "(PTN) liaison officer"},
		{what: "the Danish National Police's Communication Centre", name: "Communication Centre"},
		{what: "the Baltic Sea Task Force", name: "Baltic Sea Task Force"},
		{what: "SIENA", name: "SIENA"},
		{what: "the SIRENE network", name: "SIRENE communication infrastructure"},
		{what: "INTERPOL I-24/7", name: "I-24/7"},
		{what: "SIRENE form A", typ: "sirene-A"},
		{what: "SIRENE form G", typ: "sirene-G"},
		{what: "SIRENE form M", typ: "sirene-M"},
		{what: "SIRENE form H", typ: "sirene-H"},
		{what: "SIRENE form F", typ: "sirene-F"},
		{what: "SIRENE form I", typ: "sirene-I"},
		{what: "SIRENE form Q", typ: "sirene-Q"},
		{what: "the Red Notice", typ: "red-notice"},
		{what: "the Orange Notice", typ: "orange-notice"},
		{what: "the Yellow Notice", typ: "yellow-notice"},
		{what: "the Blue Notice", typ: "blue-notice"},
		{what: "the Green Notice", typ: "green-notice"},
		{what: "the Black Notice", typ: "black-notice"},
		{what: "the Purple Notice", typ: "purple-notice"},
		{what: "the INTERPOL-UN Security Council Special Notice", typ: "unsc-special-notice"},
	} {
		switch {
		case want.name != "" && !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, want.name) }):
			t.Errorf("no built-in has %s: no agency or channel named like %q", want.what, want.name)
		case want.typ != "" && !slices.Contains(types, want.typ):
			t.Errorf("no built-in has %s: no message type %q", want.what, want.typ)
		}
	}
}
