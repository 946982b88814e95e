// Package compare runs replications of a scenario's variants (topologies)
// and parameter sweeps with common random numbers and compares them: time
// to reach each inject's audience, reach at the deadline, the chance of
// meeting it, and messages per channel, with confidence intervals, paired
// differences against the first row, and which row is best. Replications
// run in process or on liaison worker processes over NATS, with the same
// results.
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
	"slices"
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
	// Variants to compare, "" for the base scenario. Empty means the base
	// and then every variant in file order.
	Variants []string
	// Sweeps set paths of the scenario to each of their values; with
	// several, every combination runs (a full factorial), within each
	// variant. The first row is the reference for paired differences.
	Sweeps   []Sweep
	Runs     int     // replications per row (seeds Seed..Seed+Runs-1)
	Parallel int     // replications at once in this process (default GOMAXPROCS)
	Seed     uint64  // first seed
	Level    float64 // confidence level of intervals and tests (default 0.95)
	// Progress, when set, is called after each replication with the
	// number done.
	Progress func(done, total int)
	// Workers, when set, hands the replications to liaison worker
	// processes over NATS instead of running them here.
	Workers *Workers
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
	Row     int // index in Result.Rows
	Seed    uint64
	Summary *events.Summary
	Items   []ItemRun
}

// Result is every run, in row then seed order, whatever the parallelism
// or the workers.
type Result struct {
	Scenario string
	Title    string
	Rows     []Row
	Names    []string // each row's name, for tables and legends
	Paths    []string // the swept paths, in the order given
	Runs     int
	Seed     uint64
	Level    float64
	All      []Run
	// With workers: replications sent again after their worker fell
	// silent or stopped, and replies ignored as malformed.
	Retried, Rejected int
}

// Variants returns the default list: the base and every variant.
func Variants(sc *scenarios.Scenario) []string {
	out := []string{""}
	for _, v := range sc.Variants {
		out = append(out, v.Name)
	}
	return out
}

// MaxReplications bounds the replications of one comparison (rows times
// runs): each keeps its run's summary for the tables and intervals, so a
// mistyped --runs would otherwise exhaust memory before the first run.
// A hundred thousand is far beyond what intervals need.
const MaxReplications = 100_000

// plan is a checked comparison: its rows and the scenario each runs.
type plan struct {
	rows     []Row
	prepared []*scenarios.Scenario
	level    float64
}

// Check reports what is wrong with the configuration (runs, level,
// variants, sweeps, settings) without running anything: every row's
// scenario is built and checked as the loader checks a file.
func (cfg Config) Check() error {
	_, err := cfg.plan()
	return err
}

func (cfg Config) plan() (*plan, error) {
	if cfg.Runs < 1 {
		return nil, fmt.Errorf("compare: runs must be at least 1")
	}
	p := &plan{level: cfg.Level}
	if p.level == 0 {
		p.level = DefaultLevel
	}
	if !(p.level > 0 && p.level < 1) {
		return nil, fmt.Errorf("compare: the confidence level is %v; expected a number between 0 and 1, such as 0.95", cfg.Level)
	}
	variants := cfg.Variants
	if len(variants) == 0 {
		variants = Variants(cfg.Scenario)
	}
	for i, v := range variants {
		if slices.Contains(variants[:i], v) {
			return nil, fmt.Errorf("compare: variant %s is given twice; expected each once", variantName(v))
		}
	}
	for i, sw := range cfg.Sweeps {
		if len(sw.Values) == 0 {
			return nil, fmt.Errorf("compare: --set %s has no values", sw.Path)
		}
		for _, o := range cfg.Sweeps[:i] {
			if o.Path == sw.Path {
				return nil, fmt.Errorf("compare: --set %s is given twice; expected each path once, with all its values", sw.Path)
			}
		}
	}
	if cfg.Seed > math.MaxUint64-uint64(cfg.Runs-1) {
		return nil, fmt.Errorf("compare: seeds %d and the %d after it pass the largest seed, %d; expected a smaller --seed", cfg.Seed, cfg.Runs-1, uint64(math.MaxUint64))
	}
	p.rows = rows(variants, cfg.Sweeps)
	if cfg.Runs > MaxReplications/len(p.rows) {
		return nil, fmt.Errorf("compare: %d rows of %d runs each exceed %d replications (every run's summary is kept for the tables); expected fewer --runs or values",
			len(p.rows), cfg.Runs, MaxReplications)
	}
	for _, r := range p.rows {
		sc, err := prepare(cfg.Scenario, r)
		if err != nil {
			return nil, err
		}
		p.prepared = append(p.prepared, sc)
	}
	return p, nil
}

// Compare runs the comparison: here, on one embedded NATS server shared by
// all replications, or on the workers.
func Compare(ctx context.Context, cfg Config) (*Result, error) {
	p, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: cfg.Scenario.Name, Title: cfg.Scenario.Title, Rows: p.rows, Runs: cfg.Runs,
		Seed: cfg.Seed, Level: p.level, All: make([]Run, len(p.rows)*cfg.Runs)}
	for _, sw := range cfg.Sweeps {
		res.Paths = append(res.Paths, sw.Path)
	}
	showVariant := len(p.rows) > 0 && (p.rows[0].Variant != "" || p.rows[len(p.rows)-1].Variant != "")
	short := shortPaths(res.Paths)
	for _, r := range p.rows {
		res.Names = append(res.Names, r.name(showVariant, short))
	}
	for i := range res.All {
		res.All[i].Row = i / cfg.Runs
		res.All[i].Seed = cfg.Seed + uint64(i%cfg.Runs)
	}
	if cfg.Workers != nil {
		err = cfg.Workers.run(ctx, cfg, p, res)
	} else {
		err = runLocal(ctx, cfg, p, res)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// runLocal runs the replications in this process, Parallel at once.
func runLocal(ctx context.Context, cfg Config, p *plan, res *Result) error {
	par := cfg.Parallel
	if par < 1 {
		par = runtime.GOMAXPROCS(0)
	}
	srv, err := broker.StartServer(broker.ServerOptions{Name: "liaison-compare"})
	if err != nil {
		return err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
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
				r := &res.All[i]
				errs[i] = replicate(ctx, p.prepared[r.Row], p.rows[r.Row].Variant, srv, r)
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
			return fmt.Errorf("compare: %s, seed %d: %w", res.Names[r.Row], r.Seed, err)
		}
	}
	return ctx.Err()
}

// replicate runs one replication of a row's scenario (its variant and
// settings applied) on the embedded server srv and fills r's summary and
// items. The variant only names the run in its summary.
func replicate(ctx context.Context, sc *scenarios.Scenario, variant string, srv *server.Server, r *Run) error {
	var info *events.RunInfo
	cfg := sim.Config{Scenario: sc, Seed: r.Seed, Replication: true,
		OnStart: []func(sim.Started){func(s sim.Started) { info = s.Info }},
	}
	cfg.Server = srv
	sum, err := sim.Run(ctx, cfg)
	if err != nil {
		return err
	}
	sum.Variant = variant
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
