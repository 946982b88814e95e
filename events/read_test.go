package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"liaison"
	"liaison/broker"
	"liaison/events"
	"liaison/scenarios"
	"liaison/sim"
)

// runLog runs a scenario (a built-in name or a file) and returns its log
// and summary.
func runLog(t *testing.T, name string, cfg sim.Config) ([]byte, *events.Summary) {
	t.Helper()
	sc, err := scenarios.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	cfg.Scenario, cfg.Events = sc, &buf
	sum, err := sim.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sum
}

// liveActions are a facilitator's actions, as a replay gives them: a pause,
// an inject while paused, a resume.
func liveActions(t *testing.T) []broker.Action {
	def, err := json.Marshal(events.InjectDef{ID: "L-1", To: "x.b", Type: "warning", Summary: "Live",
		TLP: "GREEN", Originator: "x.b", Audience: []liaison.AgencyID{"x.c", "x.d"}, DeadlineSeconds: 1800})
	if err != nil {
		t.Fatal(err)
	}
	return []broker.Action{
		{Kind: broker.ActionPause, At: 20 * liaison.Minute},
		{Kind: broker.ActionInject, At: 20 * liaison.Minute, Def: def},
		{Kind: broker.ActionResume, At: 20 * liaison.Minute},
	}
}

type logCase struct {
	name string
	file string
	cfg  sim.Config
}

func logCases(t *testing.T) []logCase {
	return []logCase{
		{"ctg-threat-warning", "ctg-threat-warning", sim.Config{Seed: 1}},
		{"sis-hit-oresund", "sis-hit-oresund", sim.Config{Seed: 3}},
		{"siena-drug-case", "siena-drug-case", sim.Config{Seed: 2}},
		{"interpol-notice", "interpol-notice", sim.Config{Seed: 1}},
		{"ctg-research-hub", "ctg-research", sim.Config{Seed: 4, Variant: "hub"}},
		{"live", "../sim/testdata/live.yaml", sim.Config{Seed: 1, Replay: liveActions(t)}},
	}
}

// readAll reads a log with a Reader and a Tally, and writes it again with
// the writer: header line and AppendJSON.
func readAll(t *testing.T, log []byte) ([]byte, *events.Summary, []*events.Record) {
	t.Helper()
	rd, err := events.NewReader("run.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	out, err := rd.Info().Line()
	if err != nil {
		t.Fatal(err)
	}
	tally := events.NewTally(rd)
	var recs []*events.Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tally.Add(rec); err != nil {
			t.Fatal(err)
		}
		out = append(events.AppendJSON(out, &rec.Event, rd.Names()), '\n')
		recs = append(recs, rec)
	}
	sum, err := tally.Summary()
	if err != nil {
		t.Fatal(err)
	}
	return out, sum, recs
}

// The reader is the writer's inverse: every log of every built-in scenario,
// and of a live run, reads back into events that write the same bytes, and
// its summary read offline is the run's.
func TestReadRoundTrip(t *testing.T) {
	for _, c := range logCases(t) {
		t.Run(c.name, func(t *testing.T) {
			log, online := runLog(t, c.file, c.cfg)
			again, offline, recs := readAll(t, log)
			if !bytes.Equal(again, log) {
				a, b := strings.Split(string(log), "\n"), strings.Split(string(again), "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Fatalf("line %d differs after reading and writing:\n%s\n%s", i+1, a[i], b[i])
					}
				}
				t.Fatalf("the log has %d lines, written again %d", len(a), len(b))
			}
			if !reflect.DeepEqual(offline, online) {
				t.Errorf("the summary read from the log differs from the run's:\noffline %+v\nonline  %+v", offline, online)
			}
			kinds := map[events.Kind]int{}
			for _, r := range recs {
				kinds[r.Kind]++
			}
			if c.name == "live" {
				if kinds[events.LiveInject] != 1 || kinds[events.Pause] != 1 || kinds[events.Resume] != 1 {
					t.Fatalf("live actions read: %v", kinds)
				}
				if last := online.Items[len(online.Items)-1]; last.ID != "L-1" || last.Reached != 2 {
					t.Fatalf("the live inject's item: %+v", last)
				}
			}
		})
	}
}

// A log whose derived events do not follow from the rest, or that was cut
// short, is refused rather than summarised wrongly.
func TestTallyChecksDerivedEvents(t *testing.T) {
	log, _ := runLog(t, "ctg-threat-warning", sim.Config{Seed: 1})
	lines := strings.SplitAfter(string(log), "\n")
	find := func(prefix string) int {
		for i, l := range lines {
			if strings.Contains(l, prefix) {
				return i
			}
		}
		t.Fatalf("no line with %s", prefix)
		return 0
	}
	without := func(i int) string { return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "") }
	reached := find(`"kind":"reached"`)
	missed := find(`"kind":"deadline_missed","item"`)
	edited := append([]string{}, lines...)
	edited[reached] = strings.Replace(edited[reached], `"audience":`, `"audience":1`, 1)
	for _, c := range []struct{ name, log, want string }{
		{"reached removed", without(reached), "the log lacks {"},
		{"deadline_missed removed", without(missed), "the log lacks {"},
		{"reached edited", strings.Join(edited, ""), "expected {"},
		{"cut short", strings.Join(lines[:len(lines)/2], ""), "was it cut short?"},
	} {
		_, err := events.Summarize("run.jsonl", strings.NewReader(c.log))
		var le *events.LogError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a LogError with %q", c.name, err, c.want)
		}
	}
}

const header = `{"t":0,"kind":"run","scenario":"s","title":"S","seed":1,"variant":"","start":"2026-03-02T09:00:00+01:00","timezone":"Europe/Copenhagen","duration_seconds":null,"lookahead_seconds":60,` +
	`"agencies":[{"id":"a","hours":"24/7","staff":1},{"id":"b","hours":"24/7","staff":1}],` +
	`"channels":[{"id":"link","topology":"mesh","members":["a","b"],"latency":"fixed(1m)"}],` +
	`"items":[{"id":"I-1","at_seconds":0,"to":"a","type":"m","summary":"x","tlp":"GREEN","originator_control":false,"originator":"a","audience":["b"],"deadline_seconds":null}]}` + "\n"

// Every kind of event, live actions included, reads and writes back the
// same, and the log summarises.
func TestReadEveryKind(t *testing.T) {
	log, err := os.ReadFile("testdata/every-kind.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.SplitAfterN(string(log), "\n", 2)[1]
	rd, err := events.NewReader("every-kind.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[events.Kind]bool{}
	var out []byte
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[rec.Kind] = true
		out = append(events.AppendJSON(out, &rec.Event, rd.Names()), '\n')
		if rec.Kind == events.LiveInject {
			if rec.Inject == nil || rec.Inject.ID != "L-1" || *rec.Inject.DeadlineSeconds != 60 || rec.Inject.AtSeconds != 10 {
				t.Errorf("live inject: %+v", rec.Inject)
			}
			d, err := events.LiveInjectOf(&rec.Event)
			if err != nil || d.ID != "L-1" || len(d.Audience) != 1 {
				t.Errorf("LiveInjectOf: %+v, %v", d, err)
			}
		}
	}
	for k := events.Inject; k <= events.Resume; k++ {
		if !seen[k] {
			t.Errorf("no %s event read", k)
		}
	}
	if got := string(out); got != body {
		t.Errorf("written again:\n%s\nwant\n%s", got, body)
	}
	if n := rd.Names(); len(n.Items) != 2 || n.Items[1] != "L-1" || len(n.Types) != 1 {
		t.Errorf("names: %+v", n)
	}
	sum, err := events.Summarize("every-kind.jsonl", bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if m := sum.Messages; m.Sent != 2 || m.Delivered != 1 || m.DroppedBy["tlp"] != 1 || len(sum.Items) != 2 ||
		sum.Items[0].Reached != 1 || *sum.Items[1].DeadlineMet || sum.EndSeconds != 71 {
		t.Errorf("summary: %+v", sum)
	}
}

func TestReadErrors(t *testing.T) {
	ok := `{"t":1,"kind":"skip","agency":"a"}` + "\n"
	for _, c := range []struct{ name, log, want string }{
		{"empty", "", "bad.jsonl: empty event log"},
		{"no header", ok, "bad.jsonl:1: not an event log"},
		{"header kind", `{"t":0,"kind":"skip"}` + "\n", `bad.jsonl:1: `},
		{"bad start", strings.Replace(header, "2026-03-02T09:00:00+01:00", "Monday", 1), `bad.jsonl:1: run header: start "Monday"`},
		{"unknown audience", strings.Replace(header, `"audience":["b"]`, `"audience":["zz"]`, 1), `audience member "zz" is not in the run header`},
		{"bad json", header + "{nope\n", "bad.jsonl:2:2: bad JSON"},
		{"cut inside", header + `{"t":1,"kind":` + "\n", "bad.jsonl:2:15: bad JSON: the line ends inside a value"},
		{"unknown kind", header + `{"t":1,"kind":"teleport"}` + "\n", `bad.jsonl:2:8: unknown event kind "teleport"; expected one of inject, send,`},
		{"second header", header + header, "bad.jsonl:2: a second run header"},
		{"no time", header + `{"kind":"pause"}` + "\n", `bad.jsonl:2: pause event without "t"`},
		{"string time", header + `{"t":"1","kind":"pause"}` + "\n", `bad.jsonl:2:2: bad JSON: "t" must be a number, found string`},
		{"negative time", header + `{"t":-1,"kind":"pause"}` + "\n", `bad.jsonl:2:2: time -1 is negative`},
		{"time goes back", header + `{"t":5,"kind":"pause"}` + "\n" + `{"t":4,"kind":"resume"}` + "\n", "bad.jsonl:3:2: time 4 goes back"},
		{"unknown member", header + `{"t":1,"kind":"skip","colour":"red"}` + "\n", `bad.jsonl:2:22: unknown member "colour"; expected "t", "kind", "agency"`},
		{"member of another kind", header + `{"t":1,"kind":"pause","agency":"a"}` + "\n", `bad.jsonl:2:23: a pause event has no "agency"`},
		{"wrong peer", header + `{"t":1,"kind":"send","agency":"a","msg":"a#1","from":"b"}` + "\n", `a send event has no "from" (its peer is "to")`},
		{"missing members", header + `{"t":1,"kind":"deliver","agency":"a"}` + "\n", `bad.jsonl:2: deliver event without "channel", "msg", "from", "latency", "queue"`},
		{"unknown agency", header + `{"t":1,"kind":"skip","agency":"zz"}` + "\n", `bad.jsonl:2:22: agency "zz" is not in the run header`},
		{"unknown channel", header + `{"t":1,"kind":"skip","agency":"a","channel":"x"}` + "\n", `channel "x" is not in the run header`},
		{"bad msg", header + `{"t":1,"kind":"send","agency":"a","msg":"a-1"}` + "\n", `"msg": "a-1" is not a message id`},
		{"unknown item", header + `{"t":1,"kind":"skip","agency":"a","item":"I-9"}` + "\n", `item "I-9" is neither in the run header nor a live inject`},
		{"unknown reason", header + `{"t":1,"kind":"drop","agency":"a","reason":"bored"}` + "\n", `unknown drop reason "bored"; expected one of no_route`},
		{"negative value", header + `{"t":1,"kind":"hold","agency":"a","until":-3}` + "\n", `"until" must not be negative`},
		{"live inject without inject", header + `{"t":1,"kind":"live_inject","item":"L-1"}` + "\n", `live_inject event without "inject"`},
		{"live inject mismatch", header + `{"t":1,"kind":"live_inject","inject":{"id":"L-2","to":"a","type":"m","summary":"","tlp":"GREEN","originator":"a","audience":[]},"item":"L-1"}` + "\n", `item "L-1", but its inject is "L-2"`},
		{"live inject unknown member", header + `{"t":1,"kind":"live_inject","inject":{"id":"L-1","colour":1},"item":"L-1"}` + "\n", `the inject is not an inject definition: unknown field "colour"`},
		{"live inject twice", header + `{"t":1,"kind":"live_inject","inject":{"id":"I-1","to":"a","type":"m","summary":"","tlp":"GREEN","originator":"a","audience":[]},"item":"I-1"}` + "\n", `item "I-1" is already defined`},
	} {
		rd, err := events.NewReader("bad.jsonl", strings.NewReader(c.log))
		for err == nil {
			_, err = rd.Next()
		}
		if err == io.EOF || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bad.jsonl") {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// BenchmarkRead reads and summarises the log of siena-drug-case (14 days
// of SIENA traffic, about 5 MB).
func BenchmarkRead(b *testing.B) {
	sc, err := scenarios.Open("siena-drug-case")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := sim.Run(context.Background(), sim.Config{Scenario: sc, Seed: 1, Events: &buf}); err != nil {
		b.Fatal(err)
	}
	log := buf.Bytes()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.Summarize("siena.jsonl", bytes.NewReader(log)); err != nil {
			b.Fatal(err)
		}
	}
}
