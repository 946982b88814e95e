package promtest

import (
	"strings"
	"testing"
)

const validOM = `# TYPE a counter
# HELP a Things.
a_total{x="1"} 1 100
a_total{x="1"} 2 160.5
a_total{x="2",y="q\"\\"} 0 100
# TYPE h histogram
# HELP h Waits.
h_bucket{k="v",le="1"} 0 100
h_bucket{k="v",le="+Inf"} 1 100
h_count{k="v"} 1 100
h_sum{k="v"} 3 100
h_bucket{k="v",le="1"} 1 200
h_bucket{k="v",le="+Inf"} 2 200
h_count{k="v"} 2 200
h_sum{k="v"} 3.5 200
# TYPE g gauge
# HELP g Level.
g 5 100
g 4 200
# EOF
`

// TestReadOpenMetrics: a valid file reads back; each kind of mistake is
// refused at its line.
func TestReadOpenMetrics(t *testing.T) {
	f, err := ReadOpenMetrics(strings.NewReader(validOM))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Series[`a_total{x="1"}`]; len(got) != 2 || got[1] != (OMSample{T: 160500, V: 2}) {
		t.Errorf("a_total{x=\"1\"}: %+v", got)
	}
	if len(f.Families) != 3 || f.Families[1] != (OMFamily{"h", "histogram", "Waits."}) {
		t.Errorf("families %+v", f.Families)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"no EOF", "# EOF\n", "", "no # EOF"},
		{"after EOF", "# EOF\n", "# EOF\ng 1 300\n", "text after # EOF"},
		{"no timestamp", "g 4 200", "g 4", "expected one space"},
		{"time going back", "g 4 200", "g 4 50", "not after"},
		{"counter falls", "a_total{x=\"1\"} 2 160.5", "a_total{x=\"1\"} 0 160.5", "counter falls"},
		{"wrong suffix", "a_total{x=\"2\"", "a{x=\"2\"", "does not belong"},
		{"interleaved", "# EOF\n", "# TYPE a counter\n# HELP a Again.\n# EOF\n", "again after"},
		{"no help", "# HELP g Level.\n", "", "no HELP"},
		{"no +Inf", `h_bucket{k="v",le="+Inf"} 2 200`, `h_bucket{k="v",le="2"} 2 200`, "not +Inf"},
		{"count differs", `h_count{k="v"} 2 200`, `h_count{k="v"} 3 200`, "_count 3"},
		{"not cumulative", `h_bucket{k="v",le="1"} 1 200`, `h_bucket{k="v",le="1"} 3 200`, "cumulative"},
		{"no sum", "h_sum{k=\"v\"} 3.5 200\n", "", "no _count or no _sum"},
		{"bad label", `a_total{x="1"} 1 100`, `a_total{x=1} 1 100`, "bad label"},
	} {
		in := strings.Replace(validOM, tc.from, tc.to, 1)
		if in == validOM {
			t.Fatalf("%s: the replacement changed nothing", tc.name)
		}
		_, err := ReadOpenMetrics(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%s: error %v, want one at a line with %q", tc.name, err, tc.want)
		}
	}
}
