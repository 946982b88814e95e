package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/term"

	"liaison"
	"liaison/auth"
	"liaison/broker"
	"liaison/events"
	"liaison/sim"
)

// A pace from a simulated second per 17 wall minutes to 30 simulated years
// per wall second: beyond either, times no longer fit a Duration.
const minSpeed, maxSpeed = 1e-3, 1e9

// Live exercises: `liaison run --speed N --listen ADDR` paces a run and lets
// other processes join it; `liaison inject` and `liaison control` are the
// facilitator's tools; `--replay LOG` plays a live run's actions again.

func init() {
	runExtensions = append(runExtensions, newLiveFlags)
	register(command{"inject", "--nats URL [--run ID] FILE|-", "deliver one inject into a running scenario now",
		(*Main).inject})
	register(command{"control", "--nats URL [--run ID] pause|resume", "pause or resume a running scenario",
		(*Main).control})
}

type liveFlags struct {
	fs     *flag.FlagSet
	speed  *float64
	listen *string
	replay *string
	drift  time.Duration
	lag    time.Duration
	begun  time.Time
	stderr io.Writer
	quiet  bool
	prog   *progress
}

func newLiveFlags(fs *flag.FlagSet) runExtension {
	return &liveFlags{
		fs:     fs,
		speed:  fs.Float64("speed", 0, "pace the run: `N` simulated seconds per wall second (1 = real time; default as fast as possible)"),
		listen: fs.String("listen", "", "expose the embedded NATS server on `ADDR` (e.g. 127.0.0.1:4222) so that liaison inject and control can join"),
		replay: fs.String("replay", "", "replay the live injects, pauses and resumes recorded in the event log `FILE`"),
	}
}

func (l *liveFlags) Configure(cfg *sim.Config) error {
	if flagGiven(l.fs, "speed") && !(*l.speed >= minSpeed && *l.speed <= maxSpeed) {
		return fmt.Errorf("--speed %g: expected simulated seconds per wall second from %g to %g (1 = real time); leave it out to run as fast as possible", *l.speed, minSpeed, maxSpeed)
	}
	cfg.Speed, cfg.Listen, cfg.Drift, cfg.Lag = *l.speed, *l.listen, &l.drift, &l.lag
	l.begun = time.Now()
	if *l.listen != "" {
		if strings.HasPrefix(*l.listen, ":") {
			cfg.Listen = "127.0.0.1" + *l.listen
		}
		if cfg.NATSURL != "" {
			return errors.New("--listen exposes the embedded server; with --nats there is none")
		}
	}
	if *l.replay != "" {
		f, err := os.Open(*l.replay)
		if err != nil {
			return err
		}
		defer f.Close()
		info, actions, err := sim.ReadReplay(*l.replay, f)
		if err != nil {
			return err
		}
		if err := sim.CheckReplay(*l.replay, info, cfg.Scenario, cfg.Seed, cfg.Variant); err != nil {
			return err
		}
		cfg.Replay = actions
	}
	l.quiet = flagBool(l.fs, "quiet")
	cfg.OnStart = append(cfg.OnStart, func(s sim.Started) {
		if l.quiet {
			return
		}
		url := cfg.NATSURL
		if cfg.Listen != "" && s.Server != nil {
			url = s.Server.ClientURL()
		}
		if url != "" {
			fmt.Fprintf(l.stderr, "liaison: run %s of %s on %s; join with: liaison inject --nats %s FILE\n",
				s.RunID, s.Info.Scenario, url, url)
		}
	})
	if isTerminal(l.stderr) && !l.quiet {
		l.prog = newProgress(l.stderr, *l.speed, time.Now)
		cfg.OnStart = append(cfg.OnStart, l.prog.start)
		cfg.Observers = append(cfg.Observers, l.prog.observe)
		cfg.OnAction = append(cfg.OnAction, l.prog.action)
	}
	return nil
}

// Stop ends the progress line as soon as the run is over, and says how
// well a paced run kept pace.
func (l *liveFlags) Stop(runErr error) {
	if l.prog != nil {
		l.prog.stop()
	}
	if *l.speed > 0 && runErr == nil && !l.quiet {
		fmt.Fprintf(l.stderr, "liaison: paced at %g×; at the end simulated time was %v from the scaled wall clock", *l.speed, l.drift.Round(time.Microsecond))
		if l.lag > 0 {
			elapsed := time.Since(l.begun)
			fmt.Fprintf(l.stderr, "; at worst it was %v behind (%.3f%% of %v)", l.lag.Round(time.Microsecond),
				100*l.lag.Seconds()/elapsed.Seconds(), elapsed.Round(time.Millisecond))
		}
		fmt.Fprintln(l.stderr)
	}
}

func (l *liveFlags) Finish(context.Context, *events.Summary, error, io.Writer) error { return nil }

// bind gives the extension the program's streams.
func (l *liveFlags) bind(m *Main) { l.stderr = m.Stderr }

// isTerminal reports whether w is a terminal (not a file, a pipe or
// /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// unpacedDelay is how long a run as fast as possible goes before it shows
// progress: a short run prints nothing but its result.
const unpacedDelay = 2 * time.Second

// progress shows how a run goes on one line of a terminal, once a second:
// the simulated clock, messages, reach per inject, and how long is left. A
// paced run shows it from the start and says when the facilitator paused
// it (its clock then stands still); a run as fast as possible shows it
// after unpacedDelay, with its rate.
type progress struct {
	w       io.Writer
	speed   float64
	now     func() time.Time
	delay   time.Duration
	mu      sync.Mutex
	info    *events.RunInfo
	loc     *time.Location
	began   time.Time    // wall time the run started
	t0      time.Time    // wall time of simulated time 0, moved on by pauses
	end     liaison.Time // the scenario's end, or liaison.Never
	t       liaison.Time // latest event seen
	paused  bool
	pauseAt liaison.Time // simulated time it paused at
	pauseW  time.Time    // wall time it paused at
	shown   bool         // a line was printed
	sent    int64
	deliv   int64
	reached map[string]map[string]bool
	aud     map[string]map[string]bool
	order   []string
	done    chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup
}

func newProgress(w io.Writer, speed float64, now func() time.Time) *progress {
	p := &progress{w: w, speed: speed, now: now, reached: map[string]map[string]bool{},
		aud: map[string]map[string]bool{}, done: make(chan struct{}), end: liaison.Never}
	if speed <= 0 {
		p.delay = unpacedDelay
	}
	return p
}

func (p *progress) start(s sim.Started) {
	p.begin(s.Info)
	p.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				p.print(false)
			}
		}
	})
}

func (p *progress) begin(info *events.RunInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.info, p.began = info, p.now()
	p.t0 = p.began
	p.loc = time.UTC
	if l, err := time.LoadLocation(info.TimeZone); err == nil && info.TimeZone != "" {
		p.loc = l
	}
	if d := info.DurationSeconds; d != nil {
		p.end = liaison.Time(math.Round(*d * 1000))
	}
	for _, it := range info.Items {
		p.addItem(it.ID, it.Audience)
	}
}

func (p *progress) addItem(id string, audience []string) {
	p.order = append(p.order, id)
	p.aud[id] = map[string]bool{}
	p.reached[id] = map[string]bool{}
	for _, a := range audience {
		p.aud[id][a] = true
	}
}

func (p *progress) observe(e *events.Event, n *events.Names) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t = e.T
	switch e.Kind {
	case events.Send:
		p.sent++
	case events.Deliver:
		p.deliv++
	case events.LiveInject:
		if d, err := events.LiveInjectOf(e); err == nil {
			aud := make([]string, len(d.Audience))
			for i, a := range d.Audience {
				aud[i] = string(a)
			}
			p.addItem(string(d.ID), aud)
		}
	case events.Know:
		if e.Item < 0 {
			break
		}
		id, a := string(n.Items[e.Item]), string(n.Agencies[e.Agency])
		if p.aud[id][a] {
			p.reached[id][a] = true
		}
	}
}

// action hears of a facilitator's pause or resume as the run takes it.
func (p *progress) action(kind string, at liaison.Time) {
	p.mu.Lock()
	switch {
	case kind == broker.ActionPause && !p.paused:
		p.paused, p.pauseAt, p.pauseW = true, at, p.now()
	case kind == broker.ActionResume && p.paused:
		p.paused = false
		p.t0 = p.t0.Add(p.now().Sub(p.pauseW)) // simulated time stood still
	default:
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.print(false)
}

// clock returns the simulated time to show: where the run paused, the
// scaled wall clock in a paced run, else the latest event.
func (p *progress) clock(now time.Time) liaison.Time {
	switch {
	case p.paused:
		return p.pauseAt
	case p.speed > 0:
		t := max(p.t, liaison.FromDuration(time.Duration(float64(now.Sub(p.t0))*p.speed)))
		if p.end != liaison.Never {
			t = min(t, p.end)
		}
		return t
	}
	return p.t
}

// line returns the progress line at wall time now.
func (p *progress) line(now time.Time) string {
	t := p.clock(now)
	start, err := time.Parse(time.RFC3339, p.info.Start)
	var b strings.Builder
	if err == nil {
		b.WriteString(start.Add(t.Duration()).In(p.loc).Format("Mon 02 Jan 15:04:05") + " ")
	}
	fmt.Fprintf(&b, "(+%s)", t.Duration().Round(time.Second))
	if p.paused {
		b.WriteString(" paused")
	}
	fmt.Fprintf(&b, "  messages %d sent %d delivered", p.sent, p.deliv)
	for _, id := range p.order {
		fmt.Fprintf(&b, "  %s %d/%d", id, len(p.reached[id]), len(p.aud[id]))
	}
	wall := now.Sub(p.began).Seconds()
	switch {
	case p.speed <= 0 && wall > 0:
		fmt.Fprintf(&b, "  %.0f msg/s", float64(p.sent)/wall)
		if p.end != liaison.Never && t > 0 {
			left := time.Duration(float64(p.end-t) / float64(t) * wall * float64(time.Second))
			fmt.Fprintf(&b, "  %s left", left.Round(time.Second))
		}
	case p.speed > 0 && p.end != liaison.Never && !p.paused:
		left := time.Duration(float64((p.end - t).Duration()) / p.speed)
		fmt.Fprintf(&b, "  %s left", left.Round(time.Second))
	}
	return b.String()
}

// print writes the line over the last one; final ends it with a newline.
func (p *progress) print(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.info == nil || !p.shown && (final || now.Sub(p.began) < p.delay) {
		return
	}
	p.shown = true
	s := "\r\033[K" + p.line(now)
	if final {
		s += "\n"
	}
	io.WriteString(p.w, s)
}

func (p *progress) stop() {
	if p.stopped.Swap(true) {
		return
	}
	close(p.done)
	p.wg.Wait()
	p.print(true)
}

// natsFlags are the flags of the facilitator's commands.
func natsFlags(fs *flag.FlagSet) (url, run *string, client clientFlags) {
	return fs.String("nats", "", "the NATS server of the run (`URL`, as printed by liaison run --listen)"),
		fs.String("run", "", "the run's `ID` (default: the only run on the server)"),
		addClientFlags(fs)
}

// findRun returns the id of the only run answering on the server.
func findRun(nc *nats.Conn) (string, error) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return "", err
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(sim.RunsSubject, inbox, nil); err != nil {
		return "", err
	}
	// Wait a second for the first answer, then briefly for others.
	var runs []string
	wait := time.Second
	for {
		m, err := sub.NextMsg(wait)
		if err != nil {
			break
		}
		runs = append(runs, string(m.Data))
		wait = 100 * time.Millisecond
	}
	switch len(runs) {
	case 0:
		return "", errors.New("no run answered on this server; is liaison run going, with --listen?")
	case 1:
		return strings.Fields(runs[0])[0], nil
	}
	return "", fmt.Errorf("%d runs on this server, name one with --run: %s", len(runs), strings.Join(runs, "; "))
}

// ask sends a control request and interprets the answer.
func (m *Main) ask(url, run string, client clientFlags, verb string, body []byte, what string) int {
	if url == "" {
		fmt.Fprintln(m.Stderr, "liaison: --nats URL is required (the address liaison run --listen printed)")
		return exitInvalid
	}
	opts, err := client.as(auth.FacilitatorUser)
	if err != nil {
		fmt.Fprintln(m.Stderr, "liaison:", err)
		return exitInvalid
	}
	nc, err := broker.Connect(url, nil, "liaison "+verb, opts...)
	if err != nil {
		fmt.Fprintln(m.Stderr, "liaison:", err)
		return exitFailed
	}
	defer nc.Close()
	if run == "" {
		if run, err = findRun(nc.Conn); err != nil {
			fmt.Fprintln(m.Stderr, "liaison:", err)
			return exitFailed
		}
	}
	reply, err := nc.Request(sim.ControlSubject(run, verb), body, 45*time.Second)
	if err != nil {
		fmt.Fprintf(m.Stderr, "liaison: run %s did not answer: %v\n", run, err)
		return exitFailed
	}
	ans := string(reply.Data)
	switch {
	case ans == "unchanged running":
		fmt.Fprintf(m.Stdout, "run %s is not paused; nothing to resume\n", run)
		return exitOK
	case strings.HasPrefix(ans, "unchanged paused "):
		at := strings.TrimPrefix(ans, "unchanged paused ")
		t, _ := time.ParseDuration(at + "s")
		fmt.Fprintf(m.Stdout, "run %s is already paused, since simulated t=%ss (+%v)\n", run, at, t)
		return exitOK
	case strings.HasPrefix(ans, "ok "):
		t, _ := time.ParseDuration(strings.TrimPrefix(ans, "ok ") + "s")
		fmt.Fprintf(m.Stdout, "%s at simulated t=%ss (+%v) in run %s\n", what, strings.TrimPrefix(ans, "ok "), t, run)
		return exitOK
	case strings.HasPrefix(ans, "invalid: "):
		fmt.Fprintln(m.Stderr, strings.TrimPrefix(ans, "invalid: "))
		return exitInvalid
	}
	fmt.Fprintf(m.Stderr, "liaison: %s\n", strings.TrimPrefix(ans, "error: "))
	return exitFailed
}

func (m *Main) inject(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison inject", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	url, run, client := natsFlags(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(m.Stderr, "usage: liaison inject --nats URL [--run ID] FILE|-   (one inject in the scenario's inject format)")
		return exitInvalid
	}
	name := pos[0]
	var data []byte
	var err error
	if name == "-" {
		name = "stdin"
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		fmt.Fprintln(m.Stderr, "liaison inject:", err)
		return exitInvalid
	}
	return m.ask(*url, *run, client, "inject", append([]byte(name+"\n"), data...), "inject delivered")
}

func (m *Main) control(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("liaison control", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	url, run, client := natsFlags(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || (pos[0] != "pause" && pos[0] != "resume") {
		fmt.Fprintln(m.Stderr, "usage: liaison control --nats URL [--run ID] pause|resume")
		return exitInvalid
	}
	what := map[string]string{"pause": "paused", "resume": "resumed"}[pos[0]]
	return m.ask(*url, *run, client, pos[0], nil, what)
}
