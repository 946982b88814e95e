package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestLiveExercise drives a paced run as a facilitator would, with the real
// CLI: liaison run --listen --events --report, then liaison inject and
// liaison control from "another terminal", then liaison report and
// liaison run --replay on the log. The run's record (log, summary, report)
// holds the live inject, the pause and the resume.
func TestLiveExercise(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "nats://" + addr
	log := filepath.Join(dir, "live.jsonl")
	page := filepath.Join(dir, "live.html")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb}
		code := m.Run(context.Background(), []string{"run", "--speed", "3600", "--listen", addr,
			"--events", log, "--report", page, "--json", "../../sim/testdata/live.yaml"})
		done <- result{code, out.String(), errb.String()}
	}()
	// Wait for the run to answer: a resume of a run that is not paused
	// changes nothing and is no error.
	var code int
	var stdout, stderr string
	for i := 0; i < 100; i++ {
		code, stdout, stderr = cli(t, "control", "--nats", url, "resume")
		if code == exitOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != exitOK || !strings.Contains(stdout, "is not paused; nothing to resume") {
		t.Fatalf("resume of a running run: exit %d, %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = cli(t, "control", "--nats", url, "pause")
	if code != exitOK || !strings.Contains(stdout, "paused at simulated t=") {
		t.Fatalf("pause: exit %d, %q %q", code, stdout, stderr)
	}
	at := strings.Fields(strings.SplitAfter(stdout, "t=")[1])[0]
	code, stdout, stderr = cli(t, "control", "--nats", url, "pause")
	if code != exitOK || !strings.Contains(stdout, "is already paused, since simulated t="+at) {
		t.Fatalf("second pause: exit %d, %q %q; want exit 0 saying it is already paused since t=%s", code, stdout, stderr, at)
	}
	code, _, stderr = cli(t, "inject", "--nats", url, "testdata/bad-inject.yaml")
	if code != exitInvalid || !strings.HasPrefix(stderr, "testdata/bad-inject.yaml:5:") {
		t.Fatalf("bad inject: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr = cli(t, "inject", "--nats", url, "testdata/live-inject.yaml")
	if code != exitOK || !strings.Contains(stdout, "inject delivered") {
		t.Fatalf("inject: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr = cli(t, "control", "--nats", url, "resume"); code != exitOK {
		t.Fatalf("resume: exit %d, %q", code, stderr)
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"id": "L-1"`) {
		t.Fatalf("the summary does not report the live inject:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "liaison inject --nats "+url) || !strings.Contains(r.stderr, "paced at 3600×") {
		t.Errorf("the run did not tell the facilitator how to join or how it kept pace:\n%s", r.stderr)
	}
	a, _ := os.ReadFile(log)
	for _, kind := range []string{"live_inject", "pause", "resume"} {
		if !bytes.Contains(a, []byte(`"kind":"`+kind+`"`)) {
			t.Errorf("no %s in the event log", kind)
		}
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	for _, want := range []string{"L-1 — Update from a liaison officer, delivered live (live inject)", "clock paused", "inject delivered", "clock resumed"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if code, _, stderr := cli(t, "report", "--format", "md", log); code != exitOK {
		t.Fatalf("liaison report of the live log: exit %d: %s", code, stderr)
	}
	replayLog := filepath.Join(dir, "replay.jsonl")
	if code, _, stderr := cli(t, "run", "--quiet", "--replay", log, "--events", replayLog, "../../sim/testdata/live.yaml"); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(replayLog)
	if !bytes.Equal(a, b) {
		t.Fatal("the replayed log differs from the live run's")
	}
	// Only the run the log records gives it again: another seed, variant
	// or scenario is refused before it runs, with what to run instead.
	for _, args := range [][]string{
		{"--seed", "9", "../../sim/testdata/live.yaml"},
		{"../../sim/testdata/chain.yaml"},
	} {
		args = append([]string{"run", "--quiet", "--replay", log, "--events", filepath.Join(dir, "other.jsonl")}, args...)
		code, _, stderr := cli(t, args...)
		if code != exitInvalid || !strings.Contains(stderr, log+":1: the log is of scenario") || !strings.Contains(stderr, "a replay must run the scenario the log records, with --seed") {
			t.Errorf("liaison %s: exit %d, %q; want exit 2 and the log's run", strings.Join(args, " "), code, stderr)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the run's directory, want live.jsonl, live.html and replay.jsonl (no temporary files)", len(entries))
	}
}

func TestFacilitatorUsage(t *testing.T) {
	for _, args := range [][]string{
		{"inject"},
		{"inject", "--nats", "nats://127.0.0.1:1"},
		{"control", "--nats", "nats://127.0.0.1:1", "stop"},
		{"control", "pause"},
	} {
		if code, _, _ := cli(t, args...); code != exitInvalid {
			t.Errorf("liaison %s: exit %d, want %d", strings.Join(args, " "), code, exitInvalid)
		}
	}
	if code, _, _ := cli(t, "control", "--nats", "nats://127.0.0.1:1", "pause"); code != exitFailed {
		t.Errorf("control against no server: exit %d, want %d", code, exitFailed)
	}
}

// progressAt is a progress line driven by a clock the test moves.
type progressAt struct {
	*progress
	out bytes.Buffer
	now time.Time
}

func newProgressAt(speed float64) *progressAt {
	p := &progressAt{now: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	p.progress = newProgress(&p.out, speed, func() time.Time { return p.now })
	two := 7200.0
	p.begin(&events.RunInfo{Start: "2026-03-02T09:00:00+01:00", TimeZone: "Europe/Copenhagen", DurationSeconds: &two,
		Items: []events.ItemDesc{{ID: "I-1", Audience: []string{"x.b", "x.c"}}}})
	return p
}

// show moves the clock on by d and returns the line printed then ("" for
// none).
func (p *progressAt) show(d time.Duration) string {
	p.now = p.now.Add(d)
	p.out.Reset()
	p.print(false)
	return strings.TrimPrefix(p.out.String(), "\r\033[K")
}

// A paced run's line says when it is paused, and its clock stands still
// until the run resumes, then goes on from where it stood.
func TestProgressPaused(t *testing.T) {
	p := newProgressAt(3600)
	if got, want := p.show(time.Second), "Mon 02 Mar 10:00:00 (+1h0m0s)  messages 0 sent 0 delivered  I-1 0/2  1s left"; got != want {
		t.Fatalf("running:\n got %q\nwant %q", got, want)
	}
	p.action(broker.ActionPause, liaison.Hour)
	for _, d := range []time.Duration{0, time.Second, 10 * time.Second} {
		if got, want := p.show(d), "Mon 02 Mar 10:00:00 (+1h0m0s) paused  messages 0 sent 0 delivered  I-1 0/2"; got != want {
			t.Fatalf("paused, %v later:\n got %q\nwant %q", d, got, want)
		}
	}
	p.action(broker.ActionResume, liaison.Hour)
	if got, want := p.show(time.Second/4), "Mon 02 Mar 10:15:00 (+1h15m0s)  messages 0 sent 0 delivered  I-1 0/2  1s left"; got != want {
		t.Fatalf("resumed:\n got %q\nwant %q", got, want)
	}
}

// A run as fast as possible shows nothing for its first seconds, then its
// simulated time, messages, rate and time left.
func TestProgressUnpaced(t *testing.T) {
	p := newProgressAt(0)
	if got := p.show(time.Second); got != "" {
		t.Fatalf("a second into the run: %q, want nothing", got)
	}
	names := &events.Names{Agencies: []liaison.AgencyID{"x.a", "x.b", "x.c"}, Items: []liaison.ItemID{"I-1"}}
	for i := range 500 {
		p.observe(&events.Event{T: liaison.Time(i) * 3600, Kind: events.Send, Item: -1}, names)
	}
	p.observe(&events.Event{T: 1800 * liaison.Second, Kind: events.Know, Agency: 1, Item: 0}, names)
	if got, want := p.show(time.Second+500*time.Millisecond),
		"Mon 02 Mar 09:30:00 (+30m0s)  messages 500 sent 0 delivered  I-1 1/2  200 msg/s  8s left"; got != want {
		t.Fatalf("2.5 s into the run:\n got %q\nwant %q", got, want)
	}
	p.stop()
	if !strings.HasSuffix(p.out.String(), "\n") {
		t.Error("the last line does not end")
	}
}

// progressLines splits what a progress line wrote to a terminal into the
// lines it showed.
func progressLines(out string) []string {
	var lines []string
	for _, l := range strings.FieldsFunc(strings.ReplaceAll(out, "\r\033[K", "\n"), func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.Contains(l, "messages") {
			lines = append(lines, l)
		}
	}
	return lines
}

// sinceStart reads the "(+1h2m3s)" of a progress line.
func sinceStart(t *testing.T, line string) time.Duration {
	t.Helper()
	i, j := strings.Index(line, "(+"), strings.Index(line, ")")
	d, err := time.ParseDuration(line[i+2 : j])
	if i < 0 || err != nil {
		t.Fatalf("no clock in %q", line)
	}
	return d
}

// On a terminal, a paced run's progress line says "paused" while the
// facilitator has paused it, with its clock standing at the pause, and
// goes on after the resume.
func TestTerminalProgressPaused(t *testing.T) {
	term := newTerminal(t)
	addr := freeAddr(t)
	url := "nats://" + addr
	done := make(chan int, 1)
	go func() {
		m := &Main{Stdout: io.Discard, Stderr: term.TTY}
		done <- m.Run(context.Background(), []string{"run", "--speed", "3600", "--listen", addr, "../../sim/testdata/live.yaml"})
	}()
	var code int
	var stdout string
	for range 100 {
		if code, _, _ = cli(t, "control", "--nats", url, "resume"); code == exitOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, stdout, _ = cli(t, "control", "--nats", url, "pause"); code != exitOK {
		t.Fatalf("pause: exit %d", code)
	}
	at, err := time.ParseDuration(strings.Fields(strings.SplitAfter(stdout, "t=")[1])[0])
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if code, _, _ = cli(t, "control", "--nats", url, "resume"); code != exitOK {
		t.Fatalf("resume: exit %d", code)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("run: exit %d:\n%s", code, term.Output())
	}
	lines := progressLines(term.Output())
	var paused int
	var last time.Duration
	for _, l := range lines {
		d := sinceStart(t, l)
		if strings.Contains(l, " paused ") {
			paused++
			if d != at.Round(time.Second) {
				t.Errorf("paused at %v, the line says %q", at, l)
			}
		} else if paused > 0 {
			last = max(last, d)
		}
	}
	if paused < 3 {
		t.Errorf("%d paused lines in 2.5 s of pause, want at least 3:\n%s", paused, strings.Join(lines, "\n"))
	}
	if last <= at {
		t.Errorf("the clock did not go on after the resume:\n%s", strings.Join(lines, "\n"))
	}
}

// A run as fast as possible that lasts some seconds shows its progress on
// a terminal (simulated time, messages, rate, time left); a short one, a
// quiet one, or one whose stderr is not a terminal shows none.
func TestTerminalProgressUnpaced(t *testing.T) {
	term := newTerminal(t)
	start := time.Now()
	m := &Main{Stdout: io.Discard, Stderr: term.TTY}
	if code := m.Run(context.Background(), []string{"run", "testdata/long.yaml"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	elapsed := time.Since(start)
	time.Sleep(100 * time.Millisecond) // let the terminal pass on the last bytes
	lines := progressLines(term.Output())
	switch {
	case elapsed >= 3*time.Second:
		if len(lines) == 0 {
			t.Fatalf("a run of %v showed no progress", elapsed)
		}
		l := lines[len(lines)-1]
		for _, want := range []string{"(+", "sent", "msg/s", " left", "I-1 1/1"} {
			if !strings.Contains(l, want) {
				t.Errorf("the last progress line %q lacks %q", l, want)
			}
		}
		if !strings.HasSuffix(term.Output(), "\n") {
			t.Error("the progress line was not ended")
		}
	case elapsed < unpacedDelay:
		if len(lines) > 0 {
			t.Errorf("a run of %v showed progress: %q", elapsed, lines)
		}
	}
	t.Logf("run of %v, %d progress lines", elapsed, len(lines))

	quiet := newTerminal(t)
	m = &Main{Stdout: io.Discard, Stderr: quiet.TTY}
	if code := m.Run(context.Background(), []string{"run", "--quiet", "--speed", "36000", "../../sim/testdata/live.yaml"}); code != exitOK {
		t.Fatalf("--quiet: exit %d", code)
	}
	var errb bytes.Buffer
	m = &Main{Stdout: io.Discard, Stderr: &errb}
	if code := m.Run(context.Background(), []string{"run", "--speed", "7200", "../../sim/testdata/live.yaml"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	time.Sleep(100 * time.Millisecond)
	if out := quiet.Output(); out != "" {
		t.Errorf("--quiet on a terminal wrote %q", out)
	}
	if strings.Contains(errb.String(), "\033[K") || strings.Contains(errb.String(), "messages") {
		t.Errorf("a progress line on a stderr that is no terminal: %q", errb.String())
	}
}
