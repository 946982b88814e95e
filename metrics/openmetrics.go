package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"liaison"
)

// Sampler records a Collector's registry at a fixed interval of simulated
// time, so that a run done in seconds can be written as an OpenMetrics file
// with timestamps on the scenario's calendar and loaded into Prometheus
// (promtool tsdb create-blocks-from openmetrics). A sample at time b holds
// every event at or before b.
//
// It keeps each series as a list of changes, not a copy per sample: memory
// grows with what changes, not with the number of samples.
type Sampler struct {
	c        *Collector
	interval liaison.Time
	next     liaison.Time   // the next sample time
	times    []liaison.Time // sample times, in order
	fams     map[string]*family
	simTime  *series
	buf      []byte // key scratch
	err      error
}

type family struct {
	name, help string
	typ        dto.MetricType
	series     map[string]*series
}

type series struct {
	labels string    // rendered label pairs, without braces: a="x",b="y"
	bounds []float64 // histogram upper bounds, +Inf excluded
	points []point   // changes, by sample index
}

// point is the value of a series from sample idx on: one value for
// counters and gauges; cumulative bucket counts, then count and sum, for
// histograms.
type point struct {
	idx int
	v   []float64
}

// Sample makes the Collector feed a Sampler taking a sample every interval
// of simulated time, from time 0. Call it before the run starts.
func (c *Collector) Sample(interval time.Duration) *Sampler {
	s := &Sampler{c: c, interval: max(liaison.FromDuration(interval), 1), fams: map[string]*family{}}
	c.onSample = s.before
	return s
}

// before is called with the time of each event, before the event counts:
// every sample time the event has passed is recorded now. Between two
// events nothing changes but simulated time, so the registry is gathered
// once for all the sample times an event passes.
func (s *Sampler) before(t liaison.Time) {
	if s.next >= t || s.err != nil {
		return
	}
	s.c.simTime.Set(s.next.Seconds())
	s.gather()
	for s.next += s.interval; s.next < t; s.next += s.interval {
		s.times = append(s.times, s.next)
		s.simTime.set(len(s.times)-1, []float64{s.next.Seconds()})
	}
}

// Finish takes the samples up to the run's end, the last one at end itself.
func (s *Sampler) Finish(end liaison.Time) error {
	s.before(end + 1)
	if len(s.times) == 0 || s.times[len(s.times)-1] < end {
		s.next = end
		s.before(end + 1)
	}
	return s.err
}

func (s *Sampler) gather() {
	mfs, err := s.c.reg.Gather()
	if err != nil {
		s.err = fmt.Errorf("metrics: sampling: %w", err)
		return
	}
	s.times = append(s.times, s.next)
	idx := len(s.times) - 1
	for _, mf := range mfs {
		f := s.fams[mf.GetName()]
		if f == nil {
			f = &family{name: mf.GetName(), help: mf.GetHelp(), typ: mf.GetType(), series: map[string]*series{}}
			s.fams[f.name] = f
		}
		for _, m := range mf.GetMetric() {
			s.buf = appendLabels(s.buf[:0], m.GetLabel())
			sr := f.series[string(s.buf)]
			if sr == nil {
				sr = &series{labels: string(s.buf)}
				f.series[sr.labels] = sr
				if f.name == SimTime {
					s.simTime = sr
				}
			}
			var v []float64
			switch f.typ {
			case dto.MetricType_COUNTER:
				v = []float64{m.GetCounter().GetValue()}
			case dto.MetricType_GAUGE:
				v = []float64{m.GetGauge().GetValue()}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				if sr.bounds == nil {
					for _, b := range h.GetBucket() {
						if !math.IsInf(b.GetUpperBound(), 1) {
							sr.bounds = append(sr.bounds, b.GetUpperBound())
						}
					}
				}
				v = make([]float64, 0, len(sr.bounds)+2)
				for _, b := range h.GetBucket()[:len(sr.bounds)] {
					v = append(v, float64(b.GetCumulativeCount()))
				}
				v = append(v, float64(h.GetSampleCount()), h.GetSampleSum())
			default:
				s.err = fmt.Errorf("metrics: sampling: %s has unsupported type %s", f.name, f.typ)
				return
			}
			sr.set(idx, v)
		}
	}
}

func (sr *series) set(idx int, v []float64) {
	if n := len(sr.points); n > 0 && slices.Equal(sr.points[n-1].v, v) {
		return
	}
	sr.points = append(sr.points, point{idx, v})
}

// Samples returns the number of samples taken.
func (s *Sampler) Samples() int { return len(s.times) }

// Lookback is how far back Prometheus looks for a series' latest sample
// when it evaluates a query (its --query.lookback-delta, 5 minutes by
// default). A backfilled block has no stale markers: a series is seen at a
// time when it has a sample within Lookback before it, and not otherwise.
const Lookback = 5 * time.Minute

// Repeat is the longest a series goes without a sample in an OpenMetrics
// file: a tenth of Lookback short of it, so that every query time within
// the run finds each series' latest value.
const Repeat = Lookback * 9 / 10

// WriteOpenMetrics writes the samples as OpenMetrics text, timestamped start plus
// the simulated time of each sample, and ends with # EOF. Families come in
// name order, series in label order, each series' samples in time order.
//
// A series is written when its value changes, not at every sample: at the
// first sample of each stretch of equal values and at its last (the sample
// before the next change, or the final sample), and in between every
// Repeat, so that Prometheus's lookback always finds it. A query of the
// latest values (an instant vector selector, and what is computed from it)
// therefore returns at every time what it would return with every sample
// written; functions of ranges (rate, increase, *_over_time) see fewer
// samples in a stretch without change. The file grows with the changes
// and with the series times the run's length over Repeat, not with the
// number of samples.
func (s *Sampler) WriteOpenMetrics(w io.Writer, start time.Time) error {
	if s.err != nil {
		return s.err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	names := make([]string, 0, len(s.fams))
	for n := range s.fams {
		names = append(names, n)
	}
	slices.Sort(names)
	sw := seriesWriter{w: bw, start: start, times: s.times, repeat: liaison.FromDuration(Repeat)}
	for _, n := range names {
		f := s.fams[n]
		base := f.name
		typ := "gauge"
		switch f.typ {
		case dto.MetricType_COUNTER:
			base, typ = strings.TrimSuffix(f.name, "_total"), "counter"
		case dto.MetricType_HISTOGRAM:
			typ = "histogram"
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n# HELP %s %s\n", base, typ, base, escapeHelp(f.help))
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		sw.f = f
		for _, k := range keys {
			sw.series(f.series[k])
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// seriesWriter writes the samples of one series after another.
type seriesWriter struct {
	w      *bufio.Writer
	start  time.Time
	times  []liaison.Time // the sample times
	repeat liaison.Time
	f      *family
	sr     *series
	last   liaison.Time // time of the latest sample written
	v      []float64    // its value
	line   []byte
}

// series writes a series' stretches of equal values: each one's first and
// last sample, with repeats between samples further apart than repeat.
func (sw *seriesWriter) series(sr *series) {
	sw.sr, sw.v = sr, nil
	for k, p := range sr.points {
		end := len(sw.times) - 1 // the stretch's last sample
		if k+1 < len(sr.points) {
			end = sr.points[k+1].idx - 1
		}
		sw.sample(sw.times[p.idx], p.v)
		if end > p.idx {
			sw.sample(sw.times[end], p.v)
		}
	}
}

// sample writes v at t, after repeating the previous value as often as the
// gap since it needs.
func (sw *seriesWriter) sample(t liaison.Time, v []float64) {
	if sw.v != nil {
		for r := sw.last + sw.repeat; r < t; r += sw.repeat {
			sw.write(r, sw.v)
		}
	}
	sw.write(t, v)
	sw.last, sw.v = t, v
}

func (sw *seriesWriter) write(t liaison.Time, v []float64) {
	f, sr := sw.f, sw.sr
	ts := formatTimestamp(sw.start.Add(t.Duration()))
	line := sw.line[:0]
	if f.typ != dto.MetricType_HISTOGRAM {
		line = appendSample(line, f.name, "", sr.labels, "", v[0], ts)
	} else {
		for j, ub := range sr.bounds {
			line = appendSample(line, f.name, "_bucket", sr.labels, formatFloat(ub), v[j], ts)
		}
		nb := len(sr.bounds)
		line = appendSample(line, f.name, "_bucket", sr.labels, "+Inf", v[nb], ts)
		line = appendSample(line, f.name, "_count", sr.labels, "", v[nb], ts)
		line = appendSample(line, f.name, "_sum", sr.labels, "", v[nb+1], ts)
	}
	sw.w.Write(line)
	sw.line = line
}

func appendSample(b []byte, name, suffix, labels, le string, v float64, ts string) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if labels != "" || le != "" {
		b = append(b, '{')
		b = append(b, labels...)
		if le != "" {
			if labels != "" {
				b = append(b, ',')
			}
			b = append(b, `le="`...)
			b = append(b, le...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = append(b, formatFloat(v)...)
	b = append(b, ' ')
	b = append(b, ts...)
	return append(b, '\n')
}

func appendLabels(b []byte, lps []*dto.LabelPair) []byte {
	for i, lp := range lps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, lp.GetName()...)
		b = append(b, `="`...)
		for _, r := range lp.GetValue() {
			switch r {
			case '\\':
				b = append(b, `\\`...)
			case '"':
				b = append(b, `\"`...)
			case '\n':
				b = append(b, `\n`...)
			default:
				b = append(b, string(r)...)
			}
		}
		b = append(b, '"')
	}
	return b
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// formatTimestamp gives Unix seconds with milliseconds, the resolution of
// simulated time.
func formatTimestamp(t time.Time) string {
	ms := t.UnixMilli()
	s := strconv.FormatInt(ms/1000, 10)
	if r := ms % 1000; r != 0 {
		s += "." + strconv.FormatInt(1000+r, 10)[1:]
	}
	return s
}

// RecentWindow is how far back the calendar of an OpenMetrics file may
// start for Prometheus to keep it: its default retention (15 days).
const RecentWindow = 15 * 24 * time.Hour

// Calendar says where to place a run of length end that starts at start on
// the calendar, so that Prometheus keeps and shows it: the scenario's own
// dates, or, when the run would end in the future or start more than
// RecentWindow before now, the same dates moved by whole weeks (weekdays
// and times of day stay) to end within the week before now. shift is what
// was added to the scenario's dates.
func Calendar(start time.Time, end liaison.Time, now time.Time) (placed time.Time, shift time.Duration) {
	stop := start.Add(end.Duration())
	if !stop.After(now) && !start.Before(now.Add(-RecentWindow)) {
		return start, 0
	}
	const week = 7 * 24 * time.Hour
	weeks := now.Sub(stop) / week // rounds toward zero
	if now.Sub(stop) < 0 {
		weeks-- // a future end moves back a whole week more, to land before now
	}
	shift = weeks * week
	return start.Add(shift), shift
}
