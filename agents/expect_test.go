package agents

import (
	"math/rand/v2"
	"testing"

	"liaison"
)

// TestIDTable checks the open-addressing table against Go's map over a
// long random mix of inserts, lookups and deletes, with many collisions.
func TestIDTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab idTable
	ref := map[msgID]liaison.Time{}
	for i := range 200_000 {
		id := msgID{int32(rng.IntN(50)), uint64(1 + rng.IntN(2000))}
		switch rng.IntN(3) {
		case 0:
			v := liaison.Time(rng.IntN(1000))
			tab.put(id, v, uint64(v)*7)
			ref[id] = v
		case 1:
			tab.del(id)
			delete(ref, id)
		}
		got, sum, ok := tab.get(id)
		want, wok := ref[id]
		if ok != wok || got != want || ok && sum != uint64(want)*7 || tab.n != len(ref) {
			t.Fatalf("step %d, %v: got %d %v (n %d), want %d %v (n %d)", i, id, got, ok, tab.n, want, wok, len(ref))
		}
	}
	for id, want := range ref {
		if got, _, ok := tab.get(id); !ok || got != want {
			t.Fatalf("%v: got %d %v, want %d", id, got, ok, want)
		}
	}
	if _, _, ok := tab.get(msgID{-1, 5}); ok {
		t.Error("an id out of range was found")
	}
}
