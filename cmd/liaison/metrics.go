package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"liaison/atomicfile"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"liaison"
	"liaison/events"
	"liaison/metrics"
	"liaison/sim"
)

// `liaison run --metrics-addr ADDR [--hold]` serves the run's metrics;
// `--openmetrics FILE` writes them, sampled on the scenario's calendar, for
// loading into Prometheus after a fast run.
func init() { runExtensions = append(runExtensions, newMetricsExtension) }

type metricsExtension struct {
	out        io.Writer // the flag set's output: stderr
	fs         *flag.FlagSet
	addr       string
	hold       bool
	omPath     string
	omInterval time.Duration
	now        func() time.Time

	col     *metrics.Collector
	sampler *metrics.Sampler
	start   time.Time // the scenario's calendar at simulated time 0
	srv     *http.Server
	served  chan error
	// URL is where /metrics is served, once Configure has bound it.
	URL string
}

// maxSamples bounds the samples of an --openmetrics file: every series is
// written at least every few minutes of simulated time, so a year of
// one-minute samples is already gigabytes.
const maxSamples = 600_000

func newMetricsExtension(fs *flag.FlagSet) runExtension {
	x := &metricsExtension{out: fs.Output(), fs: fs, now: time.Now}
	fs.StringVar(&x.addr, "metrics-addr", "", "serve the run's Prometheus metrics at `ADDR`/metrics (host:port; :9464 binds 127.0.0.1:9464, 0.0.0.0:9464 every interface)")
	fs.BoolVar(&x.hold, "hold", false, "with --metrics-addr, keep serving after the run ends until interrupted, so the last scrape sees the final values")
	fs.StringVar(&x.omPath, "openmetrics", "", "write the run's metrics as OpenMetrics text to `FILE`, timestamped on the scenario's calendar (for promtool tsdb create-blocks-from openmetrics)")
	fs.DurationVar(&x.omInterval, "openmetrics-interval", time.Minute, "simulated time between two samples in the --openmetrics file")
	return x
}

// metricsListenAddr binds to the loopback interface unless the address
// names a host: serving a run's figures to the network is a choice.
func metricsListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-addr %q: %w (expected host:port or :port)", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

func (x *metricsExtension) Configure(cfg *sim.Config) error {
	if x.hold && x.addr == "" {
		return errors.New("--hold needs --metrics-addr")
	}
	if x.omInterval < time.Second {
		return fmt.Errorf("--openmetrics-interval %v: must be at least 1s", x.omInterval)
	}
	if x.addr == "" && x.omPath == "" {
		return nil
	}
	if d := cfg.Scenario.Duration; x.omPath != "" && d > 0 && liaison.Time(d)/liaison.FromDuration(x.omInterval) > maxSamples {
		return fmt.Errorf("--openmetrics %s: %v of simulated time sampled every %v is more than %d samples (gigabytes of text); expected a longer --openmetrics-interval, such as %v",
			x.omPath, liaison.Time(d).Duration(), x.omInterval, maxSamples, (liaison.Time(d).Duration()/maxSamples).Round(time.Minute)+time.Minute)
	}
	x.col = metrics.New()
	x.col.Attach(cfg)
	cfg.OnStart = append(cfg.OnStart, func(s sim.Started) {
		x.start, _ = time.Parse(time.RFC3339, s.Info.Start)
	})
	if x.omPath != "" {
		x.sampler = x.col.Sample(x.omInterval)
	}
	if x.addr == "" {
		return nil
	}
	addr, err := metricsListenAddr(x.addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(x.col.Registry(), promhttp.HandlerOpts{EnableOpenMetrics: true}))
	x.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	x.served = make(chan error, 1)
	go func() { x.served <- x.srv.Serve(ln) }()
	x.URL = "http://" + ln.Addr().String() + "/metrics"
	fmt.Fprintf(x.out, "liaison run: serving metrics at %s\n", x.URL)
	return nil
}

func (x *metricsExtension) Finish(ctx context.Context, sum *events.Summary, runErr error, stderr io.Writer) error {
	if x.col == nil {
		return nil
	}
	var err error
	if runErr == nil && sum != nil {
		end := liaison.Time(math.Round(sum.EndSeconds * 1000))
		x.col.End(end)
		if x.sampler != nil {
			err = x.writeOpenMetrics(ctx, end, stderr)
		}
	}
	if x.srv == nil {
		return err
	}
	if x.hold && runErr == nil && err == nil {
		fmt.Fprintf(stderr, "liaison run: run over; still serving final metrics at %s until interrupted\n", x.URL)
		<-ctx.Done()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := x.srv.Shutdown(sctx); serr != nil && err == nil {
		err = fmt.Errorf("stopping the metrics server: %w", serr)
	}
	if serr := <-x.served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("metrics server: %w", serr)
	}
	return err
}

// writeOpenMetrics writes the sampled metrics to a temporary file renamed
// into place once complete: a failure leaves no partial file, and a signal
// stops the writing of a long run's file as it stops the run.
func (x *metricsExtension) writeOpenMetrics(ctx context.Context, end liaison.Time, stderr io.Writer) (err error) {
	defer func() {
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped (%v) before --openmetrics %s was written; the event log and the summary are complete", context.Cause(ctx), x.omPath)
		}
	}()
	if ctx.Err() != nil {
		return nil
	}
	if err := x.sampler.Finish(end); err != nil {
		return err
	}
	placed, shift := metrics.Calendar(x.start, end, x.now())
	if shift != 0 {
		fmt.Fprintf(stderr, "liaison run: --openmetrics: the scenario's dates (%s to %s) are %s; "+
			"samples are dated %s to %s instead (%+d weeks, same weekdays and times of day)\n",
			x.start.Format(time.RFC3339), x.start.Add(end.Duration()).Format(time.RFC3339),
			calendarProblem(x.start, end, x.now()),
			placed.Format(time.RFC3339), placed.Add(end.Duration()).Format(time.RFC3339), int(shift/(7*24*time.Hour)))
	}
	if placed.Before(x.now().Add(-metrics.RecentWindow)) {
		days := int(math.Ceil(x.now().Sub(placed).Hours()/24)) + 7
		fmt.Fprintf(stderr, "liaison run: --openmetrics: the run is longer than Prometheus keeps data by default; "+
			"start it with --storage.tsdb.retention.time=%dd to keep all of it\n", days)
	}
	if err := atomicfile.Write(x.omPath, func(w io.Writer) error {
		return x.sampler.WriteOpenMetrics(ctxWriter{ctx, w}, placed)
	}); err != nil {
		return fmt.Errorf("--openmetrics: %w", err)
	}
	if flagBool(x.fs, "quiet") {
		return nil
	}
	fmt.Fprintf(stderr, "liaison run: wrote %s every %v of simulated time to %s\n",
		liaison.Plural(x.sampler.Samples(), "sample", "samples"), x.omInterval, x.omPath)
	return nil
}

func calendarProblem(start time.Time, end liaison.Time, now time.Time) string {
	if start.Add(end.Duration()).After(now) {
		return "in the future, which Prometheus does not show"
	}
	return fmt.Sprintf("older than the %d days Prometheus keeps by default", int(metrics.RecentWindow.Hours()/24))
}

// ctxWriter fails its writes once ctx is done, so that a long write stops
// at the next buffer it flushes.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
