package sim

import (
	"fmt"
	"strings"
)

// Load describes a generated scenario for benchmarks and load tests:
// Agencies agencies on one mesh channel, each sending routine traffic to a
// random other agency at PerDay messages a day (a Poisson stream) for Days
// days. Latency is lognormal with median LatencyMedian and floor Floor
// (the lookahead); each agency has Staff handlers whose handling time is
// exponential with mean Handling. With one handler, PerDay × Handling / 1
// day is the queues' utilisation.
type Load struct {
	Agencies      int
	PerDay        int
	Days          int
	Floor         string // e.g. "30s"
	LatencyMedian string // e.g. "5m"
	Staff         int
	Handling      string // e.g. "5m"
}

// Routine is the shape of the classic discrete-event benchmark that
// research use resembles: 200 agencies, 144 messages a day each to a random
// other, latency median 5 minutes with a 30-second floor, one handler whose
// handling takes 5 minutes on average (queues about half busy), 35 days:
// about a million messages.
var Routine = Load{Agencies: 200, PerDay: 144, Days: 35, Floor: "30s", LatencyMedian: "5m", Staff: 1, Handling: "5m"}

// Scenario writes the load as a scenario file.
func (l Load) Scenario() string {
	var b strings.Builder
	ids := make([]string, l.Agencies)
	for i := range ids {
		ids[i] = fmt.Sprintf("g.a%04d", i)
	}
	all := strings.Join(ids, ", ")
	fmt.Fprintf(&b, "name: load-%d\ntitle: Generated load, %d agencies\nstart: 2026-01-05T00:00:00Z\nduration: %dd\n", l.Agencies, l.Agencies, l.Days)
	b.WriteString("agencies:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "  - {id: %s, staff: %d, handling: \"exponential(mean=%s)\"}\n", id, l.Staff, l.Handling)
	}
	fmt.Fprintf(&b, "channels:\n  - id: net\n    topology: mesh\n    latency: \"lognormal(median=%s, sigma=0.5, min=%s)\"\n    members: [%s]\n",
		l.LatencyMedian, l.Floor, all)
	fmt.Fprintf(&b, "background:\n  - from: &all [%s]\n    to: *all\n    type: routine\n    rate: %d/day\n", all, l.PerDay)
	return b.String()
}

// LoadScenario writes a scenario of n agencies on one mesh channel, each
// sending background traffic to all others at perDay messages a day, for
// days days. Handling is fast and staff plenty, so the load is the engine's,
// not the queues'.
func LoadScenario(n, perDay, days int) string {
	return Load{Agencies: n, PerDay: perDay, Days: days, Floor: "1m", LatencyMedian: "2m", Staff: 50, Handling: "10s"}.Scenario()
}
