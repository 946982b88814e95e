// Package metrics exposes a run as Prometheus metrics: a Collector fed by
// the run's event stream keeps counters, gauges and histograms in a registry
// of its own (one per run, never the global one), for a live /metrics
// endpoint or for an OpenMetrics file sampled on the scenario's calendar.
// All times are seconds of simulated time. This is the one package that
// imports client_golang; names.go is the one place that names every metric.
package metrics

import (
	"strings"

	"liaison/events"
)

// The metric names. Dashboards and tests refer to these; Specs describes
// each one.
const (
	RunInfo             = "liaison_run_info"
	SimTime             = "liaison_sim_time_seconds"
	MessagesSent        = "liaison_messages_sent_total"
	MessagesDelivered   = "liaison_messages_delivered_total"
	MessagesDropped     = "liaison_messages_dropped_total"
	MessagesRejected    = "liaison_messages_rejected_total"
	DeliveryLatency     = "liaison_delivery_latency_seconds"
	QueueWait           = "liaison_queue_wait_seconds"
	QueueDepth          = "liaison_queue_depth"
	Holds               = "liaison_holds_total"
	Handled             = "liaison_messages_handled_total"
	ItemsKnown          = "liaison_agency_items_known"
	Knows               = "liaison_agency_knows"
	TimeToKnow          = "liaison_time_to_know_seconds"
	InjectAt            = "liaison_inject_time_seconds"
	InjectDeadline      = "liaison_inject_deadline_seconds"
	InjectAudience      = "liaison_inject_audience"
	InjectReach         = "liaison_inject_reach"
	InjectTimeToReach   = "liaison_inject_time_to_reach_seconds"
	DeadlinesMissed     = "liaison_deadlines_missed_total"
	ConsentRequests     = "liaison_consent_requests_total"
	ConsentAnswers      = "liaison_consent_answers_total"
	NATSAsyncErrors     = "liaison_nats_async_errors_total"
	labelChannel        = "channel"
	labelType           = "type"
	labelReason         = "reason"
	labelAgency         = "agency"
	labelInject         = "inject"
	labelAnswer         = "answer"
	labelKind           = "kind"
	labelScenario       = "scenario"
	labelVariant        = "variant"
	labelSeed           = "seed"
	labelDeadlineSource = "source"
)

// NoChannel is the channel label of messages that never reached a channel
// (dropped with reason no_route, tlp, consent_refused before leaving).
const NoChannel = "none"

// NoType is the type label of messages without a known type, and of the
// zero series that drops start with (see Collector.Start).
const NoType = "none"

// Type is a metric's Prometheus type.
type Type string

// The metric types Liaison uses.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Spec describes one metric: its type, what it measures and its labels.
// Every label comes from a bounded set: the scenario's channels, agencies,
// message types and injects, the drop reasons, a few fixed words.
type Spec struct {
	Name   string
	Type   Type
	Help   string
	Labels []string
}

// Specs lists every metric of a run's registry.
var Specs = []Spec{
	{RunInfo, Gauge, "The run: scenario, variant and seed (always 1).", []string{labelScenario, labelVariant, labelSeed}},
	{SimTime, Gauge, "Simulated time since the start of the run, in seconds.", nil},
	{MessagesSent, Counter, "Messages sent, one per hop and recipient.", []string{labelChannel, labelType}},
	{MessagesDelivered, Counter, "Messages delivered to their recipient's queue.", []string{labelChannel, labelType}},
	{MessagesDropped, Counter, "Messages dropped, by reason (" + strings.Join(events.Reasons, ", ") + ").", []string{labelChannel, labelType, labelReason}},
	{MessagesRejected, Counter, "Arrivals refused because no agency sent them as they came (forged, altered, repeated or malformed), by the channel they claimed (none when unknown): not messages of the run.", []string{labelChannel}},
	{DeliveryLatency, Histogram, "Transit time of one hop on its channel (the channel's latency), in simulated seconds; the sender's fan-out time and any wait for an outage to end are not part of it.", []string{labelChannel}},
	{QueueWait, Histogram, "Time a message or inject waited in an agency's queue before staff started on it (office hours included), in simulated seconds.", []string{labelAgency}},
	{QueueDepth, Gauge, "Messages waiting in an agency's queue after its latest delivery or handling start.", []string{labelAgency}},
	{Holds, Counter, "Arrivals that found the agency's office closed and waited for it to open.", []string{labelAgency}},
	{Handled, Counter, "Messages and injects whose handling an agency finished.", []string{labelAgency}},
	{ItemsKnown, Gauge, "Items (injects) an agency knows.", []string{labelAgency}},
	{Knows, Gauge, "1 when the agency knows the inject's item, 0 while it does not.", []string{labelAgency, labelInject}},
	{TimeToKnow, Histogram, "Time from an inject to each audience member's first knowledge of it, in simulated seconds.", []string{labelInject}},
	{InjectAt, Gauge, "Simulated time of the inject, in seconds since the start.", []string{labelInject}},
	{InjectDeadline, Gauge, "Time the inject's audience has to learn it, in seconds after the inject.", []string{labelInject}},
	{InjectAudience, Gauge, "Agencies in the inject's audience.", []string{labelInject}},
	{InjectReach, Gauge, "Audience members that know the inject's item.", []string{labelInject}},
	{InjectTimeToReach, Gauge, "Time from the inject until its whole audience knew it, in seconds (absent until then).", []string{labelInject}},
	{DeadlinesMissed, Counter, "Deadlines missed: the audience's deadline, or a reply's (source audience or reply).", []string{labelInject, labelDeadlineSource}},
	{ConsentRequests, Counter, "Requests to the originator for consent to pass an item to a third party (third-party rule).", []string{labelInject}},
	{ConsentAnswers, Counter, "Originators' answers to consent requests (grant or refuse).", []string{labelInject, labelAnswer}},
	{NATSAsyncErrors, Counter, "Asynchronous errors on the run's NATS connections, by kind (slow_consumer, permission, other).", []string{labelKind}},
}

// SpecOf returns the spec of the metric with the given name (for histograms
// the base name, without _bucket, _sum or _count).
func SpecOf(name string) (Spec, bool) {
	for _, s := range Specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Buckets are the upper bounds of every duration histogram, in seconds:
// from a second to a week, since hops take minutes and office hours hold
// work over weekends. Sixteen bounds keep an OpenMetrics file of a long
// run to a manageable size.
var Buckets = []float64{
	1, 10, 30, 60, 120, 300, 600, 1800,
	3600, 2 * 3600, 4 * 3600, 8 * 3600,
	86400, 2 * 86400, 4 * 86400, 7 * 86400,
}
