package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/auth"
	"liaison/broker"
	"liaison/events"
	"liaison/sim"
)

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
	if *l.speed < 0 {
		return errors.New("--speed must be positive")
	}
	cfg.Speed, cfg.Listen, cfg.Drift = *l.speed, *l.listen, &l.drift
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
		if cfg.Replay, err = sim.ReadActions(*l.replay, f); err != nil {
			return err
		}
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
		l.prog = newProgress(l.stderr, *l.speed)
		cfg.OnStart = append(cfg.OnStart, l.prog.start)
		cfg.Observers = append(cfg.Observers, l.prog.observe)
	}
	return nil
}

func (l *liveFlags) Finish(_ context.Context, sum *events.Summary, runErr error, stderr io.Writer) error {
	if l.prog != nil {
		l.prog.stop()
	}
	if *l.speed > 0 && runErr == nil && !l.quiet {
		fmt.Fprintf(stderr, "liaison: paced at %g×; at the end simulated time was %v from the scaled wall clock\n",
			*l.speed, l.drift.Round(time.Microsecond))
	}
	return nil
}

// bind gives the extension the program's streams.
func (l *liveFlags) bind(m *Main) { l.stderr = m.Stderr }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows a facilitator the simulated clock, messages and reach on
// one line of a terminal, once a second.
type progress struct {
	w        io.Writer
	speed    float64
	mu       sync.Mutex
	info     *events.RunInfo
	began    time.Time
	t        liaison.Time
	sent     int64
	deliv    int64
	reached  map[string]map[string]bool
	audience map[string]map[string]bool
	order    []string
	done     chan struct{}
	stopped  atomic.Bool
	wg       sync.WaitGroup
}

func newProgress(w io.Writer, speed float64) *progress {
	return &progress{w: w, speed: speed, reached: map[string]map[string]bool{},
		audience: map[string]map[string]bool{}, done: make(chan struct{})}
}

func (p *progress) start(s sim.Started) {
	p.mu.Lock()
	p.info, p.began = s.Info, time.Now()
	for _, it := range s.Info.Items {
		p.addItem(it.ID, it.Audience)
	}
	p.mu.Unlock()
	p.wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				p.print()
			}
		}
	})
}

func (p *progress) addItem(id string, audience []string) {
	p.order = append(p.order, id)
	p.audience[id] = map[string]bool{}
	p.reached[id] = map[string]bool{}
	for _, a := range audience {
		p.audience[id][a] = true
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
		var aud []string
		if i := strings.Index(string(e.Raw), `"audience":[`); i >= 0 {
			rest := string(e.Raw)[i+len(`"audience":[`):]
			if j := strings.IndexByte(rest, ']'); j > 0 {
				for _, a := range strings.Split(rest[:j], ",") {
					aud = append(aud, strings.Trim(a, `"`))
				}
			}
		}
		p.addItem(string(n.Items[e.Item]), aud)
	case events.Know:
		id := string(n.Items[e.Item])
		a := string(n.Agencies[e.Agency])
		if p.audience[id][a] {
			p.reached[id][a] = true
		}
	}
}

func (p *progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.info == nil {
		return
	}
	t := p.t
	if p.speed > 0 {
		t = max(t, liaison.FromDuration(time.Duration(float64(time.Since(p.began))*p.speed)))
	}
	clock := ""
	if start, err := time.Parse(time.RFC3339, p.info.Start); err == nil {
		loc := start.Location()
		if l, err := time.LoadLocation(p.info.TimeZone); err == nil && p.info.TimeZone != "" {
			loc = l
		}
		clock = start.Add(t.Duration()).In(loc).Format("Mon 02 Jan 15:04:05") + " "
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\r\033[K%s(+%s)  messages %d sent %d delivered", clock, t.Duration().Round(time.Second), p.sent, p.deliv)
	for _, id := range p.order {
		fmt.Fprintf(&b, "  %s %d/%d", id, len(p.reached[id]), len(p.audience[id]))
	}
	io.WriteString(p.w, b.String())
}

func (p *progress) stop() {
	if p.stopped.Swap(true) {
		return
	}
	close(p.done)
	p.wg.Wait()
	p.print()
	io.WriteString(p.w, "\n")
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
