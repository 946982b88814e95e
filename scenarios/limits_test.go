package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// aliasBomb writes a scenario of channels channels whose members are one
// anchored list of members agencies: a small file that expands to
// channels×members nodes.
func aliasBomb(channels, members int) string {
	var b strings.Builder
	b.WriteString("name: bomb\ntitle: Aliases\nstart: 2026-01-05T09:00:00Z\nagencies:\n")
	for i := range members {
		fmt.Fprintf(&b, "  - id: a%d\n", i)
	}
	b.WriteString("channels:\n")
	for i := range channels {
		fmt.Fprintf(&b, "  - id: c%d\n    topology: mesh\n    latency: 1m\n", i)
		if i == 0 {
			b.WriteString("    members: &everyone [")
			for j := range members {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "a%d", j)
			}
			b.WriteString("]\n")
		} else {
			b.WriteString("    members: *everyone\n")
		}
	}
	return b.String()
}

// variantBomb declares one overlay and variants names that all alias it.
func variantBomb(variants, members int) string {
	var b strings.Builder
	b.WriteString(aliasBomb(1, members))
	b.WriteString("variants:\n")
	for i := range variants {
		if i == 0 {
			b.WriteString("  v0: &overlay\n    channels: [{id: c0, topology: mesh, latency: 1m, members: *everyone}]\n")
			continue
		}
		fmt.Fprintf(&b, "  v%d: *overlay\n", i)
	}
	return b.String()
}

func TestAliasExpansionCap(t *testing.T) {
	for _, c := range []struct {
		name string
		yaml string
		line int // of the alias use that crosses the cap
	}{
		// 1,000 channels × 1,000 members: 84 KB that used to expand to a
		// million member ids.
		{"channels", aliasBomb(1000, 1000), 1006 + 100*4 + 3}, // the 100th alias, 1,001 nodes each
		{"variants", variantBomb(1000, 1000), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bomb.yaml", []byte(c.yaml))
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("got %v, want one error", err)
			}
			e := list[0]
			if e.Kind != TooLarge || e.Line == 0 || e.Column == 0 || !strings.Contains(e.Msg, "100000 nodes reached through aliases") {
				t.Fatalf("got %#v", e)
			}
			if c.line > 0 && e.Line != c.line {
				t.Errorf("error at line %d, want %d (the alias that crosses the cap): %v", e.Line, c.line, e)
			}
			if line := strings.Split(c.yaml, "\n")[e.Line-1]; !strings.Contains(line, "*") {
				t.Errorf("error points at %q, not at an alias", line)
			}
		})
	}
	// Aliases that repeat small parts are fine.
	if _, err := Parse("ok.yaml", []byte(aliasBomb(20, 50))); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("ok.yaml", []byte(variantBomb(20, 50))); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAliasBomb measures what the capped decoder spends on the 84 KB
// file of a thousand aliased member lists (go test -bench AliasBomb
// -benchmem).
func BenchmarkAliasBomb(b *testing.B) {
	data := []byte(aliasBomb(1000, 1000))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bomb.yaml", data); err == nil {
			b.Fatal("no error")
		}
	}
}
