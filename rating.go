package liaison

// Rating is a performance rating of an exercise objective on the scale of
// the US Homeland Security Exercise and Evaluation Program (HSEEP), which
// after-action reports use: the objective was performed without
// challenges (P), with some challenges (S), with major challenges (M), or
// was unable to be performed (U). Reports compute one from a run; a
// scenario's evaluators may give their own, which then stands.
type Rating string

// The four HSEEP ratings, from best to worst.
const (
	RatingP Rating = "P" // performed without challenges
	RatingS Rating = "S" // performed with some challenges
	RatingM Rating = "M" // performed with major challenges
	RatingU Rating = "U" // unable to be performed
)

// Ratings lists the ratings from best to worst.
func Ratings() []Rating { return []Rating{RatingP, RatingS, RatingM, RatingU} }

// Valid reports whether r is one of the four ratings.
func (r Rating) Valid() bool { return r.rank() >= 0 }

// Text is the rating's HSEEP wording, e.g. "performed with some challenges".
func (r Rating) Text() string {
	switch r {
	case RatingP:
		return "performed without challenges"
	case RatingS:
		return "performed with some challenges"
	case RatingM:
		return "performed with major challenges"
	case RatingU:
		return "unable to be performed"
	}
	return "unknown rating " + string(r)
}

// Worse reports whether r is a worse rating than o.
func (r Rating) Worse(o Rating) bool { return r.rank() > o.rank() }

func (r Rating) rank() int {
	switch r {
	case RatingP:
		return 0
	case RatingS:
		return 1
	case RatingM:
		return 2
	case RatingU:
		return 3
	}
	return -1
}

// RatingsExpected lists the ratings with their wording, for error messages:
// "P (performed without challenges), S (...), M (...) or U (...)".
func RatingsExpected() string {
	s := ""
	for i, r := range Ratings() {
		switch {
		case i == 3:
			s += " or "
		case i > 0:
			s += ", "
		}
		s += string(r) + " (" + r.Text() + ")"
	}
	return s
}
