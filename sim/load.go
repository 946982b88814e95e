package sim

import (
	"fmt"
	"strings"
)

// LoadScenario writes a scenario of n agencies on one mesh channel, each
// sending background traffic to all others at perDay messages a day, for
// days days. Handling is fast and staff plenty, so the load is the engine's,
// not the queues': benchmarks and load tests use it.
func LoadScenario(n, perDay, days int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-%d\ntitle: Generated load, %d agencies\nstart: 2026-01-05T00:00:00Z\nduration: %dd\nagencies:\n", n, n, days)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: g.a%03d, staff: 50, handling: \"exponential(mean=10s)\"}\n", i)
	}
	b.WriteString("channels:\n  - id: net\n    topology: mesh\n    latency: \"exponential(mean=2m, min=1m)\"\n    members: [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "g.a%03d", i)
	}
	b.WriteString("]\nbackground:\n  - from: &all [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "g.a%03d", i)
	}
	fmt.Fprintf(&b, "]\n    to: *all\n    type: routine\n    rate: %d/day\n", perDay)
	return b.String()
}
