package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"liaison"
	"liaison/events"
)

// Report is the after-action report of one run, in after-action-review
// order. It is also the JSON form: field names are stable.
type Report struct {
	Summary    ExecutiveSummary  `json:"executive_summary"`
	Overview   Overview          `json:"overview"`
	Objectives []ObjectiveReport `json:"objectives"`
	// Findings are the areas for improvement, ranked: the improvement plan.
	Findings  []Finding        `json:"findings"`
	Live      []LiveAction     `json:"live_actions"`
	Items     []ItemReport     `json:"items"`
	Timeline  []Learning       `json:"timeline"`
	Channels  []ChannelReport  `json:"channels"`
	Agencies  []AgencyReport   `json:"agencies"`
	Deadlines []DeadlineMissed `json:"deadlines_missed"`
	Drops     []Drop           `json:"drops"`
	// Unrated lists the evaluators' ratings of objectives that no item
	// carries: the report cannot apply them.
	Unrated []events.ObjectiveRating `json:"unapplied_ratings,omitempty"`

	loc   *time.Location
	start time.Time
	// withheld lists, per item, whom players chose not to pass it to
	// although their agency's rules would have.
	withheld []withholding
}

// withholding is a player's decision that kept an item from agencies the
// rules proposed.
type withholding struct {
	item, agency string
	at           float64
	from         []string // proposed by the rules, not passed on by the player
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
}

// LiveAction is one of the facilitator's actions during a live run: a
// pause, a resume, or an inject delivered at the time it took effect.
type LiveAction struct {
	TSeconds float64 `json:"t_seconds"`
	At       string  `json:"at"`
	Action   string  `json:"action"` // the event kind: pause, resume, live_inject, skip_inject, postpone_inject, fire_inject, cut_channel, restore_channel, set_staff
	Item     string  `json:"item,omitempty"`
	// Detail says what else the action named: the channel cut or
	// restored, the agency and its new staff, a postponed inject's new
	// time.
	Detail string `json:"detail,omitempty"`
}

// ItemReport is the reach of one inject and how each agency learned it.
type ItemReport struct {
	ID                 string       `json:"id"`
	Live               bool         `json:"live"` // delivered by a facilitator during the run
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
	// Objective and Expected are the inject's MSEL columns: the exercise
	// objective it serves and the players' expected action.
	Objective string `json:"objective,omitempty"`
	Expected  string `json:"expected,omitempty"`
	// Rating is the inject's HSEEP rating computed from the run (see
	// rateItem), RatingBasis the figures it rests on.
	Rating      string `json:"rating"`
	RatingBasis string `json:"rating_basis"`
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
	SegFanout   = "fanout"   // the sender drafting the share's earlier messages first
	SegOutage   = "outage"   // waiting for the channel to come back from an outage
	SegTransit  = "transit"  // in the channel: its latency
	SegConsent  = "consent"  // the third-party rule's round trip to the originator
	SegDecision = "decision" // a player's agency waiting for its player to decide
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
	case SegOutage:
		return "outage of " + s.Channel
	case SegFanout:
		return "fan-out at " + s.Agency
	case SegHold:
		return "office hours at " + s.Agency
	case SegQueue:
		return "queue at " + s.Agency
	case SegHandling:
		return "handling at " + s.Agency
	case SegConsent:
		return "consent from " + s.Agency + " (third-party rule)"
	case SegDecision:
		return "the player's decision at " + s.Agency
	}
	return s.Kind
}

// ChannelReport is one channel's traffic, hop latencies (transit alone)
// and the waits of messages for it to come back from outages.
type ChannelReport struct {
	ID                 string    `json:"id"`
	Topology           string    `json:"topology"`
	Messages           int64     `json:"messages"`
	Delivered          int64     `json:"delivered"`
	LatencyMeanSeconds float64   `json:"latency_mean_seconds"`
	LatencyP50Seconds  float64   `json:"latency_p50_seconds"`
	LatencyP95Seconds  float64   `json:"latency_p95_seconds"`
	LatencyMaxSeconds  float64   `json:"latency_max_seconds"`
	OutageWaits        int64     `json:"outage_waits"`
	OutageWaitSeconds  float64   `json:"outage_wait_seconds"`
	latencies          []float64 // seconds, for the chart
}

// AgencyReport is one agency's workload and the waits it caused or bore.
type AgencyReport struct {
	ID                  string  `json:"id"`
	Hours               string  `json:"hours"`
	Staff               int     `json:"staff"`
	Handled             int64   `json:"handled"`
	MaxQueue            int     `json:"max_queue"`
	Unfinished          int64   `json:"unfinished"` // arrived, not handled by the end
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

var consentTypes = map[string]bool{"consent-request": true, "consent-grant": true, "consent-refuse": true}

// msgKey identifies a message: its sender and the sender's counter.
type msgKey struct {
	from int32
	seq  uint64
}

// workKey identifies a piece of work at an agency: a message, or an inject
// handled by its recipient (msg.from -1).
type workKey struct {
	msg          msgKey
	item, agency int32
}

func msgOf(e *events.Event) msgKey { return msgKey{e.MsgFrom, e.MsgSeq} }

func workOf(e *events.Event) workKey {
	if e.MsgFrom >= 0 {
		return workKey{msg: msgOf(e), item: -1, agency: -1}
	}
	return injectWork(e.Item, e.Agency)
}

func injectWork(item, agency int32) workKey {
	return workKey{msg: msgKey{-1, 0}, item: item, agency: agency}
}

// analyzer holds the log's indices.
type analyzer struct {
	n       *events.Names
	items   []events.ItemDesc
	sends   map[msgKey]*events.Record
	deliver map[msgKey]*events.Record
	start   map[workKey]*events.Record // handle_start
	hold    map[workKey]*events.Record
	due     map[workKey]*events.Record // decision_due: waiting for a player
}

func (a *analyzer) agency(i int32) string { return events.Name(a.n.Agencies, i) }

func (a *analyzer) item(i int32) string { return events.Name(a.n.Items, i) }

func (a *analyzer) typ(i int32) string { return events.Name(a.n.Types, i) }

func (a *analyzer) channel(i int32) string { return events.Name(a.n.Channels, i) }

func (a *analyzer) msgID(m msgKey) string {
	if m.from < 0 {
		return ""
	}
	return events.MessageID(a.n.Agencies[m.from], m.seq)
}

// key names a piece of work as segments show it: the message id, or
// inject:ITEM@AGENCY.
func (a *analyzer) key(w workKey) string {
	if w.msg.from >= 0 {
		return a.msgID(w.msg)
	}
	return "inject:" + a.item(w.item) + "@" + a.agency(w.agency)
}

// Build computes the report of a read log.
func Build(lg *Log) (*Report, error) {
	a := &analyzer{n: lg.Names, items: lg.Items, sends: map[msgKey]*events.Record{},
		deliver: map[msgKey]*events.Record{}, start: map[workKey]*events.Record{}, hold: map[workKey]*events.Record{},
		due: map[workKey]*events.Record{}}
	info, sum := lg.Info, lg.Summary
	if len(sum.Items) != len(lg.Items) || len(sum.Agencies) != len(info.Agencies) || len(sum.Channels) != len(info.Channels) {
		return nil, fmt.Errorf("report: the summary does not describe the log (%d items, %d agencies, %d channels; the log %d, %d, %d)",
			len(sum.Items), len(sum.Agencies), len(sum.Channels), len(lg.Items), len(info.Agencies), len(info.Channels))
	}
	loc, err := time.LoadLocation(info.TimeZone)
	if err != nil || info.TimeZone == "" {
		loc = time.UTC
	}
	start, err := time.Parse(time.RFC3339, info.Start)
	if err != nil {
		return nil, fmt.Errorf("run header: bad start %q: %v", info.Start, err)
	}
	r := &Report{loc: loc, start: start, Live: []LiveAction{}, Items: []ItemReport{}, Timeline: []Learning{},
		Channels: []ChannelReport{}, Agencies: []AgencyReport{}, Deadlines: []DeadlineMissed{}, Drops: []Drop{},
		Findings: []Finding{}}
	wall := r.wall
	end := sum.EndSeconds
	r.Overview = Overview{Scenario: info.Scenario, Title: info.Title, Seed: info.Seed, Variant: info.Variant,
		TimeZone: loc.String(), Start: start.In(loc).Format(time.RFC3339),
		End: r.at(end).Format(time.RFC3339), EndSeconds: end,
		Agencies: info.Agencies, Channels: info.Channels, Messages: sum.Messages}

	// The summary's figures, and what only a report shows: waits by
	// cause, consent round trips, deliveries and the latencies to chart.
	for i, ag := range info.Agencies {
		s := &sum.Agencies[i]
		r.Agencies = append(r.Agencies, AgencyReport{ID: ag.ID, Hours: ag.Hours, Staff: ag.Staff, Handled: s.Handled,
			MaxQueue: s.MaxQueue, Unfinished: s.Unfinished, MeanWaitSeconds: s.MeanWaitSeconds, Held: s.Held, Knows: s.Knows})
	}
	for i, c := range info.Channels {
		s := &sum.Channels[i]
		r.Channels = append(r.Channels, ChannelReport{ID: c.ID, Topology: c.Topology, Messages: s.Messages,
			LatencyMeanSeconds: s.LatencyMeanSecond, LatencyP50Seconds: s.LatencyP50Seconds,
			LatencyP95Seconds: s.LatencyP95Seconds, OutageWaits: s.OutageWaits, OutageWaitSeconds: s.OutageWaitSeconds})
	}
	type ak struct{ agency, item int32 }
	consentAsked := map[ak]float64{}
	knows := map[ak]*events.Record{}
	var knowOrder []*events.Record
	for _, e := range lg.Events {
		t := e.T.Seconds()
		switch e.Kind {
		case events.Send:
			a.sends[msgOf(&e.Event)] = e
		case events.Deliver:
			a.deliver[msgOf(&e.Event)] = e
			c := &r.Channels[e.Channel]
			c.Delivered++
			c.latencies = append(c.latencies, e.Value.Seconds())
			c.LatencyMaxSeconds = max(c.LatencyMaxSeconds, e.Value.Seconds())
		case events.Drop:
			// The sender's message, whoever logged its drop: a message
			// still in transit at the end is dropped at its recipient.
			from := e.Agency
			if e.MsgFrom >= 0 {
				from = e.MsgFrom
			}
			r.Drops = append(r.Drops, Drop{TSeconds: t, At: wall(t), Agency: a.agency(from), To: a.agency(e.Peer),
				Msg: a.msgID(msgOf(&e.Event)), Item: a.item(e.Item), Type: a.typ(e.Type), Reason: lg.Names.Reasons[e.Reason]})
		case events.Hold:
			a.hold[workOf(&e.Event)] = e
		case events.DecisionPending:
			a.due[workOf(&e.Event)] = e
		case events.DecisionMade:
			if w := r.withholding(a, e); w != nil {
				r.withheld = append(r.withheld, *w)
			}
		case events.HandleStart:
			w := workOf(&e.Event)
			a.start[w] = e
			hold := 0.0
			if h := a.hold[w]; h != nil {
				hold = min(h.Value.Seconds(), t) - h.T.Seconds()
			}
			ar := &r.Agencies[e.Agency]
			ar.HoldSeconds += hold
			ar.QueueSeconds += max(e.Value.Seconds()-hold, 0)
		case events.HandleEnd:
			if typ := a.typ(e.Type); (typ == "consent-grant" || typ == "consent-refuse") && e.Item >= 0 {
				k := ak{e.Agency, e.Item}
				if t0, ok := consentAsked[k]; ok {
					ar := &r.Agencies[e.Agency]
					ar.ConsentWaitSeconds += t - t0
					ar.ConsentUnanswered--
					delete(consentAsked, k)
				}
			}
		case events.Know:
			k := ak{e.Agency, e.Item}
			if knows[k] == nil {
				knows[k] = e
				knowOrder = append(knowOrder, e)
			}
		case events.ConsentRequest:
			ar := &r.Agencies[e.Agency]
			ar.ConsentRequests++
			ar.ConsentUnanswered++
			consentAsked[ak{e.Agency, e.Item}] = t
		case events.ConsentGrant:
			r.Agencies[e.Agency].ConsentGranted++
		case events.ConsentRefuse:
			r.Agencies[e.Agency].ConsentRefused++
		case events.DeadlineMissed:
			d := DeadlineMissed{TSeconds: t, At: wall(t), Item: a.item(e.Item), Agency: a.agency(e.Agency),
				DeadlineSeconds: e.Value.Seconds(), Reached: int(e.Count)}
			if e.Agency >= 0 {
				r.Agencies[e.Agency].DeadlineMissedReply++
			} else if e.Item >= 0 {
				d.Audience = len(lg.Items[e.Item].Audience)
			}
			r.Deadlines = append(r.Deadlines, d)
		case events.LiveInject, events.Pause, events.Resume:
			r.Live = append(r.Live, LiveAction{TSeconds: t, At: wall(t), Action: e.Kind.String(), Item: a.item(e.Item)})
		case events.SkipInject, events.PostponeInject, events.FireInject, events.CutChannel, events.RestoreChannel, events.SetStaff:
			// What the facilitator changed shapes what followed: a cut
			// channel's outage, a desk's staff, an inject's time.
			d, _ := events.ActionDefOf(&e.Event)
			if e.Kind == events.FireInject && d.Trigger {
				continue // the run fired a conditional inject itself
			}
			l := LiveAction{TSeconds: t, At: wall(t), Action: e.Kind.String(), Item: string(d.ID)}
			switch e.Kind {
			case events.PostponeInject:
				if d.AtSeconds != nil {
					l.Detail = "to " + wall(d.PostponedTo(e.T).Seconds())
				}
			case events.CutChannel, events.RestoreChannel:
				l.Detail = string(d.Channel)
			case events.SetStaff:
				if d.Staff != nil {
					l.Detail = fmt.Sprintf("%s to %d", d.Agency, *d.Staff)
				}
			}
			r.Live = append(r.Live, l)
		}
	}
	for k, t0 := range consentAsked { // never answered: waited until the end
		r.Agencies[k.agency].ConsentWaitSeconds += end - t0
	}
	for i := range r.Agencies {
		ar := &r.Agencies[i]
		ar.HoldSeconds, ar.QueueSeconds = events.Round3(ar.HoldSeconds), events.Round3(ar.QueueSeconds)
		ar.ConsentWaitSeconds = events.Round3(ar.ConsentWaitSeconds)
	}

	// Items: reach (the summary's), paths, the critical learner.
	for i, desc := range lg.Items {
		s := &sum.Items[i]
		if string(s.ID) != desc.ID {
			return nil, fmt.Errorf("report: item %d is %s in the log and %s in its summary", i, desc.ID, s.ID)
		}
		// The summary's time of the inject: a facilitator may have
		// postponed or fired it away from the time the header plans.
		injected := desc.AtSeconds
		if s.Status == "" {
			injected = s.InjectedAt.Seconds()
		}
		ir := ItemReport{ID: desc.ID, Live: i >= len(info.Items), Summary: desc.Summary, Type: desc.Type, TLP: desc.TLP,
			OriginatorControl: desc.OriginatorControl, Originator: desc.Originator, To: desc.To,
			AtSeconds: injected, At: wall(injected), Audience: desc.Audience,
			DeadlineSeconds: desc.DeadlineSeconds, Reached: s.Reached, TimeToReachSeconds: s.TimeToReachSeconds,
			DeadlineMet: s.DeadlineMet, Curve: []ReachPoint{{0, 0}}, Learned: []Learning{}, NeverLearned: []string{},
			Objective: strings.TrimSpace(desc.Objective), Expected: strings.TrimSpace(desc.Expected)}
		for j, x := range s.Learned {
			ir.Curve = append(ir.Curve, ReachPoint{x, j + 1})
		}
		if d := desc.DeadlineSeconds; d != nil {
			n := s.ReachedWithin(*d)
			ir.ReachedAtDeadline = &n
		}
		inAud := map[string]bool{}
		for _, m := range desc.Audience {
			inAud[m] = true
		}
		var critical *Learning
		for _, k := range knowOrder {
			if k.Item != int32(i) {
				continue
			}
			ag := a.agency(k.Agency)
			l := Learning{Item: desc.ID, Agency: ag, InAudience: inAud[ag], TSeconds: k.T.Seconds(),
				At: wall(k.T.Seconds()), SinceInject: events.Round3(k.T.Seconds() - injected)}
			l.Path, l.Segments = a.path(k)
			for i := range l.Segments {
				if l.Slowest == nil || l.Segments[i].Seconds > l.Slowest.Seconds {
					l.Slowest = &l.Segments[i]
				}
			}
			ir.Learned = append(ir.Learned, l)
		}
		for i := range ir.Learned {
			if ir.Learned[i].InAudience {
				critical = &ir.Learned[i]
			}
		}
		for _, m := range desc.Audience {
			if !slices.ContainsFunc(ir.Learned, func(l Learning) bool { return l.Agency == m }) {
				ir.NeverLearned = append(ir.NeverLearned, m)
			}
		}
		if critical != nil {
			ir.Critical = critical.Agency
			ir.Slowest = critical.Slowest
		}
		r.Items = append(r.Items, ir)
		r.Timeline = append(r.Timeline, ir.Learned...)
	}
	slices.SortStableFunc(r.Timeline, func(x, y Learning) int { return cmp.Compare(x.TSeconds, y.TSeconds) })
	for i := range r.Items {
		rateItem(r, &r.Items[i])
	}
	r.Findings = findings(r)
	r.objectives(lg)
	r.summarise()
	return r, nil
}

// wall writes a simulated time as the scenario's calendar shows it.
func (r *Report) wall(sec float64) string {
	return r.at(sec).Format("Mon 2 Jan 2006 15:04 MST")
}

// at is the calendar instant of a simulated time.
func (r *Report) at(sec float64) time.Time {
	return r.start.Add(time.Duration(liaison.FromSeconds(sec)) * time.Millisecond).In(r.loc)
}

// path reconstructs how the agency of know event k learned its item:
// know → msg → send → cause → … back to the inject, and charges the time
// in between to agencies (hold, queue, handling, and fan-out: the sender
// drafting the share's earlier messages before this one left) and to
// channels (outage: waiting for the channel to come back; transit: its
// latency). A stretch spent on consent messages is charged to the item's
// originator.
func (a *analyzer) path(k *events.Record) ([]Hop, []Segment) {
	var hops []Hop
	var segs []Segment
	add := func(s Segment) {
		if s.Seconds > 0.0005 {
			s.Seconds = events.Round3(s.Seconds)
			segs = append(segs, s)
		}
	}
	orig := a.items[k.Item].Originator
	// waitAt charges the wait of work w (arrived at arrive, started at hs)
	// at agency ag.
	waitAt := func(ag string, w workKey, arrive, hs float64, consent bool) {
		key := a.key(w)
		hold := 0.0
		if h := a.hold[w]; h != nil {
			hold = min(h.Value.Seconds(), hs) - h.T.Seconds()
		}
		if consent {
			add(Segment{Kind: SegConsent, Agency: orig, Msg: key, Start: arrive, Seconds: hs - arrive})
			return
		}
		add(Segment{Kind: SegHold, Agency: ag, Msg: key, Start: arrive, Seconds: hold})
		add(Segment{Kind: SegQueue, Agency: ag, Msg: key, Start: arrive + hold, Seconds: hs - arrive - hold})
	}
	if k.MsgFrom < 0 { // the inject's own recipient
		w := workOf(&k.Event)
		if inj := a.start[w]; inj != nil {
			t := inj.T.Seconds()
			waitAt(a.agency(k.Agency), w, t-inj.Value.Seconds(), t, false)
		}
		return []Hop{}, reverse(segs)
	}
	cur := msgOf(&k.Event)
	for guard := 0; cur.from >= 0 && guard < 10000; guard++ {
		s, d, h := a.sends[cur], a.deliver[cur], a.start[workKey{msg: cur, item: -1, agency: -1}]
		if s == nil || d == nil || h == nil {
			break // a log cut short; keep what is known
		}
		st, dt := s.T.Seconds(), d.T.Seconds()
		typ, ch := a.typ(s.Type), a.channel(d.Channel)
		consent := consentTypes[typ]
		hops = append(hops, Hop{Msg: a.msgID(cur), Type: typ, From: a.agency(s.Agency), To: a.agency(d.Agency),
			Channel: ch, Sent: st, Delivered: dt, Started: h.T.Seconds()})
		waitAt(a.agency(d.Agency), workKey{msg: cur, item: -1, agency: -1}, dt, h.T.Seconds(), consent)
		if consent {
			add(Segment{Kind: SegConsent, Agency: orig, Channel: ch, Msg: a.msgID(cur), Start: st, Seconds: dt - st})
		} else {
			// The send is logged when the sender decides; the message
			// leaves after its fan-out delay and any outage of the
			// channel, then takes the channel's latency.
			fanout, outage := s.Value.Seconds(), d.OutageWait.Seconds()
			add(Segment{Kind: SegTransit, Channel: ch, Msg: a.msgID(cur), Start: st + fanout + outage, Seconds: dt - st - fanout - outage})
			add(Segment{Kind: SegOutage, Channel: ch, Msg: a.msgID(cur), Start: st + fanout, Seconds: outage})
			add(Segment{Kind: SegFanout, Agency: a.agency(s.Agency), Channel: ch, Msg: a.msgID(cur), Start: st, Seconds: fanout})
		}
		cause := msgKey{s.CauseFrom, s.CauseSeq}
		w := workKey{msg: cause, item: -1, agency: -1}
		if cause.from < 0 {
			w = injectWork(s.Item, s.Agency)
		}
		hs := a.start[w]
		if hs == nil {
			break
		}
		hst := hs.T.Seconds()
		if c := a.sends[cause]; cause.from >= 0 && c != nil && consentTypes[a.typ(c.Type)] {
			add(Segment{Kind: SegConsent, Agency: orig, Msg: a.key(w), Start: hst, Seconds: st - hst})
		} else if due := a.due[w]; due != nil && due.T.Seconds() >= hst && due.T.Seconds() <= st {
			// A player's agency handled it, then waited for its player.
			dt := due.T.Seconds()
			add(Segment{Kind: SegDecision, Agency: a.agency(s.Agency), Msg: a.key(w), Start: dt, Seconds: st - dt})
			add(Segment{Kind: SegHandling, Agency: a.agency(s.Agency), Msg: a.key(w), Start: hst, Seconds: dt - hst})
		} else {
			add(Segment{Kind: SegHandling, Agency: a.agency(s.Agency), Msg: a.key(w), Start: hst, Seconds: st - hst})
		}
		if cause.from < 0 {
			waitAt(a.agency(s.Agency), w, hst-hs.Value.Seconds(), hst, false)
		}
		cur = cause
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

// withholding returns what a player's decision (a decided event) kept from
// agencies that the rules proposed, or nil: the agencies its rules would
// have passed the item to and the player did not.
func (r *Report) withholding(a *analyzer, e *events.Record) *withholding {
	d, ok := events.DecidedOf(&e.Event)
	due := a.due[workOf(&e.Event)]
	if !ok || d.By != "player" || e.Item < 0 || due == nil {
		return nil
	}
	p, ok := events.DecisionDueOf(&due.Event)
	if !ok {
		return nil
	}
	var proposed []string
	for _, x := range p.Proposal {
		if x.Action == events.ChooseShare || x.Action == "send" {
			for _, to := range x.To {
				if !slices.Contains(proposed, string(to)) {
					proposed = append(proposed, string(to))
				}
			}
		}
	}
	if d.Action == events.ChooseRules {
		return nil
	}
	w := &withholding{item: a.item(e.Item), agency: a.agency(e.Agency), at: e.T.Seconds()}
	for _, to := range proposed {
		if !(d.Action == events.ChooseShare && slices.Contains(d.To, liaison.AgencyID(to))) {
			w.from = append(w.from, to)
		}
	}
	if len(w.from) == 0 {
		return nil
	}
	return w
}
