package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

// Bounds on what an action may say.
const (
	maxStaff      = 10000
	maxObjective  = 500
	maxTypeLength = 100
)

// check refuses an action that the console can tell is wrong, with a
// sentence that says why, and describes one it lets through. The run
// checks again: it has the last word. Callers hold mu.
func (c *Console) check(s Seat, kind string, d *events.ActionDef) (string, *apiError) {
	st := c.st
	id, ch, agid := string(d.ID), string(d.Channel), string(d.Agency)
	if kind == broker.ActionDecision {
		if s.Role != "player" {
			return "", errorf(http.StatusForbidden, "only a player decides for an agency; the facilitator's link cannot")
		}
		return c.checkDecision(s.Agency, d)
	}
	if s.Role != "facilitator" {
		return "", errorf(http.StatusForbidden, "this is the facilitator's action; a player's link cannot take it")
	}
	now := c.now()
	switch kind {
	case broker.ActionPause:
		if c.paused {
			return "", errorf(http.StatusConflict, "the run is already paused, since %s", clockText(c.pausedAt))
		}
		return "paused", nil
	case broker.ActionResume:
		if !c.paused {
			return "", errorf(http.StatusConflict, "the run is not paused")
		}
		return "resumed", nil
	case broker.ActionSkip, broker.ActionPostpone, broker.ActionFire:
		it := st.itemIx[id]
		if it == nil {
			return "", errorf(http.StatusNotFound, "no inject %q in this run", id)
		}
		switch it.status {
		case "fired":
			return "", errorf(http.StatusConflict, "inject %s already fired at %s", id, clockText(it.at))
		case "skipped":
			return "", errorf(http.StatusConflict, "inject %s was skipped at %s", id, clockText(it.statusAt))
		}
		switch kind {
		case broker.ActionSkip:
			if it.contingency {
				return "", errorf(http.StatusConflict, "inject %s is a contingency inject: it fires only when fired, so there is nothing to skip", id)
			}
			return "skipped " + id, nil
		case broker.ActionFire:
			if !it.contingency {
				return "", errorf(http.StatusConflict, "inject %s is scheduled for %s; only contingency injects (when: manual) are fired by hand — postpone or skip a scheduled one", id, clockText(it.at))
			}
			return "fired " + id, nil
		}
		if it.contingency {
			return "", errorf(http.StatusConflict, "inject %s is a contingency inject: fire it when it is wanted", id)
		}
		if d.AtSeconds == nil {
			return "", errorf(http.StatusBadRequest, "postpone needs at_seconds (the new simulated time) or by_seconds (how much later)")
		}
		at := liaison.FromSeconds(*d.AtSeconds)
		if at <= now {
			return "", errorf(http.StatusConflict, "inject %s cannot be postponed to %s: the run is already at %s", id, clockText(at), clockText(now))
		}
		if at == it.at {
			return "", errorf(http.StatusConflict, "inject %s is at %s already", id, clockText(at))
		}
		if st.end != liaison.Never && at >= st.end {
			return "", errorf(http.StatusConflict, "inject %s cannot be postponed to %s: the run ends at %s", id, clockText(at), clockText(st.end))
		}
		return "postponed " + id + " to " + clockText(at), nil
	case broker.ActionCut, broker.ActionRestore:
		c := st.chIx[ch]
		if c == nil {
			return "", errorf(http.StatusNotFound, "no channel %q in this run", ch)
		}
		if kind == broker.ActionCut && !c.up {
			return "", errorf(http.StatusConflict, "channel %s is already cut, since %s", ch, clockText(c.changed))
		}
		if kind == broker.ActionRestore && c.up {
			return "", errorf(http.StatusConflict, "channel %s is not cut", ch)
		}
		if kind == broker.ActionCut {
			return "cut " + ch, nil
		}
		return "restored " + ch, nil
	case broker.ActionStaff:
		ag := st.agIx[agid]
		if ag == nil {
			return "", errorf(http.StatusNotFound, "no agency %q in this run", agid)
		}
		if d.Staff == nil || *d.Staff < 1 || *d.Staff > maxStaff {
			return "", errorf(http.StatusBadRequest, "staff must be a whole number from 1 to %d", maxStaff)
		}
		return "staff of " + agid + " set to " + itoa(*d.Staff), nil
	case broker.ActionNote:
		d.Text = strings.TrimSpace(d.Text)
		if d.Text == "" {
			return "", errorf(http.StatusBadRequest, "a note needs some text")
		}
		if strings.ContainsFunc(d.Text+d.Objective, func(r rune) bool { return r < ' ' && r != '\n' && r != '\t' || r == 0x7f }) {
			return "", errorf(http.StatusBadRequest, "a note holds text: no control characters other than line breaks and tabs")
		}
		if n := utf8.RuneCountInString(d.Text); n > maxNoteText {
			return "", errorf(http.StatusBadRequest, "a note holds at most %d characters; this one has %d", maxNoteText, n)
		}
		if utf8.RuneCountInString(d.Objective) > maxObjective {
			return "", errorf(http.StatusBadRequest, "an objective holds at most %d characters", maxObjective)
		}
		if agid != "" && st.agIx[agid] == nil {
			return "", errorf(http.StatusNotFound, "no agency %q in this run", agid)
		}
		return "note added", nil
	}
	return "", errorf(http.StatusNotFound, "no action %q", kind)
}

// checkDecision checks a player's decision for its own agency.
func (c *Console) checkDecision(agency string, d *events.ActionDef) (string, *apiError) {
	st := c.st
	ag := st.agIx[agency]
	seat := ag.player
	d.Agency = liaison.AgencyID(agency)
	if d.Decision == nil {
		return "", errorf(http.StatusBadRequest, "which decision? (decision)")
	}
	p := seat.pending[*d.Decision]
	if p == nil {
		for _, x := range seat.decided {
			if x.ID == *d.Decision {
				return "", errorf(http.StatusConflict, "decision %d was already made at %s (by %s)", x.ID,
					clockText(liaison.FromSeconds(x.Seconds)), x.By)
			}
		}
		return "", errorf(http.StatusNotFound, "%s has no decision %d waiting", agency, *d.Decision)
	}
	if p.Submitted != nil {
		return "", errorf(http.StatusConflict, "decision %d was already submitted, at %s", p.ID, clockText(liaison.FromSeconds(*p.Submitted)))
	}
	if !slices.Contains(decisionActions, d.Action) {
		return "", errorf(http.StatusBadRequest, "action %q: expected one of %s", d.Action, strings.Join(decisionActions, ", "))
	}
	if d.Action != "share" && len(d.To) > 0 {
		return "", errorf(http.StatusBadRequest, "only a share names recipients (to); %s does not", d.Action)
	}
	if d.Action == "share" {
		if len(d.To) == 0 {
			return "", errorf(http.StatusBadRequest, "share with whom? name at least one agency in to")
		}
		seen := map[string]bool{}
		for _, t := range d.To {
			to := string(t)
			switch {
			case st.agIx[to] == nil:
				return "", errorf(http.StatusNotFound, "no agency %q in this run", to)
			case to == agency:
				return "", errorf(http.StatusBadRequest, "%s cannot share with itself", agency)
			case seen[to]:
				return "", errorf(http.StatusBadRequest, "%s is named twice in to", to)
			}
			seen[to] = true
		}
	}
	if d.Action == "reply" && p.From == "" {
		return "", errorf(http.StatusConflict, "decision %d is about an inject, which has no sender to reply to", p.ID)
	}
	if d.Action == "hold" || d.Action == "rules" {
		if d.Channel != "" || d.Type != "" {
			return "", errorf(http.StatusBadRequest, "%s takes no channel or type", d.Action)
		}
	}
	if ch := string(d.Channel); ch != "" && !slices.Contains(ag.members, ch) {
		if st.chIx[ch] == nil {
			return "", errorf(http.StatusNotFound, "no channel %q in this run", d.Channel)
		}
		return "", errorf(http.StatusBadRequest, "%s is not on channel %s", agency, d.Channel)
	}
	// A recipient the chosen channel does not reach would be dropped
	// (no_route) after the player was told the share was made.
	if ch := string(d.Channel); ch != "" {
		for _, t := range d.To {
			if !slices.Contains(st.agIx[string(t)].members, ch) {
				return "", errorf(http.StatusBadRequest, "%s is not on channel %s; choose another channel for it, or none (the rules' route)", t, d.Channel)
			}
		}
	}
	if len(d.Type) > maxTypeLength || strings.ContainsFunc(string(d.Type), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", errorf(http.StatusBadRequest, "type %q: expected a message type name, at most %d characters without spaces", d.Type, maxTypeLength)
	}
	// The types a player is offered are those of its inbox and of its
	// rules' proposals; a type the run does not know would be ignored.
	if t := string(d.Type); t != "" && !seat.typeSet[t] && len(seat.types) < maxTypes {
		return "", errorf(http.StatusBadRequest, "type %q: no such message type for %s; expected one of %s", d.Type, agency, strings.Join(seat.types, ", "))
	}
	what := "decision " + itoa(int(p.ID)) + ": "
	switch d.Action {
	case "rules":
		what += "the rules act"
	case "share":
		what += "share with " + strings.Join(agencyIDs(d.To), ", ")
	case "reply":
		what += "reply"
		if p.From != "" {
			what += " to " + p.From
		}
	case "hold":
		what += "hold"
	}
	return what, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
