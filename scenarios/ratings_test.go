package scenarios

import (
	"strings"
	"testing"

	"liaison"
)

// TestRatings: the evaluators' ratings load with their objective, rating
// and reason (a folded objective as the inject folds it).
func TestRatings(t *testing.T) {
	s, err := Load("testdata/good/ratings.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []ObjectiveRating{
		{Objective: "Warn the partner within the hour.", Rating: RatingLevel(liaison.RatingS), Reason: "The partner's desk confirmed receipt only by telephone."},
		{Objective: "Warn the partner again.", Rating: RatingLevel(liaison.RatingP)},
	}
	if len(s.Ratings) != len(want) {
		t.Fatalf("ratings %+v, want %+v", s.Ratings, want)
	}
	for i := range want {
		if s.Ratings[i] != want[i] {
			t.Errorf("ratings[%d] = %+v, want %+v", i, s.Ratings[i], want[i])
		}
		if s.Ratings[i].Objective != s.Injects[i].Objective {
			t.Errorf("ratings[%d] names %q, the inject has %q", i, s.Ratings[i].Objective, s.Injects[i].Objective)
		}
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %v", s.Warnings)
	}
}

// TestRatingOfUnknownObjective: a rating whose objective no inject carries
// loads (a MSEL import checks the file without its injects) but is warned
// about at its position, with the objective it most likely meant.
func TestRatingOfUnknownObjective(t *testing.T) {
	file := "testdata/warn/rating-unknown-objective.yaml"
	s, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, w := range s.Warnings {
		if !w.Warning {
			t.Errorf("not a warning: %v", w)
		}
		lines = append(lines, w.Error())
	}
	want := []string{
		file + `:15:17: warning: no inject has the objective "Warn the partners.", so this rating applies to nothing; expected an objective exactly as an inject writes it (did you mean "Warn the partner."?)`,
		file + `:16:17: warning: no inject has the objective "Keep the minister informed.", so this rating applies to nothing; expected an objective exactly as an inject writes it (the injects' objectives are ["Warn the partner."])`,
	}
	if got := strings.Join(lines, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
