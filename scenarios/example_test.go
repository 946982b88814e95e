package scenarios_test

import (
	"fmt"

	"liaison/scenarios"
)

// Every problem is reported at once, each where it is and with what was
// expected.
func ExampleParse() {
	_, err := scenarios.Parse("demo.yaml", []byte(`
name: demo
title: Two agencies
start: 2026-03-06T16:00:00+01:00
agencies:
  - id: dk.pet
  - id: se.sapo
    hours: Mon-Fri 8-16
channels:
  - id: ctg
    topology: platform
    members: [dk.pet, se.sapo, no.pst]
    latncy: exponential(mean=10m)
`))
	fmt.Println(err)
	// Output:
	// demo.yaml:8:12: agencies[1].hours: bad hours "Mon-Fri 8-16": time of day "8" is not HH:MM from 00:00 to 24:00; expected 24/7, or days and times such as "Mon-Fri 08:00-16:00", "Mon-Thu 08:00-16:00; Fri 08:00-15:30" or "Sat,Sun 10:00-14:00"
	// demo.yaml:10:5: missing field "latency" in channels[0]; expected transit time of one hop, a distribution with a positive minimum (its floor), e.g. lognormal(median=10m, sigma=0.4, min=1m)
	// demo.yaml:12:32: unknown agency "no.pst"; expected one of the declared agencies: dk.pet, se.sapo
	// demo.yaml:13:5: unknown field "latncy" in channels[0] (did you mean "latency"?); expected one of id, name, topology, hub, review, officer, members, relevant, sides, latency, outages
}

// A delay distribution with a floor never samples below it.
func ExampleParseDist() {
	d, _ := scenarios.ParseDist("lognormal(median=10m, sigma=0.4, min=1m)")
	fmt.Println(d.Kind, d.Min(), d.Mean() > 600000)
	// Output: lognormal 60 true
}
