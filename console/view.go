package console

// The JSON the console's API answers with. Field names are part of the
// documented API (README, "Running a tabletop exercise"); times are seconds
// of simulated time since the scenario's start, as in the event log.

// Scenario names the exercise and its calendar, so that a page can show
// simulated times as calendar times in the scenario's time zone.
type Scenario struct {
	Name            string   `json:"name"`
	Title           string   `json:"title"`
	Start           string   `json:"start"`
	TimeZone        string   `json:"timezone"`
	DurationSeconds *float64 `json:"duration_seconds"`
}

// Clock is the run's simulated time as the console last knew it.
type Clock struct {
	Seconds float64 `json:"seconds"` // simulated time now (where it stands while paused)
	Speed   float64 `json:"speed"`   // simulated seconds per wall second
	Paused  bool    `json:"paused"`
	Ended   bool    `json:"ended"`
	Outcome string  `json:"outcome,omitempty"` // once ended: "completed", or what went wrong
}

// Session says whom a token stands for.
type Session struct {
	Role   string     `json:"role"` // facilitator or player
	Agency *AgencyRef `json:"agency,omitempty"`
}

// AgencyRef names an agency.
type AgencyRef struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
}

// ChannelRef names a channel and says whether it is up.
type ChannelRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Up   bool   `json:"up"`
}

// FacilitatorView is everything the facilitator sees.
type FacilitatorView struct {
	Role       string        `json:"role"`
	Scenario   Scenario      `json:"scenario"`
	Clock      Clock         `json:"clock"`
	Injects    []InjectView  `json:"injects"`
	Agencies   []AgencyView  `json:"agencies"`
	Channels   []ChannelView `json:"channels"`
	Objectives []string      `json:"objectives"`
	Notes      []NoteView    `json:"notes"`
	// Actions are the live actions of the run, newest last: those in the
	// log, and those accepted but not yet in it (pending).
	Actions        []ActionView `json:"actions"`
	ActionsOmitted int          `json:"actions_omitted"`
}

// InjectView is one row of the MSEL with its status and reach.
type InjectView struct {
	ID              string   `json:"id"`
	PlannedSeconds  float64  `json:"planned_seconds"` // the MSEL's time
	AtSeconds       float64  `json:"at_seconds"`      // when it fires (postponed) or fired
	To              string   `json:"to"`
	From            string   `json:"from,omitempty"`
	Type            string   `json:"type"`
	Summary         string   `json:"summary"`
	TLP             string   `json:"tlp"`
	Audience        []string `json:"audience"`
	DeadlineSeconds *float64 `json:"deadline_seconds"` // after the inject
	Objective       string   `json:"objective,omitempty"`
	Expected        string   `json:"expected,omitempty"`
	Live            bool     `json:"live"`        // delivered during the run, not in the MSEL
	Contingency     bool     `json:"contingency"` // fires only when the facilitator fires it
	// Status is scheduled, contingency, postponed, fired or skipped;
	// StatusSeconds is when it became so (nil while scheduled).
	Status        string   `json:"status"`
	StatusSeconds *float64 `json:"status_seconds"`
	Pending       bool     `json:"pending"` // the status was accepted but is not yet in the log
	// Known counts the audience members who know the item.
	Known          int      `json:"known"`
	ReachedSeconds *float64 `json:"reached_seconds"`
	DeadlineMissed bool     `json:"deadline_missed"`
	Dropped        int      `json:"dropped"` // messages carrying it that were dropped
	Knowers        []Knower `json:"knowers"`
}

// Knower is an agency that knows an item, and since when.
type Knower struct {
	Agency   string  `json:"agency"`
	Seconds  float64 `json:"seconds"`
	Audience bool    `json:"audience"`
}

// AgencyView is an agency's load and seat.
type AgencyView struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
	Staff   int    `json:"staff"`
	Queue   int    `json:"queue"` // messages waiting for its staff
	Knows   int    `json:"knows"` // items it knows
	Player  bool   `json:"player"`
	Pending int    `json:"pending_decisions"` // a player seat's decisions not yet made
	Decided int    `json:"decided"`           // … and made (by the player or, on timeout, the rules)
}

// ChannelView is a channel and whether the facilitator has cut it.
type ChannelView struct {
	ID            string   `json:"id"`
	Name          string   `json:"name,omitempty"`
	Topology      string   `json:"topology"`
	Members       []string `json:"members"`
	Up            bool     `json:"up"`
	ChangedSecond *float64 `json:"changed_seconds"` // when it was last cut or restored
}

// NoteView is an evaluator's note.
type NoteView struct {
	Seconds   float64 `json:"seconds"`
	Text      string  `json:"text"`
	Objective string  `json:"objective,omitempty"`
	Agency    string  `json:"agency,omitempty"`
	Pending   bool    `json:"pending"`
}

// ActionView is one live action of the run.
type ActionView struct {
	Seconds float64 `json:"seconds"`
	Kind    string  `json:"kind"`
	What    string  `json:"what"`
	Pending bool    `json:"pending"`
}

// PlayerView is everything one player seat sees: its own agency's traffic
// and decisions, and nothing of any other agency's.
type PlayerView struct {
	Role     string    `json:"role"`
	Agency   AgencyRef `json:"agency"`
	Scenario Scenario  `json:"scenario"`
	Clock    Clock     `json:"clock"`
	// DecisionTimeoutSeconds is how long the player has before the rules
	// act on a decision (nil: no limit).
	DecisionTimeoutSeconds *float64       `json:"decision_timeout_seconds"`
	Inbox                  []InboxEntry   `json:"inbox"` // newest last
	InboxOmitted           int            `json:"inbox_omitted"`
	Pending                []DecisionView `json:"pending"`
	Decided                []DecidedView  `json:"decided"` // newest last
	DecidedOmitted         int            `json:"decided_omitted"`
	// Recipients are the agencies a share may name; Channels those the
	// agency is a member of.
	Recipients []AgencyRef   `json:"recipients"`
	Channels   []ChannelRef  `json:"channels"`
	Types      []string      `json:"types"` // message types seen in its traffic and proposals
	Actions    []string      `json:"actions"`
	Staff      int           `json:"staff"`
	Queue      int           `json:"queue"`
	Items      []PlayerKnown `json:"known"` // items the agency knows
}

// PlayerKnown is an item the player's agency knows.
type PlayerKnown struct {
	Item    string  `json:"item"`
	Seconds float64 `json:"seconds"`
}

// InboxEntry is a message or inject that reached the player's agency.
type InboxEntry struct {
	Seconds     float64  `json:"seconds"`
	Kind        string   `json:"kind"`              // message or inject
	Message     string   `json:"message,omitempty"` // sender#number
	From        string   `json:"from,omitempty"`    // the sending agency (or who the inject comes from)
	FromName    string   `json:"from_name,omitempty"`
	Channel     string   `json:"channel,omitempty"`
	Type        string   `json:"type,omitempty"`
	Item        string   `json:"item,omitempty"`
	TLP         string   `json:"tlp,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	Urgent      bool     `json:"urgent,omitempty"`
	Status      string   `json:"status"` // queued, held, handling, handled
	HeldUntil   *float64 `json:"held_until,omitempty"`
	Originator  string   `json:"originator,omitempty"`
	OrigControl bool     `json:"originator_control,omitempty"`
}

// DecisionView is a decision the player's agency waits for.
type DecisionView struct {
	ID          uint64     `json:"id"`
	DueSeconds  float64    `json:"due_seconds"`
	TimeoutAt   *float64   `json:"timeout_seconds"` // when the rules act, if there is a limit
	Message     string     `json:"message,omitempty"`
	Item        string     `json:"item,omitempty"`
	Type        string     `json:"type"`
	From        string     `json:"from,omitempty"`
	FromName    string     `json:"from_name,omitempty"`
	TLP         string     `json:"tlp,omitempty"`
	Summary     string     `json:"summary,omitempty"`
	Originator  string     `json:"originator,omitempty"`
	OrigControl bool       `json:"originator_control,omitempty"`
	Proposal    []Proposal `json:"proposal"`
	// Submitted is when the player's decision was accepted, while it is
	// not yet in the log.
	Submitted *float64 `json:"submitted_seconds"`
}

// Proposal is one thing the agency's rules would do.
type Proposal struct {
	Action  string   `json:"action"` // share, send or reply
	To      []string `json:"to"`
	Channel string   `json:"channel,omitempty"`
	Type    string   `json:"type"`
}

// DecidedView is a decision made, by the player or, when time ran out, by
// the rules.
type DecidedView struct {
	ID      uint64   `json:"id"`
	Seconds float64  `json:"seconds"`
	By      string   `json:"by"`
	Action  string   `json:"action"`
	To      []string `json:"to,omitempty"`
	Channel string   `json:"channel,omitempty"`
	Type    string   `json:"type,omitempty"`
	Message string   `json:"message,omitempty"`
	Item    string   `json:"item,omitempty"`
}

// Result answers an action: accepted at a simulated time.
type Result struct {
	OK      bool    `json:"ok"`
	Kind    string  `json:"kind"`
	Seconds float64 `json:"seconds"`
	What    string  `json:"what"`
}

// Error is every error answer of the API.
type Error struct {
	Error string `json:"error"`
}
