package promtest

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// OMFile is an OpenMetrics text file with timestamps, as ReadOpenMetrics
// reads it: its families in file order and each series' samples.
type OMFile struct {
	Families []OMFamily
	// Series maps a series, as the file writes it (name{a="x",b="y"}), to
	// its samples in file order. Label pairs must come in the same order
	// on every line of a series.
	Series map[string][]OMSample
}

// OMFamily is a metric family's metadata.
type OMFamily struct {
	Name, Type, Help string
}

// OMSample is one sample: Unix time in milliseconds and value.
type OMSample struct {
	T int64
	V float64
}

// omSuffixes are the sample names each type of family has, after the
// family's name.
var omSuffixes = map[string][]string{
	"counter":   {"_total", "_created"},
	"gauge":     {""},
	"unknown":   {""},
	"histogram": {"_bucket", "_count", "_sum", "_created"},
}

var (
	omMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	omLabelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ReadOpenMetrics reads an OpenMetrics text file of the kind promtool tsdb
// create-blocks-from openmetrics loads, and checks it more strictly than
// promtool does, so that a test catches what Prometheus would store wrong
// or refuse: every family has its TYPE and HELP before its samples and is
// not interleaved with another; sample names fit the family's type
// (counter NAME_total, histogram NAME_bucket with le, NAME_count,
// NAME_sum); every sample has a timestamp, increasing within its series;
// counters and histogram buckets and counts never decrease; every
// histogram point has all of its series' buckets, +Inf equal to _count,
// cumulative counts and a _sum, at one timestamp; and the file ends with
// # EOF. Errors say the line.
func ReadOpenMetrics(r io.Reader) (*OMFile, error) {
	f := &OMFile{Series: map[string][]OMSample{}}
	seen := map[string]bool{} // families already closed
	var fam *OMFamily
	var labels []omLabel
	hist := histChecker{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	n, eof := 0, false
	for sc.Scan() {
		n++
		line := sc.Text()
		if eof {
			return nil, fmt.Errorf("line %d: text after # EOF", n)
		}
		fail := func(format string, a ...any) error {
			return fmt.Errorf("line %d: %s: %q", n, fmt.Sprintf(format, a...), line)
		}
		if line == "# EOF" {
			eof = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			parts := strings.SplitN(line, " ", 4)
			if len(parts) < 3 || parts[0] != "#" {
				return nil, fail("bad comment line")
			}
			name := parts[2]
			rest := ""
			if len(parts) == 4 {
				rest = parts[3]
			}
			switch parts[1] {
			case "TYPE":
				if fam != nil && fam.Name == name {
					return nil, fail("second TYPE for %s", name)
				}
				if err := hist.close(); err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				if fam != nil {
					seen[fam.Name] = true
				}
				if seen[name] {
					return nil, fail("family %s again after other families", name)
				}
				if !omMetricName.MatchString(name) {
					return nil, fail("bad family name")
				}
				switch rest {
				case "counter", "gauge", "histogram", "unknown":
				default:
					return nil, fail("type %q is not one Liaison writes", rest)
				}
				f.Families = append(f.Families, OMFamily{Name: name, Type: rest})
				fam = &f.Families[len(f.Families)-1]
			case "HELP":
				if fam == nil || fam.Name != name {
					return nil, fail("HELP for %s before its TYPE", name)
				}
				fam.Help = rest
			case "UNIT":
				if fam == nil || fam.Name != name {
					return nil, fail("UNIT for %s before its TYPE", name)
				}
			default:
				return nil, fail("unknown comment")
			}
			continue
		}
		name, lps, valueAt, value, ts, err := parseSampleLine(line, labels[:0])
		if err != nil {
			return nil, fail("%v", err)
		}
		labels = lps
		if fam == nil {
			return nil, fail("sample before any TYPE")
		}
		if fam.Help == "" {
			return nil, fail("family %s has no HELP", fam.Name)
		}
		suffix, ok := strings.CutPrefix(name, fam.Name)
		if !ok || !slices.Contains(omSuffixes[fam.Type], suffix) {
			return nil, fail("sample %s does not belong to %s family %s", name, fam.Type, fam.Name)
		}
		key := line[:valueAt-1]
		series, le, hasLE := key[len(name):], "", false
		for _, lp := range labels {
			if lp.name != "le" || fam.Type != "histogram" {
				continue
			}
			// the series of the histogram point: its labels without le
			from, to := lp.start, lp.end
			if key[from-1] == ',' {
				from--
			} else if key[to] == ',' {
				to++
			}
			le, hasLE, series = lp.value, true, key[len(name):from]+key[to:]
		}
		if (suffix == "_bucket") != hasLE {
			return nil, fail("le belongs on buckets, and only there")
		}
		smp := OMSample{T: ts, V: value}
		prev := f.Series[key]
		if k := len(prev); k > 0 {
			if prev[k-1].T >= ts {
				return nil, fail("timestamp not after the series' previous sample")
			}
			if (suffix == "_total" || suffix == "_bucket" || suffix == "_count") && value < prev[k-1].V {
				return nil, fail("counter falls from %v to %v", prev[k-1].V, value)
			}
		}
		f.Series[key] = append(prev, smp)
		if fam.Type == "histogram" {
			if err := hist.add(fam.Name, series, suffix, le, smp); err != nil {
				return nil, fail("%v", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := hist.close(); err != nil {
		return nil, err
	}
	if !eof {
		return nil, fmt.Errorf("line %d: no # EOF at the end", n)
	}
	return f, nil
}

// omLabel is a label pair of a sample line and where it is in the line.
type omLabel struct {
	name, value string
	start, end  int
}

// parseSampleLine reads name{labels} value timestamp (the timestamp in
// seconds, returned in milliseconds) and where the value starts.
func parseSampleLine(line string, labels []omLabel) (name string, _ []omLabel, valueAt int, v float64, ts int64, err error) {
	fail := func(format string, a ...any) (string, []omLabel, int, float64, int64, error) {
		return "", nil, 0, 0, 0, fmt.Errorf(format, a...)
	}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return fail("no value")
	}
	name = line[:i]
	if !validName(name, omMetricName) {
		return fail("bad metric name %q", name)
	}
	if line[i] == '{' {
		i++
		for line[i:] != "" && line[i] != '}' {
			eq := strings.Index(line[i:], `="`)
			if eq < 0 || !validName(line[i:i+eq], omLabelName) {
				return fail("bad label")
			}
			lp := omLabel{name: line[i : i+eq], start: i}
			j := i + eq + 2
			escaped := false
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(line) {
				return fail("unterminated label value")
			}
			lp.value, lp.end = line[i+eq+2:j], j+1
			if escaped {
				var b strings.Builder
				for k := 0; k < len(lp.value); k++ {
					c := lp.value[k]
					if c != '\\' {
						b.WriteByte(c)
						continue
					}
					k++
					switch lp.value[k] {
					case '\\', '"':
						b.WriteByte(lp.value[k])
					case 'n':
						b.WriteByte('\n')
					default:
						return fail("bad escape \\%c", lp.value[k])
					}
				}
				lp.value = b.String()
			}
			for _, o := range labels {
				if o.name == lp.name {
					return fail("label %s twice", lp.name)
				}
			}
			labels = append(labels, lp)
			i = lp.end
			if strings.HasPrefix(line[i:], ",") {
				i++
			} else if !strings.HasPrefix(line[i:], "}") {
				return fail("expected , or } after a label")
			}
		}
		if line[i:] == "" {
			return fail("no } after the labels")
		}
		i++
	}
	fields := strings.Split(line[i:], " ")
	if len(fields) != 3 || fields[0] != "" {
		return fail("expected one space, a value, a space and a timestamp")
	}
	v, err = strconv.ParseFloat(fields[1], 64)
	if err != nil {
		return fail("value: %v", err)
	}
	sec, err := strconv.ParseFloat(fields[2], 64)
	if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return fail("timestamp %q", fields[2])
	}
	return name, labels, i + 1, v, int64(math.Round(sec * 1000)), nil
}

// validNames caches names already matched: a file repeats a few names
// millions of times.
var validNames sync.Map

func validName(name string, re *regexp.Regexp) bool {
	if _, ok := validNames.Load(name); ok {
		return true
	}
	if !re.MatchString(name) {
		return false
	}
	validNames.Store(name, true)
	return true
}

// histChecker gathers one family's histogram points (series labels and
// timestamp) and checks each when the family ends.
type histChecker struct {
	fam    string
	points map[histKey]*histPoint
	order  []histKey
	les    map[string][]float64 // each series' bucket bounds
}

// histKey is a histogram point: its labels without le, and its time.
type histKey struct {
	series string
	t      int64
}

type histPoint struct {
	les, counts      []float64
	count, sum       float64
	hasCount, hasSum bool
}

func (h *histChecker) add(fam, labels, suffix, le string, s OMSample) error {
	if h.fam != fam {
		h.fam, h.points, h.order, h.les = fam, map[histKey]*histPoint{}, nil, map[string][]float64{}
	}
	k := histKey{labels, s.T}
	p := h.points[k]
	if p == nil {
		if len(h.order) > 0 && h.order[len(h.order)-1].series == labels {
			if err := h.check(h.order[len(h.order)-1]); err != nil {
				return err
			}
		}
		p = &histPoint{}
		h.points[k] = p
		h.order = append(h.order, k)
	}
	switch suffix {
	case "_bucket":
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			return fmt.Errorf("le %q", le)
		}
		p.les, p.counts = append(p.les, b), append(p.counts, s.V)
	case "_count":
		p.count, p.hasCount = s.V, true
	case "_sum":
		p.sum, p.hasSum = s.V, true
	}
	return nil
}

// check checks one histogram point, complete once a later one of the same
// series starts or the family ends.
func (h *histChecker) check(k histKey) error {
	p := h.points[k]
	if p == nil {
		return nil
	}
	delete(h.points, k)
	where := fmt.Sprintf("histogram %s%s at %d ms", h.fam, k.series, k.t)
	if !p.hasCount || !p.hasSum {
		return fmt.Errorf("%s: no _count or no _sum", where)
	}
	n := len(p.les)
	if n == 0 || !math.IsInf(p.les[n-1], 1) {
		return fmt.Errorf("%s: the last bucket is not +Inf", where)
	}
	if p.counts[n-1] != p.count {
		return fmt.Errorf("%s: +Inf bucket %v, _count %v", where, p.counts[n-1], p.count)
	}
	for i := 1; i < n; i++ {
		if p.les[i] <= p.les[i-1] || p.counts[i] < p.counts[i-1] {
			return fmt.Errorf("%s: buckets not in increasing order of le with cumulative counts", where)
		}
	}
	if want, ok := h.les[k.series]; ok && !slices.Equal(want, p.les) {
		return fmt.Errorf("%s: bucket bounds %v, earlier points %v", where, p.les, want)
	}
	h.les[k.series] = p.les
	return nil
}

func (h *histChecker) close() error {
	for _, k := range h.order {
		if err := h.check(k); err != nil {
			return err
		}
	}
	h.fam, h.points, h.order = "", nil, nil
	return nil
}
