package sim_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"liaison/auth"
	"liaison/broker"
	"liaison/scenarios"
	"liaison/sim"
)

// withoutRejects drops the reject lines from an event log.
func withoutRejects(log []byte) []byte {
	var out []byte
	for _, l := range bytes.SplitAfter(log, []byte("\n")) {
		if !bytes.Contains(l, []byte(`"kind":"reject"`)) {
			out = append(out, l...)
		}
	}
	return out
}

// mutants makes altered copies of a real message's payload, as a broken or
// hostile peer would send them: the copy itself, bit flips, truncations,
// trailing bytes, garbage, and each of the leading fields (sender,
// recipient, number, channel, type, item, times) replaced by another value,
// small or out of range.
func mutants(rng *rand.Rand, data []byte) [][]byte {
	out := [][]byte{append([]byte(nil), data...)}
	for range 3 {
		b := append([]byte(nil), data...)
		i := rng.IntN(len(b))
		b[i] ^= 1 << rng.IntN(8)
		out = append(out, b)
	}
	out = append(out, data[:rng.IntN(len(data))], append(append([]byte(nil), data...), 0, 1, 2))
	garbage := make([]byte, 1+rng.IntN(40))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	out = append(out, garbage)
	// Replace one of the first eight varints (from, to, seq, channel,
	// type, item, sent, latency) by another value.
	for field := range 8 {
		for _, v := range []int64{0, 1, 3, -1, 1 << 40} {
			if b, ok := replaceVarint(data, field, v); ok && !bytes.Equal(b, data) {
				out = append(out, b)
			}
		}
	}
	return out
}

// replaceVarint re-encodes the field-th varint of a payload with value v
// (field 2, the message number, is unsigned).
func replaceVarint(data []byte, field int, v int64) ([]byte, bool) {
	off := 0
	for i := 0; i < field; i++ {
		_, n := binary.Uvarint(data[off:])
		if n <= 0 {
			return nil, false
		}
		off += n
	}
	_, n := binary.Uvarint(data[off:])
	if n <= 0 {
		return nil, false
	}
	var enc []byte
	if field == 2 {
		enc = binary.AppendUvarint(nil, uint64(v))
	} else {
		enc = binary.AppendVarint(nil, v)
	}
	out := append(append(append([]byte(nil), data[:off]...), enc...), data[off+n:]...)
	return out, true
}

// TestMutatedTraffic: while a run goes on, a peer on the same server copies
// every message it sees and publishes mutated copies of it onto live
// subjects: its own, and the inboxes of other agencies. The run ends
// without error, its accounting holds, it refuses what it must, and
// without its reject lines its log is the log of an undisturbed run: every
// mutation was refused or was indistinguishable from the real message.
func TestMutatedTraffic(t *testing.T) {
	sc, err := scenarios.Parse("load.yaml", []byte(sim.LoadScenario(12, 300, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, clean := run(t, sim.Config{Scenario: sc, Seed: 4})

	srv, err := broker.StartServer(broker.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	peer, err := broker.Connect("", srv, "hostile peer")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	subj := broker.NewSubjects("mutation")
	var sent atomic.Int64
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 7))
	others := []string{subj.InboxAll("net", "g.a0003"), subj.InboxAll("net", "g.a0007")}
	if _, err := peer.Subscribe(subj.ChannelAll("net"), func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if sent.Load() > 20000 || strings.HasPrefix(string(m.Header.Get("Liaison-Mutant")), "1") {
			return
		}
		for i, b := range mutants(rng, m.Data) {
			subject := m.Subject
			if i%5 == 4 {
				// The same payload on another agency's inbox, as if sent by
				// the same sender (the subject's last token).
				last := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
				subject = strings.TrimSuffix(others[i%2], "*") + last
			}
			out := nats.NewMsg(subject)
			out.Data = b
			out.Header.Set("Liaison-Mutant", "1")
			peer.PublishMsg(out)
			sent.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	peer.Flush()
	// Paced, so that the peer's copies arrive while the run goes on.
	sum, attacked := run(t, sim.Config{Scenario: sc, Seed: 4, Server: srv, RunID: "mutation", Speed: 86400 * 2})
	if sent.Load() == 0 {
		t.Fatal("the peer saw no traffic")
	}
	if sum.Messages.Rejected == 0 {
		t.Fatalf("none of %d mutated messages was refused", sent.Load())
	}
	if !bytes.Equal(withoutRejects(attacked), clean) {
		t.Fatalf("with %d mutated messages published (%d refused), the log differs from the undisturbed run's", sent.Load(), sum.Messages.Rejected)
	}
	t.Logf("%d mutated messages published, %d refused", sent.Load(), sum.Messages.Rejected)
}

// TestImpersonationRefused: under need to know an agency publishes only on
// subjects that end in its own name, so a message it sends claiming to be
// another agency's is refused on arrival (its subject names the real
// sender), and one on a subject naming the other agency is refused by the
// server. The run goes on with its accounting intact.
func TestImpersonationRefused(t *testing.T) {
	sc := load(t, "testdata/mixed.yaml")
	var plan *auth.Plan
	srvReady := make(chan *broker.Conn, 1)
	var hostile *broker.Conn
	cfg := sim.Config{Scenario: sc, Seed: 2, NeedToKnow: true, RunID: "impersonation", Speed: 86400 * 4,
		Tamper: func(p *auth.Plan) { plan = p },
		OnStart: []func(sim.Started){func(s sim.Started) {
			opt, err := plan.Option("dk.fe")
			if err != nil {
				t.Error(err)
				return
			}
			c, err := broker.Connect("", s.Server, "dk.fe, hostile", opt)
			if err != nil {
				t.Error(err)
				return
			}
			hostile = c
			srvReady <- c
		}},
	}
	finished := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := <-srvReady
		subj := broker.NewSubjects("impersonation")
		// dk.fe claims to be another agency in the payload, on its own
		// subject: the subject names dk.fe, so the receiver refuses it.
		claim := []byte{}
		claim = binary.AppendVarint(claim, 2) // the sender: dk.police's index
		claim = binary.AppendVarint(claim, 0) // the recipient: dk.pet
		for range 11 {
			claim = binary.AppendVarint(claim, 1)
		}
		// Until the run is over, since it must have subscribed to hear it.
		for {
			c.Publish(subj.Message("dk-national", "dk.pet", "dk.fe"), claim)
			// On dk.police's subject, the server refuses it outright.
			c.Publish(subj.Message("dk-national", "dk.pet", "dk.police"), claim)
			c.Flush()
			select {
			case <-finished:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	sum, log := run(t, cfg)
	close(finished)
	<-done
	if hostile != nil {
		defer hostile.Close()
		if hostile.Errors.Permission.Load() == 0 {
			t.Error("the server took dk.fe's publish on dk.police's subject")
		}
	}
	if sum.Messages.Rejected == 0 {
		t.Errorf("the forged message was not refused:\n%s", log)
	}
	for _, l := range bytes.Split(log, []byte("\n")) {
		if bytes.Contains(l, []byte(`"kind":"reject"`)) &&
			!bytes.Contains(l, []byte(`"subject":"liaison.impersonation.dk-national.dk:pet.dk:fe"`)) {
			t.Errorf("reject line does not name the subject: %s", l)
		}
	}
}

// TestForgedAcrossProcesses: across the time protocol nothing lists what
// was sent, so a forged message with a fresh number and an item or type
// beyond the scenario's tables gets past the subscription's checks. The
// node refuses it when it takes it in, logs a reject, does not count it as
// received, and the run completes with the log of an undisturbed one.
func TestForgedAcrossProcesses(t *testing.T) {
	sc := load(t, "testdata/mixed.yaml")
	_, clean := run(t, sim.Config{Scenario: sc, Seed: 11})
	var once sync.Once
	var forged atomic.Int64
	cfg := sim.Config{Scenario: sc, Seed: 11, OnStart: []func(sim.Started){func(s sim.Started) {
		peer, err := broker.Connect("", s.Server, "hostile peer")
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(peer.Close)
		peer.Subscribe(broker.NewSubjects(s.RunID).ChannelAll("dk-national"), func(m *nats.Msg) {
			once.Do(func() {
				for field, v := range map[int]int64{4: 1 << 20, 5: 1 << 20} { // type, item
					b, ok := replaceVarint(m.Data, 2, 1<<30+int64(field)) // a number no agency used
					if ok {
						b, ok = replaceVarint(b, field, v)
					}
					if ok {
						peer.Publish(m.Subject, b)
						forged.Add(1)
					}
				}
			})
		})
		peer.Flush()
	}}}
	across := runAcross(t, cfg, [][]int32{{0, 2, 4, 6, 8}, {1, 3, 5, 7}})
	if forged.Load() != 2 {
		t.Fatalf("%d forged messages published, want 2", forged.Load())
	}
	if n := bytes.Count(across, []byte(`"kind":"reject"`)); n != 2 {
		t.Errorf("%d reject events for 2 forged messages", n)
	}
	sameAcross(t, clean, withoutRejects(across))
}
