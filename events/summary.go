package events

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"liaison"
)

// Summary is what a run tells its user at the end: message accounting, the
// reach of every item against its deadline, and how channels and agencies
// performed. All times are seconds of simulated time.
type Summary struct {
	Scenario   string           `json:"scenario"`
	Title      string           `json:"title"`
	Seed       uint64           `json:"seed"`
	Variant    string           `json:"variant"`
	EndSeconds float64          `json:"end_seconds"`
	Messages   MessageCounts    `json:"messages"`
	Items      []ItemSummary    `json:"items"`
	Channels   []ChannelSummary `json:"channels"`
	Agencies   []AgencySummary  `json:"agencies"`
}

// MessageCounts is the run's accounting: Sent = Delivered + Dropped.
type MessageCounts struct {
	Sent      int64            `json:"sent"`
	Delivered int64            `json:"delivered"`
	Dropped   int64            `json:"dropped"`
	DroppedBy map[string]int64 `json:"dropped_by_reason"`
	// Rejected counts arrivals refused because no agency sent them as
	// they came (forged, altered, repeated or malformed): not messages of
	// the run, so outside Sent = Delivered + Dropped.
	Rejected int64 `json:"rejected"`
}

// ItemSummary is the reach of one item.
type ItemSummary struct {
	ID                 liaison.ItemID     `json:"id"`
	Audience           []liaison.AgencyID `json:"audience"`
	Reached            int                `json:"reached"`
	TimeToReachSeconds *float64           `json:"time_to_reach_seconds"`
	DeadlineSeconds    *float64           `json:"deadline_seconds"`
	DeadlineMet        *bool              `json:"deadline_met"`
	Knowers            int                `json:"knowers"`
	// Status is "skipped" (a facilitator skipped it) or "not fired" (a
	// contingency inject nobody fired); empty for an item that was
	// injected. Neither has a reach to measure.
	Status string `json:"status,omitempty"`
	// Learned is the reach curve: the seconds since the inject at which
	// each audience member that learned the item learned it, in order
	// (len(Learned) == Reached). Reports and comparisons draw it.
	Learned []float64 `json:"-"`
	// InjectedAt is when the item was injected, after any postpone or
	// fire (meaningful only with an empty Status): the time Learned and
	// TimeToReachSeconds count from.
	InjectedAt liaison.Time `json:"-"`
}

// ReachedWithin returns how many audience members knew the item within sec
// seconds of the inject (at the deadline, when sec is the deadline).
func (it *ItemSummary) ReachedWithin(sec float64) int {
	n := 0
	for n < len(it.Learned) && it.Learned[n] <= sec {
		n++
	}
	return n
}

// ChannelSummary is one channel's traffic and hop latency.
type ChannelSummary struct {
	ID                liaison.ChannelID `json:"id"`
	Messages          int64             `json:"messages"`
	LatencyMeanSecond float64           `json:"latency_mean_seconds"`
	LatencyP50Seconds float64           `json:"latency_p50_seconds"`
	LatencyP95Seconds float64           `json:"latency_p95_seconds"`
	// Waits for the channel to come back from an outage, which latency
	// leaves out: how many deliveries waited, and for how long in all.
	OutageWaits       int64   `json:"outage_waits"`
	OutageWaitSeconds float64 `json:"outage_wait_seconds"`
}

// AgencySummary is one agency's workload.
type AgencySummary struct {
	ID              liaison.AgencyID `json:"id"`
	Handled         int64            `json:"handled"`
	MaxQueue        int              `json:"max_queue"`
	MeanWaitSeconds float64          `json:"mean_wait_seconds"`
	Held            int64            `json:"held"`
	Knows           int              `json:"knows"`
	// Unfinished is the work (messages delivered, injects) that had
	// reached the agency but was not handled when the run ended: still
	// queued, held for office hours, or in hand. Where it is high,
	// information got stuck.
	Unfinished int64 `json:"unfinished"`
}

// aggregate accumulates the summary's figures event by event.
type aggregate struct {
	names                    *Names
	sent, delivered, dropped int64
	rejected                 int64
	droppedBy                []int64
	chanMsgs                 []int64
	chanLat                  []Sketch
	chanOutages              []int64
	chanOutageWait           []liaison.Time
	handled, held            []int64
	arrived                  []int64 // deliveries and injects, by agency
	maxQueue                 []int
	waitSum                  []float64
	waitN                    []int64
	knows                    []int
	itemKnowers              map[int32]int
	firstKnow                map[[2]int32]liaison.Time // (item, agency) → when it first knew
}

func (a *aggregate) init(n *Names) {
	a.names = n
	a.droppedBy = make([]int64, len(n.Reasons))
	a.chanMsgs = make([]int64, len(n.Channels))
	a.chanLat = make([]Sketch, len(n.Channels))
	a.chanOutages, a.chanOutageWait = make([]int64, len(n.Channels)), make([]liaison.Time, len(n.Channels))
	na := len(n.Agencies)
	a.handled, a.held, a.arrived = make([]int64, na), make([]int64, na), make([]int64, na)
	a.maxQueue, a.knows = make([]int, na), make([]int, na)
	a.waitSum, a.waitN = make([]float64, na), make([]int64, na)
	a.itemKnowers = map[int32]int{}
	a.firstKnow = map[[2]int32]liaison.Time{}
}

func (a *aggregate) add(e *Event) {
	switch e.Kind {
	case Send:
		a.sent++
		if e.Channel >= 0 {
			a.chanMsgs[e.Channel]++
		}
	case Deliver:
		a.delivered++
		if e.Channel >= 0 {
			a.chanLat[e.Channel].Add(e.Value)
			if e.OutageWait > 0 {
				a.chanOutages[e.Channel]++
				a.chanOutageWait[e.Channel] += e.OutageWait
			}
		}
		if int(e.Count) > a.maxQueue[e.Agency] {
			a.maxQueue[e.Agency] = int(e.Count)
		}
		a.arrived[e.Agency]++
	case Drop:
		a.dropped++
		a.droppedBy[e.Reason]++
	case Reject:
		a.rejected++
	case Inject:
		a.arrived[e.Agency]++
	case Hold:
		a.held[e.Agency]++
	case HandleStart:
		a.waitSum[e.Agency] += float64(e.Value)
		a.waitN[e.Agency]++
	case HandleEnd:
		a.handled[e.Agency]++
	case Know:
		a.knows[e.Agency]++
		a.itemKnowers[e.Item]++
		if k := [2]int32{e.Item, e.Agency}; e.Item >= 0 {
			if _, ok := a.firstKnow[k]; !ok {
				a.firstKnow[k] = e.T
			}
		}
	}
}

func seconds(t liaison.Time) *float64 {
	s := t.Seconds()
	return &s
}

func (r *Recorder) summary(end liaison.Time) *Summary {
	a := &r.agg
	s := &Summary{
		Scenario: r.hdr.Scenario, Title: r.hdr.Title, Seed: r.hdr.Seed, Variant: r.hdr.Variant,
		Messages: MessageCounts{Sent: a.sent, Delivered: a.delivered, Dropped: a.dropped, Rejected: a.rejected,
			DroppedBy: map[string]int64{}},
		Items: []ItemSummary{}, Channels: []ChannelSummary{}, Agencies: []AgencySummary{},
	}
	s.EndSeconds = end.Seconds()
	for i, n := range a.droppedBy {
		if n > 0 {
			s.Messages.DroppedBy[r.names.Reasons[i]] = n
		}
	}
	for i := range r.items {
		st := &r.items[i]
		is := ItemSummary{ID: st.info.ID, Reached: st.reached, Audience: []liaison.AgencyID{},
			Knowers: a.itemKnowers[int32(i)], Learned: []float64{}, InjectedAt: st.info.At}
		for _, ag := range st.info.Audience {
			is.Audience = append(is.Audience, r.names.Agencies[ag])
		}
		for ag := range st.inAud {
			if t, ok := a.firstKnow[[2]int32{int32(i), ag}]; ok {
				is.Learned = append(is.Learned, (t - st.info.At).Seconds())
			}
		}
		slices.Sort(is.Learned)
		if st.reachAt != liaison.Never {
			is.TimeToReachSeconds = seconds(st.reachAt - st.info.At)
		}
		switch {
		case st.skipped:
			is.Status = "skipped"
		case st.info.Manual:
			is.Status = "not fired"
		}
		if st.info.Deadline > 0 {
			is.DeadlineSeconds = seconds(st.info.Deadline)
			if is.Status == "" {
				met := st.reachAt != liaison.Never && st.reachAt-st.info.At <= st.info.Deadline
				is.DeadlineMet = &met
			}
		}
		s.Items = append(s.Items, is)
	}
	for i, id := range r.names.Channels {
		sk := &a.chanLat[i]
		q := sk.Quantiles(0.5, 0.95)
		s.Channels = append(s.Channels, ChannelSummary{ID: id, Messages: a.chanMsgs[i],
			LatencyMeanSecond: Round3(sk.Mean() / 1000),
			LatencyP50Seconds: q[0].Seconds(), LatencyP95Seconds: q[1].Seconds(),
			OutageWaits: a.chanOutages[i], OutageWaitSeconds: a.chanOutageWait[i].Seconds()})
	}
	for i, id := range r.names.Agencies {
		as := AgencySummary{ID: id, Handled: a.handled[i], MaxQueue: a.maxQueue[i], Held: a.held[i],
			Knows: a.knows[i], Unfinished: a.arrived[i] - a.handled[i]}
		if a.waitN[i] > 0 {
			as.MeanWaitSeconds = Round3(a.waitSum[i] / float64(a.waitN[i]) / 1000)
		}
		s.Agencies = append(s.Agencies, as)
	}
	return s
}

// Round3 rounds to milliseconds (in seconds), so that means print the same
// on every machine and stay readable; reports round their figures alike.
func Round3(x float64) float64 {
	if x < 0 {
		return -Round3(-x)
	}
	return float64(int64(x*1000+0.5)) / 1000
}

// WriteTable prints the summary for a person at a terminal.
func (s *Summary) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", s.Scenario, s.Title)
	v := s.Variant
	if v == "" {
		v = "(base)"
	}
	fmt.Fprintf(&b, "seed %d, variant %s, ended at %s simulated\n\n", s.Seed, v, Human(s.EndSeconds))
	m := s.Messages
	fmt.Fprintf(&b, "messages: %d sent, %d delivered, %d dropped", m.Sent, m.Delivered, m.Dropped)
	for _, r := range Reasons {
		if n := m.DroppedBy[r]; n > 0 {
			fmt.Fprintf(&b, " (%s %d)", r, n)
		}
	}
	if m.Rejected > 0 {
		fmt.Fprintf(&b, "; %d refused on arrival (no agency sent them so)", m.Rejected)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if len(s.Items) > 0 {
		fmt.Fprintln(tw, "ITEM\tREACHED\tTIME TO REACH\tDEADLINE\tMET")
		for _, it := range s.Items {
			ttr, dl, met := "never", "-", "-"
			if it.TimeToReachSeconds != nil {
				ttr = Human(*it.TimeToReachSeconds)
			}
			if it.DeadlineSeconds != nil {
				dl = Human(*it.DeadlineSeconds)
			}
			switch {
			case it.Status != "":
				ttr, met = "-", it.Status
			case it.DeadlineMet != nil && *it.DeadlineMet:
				met = "yes"
			case it.DeadlineMet != nil:
				met = "no"
			}
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\n", it.ID, it.Reached, len(it.Audience), ttr, dl, met)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "CHANNEL\tMESSAGES\tLATENCY P50\tP95")
	for _, c := range s.Channels {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.ID, c.Messages, Human(c.LatencyP50Seconds), Human(c.LatencyP95Seconds))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "AGENCY\tHANDLED\tMAX QUEUE\tMEAN WAIT\tHELD\tUNFINISHED")
	for _, a := range s.Agencies {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\n", a.ID, a.Handled, a.MaxQueue, Human(a.MeanWaitSeconds), a.Held, a.Unfinished)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Human formats seconds as a short duration, as the summary table and the
// reports show them: 45s, 12m30s, 6h05m, 2d03h.
func Human(sec float64) string {
	if sec < 0 {
		return "-" + Human(-sec)
	}
	t := int64(sec + 0.5)
	switch {
	case sec == 0:
		return "0s"
	case sec < 60:
		return fmt.Sprintf("%.3gs", sec)
	case t < 3600:
		return fmt.Sprintf("%dm%02ds", t/60, t%60)
	case t < 86400:
		return fmt.Sprintf("%dh%02dm", t/3600, t%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", t/86400, t%86400/3600)
}
