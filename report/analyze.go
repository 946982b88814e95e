package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"liaison/events"
)

// Report is the after-action report of one run, in after-action-review
// order. It is also the JSON form: field names are stable.
type Report struct {
	Overview  Overview         `json:"overview"`
	Items     []ItemReport     `json:"items"`
	Timeline  []Learning       `json:"timeline"`
	Channels  []ChannelReport  `json:"channels"`
	Agencies  []AgencyReport   `json:"agencies"`
	Deadlines []DeadlineMissed `json:"deadlines_missed"`
	Drops     []Drop           `json:"drops"`
	Findings  []Finding        `json:"findings"`

	loc *time.Location
}

// Overview is the exercise overview: what ran, when, with whom.
type Overview struct {
	Scenario   string               `json:"scenario"`
	Title      string               `json:"title"`
	Seed       uint64               `json:"seed"`
	Variant    string               `json:"variant"`
	TimeZone   string               `json:"timezone"`
	Start      string               `json:"start"` // RFC 3339 in the scenario's zone
	End        string               `json:"end"`
	EndSeconds float64              `json:"end_seconds"`
	Agencies   []events.AgencyInfo  `json:"agencies"`
	Channels   []events.ChannelInfo `json:"channels"`
	Messages   events.MessageCounts `json:"messages"`
	Info       *events.RunInfo      `json:"-"`
}

// ItemReport is the reach of one inject and how each agency learned it.
type ItemReport struct {
	ID                 string       `json:"id"`
	Summary            string       `json:"summary"`
	Type               string       `json:"type"`
	TLP                string       `json:"tlp"`
	OriginatorControl  bool         `json:"originator_control"`
	Originator         string       `json:"originator"`
	To                 string       `json:"to"`
	AtSeconds          float64      `json:"at_seconds"`
	At                 string       `json:"at"`
	Audience           []string     `json:"audience"`
	DeadlineSeconds    *float64     `json:"deadline_seconds"`
	Reached            int          `json:"reached"`
	ReachedAtDeadline  *int         `json:"reached_at_deadline"`
	TimeToReachSeconds *float64     `json:"time_to_reach_seconds"`
	DeadlineMet        *bool        `json:"deadline_met"`
	Curve              []ReachPoint `json:"reach_curve"`
	Learned            []Learning   `json:"learned"`
	NeverLearned       []string     `json:"never_learned"`
	// Critical is the learner whose path set the time to reach (the last
	// audience member to learn); Slowest its slowest link.
	Critical string   `json:"critical_learner,omitempty"`
	Slowest  *Segment `json:"slowest_link,omitempty"`
}

// ReachPoint is the audience reached at a time since the inject.
type ReachPoint struct {
	Seconds float64 `json:"seconds"`
	Reached int     `json:"reached"`
}

// Learning is one agency learning one item, and the path it came by.
type Learning struct {
	Item        string    `json:"item"`
	Agency      string    `json:"agency"`
	InAudience  bool      `json:"in_audience"`
	TSeconds    float64   `json:"t_seconds"`
	At          string    `json:"at"`
	SinceInject float64   `json:"since_inject_seconds"`
	Path        []Hop     `json:"path"`
	Segments    []Segment `json:"segments"`
	Slowest     *Segment  `json:"slowest_link,omitempty"`
}

// Hop is one message on a path: sender, channel, recipient.
type Hop struct {
	Msg       string  `json:"msg"`
	Type      string  `json:"type"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Channel   string  `json:"channel"`
	Sent      float64 `json:"sent_seconds"`
	Delivered float64 `json:"delivered_seconds"`
	Started   float64 `json:"handled_seconds"`
}

// Segment kinds: where time goes on a path.
const (
	SegHold     = "hold"     // office closed: waiting for opening hours
	SegQueue    = "queue"    // waiting for staff
	SegHandling = "handling" // staff reading and acting on it
	SegTransit  = "transit"  // in the channel (outages included)
	SegConsent  = "consent"  // the third-party rule's round trip to the originator
)

// Segment is a stretch of a path's time charged to one agency or channel.
type Segment struct {
	Kind    string  `json:"kind"`
	Agency  string  `json:"agency,omitempty"`
	Channel string  `json:"channel,omitempty"`
	Msg     string  `json:"msg,omitempty"`
	Start   float64 `json:"start_seconds"`
	Seconds float64 `json:"seconds"`
}

// Where names what a segment is charged to, for people.
func (s *Segment) Where() string {
	switch s.Kind {
	case SegTransit:
		return "transit on " + s.Channel
	case SegHold:
		return "office hours at " + s.Agency
	case SegQueue:
		return "queue at " + s.Agency
	case SegHandling:
		return "handling at " + s.Agency
	case SegConsent:
		return "consent from " + s.Agency + " (third-party rule)"
	}
	return s.Kind
}

// ChannelReport is one channel's traffic and hop latencies.
type ChannelReport struct {
	ID                 string    `json:"id"`
	Topology           string    `json:"topology"`
	Messages           int64     `json:"messages"`
	Delivered          int64     `json:"delivered"`
	LatencyMeanSeconds float64   `json:"latency_mean_seconds"`
	LatencyP50Seconds  float64   `json:"latency_p50_seconds"`
	LatencyP95Seconds  float64   `json:"latency_p95_seconds"`
	LatencyMaxSeconds  float64   `json:"latency_max_seconds"`
	latencies          []float64 // seconds, for the chart
}

// AgencyReport is one agency's workload and the waits it caused or bore.
type AgencyReport struct {
	ID                  string  `json:"id"`
	Hours               string  `json:"hours"`
	Staff               int     `json:"staff"`
	Handled             int64   `json:"handled"`
	MaxQueue            int     `json:"max_queue"`
	MeanWaitSeconds     float64 `json:"mean_wait_seconds"`
	Held                int64   `json:"held"`
	HoldSeconds         float64 `json:"hold_seconds"`
	QueueSeconds        float64 `json:"queue_wait_seconds"`
	Knows               int     `json:"knows"`
	ConsentRequests     int     `json:"consent_requests"`
	ConsentWaitSeconds  float64 `json:"consent_wait_seconds"`
	ConsentGranted      int     `json:"consent_granted"`
	ConsentRefused      int     `json:"consent_refused"`
	ConsentUnanswered   int     `json:"consent_unanswered"`
	DeadlineMissedReply int     `json:"reply_deadlines_missed"`
}

// DeadlineMissed is a deadline_missed event: an item's audience, or a
// reply, not in time.
type DeadlineMissed struct {
	TSeconds        float64 `json:"t_seconds"`
	At              string  `json:"at"`
	Item            string  `json:"item"`
	Agency          string  `json:"agency,omitempty"`
	DeadlineSeconds float64 `json:"deadline_seconds"`
	Reached         int     `json:"reached"`
	Audience        int     `json:"audience"`
}

// Drop is a dropped message.
type Drop struct {
	TSeconds float64 `json:"t_seconds"`
	At       string  `json:"at"`
	Agency   string  `json:"agency"`
	To       string  `json:"to"`
	Msg      string  `json:"msg"`
	Item     string  `json:"item,omitempty"`
	Type     string  `json:"type"`
	Reason   string  `json:"reason"`
}

// Finding is one ranked bottleneck or problem, in words a planner can act on.
type Finding struct {
	Rank    int      `json:"rank"`
	Kind    string   `json:"kind"` // a segment kind, or "deadline", "drop", "unreached"
	Where   string   `json:"where"`
	Seconds float64  `json:"seconds"` // time-to-reach it cost, summed over items
	Items   []string `json:"items"`
	Text    string   `json:"text"`
	Action  string   `json:"action"`
}

var consentTypes = map[string]bool{"consent-request": true, "consent-grant": true, "consent-refuse": true}

// analyzer holds the log's indices.
type analyzer struct {
	lg      *Log
	sends   map[string]*Event // by msg
	deliver map[string]*Event // by msg
	start   map[string]*Event // handle_start by msg, or "inject:ITEM@AGENCY"
	hold    map[string]*Event // by the same key
	items   map[string]*events.ItemDesc
	origin  map[string]string // item → originator
}

func workKey(e *Event) string {
	if e.Msg != "" {
		return e.Msg
	}
	return "inject:" + e.Item + "@" + e.Agency
}

// Build computes the report of a parsed log.
func Build(lg *Log) (*Report, error) {
	a := &analyzer{lg: lg, sends: map[string]*Event{}, deliver: map[string]*Event{},
		start: map[string]*Event{}, hold: map[string]*Event{}, items: map[string]*events.ItemDesc{},
		origin: map[string]string{}}
	info := &lg.Info
	loc, err := time.LoadLocation(info.TimeZone)
	if err != nil || info.TimeZone == "" {
		loc = time.UTC
	}
	start, err := time.Parse(time.RFC3339, info.Start)
	if err != nil {
		return nil, fmt.Errorf("run header: bad start %q: %v", info.Start, err)
	}
	r := &Report{loc: loc, Items: []ItemReport{}, Timeline: []Learning{}, Channels: []ChannelReport{},
		Agencies: []AgencyReport{}, Deadlines: []DeadlineMissed{}, Drops: []Drop{}, Findings: []Finding{}}
	wall := func(sec float64) string {
		return start.Add(time.Duration(ms(sec)) * time.Millisecond).In(loc).Format("Mon 2 Jan 2006 15:04 MST")
	}
	end := 0.0
	if n := len(lg.Events); n > 0 {
		end = lg.Events[n-1].T
	}
	if info.DurationSeconds != nil {
		end = *info.DurationSeconds
	}
	r.Overview = Overview{Scenario: info.Scenario, Title: info.Title, Seed: info.Seed, Variant: info.Variant,
		TimeZone: loc.String(), Start: start.In(loc).Format(time.RFC3339),
		End: start.Add(time.Duration(ms(end)) * time.Millisecond).In(loc).Format(time.RFC3339), EndSeconds: end,
		Agencies: info.Agencies, Channels: info.Channels, Info: info,
		Messages: events.MessageCounts{DroppedBy: map[string]int64{}}}
	for i := range info.Items {
		it := &info.Items[i]
		a.items[it.ID] = it
		a.origin[it.ID] = it.Originator
	}

	// Indices and the summary's counters.
	agIdx := map[string]int{}
	for i, ag := range info.Agencies {
		agIdx[ag.ID] = i
		r.Agencies = append(r.Agencies, AgencyReport{ID: ag.ID, Hours: ag.Hours, Staff: ag.Staff})
	}
	chIdx := map[string]int{}
	sketches := make([]events.Sketch, len(info.Channels))
	for i, c := range info.Channels {
		chIdx[c.ID] = i
		r.Channels = append(r.Channels, ChannelReport{ID: c.ID, Topology: c.Topology})
	}
	waitSum := make([]float64, len(info.Agencies))
	waitN := make([]int64, len(info.Agencies))
	type ak struct{ agency, item string }
	consentAsked := map[ak]float64{}
	knows := map[ak]*Event{}
	var knowOrder []*Event
	for i := range lg.Events {
		e := &lg.Events[i]
		ag := -1
		if e.Agency != "" {
			ag = agIdx[e.Agency]
		}
		switch e.Kind {
		case "send":
			r.Overview.Messages.Sent++
			a.sends[e.Msg] = e
			if e.Channel != "" {
				c, ok := chIdx[e.Channel]
				if !ok {
					return nil, fmt.Errorf("line %d: channel %q is not in the run header", e.Line, e.Channel)
				}
				r.Channels[c].Messages++
			}
		case "deliver":
			r.Overview.Messages.Delivered++
			a.deliver[e.Msg] = e
			c, ok := chIdx[e.Channel]
			if !ok {
				return nil, fmt.Errorf("line %d: channel %q is not in the run header", e.Line, e.Channel)
			}
			r.Channels[c].Delivered++
			sketches[c].Add(ms(e.Latency))
			r.Channels[c].latencies = append(r.Channels[c].latencies, e.Latency)
			r.Agencies[ag].MaxQueue = max(r.Agencies[ag].MaxQueue, e.Queue)
		case "drop":
			r.Overview.Messages.Dropped++
			r.Overview.Messages.DroppedBy[e.Reason]++
			r.Drops = append(r.Drops, Drop{TSeconds: e.T, At: wall(e.T), Agency: e.Agency, To: e.To, Msg: e.Msg,
				Item: e.Item, Type: e.Type, Reason: e.Reason})
		case "hold":
			r.Agencies[ag].Held++
			a.hold[workKey(e)] = e
		case "handle_start":
			a.start[workKey(e)] = e
			waitSum[ag] += e.Wait
			waitN[ag]++
			hold := 0.0
			if h := a.hold[workKey(e)]; h != nil {
				hold = min(h.Until, e.T) - h.T
			}
			r.Agencies[ag].HoldSeconds += hold
			r.Agencies[ag].QueueSeconds += max(e.Wait-hold, 0)
		case "handle_end":
			r.Agencies[ag].Handled++
			if (e.Type == "consent-grant" || e.Type == "consent-refuse") && e.Item != "" {
				k := ak{e.Agency, e.Item}
				if t0, ok := consentAsked[k]; ok {
					r.Agencies[ag].ConsentWaitSeconds += e.T - t0
					r.Agencies[ag].ConsentUnanswered--
					delete(consentAsked, k)
				}
			}
		case "know":
			r.Agencies[ag].Knows++
			k := ak{e.Agency, e.Item}
			if knows[k] == nil {
				knows[k] = e
				knowOrder = append(knowOrder, e)
			}
		case "consent_request":
			r.Agencies[ag].ConsentRequests++
			r.Agencies[ag].ConsentUnanswered++
			consentAsked[ak{e.Agency, e.Item}] = e.T
		case "consent_grant":
			r.Agencies[ag].ConsentGranted++
		case "consent_refuse":
			r.Agencies[ag].ConsentRefused++
		case "deadline_missed":
			d := DeadlineMissed{TSeconds: e.T, At: wall(e.T), Item: e.Item, Agency: e.Agency,
				DeadlineSeconds: e.Deadline, Reached: e.Reached}
			if e.Agency != "" {
				r.Agencies[ag].DeadlineMissedReply++
			} else if it := a.items[e.Item]; it != nil {
				d.Audience = len(it.Audience)
			}
			r.Deadlines = append(r.Deadlines, d)
		}
	}
	for k, t0 := range consentAsked { // never answered: waited until the end
		r.Agencies[agIdx[k.agency]].ConsentWaitSeconds += end - t0
	}
	for i := range r.Agencies {
		ar := &r.Agencies[i]
		if waitN[i] > 0 {
			ar.MeanWaitSeconds = round3(waitSum[i] / float64(waitN[i]))
		}
		ar.HoldSeconds, ar.QueueSeconds = round3(ar.HoldSeconds), round3(ar.QueueSeconds)
		ar.ConsentWaitSeconds = round3(ar.ConsentWaitSeconds)
	}
	for i := range r.Channels {
		sk := &sketches[i]
		q := sk.Quantiles(0.5, 0.95)
		c := &r.Channels[i]
		c.LatencyMeanSeconds = round3(sk.Mean() / 1000)
		c.LatencyP50Seconds, c.LatencyP95Seconds = q[0].Seconds(), q[1].Seconds()
		c.LatencyMaxSeconds = sk.Max().Seconds()
	}

	// Items: reach, paths, the critical learner.
	for _, desc := range info.Items {
		ir := ItemReport{ID: desc.ID, Summary: desc.Summary, Type: desc.Type, TLP: desc.TLP,
			OriginatorControl: desc.OriginatorControl, Originator: desc.Originator, To: desc.To,
			AtSeconds: desc.AtSeconds, At: wall(desc.AtSeconds), Audience: desc.Audience,
			DeadlineSeconds: desc.DeadlineSeconds, Curve: []ReachPoint{{0, 0}}, Learned: []Learning{},
			NeverLearned: []string{}}
		inAud := map[string]bool{}
		for _, m := range desc.Audience {
			inAud[m] = true
		}
		var critical *Learning
		for _, k := range knowOrder {
			if k.Item != desc.ID {
				continue
			}
			l := Learning{Item: desc.ID, Agency: k.Agency, InAudience: inAud[k.Agency], TSeconds: k.T,
				At: wall(k.T), SinceInject: round3(k.T - desc.AtSeconds)}
			l.Path, l.Segments = a.path(k)
			for i := range l.Segments {
				if l.Slowest == nil || l.Segments[i].Seconds > l.Slowest.Seconds {
					l.Slowest = &l.Segments[i]
				}
			}
			ir.Learned = append(ir.Learned, l)
			if l.InAudience {
				ir.Reached++
				ir.Curve = append(ir.Curve, ReachPoint{l.SinceInject, ir.Reached})
			}
		}
		for i := range ir.Learned {
			if ir.Learned[i].InAudience {
				critical = &ir.Learned[i]
			}
		}
		for _, m := range desc.Audience {
			if knows[ak{m, desc.ID}] == nil {
				ir.NeverLearned = append(ir.NeverLearned, m)
			}
		}
		if ir.Reached == len(desc.Audience) && critical != nil {
			t := critical.SinceInject
			ir.TimeToReachSeconds = &t
		}
		if d := desc.DeadlineSeconds; d != nil {
			met := ir.TimeToReachSeconds != nil && *ir.TimeToReachSeconds <= *d
			ir.DeadlineMet = &met
			n := 0
			for _, p := range ir.Curve[1:] {
				if p.Seconds <= *d {
					n++
				}
			}
			ir.ReachedAtDeadline = &n
		}
		if critical != nil {
			ir.Critical = critical.Agency
			ir.Slowest = critical.Slowest
		}
		r.Items = append(r.Items, ir)
		r.Timeline = append(r.Timeline, ir.Learned...)
	}
	slices.SortStableFunc(r.Timeline, func(x, y Learning) int { return cmp.Compare(x.TSeconds, y.TSeconds) })
	r.Findings = findings(r)
	return r, nil
}

// path reconstructs how the agency of know event k learned its item:
// know → msg → send → cause → … back to the inject, and charges the time
// in between to agencies (hold, queue, handling) and channels (transit).
// A stretch spent on consent messages is charged to the item's originator.
func (a *analyzer) path(k *Event) ([]Hop, []Segment) {
	var hops []Hop
	var segs []Segment
	add := func(s Segment) {
		if s.Seconds > 0.0005 {
			s.Seconds = round3(s.Seconds)
			segs = append(segs, s)
		}
	}
	orig := a.origin[k.Item]
	// waitAt charges the wait of work w (arrived at arrive, started at hs)
	// at agency ag.
	waitAt := func(ag, key string, arrive, hs float64, consent bool) {
		hold := 0.0
		if h := a.hold[key]; h != nil {
			hold = min(h.Until, hs) - h.T
		}
		if consent {
			add(Segment{Kind: SegConsent, Agency: orig, Msg: key, Start: arrive, Seconds: hs - arrive})
			return
		}
		add(Segment{Kind: SegHold, Agency: ag, Msg: key, Start: arrive, Seconds: hold})
		add(Segment{Kind: SegQueue, Agency: ag, Msg: key, Start: arrive + hold, Seconds: hs - arrive - hold})
	}
	cur := k.Msg
	if cur == "" { // the inject's own recipient
		if inj := a.start[workKey(k)]; inj != nil {
			waitAt(k.Agency, workKey(k), inj.T-inj.Wait, inj.T, false)
		}
		return []Hop{}, reverse(segs)
	}
	for guard := 0; cur != "" && guard < 10000; guard++ {
		s, d, h := a.sends[cur], a.deliver[cur], a.start[cur]
		if s == nil || d == nil || h == nil {
			break // a log cut short; keep what is known
		}
		consent := consentTypes[s.Type]
		hops = append(hops, Hop{Msg: cur, Type: s.Type, From: s.Agency, To: d.Agency, Channel: d.Channel,
			Sent: s.T, Delivered: d.T, Started: h.T})
		waitAt(d.Agency, cur, d.T, h.T, consent)
		if consent {
			add(Segment{Kind: SegConsent, Agency: orig, Channel: d.Channel, Msg: cur, Start: s.T, Seconds: d.T - s.T})
		} else {
			add(Segment{Kind: SegTransit, Channel: d.Channel, Msg: cur, Start: s.T, Seconds: d.T - s.T})
		}
		var hs *Event
		key := s.Cause
		if s.Cause == "" {
			key = "inject:" + s.Item + "@" + s.Agency
		}
		hs = a.start[key]
		if hs == nil {
			break
		}
		cause := a.sends[s.Cause]
		if cause != nil && consentTypes[cause.Type] {
			add(Segment{Kind: SegConsent, Agency: orig, Msg: key, Start: hs.T, Seconds: s.T - hs.T})
		} else {
			add(Segment{Kind: SegHandling, Agency: s.Agency, Msg: key, Start: hs.T, Seconds: s.T - hs.T})
		}
		if s.Cause == "" {
			waitAt(s.Agency, key, hs.T-hs.Wait, hs.T, false)
		}
		cur = s.Cause
	}
	slices.Reverse(hops)
	return hops, reverse(segs)
}

func reverse(s []Segment) []Segment {
	if s == nil {
		return []Segment{}
	}
	slices.Reverse(s)
	return s
}

// round3 rounds seconds to milliseconds, as the summary does.
func round3(x float64) float64 {
	if x < 0 {
		return -round3(-x)
	}
	return float64(int64(x*1000+0.5)) / 1000
}
