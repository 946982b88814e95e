package metrics

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"liaison"
	"liaison/broker"
	"liaison/events"
	"liaison/sim"
)

// Collector keeps the metrics of one run. Attach it to a sim.Config; its
// Registry can be served (promhttp.HandlerFor) while the run goes on and
// after it ends. Observe runs on the recorder's goroutine; Gather may run on
// any goroutine at any time.
type Collector struct {
	reg *prometheus.Registry

	runInfo                    *prometheus.GaugeVec
	simTime                    prometheus.Gauge
	sent, delivered, dropped   *prometheus.CounterVec
	rejected                   *prometheus.CounterVec
	latency, wait, timeToKnow  *prometheus.HistogramVec
	depth, itemsKnown, knows   *prometheus.GaugeVec
	holds, handled             *prometheus.CounterVec
	injectAt, deadline         *prometheus.GaugeVec
	audience, reach, toReach   *prometheus.GaugeVec
	missed, consent, answers   *prometheus.CounterVec
	nats                       *natsErrors
	onSample                   func(t liaison.Time) // the OpenMetrics sampler, if any
	items                      []itemState          // by item index; grows with live injects
	agencyKnows                []int                // items known, by agency index
	msgCounters                map[msgKey]prometheus.Counter
	agencyLabels, channelLabel []string
}

type msgKey struct {
	kind                 events.Kind
	channel, typ, reason int32
}

type itemState struct {
	inAudience map[int32]bool
	known      map[int32]bool
	reach      int
}

// New returns a Collector with an empty registry of its own.
func New() *Collector {
	reg := prometheus.NewRegistry()
	c := &Collector{reg: reg, nats: &natsErrors{}, msgCounters: map[msgKey]prometheus.Counter{}}
	gauge := func(name string) *prometheus.GaugeVec {
		s := spec(name)
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: s.Name, Help: s.Help}, s.Labels)
		reg.MustRegister(v)
		return v
	}
	counter := func(name string) *prometheus.CounterVec {
		s := spec(name)
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: s.Name, Help: s.Help}, s.Labels)
		reg.MustRegister(v)
		return v
	}
	histogram := func(name string) *prometheus.HistogramVec {
		s := spec(name)
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: s.Name, Help: s.Help, Buckets: Buckets}, s.Labels)
		reg.MustRegister(v)
		return v
	}
	c.runInfo = gauge(RunInfo)
	c.simTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: SimTime, Help: spec(SimTime).Help})
	reg.MustRegister(c.simTime)
	c.sent, c.delivered, c.dropped = counter(MessagesSent), counter(MessagesDelivered), counter(MessagesDropped)
	c.rejected = counter(MessagesRejected)
	c.latency, c.wait, c.timeToKnow = histogram(DeliveryLatency), histogram(QueueWait), histogram(TimeToKnow)
	c.depth, c.itemsKnown, c.knows = gauge(QueueDepth), gauge(ItemsKnown), gauge(Knows)
	c.holds, c.handled = counter(Holds), counter(Handled)
	c.injectAt, c.deadline = gauge(InjectAt), gauge(InjectDeadline)
	c.audience, c.reach, c.toReach = gauge(InjectAudience), gauge(InjectReach), gauge(InjectTimeToReach)
	c.missed, c.consent, c.answers = counter(DeadlinesMissed), counter(ConsentRequests), counter(ConsentAnswers)
	reg.MustRegister(c.nats)
	return c
}

func spec(name string) Spec {
	s, ok := SpecOf(name)
	if !ok {
		panic("metrics: no spec for " + name)
	}
	return s
}

// Registry returns the run's registry, to serve or gather.
func (c *Collector) Registry() *prometheus.Registry { return c.reg }

// Attach adds the Collector's hooks to a run's configuration.
func (c *Collector) Attach(cfg *sim.Config) {
	cfg.OnStart = append(cfg.OnStart, c.Start)
	cfg.Observers = append(cfg.Observers, c.Observe)
}

// Start describes the run: it creates every series whose labels the header
// already knows (agencies, channels, injects), so that they read 0 rather
// than being absent until something happens, and it starts counting the NATS
// connections' asynchronous errors.
func (c *Collector) Start(s sim.Started) {
	info, n := s.Info, s.Names
	c.nats.set(s.Conns)
	c.runInfo.WithLabelValues(info.Scenario, info.Variant, strconv.FormatUint(info.Seed, 10)).Set(1)
	c.agencyLabels = make([]string, len(n.Agencies))
	c.agencyKnows = make([]int, len(n.Agencies))
	for i, a := range n.Agencies {
		id := string(a)
		c.agencyLabels[i] = id
		c.wait.WithLabelValues(id)
		c.depth.WithLabelValues(id).Set(0)
		c.holds.WithLabelValues(id)
		c.handled.WithLabelValues(id)
		c.itemsKnown.WithLabelValues(id).Set(0)
	}
	c.channelLabel = make([]string, len(n.Channels))
	for i, ch := range n.Channels {
		c.channelLabel[i] = string(ch)
		c.latency.WithLabelValues(string(ch))
	}
	// Message counters start at 0 for the labels known in advance, so that
	// a panel shows 0 rather than "No data" until the first message or
	// drop: sends and deliveries for every channel and message type (and
	// sends before any channel, channel none), drops for every channel
	// (and none) and reason. Drops are not multiplied by the types: that
	// would add hundreds of series of zeros to every OpenMetrics sample,
	// so their zero series carry type none, which no message type has.
	reasons := n.Reasons
	if len(reasons) == 0 {
		reasons = events.Reasons
	}
	for _, typ := range n.Types {
		for _, ch := range c.channelLabel {
			c.sent.WithLabelValues(ch, string(typ))
			c.delivered.WithLabelValues(ch, string(typ))
		}
		c.sent.WithLabelValues(NoChannel, string(typ))
	}
	for _, ch := range append(slices.Clone(c.channelLabel), NoChannel) {
		c.rejected.WithLabelValues(ch)
		for _, r := range reasons {
			c.dropped.WithLabelValues(ch, NoType, r)
		}
	}
	byID := map[string]*events.ItemDesc{}
	for i := range info.Items {
		byID[info.Items[i].ID] = &info.Items[i]
	}
	for i, id := range n.Items {
		if d := byID[string(id)]; d != nil {
			c.addItem(int32(i), d.AtSeconds, d.Audience, d.DeadlineSeconds, d.OriginatorControl, n)
		}
	}
}

// addItem creates the series of an inject's item and records its audience.
func (c *Collector) addItem(ix int32, at float64, audience []string, deadline *float64, control bool, n *events.Names) {
	st := c.item(ix)
	inj := itemLabel(ix, n)
	for _, a := range audience {
		if ai := agencyIndex(n, a); ai >= 0 {
			st.inAudience[ai] = true
		}
	}
	c.injectAt.WithLabelValues(inj).Set(at)
	c.audience.WithLabelValues(inj).Set(float64(len(st.inAudience)))
	c.reach.WithLabelValues(inj).Set(float64(st.reach))
	c.timeToKnow.WithLabelValues(inj)
	if deadline != nil {
		c.deadline.WithLabelValues(inj).Set(*deadline)
		c.missed.WithLabelValues(inj, "audience")
	}
	if control {
		c.consent.WithLabelValues(inj)
		c.answers.WithLabelValues(inj, "grant")
		c.answers.WithLabelValues(inj, "refuse")
	}
	for ai, a := range n.Agencies {
		if !st.known[int32(ai)] {
			c.knows.WithLabelValues(string(a), inj).Set(0)
		}
	}
}

// liveInject registers an inject a facilitator added during the run; the
// event carries its definition as JSON.
func (c *Collector) liveInject(e *events.Event, n *events.Names) {
	var d struct {
		Inject struct {
			Audience          []string `json:"audience"`
			DeadlineSeconds   float64  `json:"deadline_seconds"`
			OriginatorControl bool     `json:"originator_control"`
		} `json:"inject"`
	}
	raw := append(append([]byte{'{'}, e.Raw...), '}')
	if e.Item < 0 || json.Unmarshal(raw, &d) != nil {
		return
	}
	var deadline *float64
	if d.Inject.DeadlineSeconds > 0 {
		deadline = &d.Inject.DeadlineSeconds
	}
	c.addItem(e.Item, e.T.Seconds(), d.Inject.Audience, deadline, d.Inject.OriginatorControl, n)
}

func agencyIndex(n *events.Names, id string) int32 {
	for i, a := range n.Agencies {
		if string(a) == id {
			return int32(i)
		}
	}
	return -1
}

// item returns the state of an item, growing the table for items that live
// injects added during the run.
func (c *Collector) item(ix int32) *itemState {
	for int(ix) >= len(c.items) {
		c.items = append(c.items, itemState{inAudience: map[int32]bool{}, known: map[int32]bool{}})
	}
	return &c.items[ix]
}

func (c *Collector) agency(ix int32) string {
	if ix >= 0 && int(ix) < len(c.agencyLabels) {
		return c.agencyLabels[ix]
	}
	return "unknown"
}

// End sets simulated time to the run's end, which may come after its last
// event: a scrape after the run then shows how long it ran.
func (c *Collector) End(end liaison.Time) { c.simTime.Set(end.Seconds()) }

// Observe counts one event. It is a sim.Config observer: events arrive in
// log order on the recorder's goroutine.
func (c *Collector) Observe(e *events.Event, n *events.Names) {
	if c.onSample != nil {
		c.onSample(e.T)
	}
	c.simTime.Set(e.T.Seconds())
	switch e.Kind {
	case events.Send:
		// A send without a channel (no route, TLP, refused consent) is
		// counted here and again, with its reason, by the drop after it.
		c.messages(e, n).Inc()
	case events.Deliver:
		c.messages(e, n).Inc()
		c.latency.WithLabelValues(channelLabel(e.Channel, n)).Observe(e.Value.Seconds())
		c.depth.WithLabelValues(c.agency(e.Agency)).Set(float64(e.Count))
	case events.Drop:
		c.messages(e, n).Inc()
	case events.Reject:
		c.rejected.WithLabelValues(channelLabel(e.Channel, n)).Inc()
	case events.Hold:
		c.holds.WithLabelValues(c.agency(e.Agency)).Inc()
	case events.HandleStart:
		a := c.agency(e.Agency)
		c.wait.WithLabelValues(a).Observe(e.Value.Seconds())
		c.depth.WithLabelValues(a).Set(float64(e.Count))
	case events.HandleEnd:
		c.handled.WithLabelValues(c.agency(e.Agency)).Inc()
	case events.LiveInject:
		c.liveInject(e, n)
	case events.Know:
		c.know(e, n)
	case events.Reached:
		c.toReach.WithLabelValues(itemLabel(e.Item, n)).Set(e.Value.Seconds())
	case events.DeadlineMissed:
		src := "audience"
		if e.Agency >= 0 {
			src = "reply"
		}
		c.missed.WithLabelValues(itemLabel(e.Item, n), src).Inc()
	case events.ConsentRequest:
		c.consent.WithLabelValues(itemLabel(e.Item, n)).Inc()
	case events.ConsentGrant:
		c.answers.WithLabelValues(itemLabel(e.Item, n), "grant").Inc()
	case events.ConsentRefuse:
		c.answers.WithLabelValues(itemLabel(e.Item, n), "refuse").Inc()
	}
}

func (c *Collector) know(e *events.Event, n *events.Names) {
	if e.Item < 0 {
		return
	}
	inj := itemLabel(e.Item, n)
	a := c.agency(e.Agency)
	c.knows.WithLabelValues(a, inj).Set(1)
	if e.Agency >= 0 && int(e.Agency) < len(c.agencyKnows) {
		c.agencyKnows[e.Agency]++
		c.itemsKnown.WithLabelValues(a).Set(float64(c.agencyKnows[e.Agency]))
	}
	st := c.item(e.Item)
	if !st.inAudience[e.Agency] || st.known[e.Agency] {
		return
	}
	st.known[e.Agency] = true
	st.reach++
	c.reach.WithLabelValues(inj).Set(float64(st.reach))
	c.timeToKnow.WithLabelValues(inj).Observe(e.Value.Seconds())
}

// messages returns the counter of sends, deliveries or drops of e's channel,
// type (and reason), kept so that the hot path hashes no label values.
func (c *Collector) messages(e *events.Event, n *events.Names) prometheus.Counter {
	k := msgKey{kind: e.Kind, channel: e.Channel, typ: e.Type, reason: -1}
	if e.Kind == events.Drop {
		k.reason = e.Reason
	}
	if ctr, ok := c.msgCounters[k]; ok {
		return ctr
	}
	ch, typ := channelLabel(e.Channel, n), typeLabel(e.Type, n)
	var ctr prometheus.Counter
	switch e.Kind {
	case events.Send:
		ctr = c.sent.WithLabelValues(ch, typ)
	case events.Deliver:
		ctr = c.delivered.WithLabelValues(ch, typ)
	default:
		reason := "unknown"
		if e.Reason >= 0 && int(e.Reason) < len(n.Reasons) {
			reason = n.Reasons[e.Reason]
		}
		ctr = c.dropped.WithLabelValues(ch, typ, reason)
	}
	c.msgCounters[k] = ctr
	return ctr
}

func channelLabel(ix int32, n *events.Names) string {
	if ix >= 0 && int(ix) < len(n.Channels) {
		return string(n.Channels[ix])
	}
	return NoChannel
}

func typeLabel(ix int32, n *events.Names) string {
	if ix >= 0 && int(ix) < len(n.Types) {
		return string(n.Types[ix])
	}
	return NoType
}

func itemLabel(ix int32, n *events.Names) string {
	if ix >= 0 && int(ix) < len(n.Items) {
		return string(n.Items[ix])
	}
	return "none"
}

// natsErrors reports the asynchronous error counts of the run's NATS
// connections, read when gathered.
type natsErrors struct {
	mu    sync.Mutex
	conns []*broker.Conn
}

var natsErrorsDesc = prometheus.NewDesc(NATSAsyncErrors, spec(NATSAsyncErrors).Help, spec(NATSAsyncErrors).Labels, nil)

func (ne *natsErrors) set(conns []*broker.Conn) {
	ne.mu.Lock()
	ne.conns = append([]*broker.Conn(nil), conns...)
	ne.mu.Unlock()
}

func (ne *natsErrors) Describe(ch chan<- *prometheus.Desc) { ch <- natsErrorsDesc }

func (ne *natsErrors) Collect(ch chan<- prometheus.Metric) {
	ne.mu.Lock()
	var slow, perm, other int64
	for _, c := range ne.conns {
		slow += c.Errors.SlowConsumer.Load()
		perm += c.Errors.Permission.Load()
		other += c.Errors.Other.Load()
	}
	ne.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(natsErrorsDesc, prometheus.CounterValue, float64(slow), "slow_consumer")
	ch <- prometheus.MustNewConstMetric(natsErrorsDesc, prometheus.CounterValue, float64(perm), "permission")
	ch <- prometheus.MustNewConstMetric(natsErrorsDesc, prometheus.CounterValue, float64(other), "other")
}
