package scenarios

import (
	"strings"
	"testing"
)

// TestUnaskableConsentWarning: an audience member reached only through
// shares whose holder has no channel to the originator gets a warning at
// its position (not an error: the file loads); an item without originator
// control, or a variant with a channel to the originator, gets none.
func TestUnaskableConsentWarning(t *testing.T) {
	file := "testdata/warn/unaskable-consent.yaml"
	s, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, w := range s.Warnings {
		if w.Kind != UnaskableConsent || !w.Warning {
			t.Errorf("warning of kind %v (warning %v)", w.Kind, w.Warning)
		}
		lines = append(lines, w.Error())
	}
	want := []string{
		file + ":23:16: warning: audience member x.user of inject I-1 is reached only through shares that need the consent of its originator x.owner, and no channel joins x.desk to x.owner: the consent can never be asked and every run drops those shares (no_consent_route); expected a channel between them and x.owner, or a rule by which x.owner shares with x.user itself",
		file + ":23:24: warning: audience member x.other of inject I-1 is reached only through shares that need the consent of its originator x.owner, and no channel joins x.desk to x.owner: the consent can never be asked and every run drops those shares (no_consent_route); expected a channel between them and x.owner, or a rule by which x.owner shares with x.other itself",
	}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	linked, err := s.Apply("linked")
	if err != nil {
		t.Fatal(err)
	}
	if w := consentWarnings(linked); len(w) != 0 {
		t.Errorf("with a channel to the owner: %v", w)
	}
}
