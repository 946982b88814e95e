package events_test

import (
	"bytes"
	"strings"
	"testing"

	"liaison/events"
	"liaison/sim"
)

// TestRatingsInHeader: a scenario's evaluators' ratings travel in the run
// header, read back as written, and a header whose ratings are not HSEEP
// ratings of named objectives is refused at line 1.
func TestRatingsInHeader(t *testing.T) {
	log, _ := runLog(t, "../scenarios/testdata/good/ratings.yaml", sim.Config{Seed: 1})
	again, _, _ := readAll(t, log)
	if !bytes.Equal(again, log) {
		t.Fatal("the log with ratings does not read back as written")
	}
	rd, err := events.NewReader("run.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []events.ObjectiveRating{
		{Objective: "Warn the partner within the hour.", Rating: "S", Reason: "The partner's desk confirmed receipt only by telephone."},
		{Objective: "Warn the partner again.", Rating: "P"},
	}
	if got := rd.Info().Ratings; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("header ratings %+v, want %+v", got, want)
	}
	header, rest, _ := strings.Cut(string(log), "\n")
	for _, c := range []struct{ name, from, to, want string }{
		{"bad rating", `"rating":"S"`, `"rating":"good"`, `run.jsonl:1: run header: ratings[0]: rating "good"; expected P (performed without challenges), S (performed with some challenges), M (performed with major challenges) or U (unable to be performed)`},
		{"no objective", `"objective":"Warn the partner again."`, `"objective":" "`, `run.jsonl:1: run header: ratings[1] names no objective`},
		{"twice", `"objective":"Warn the partner again."`, `"objective":"Warn the partner within the hour."`, `run.jsonl:1: run header: ratings[1]: objective "Warn the partner within the hour." is rated twice`},
	} {
		at := strings.LastIndex(header, c.from) // in the ratings, after the items
		if at < 0 {
			t.Fatalf("%s: %q is not in the header %s", c.name, c.from, header)
		}
		bad := header[:at] + c.to + header[at+len(c.from):]
		_, err := events.NewReader("run.jsonl", strings.NewReader(bad+"\n"+rest))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
}
