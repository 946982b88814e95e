// Package compare runs replications of a scenario's variants (topologies)
// with common random numbers and compares them: time to reach each inject's
// audience, reach at the deadline, the chance of meeting it, and messages
// per channel, with confidence intervals and paired differences against the
// first variant.
//
// Runs that never reach an item's whole audience are censored at the run's
// end: their time to reach is unknown but later than anything observed.
// Quantiles count them as infinitely late, which is exact for order
// statistics since every run of a variant ends at the same time; means (and
// paired differences) are over the runs (pairs) that reached, with their
// number shown.
package compare

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/nats-io/nats-server/v2/server"

	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

// Config describes a comparison.
type Config struct {
	Scenario *scenarios.Scenario
	// Variants to compare, "" for the base scenario; the first is the
	// reference for paired differences. Empty means the base and then
	// every variant in file order.
	Variants []string
	Runs     int    // replications per variant (seeds Seed..Seed+Runs-1)
	Parallel int    // workers (default GOMAXPROCS)
	Seed     uint64 // first seed
	// Progress, when set, is called after each run with the number done.
	Progress func(done, total int)
}

// ItemRun is one item in one run.
type ItemRun struct {
	ID                string    `json:"id"`
	Audience          int       `json:"audience"`
	Reached           int       `json:"reached"`
	ReachedAtDeadline int       `json:"reached_at_deadline"`
	TimeToReach       float64   `json:"time_to_reach_seconds"` // +Inf when censored
	Censored          bool      `json:"censored"`
	Deadline          *float64  `json:"deadline_seconds"`
	DeadlineMet       *bool     `json:"deadline_met"`
	Learned           []float64 `json:"-"` // seconds since the inject at which audience members learned, sorted
	Horizon           float64   `json:"-"` // the run's end, in seconds since the inject
}

// Run is one replication.
type Run struct {
	Variant string
	Seed    uint64
	Summary *events.Summary
	Items   []ItemRun
}

// Result is every run, in variant then seed order, whatever the
// parallelism.
type Result struct {
	Scenario string
	Title    string
	Variants []string
	Runs     int
	Seed     uint64
	All      []Run
}

// Variants returns the default list: the base and every variant.
func Variants(sc *scenarios.Scenario) []string {
	out := []string{""}
	for _, v := range sc.Variants {
		out = append(out, v.Name)
	}
	return out
}

// Compare runs the comparison on one embedded NATS server shared by all
// workers.
func Compare(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Runs < 1 {
		return nil, fmt.Errorf("compare: runs must be at least 1")
	}
	variants := cfg.Variants
	if len(variants) == 0 {
		variants = Variants(cfg.Scenario)
	}
	for _, v := range variants {
		if _, err := cfg.Scenario.Apply(v); err != nil {
			return nil, err
		}
	}
	par := cfg.Parallel
	if par < 1 {
		par = runtime.GOMAXPROCS(0)
	}
	srv, err := broker.StartServer(broker.ServerOptions{Name: "liaison-compare"})
	if err != nil {
		return nil, err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	res := &Result{Scenario: cfg.Scenario.Name, Title: cfg.Scenario.Title, Variants: variants, Runs: cfg.Runs,
		Seed: cfg.Seed, All: make([]Run, len(variants)*cfg.Runs)}
	for i := range res.All {
		res.All[i].Variant = variants[i/cfg.Runs]
		res.All[i].Seed = cfg.Seed + uint64(i%cfg.Runs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	errs := make([]error, len(res.All))
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range min(par, len(res.All)) {
		wg.Go(func() {
			for i := range jobs {
				errs[i] = runOne(ctx, cfg.Scenario, srv, &res.All[i])
				if errs[i] != nil {
					cancel()
				}
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, len(res.All))
				}
				mu.Unlock()
			}
		})
	}
	for i := range res.All {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			r := &res.All[i]
			return nil, fmt.Errorf("compare: variant %s, seed %d: %w", variantName(r.Variant), r.Seed, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func runOne(ctx context.Context, sc *scenarios.Scenario, srv *server.Server, r *Run) error {
	var info *events.RunInfo
	cfg := sim.Config{Scenario: sc, Variant: r.Variant, Seed: r.Seed,
		OnStart: []func(sim.Started){func(s sim.Started) { info = s.Info }},
	}
	cfg.Server = srv
	sum, err := sim.Run(ctx, cfg)
	if err != nil {
		return err
	}
	r.Summary = sum
	for _, it := range info.Items {
		var s *events.ItemSummary
		for i := range sum.Items {
			if string(sum.Items[i].ID) == it.ID {
				s = &sum.Items[i]
			}
		}
		if s == nil {
			return fmt.Errorf("item %s missing from the summary", it.ID)
		}
		ir := ItemRun{ID: it.ID, Audience: len(it.Audience), Reached: s.Reached, Deadline: it.DeadlineSeconds,
			DeadlineMet: s.DeadlineMet, TimeToReach: math.Inf(1), Censored: true, Horizon: sum.EndSeconds - it.AtSeconds,
			Learned: s.Learned}
		if s.TimeToReachSeconds != nil {
			ir.TimeToReach, ir.Censored = *s.TimeToReachSeconds, false
		}
		if ir.Deadline != nil {
			ir.ReachedAtDeadline = s.ReachedWithin(*ir.Deadline)
		}
		r.Items = append(r.Items, ir)
	}
	return nil
}

func variantName(v string) string {
	if v == "" {
		return "(base)"
	}
	return v
}
