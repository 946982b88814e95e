// Package liaison holds the vocabulary of the Liaison simulator: the names
// of the things that scenarios, agents, the broker and the event log talk
// about. Implementations live in their own packages (scenarios, agents,
// broker, events); this package imports nothing of theirs, so every other
// package may import it.
package liaison

import (
	"math"
	"strconv"
	"time"
)

// AgencyID names an agency in a scenario, e.g. "dk.pet" or "se.sapo".
// Lower-case letters, digits, '-' and '_', in dot-separated segments; the
// first segment is conventionally the country code.
type AgencyID string

// ChannelID names a channel in a scenario, e.g. "ctg" or "siena". A single
// NATS subject token: no dots.
type ChannelID string

// ItemID names an item of information. Every inject starts one item; every
// message that carries it (shares, replies, consent requests) names it.
type ItemID string

// MessageType is a scenario's name for a kind of message, e.g.
// "threat-warning" or "sirene-G". Rules react to types.
type MessageType string

// Time is simulated time since the start of a run, in milliseconds. All
// delays are drawn to the millisecond, so event times print exactly and two
// runs compare byte for byte.
type Time int64

// Never is the time of something that will not happen.
const Never Time = 1<<63 - 1

// Millisecond and friends express durations in simulated Time.
const (
	Millisecond Time = 1
	Second           = 1000 * Millisecond
	Minute           = 60 * Second
	Hour             = 60 * Minute
	Day              = 24 * Hour
)

// FromDuration converts a wall-clock style duration to simulated Time,
// rounding up to the next millisecond so that a positive duration never
// becomes zero.
func FromDuration(d time.Duration) Time {
	if d <= 0 {
		return 0
	}
	return Time((d + time.Millisecond - 1) / time.Millisecond)
}

// Duration converts simulated Time to a time.Duration.
func (t Time) Duration() time.Duration { return time.Duration(t) * time.Millisecond }

// Plural writes a count with its noun, for messages a person reads:
// "1 inject", "3 injects".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// FromSeconds is the simulated time of a figure in seconds (as the event
// log and reports give them), to the nearest millisecond.
func FromSeconds(s float64) Time { return Time(math.Round(s * 1000)) }

// Seconds returns t in seconds, the unit of every figure Liaison reports.
func (t Time) Seconds() float64 { return float64(t) / 1000 }

// String formats t as seconds with up to three decimals ("12.5"), the same
// form the event log uses.
func (t Time) String() string { return FormatSeconds(t) }

// FormatSeconds formats t as seconds with no trailing zeros. It is exact:
// Time has millisecond resolution.
func FormatSeconds(t Time) string {
	neg := t < 0
	if neg {
		t = -t
	}
	s := strconv.FormatInt(int64(t/1000), 10)
	if ms := int64(t % 1000); ms != 0 {
		frac := strconv.FormatInt(1000+ms, 10)[1:] // zero-padded to 3 digits
		for frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// TLP is a Traffic Light Protocol 2.0 level. It limits who may receive an
// item once it has left its originator.
type TLP uint8

// The TLP 2.0 levels, from least to most restrictive.
const (
	TLPClear TLP = iota
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

var tlpNames = [...]string{"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"}

// String returns the TLP 2.0 name of the level, e.g. "AMBER+STRICT".
func (l TLP) String() string {
	if int(l) < len(tlpNames) {
		return tlpNames[l]
	}
	return "TLP(" + strconv.Itoa(int(l)) + ")"
}

// TLPNames lists the level names in order, for error messages and schemas.
func TLPNames() []string { return append([]string(nil), tlpNames[:]...) }

// ParseTLP reads a level name, case-insensitively, with or without a "TLP:"
// prefix; "WHITE" is accepted as the TLP 1.0 name of CLEAR.
func ParseTLP(s string) (TLP, bool) {
	u := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		u = append(u, c)
	}
	name := string(u)
	if len(name) > 4 && name[:4] == "TLP:" {
		name = name[4:]
	}
	if name == "WHITE" {
		return TLPClear, true
	}
	for i, n := range tlpNames {
		if n == name {
			return TLP(i), true
		}
	}
	return 0, false
}

// Drop reasons: why a message did not reach its recipient. Every reason a
// run can report is listed here, so that reports and metrics use one bounded
// set of labels.
const (
	DropNoRoute        = "no_route"         // no channel joins sender and recipient
	DropTLP            = "tlp"              // the item's TLP level forbids this recipient
	DropConsentRefuse  = "consent_refused"  // the originator refused the release to this recipient
	DropRunEnd         = "run_end"          // still in transit when the run ended
	DropPermission     = "permission"       // the NATS server refused the publish
	DropPublish        = "publish_error"    // the publish failed for another reason
	DropNoConsentRoute = "no_consent_route" // a channel joins them, but the release needs a consent no channel can ask the originator for
)
