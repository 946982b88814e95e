package scenarios

import (
	"strconv"
	"strings"
	"time"

	"liaison"
)

// Scenario is one scenario file after loading: who the agencies are, which
// channels join them, how they behave, what happens when, and the variants
// that run the same story over other topologies.
//
// The yaml tags are the file format; the desc tags feed the JSON Schema
// that `liaison schema` prints. Loader and schema are both derived from
// these types, which keeps them in step.
type Scenario struct {
	Name            string             `yaml:"name" desc:"Short machine name, e.g. ctg-threat-warning; used in run ids and metrics." required:"true"`
	Title           string             `yaml:"title" desc:"One-line human title." required:"true"`
	Description     string             `yaml:"description" desc:"What the scenario is about and where its facts come from."`
	Start           Calendar           `yaml:"start" desc:"Calendar anchor: the wall-clock instant of simulated time 0, RFC 3339 with offset, e.g. 2026-03-06T16:00:00+01:00." required:"true"`
	TimeZone        string             `yaml:"timezone" desc:"IANA time zone for office hours, e.g. Europe/Copenhagen. Default: the offset of start."`
	Duration        Duration           `yaml:"duration" desc:"Simulated length of the run, e.g. 72h or 30d. Without it the run ends when nothing is left to happen; required with background traffic."`
	Seed            uint64             `yaml:"seed" desc:"Default random seed; --seed overrides it."`
	Amber           AmberScope         `yaml:"amber" desc:"How TLP:AMBER limits a holder other than the originator: organisation (default, TLP 2.0: the holder's own organisation and the clients it declares) or country (an older, looser reading: any agency of the holder's country)." enum:"organisation,country"`
	Fanout          Dist               `yaml:"fanout" desc:"Default for every agency's fanout: the time to draft and send each additional separate message of one share, e.g. fixed(2m). Default 0 (copies leave together)."`
	Agencies        []Agency           `yaml:"agencies" desc:"The agencies, each an agent on NATS." required:"true"`
	Channels        []Channel          `yaml:"channels" desc:"The channels that join agencies, in order of preference." required:"true"`
	Rules           []Rule             `yaml:"rules" desc:"Behaviour: what an agency does when a message of a type arrives."`
	Injects         []Inject           `yaml:"injects" desc:"The master scenario events list: timed items of information delivered to agencies."`
	Background      []Stream           `yaml:"background" desc:"Poisson streams of routine messages that load queues like real daily volume."`
	Variants        []Variant          `yaml:"variants" desc:"Named overlays that replace or add channels, agencies, rules or background traffic."`
	Players         []liaison.AgencyID `yaml:"players" desc:"Agencies seated by people in a live exercise (liaison run --console): each decides in a web console what its rules would otherwise decide when it has handled a message; --players adds to them."`
	DecisionTimeout Duration           `yaml:"decision_timeout" desc:"How long (simulated time) a player may take to decide before the agency's rules act; default: no limit, the agency waits for its player."`
	Ratings         []ObjectiveRating  `yaml:"ratings" desc:"The evaluators' HSEEP ratings of exercise objectives, which replace the ratings the after-action report computes from the run: each names an objective as the injects write it and a rating P, S, M or U."`
	Source          string             `yaml:"-"` // file name (or "builtin:NAME") the scenario came from
	Positions       Positions          `yaml:"-"` // where each path in the document starts
	Location        *time.Location     `yaml:"-"` // TimeZone resolved; set by Load
	// Warnings are problems that do not stop the file from loading, such
	// as an audience member reached only through a consent that cannot be
	// asked; set by Parse, printed by liaison validate.
	Warnings ErrorList `yaml:"-" json:"-"`
}

// Agency is an organisation that receives, handles and passes on messages.
type Agency struct {
	ID       liaison.AgencyID   `yaml:"id" desc:"Unique id, dot-separated lower-case segments, country first: dk.pet, se.sapo, eu.europol." required:"true"`
	Name     string             `yaml:"name" desc:"Full name, e.g. Danish Security and Intelligence Service (PET)."`
	Country  string             `yaml:"country" desc:"ISO 3166 alpha-2 code, or EU / INT for international bodies. Used for TLP:AMBER only when the scenario says amber: country."`
	Clients  []liaison.AgencyID `yaml:"clients" desc:"The agencies this one serves as clients under TLP 2.0: as a holder it may pass TLP:AMBER items to them (and to no other agency), e.g. a security service's national partners."`
	Kind     string             `yaml:"kind" desc:"What sort of agency: security-service, police, intelligence, sirene, ncb, europol, liaison-officer, platform, …"`
	Hours    Hours              `yaml:"hours" desc:"Office hours: 24/7 (default) or weekly hours such as \"Mon-Fri 08:00-16:00; Sat 09:00-12:00\". Messages that arrive when closed wait for opening."`
	TimeZone string             `yaml:"timezone" desc:"IANA time zone of the office hours; default the scenario's."`
	Staff    int                `yaml:"staff" desc:"How many messages are handled at once (default 1); the rest queue, urgent first."`
	Handling Handling           `yaml:"handling" desc:"Time to handle one message: a distribution, or a mapping of message type to distribution with an optional default key."`
	Consent  *float64           `yaml:"consent" desc:"Probability (0..1) that this agency, as originator, grants the release of an item to one third party it is asked about; each third party of a request is decided separately. Default 1."`
	Fanout   Dist               `yaml:"fanout" desc:"Time to draft and send each additional separate message of one share: the 2nd, 3rd, ... point-to-point copy (or platform post) leaves one more sample later than the one before. Default: the scenario's fanout, else 0."`
	Location *time.Location     `yaml:"-"` // TimeZone resolved, or the scenario's; set by Load
}

// Topology says how a channel moves a message between its members.
type Topology string

// The four channel topologies.
const (
	// Mesh delivers point to point, straight from sender to recipient.
	Mesh Topology = "mesh"
	// Hub routes messages between members over the hub's network (Europol
	// for SIENA, the INTERPOL General Secretariat for I-24/7): one hop,
	// which the hub's staff do not see. A message addressed to the hub goes
	// to its desk; with Review, every message queues at the hub's desk
	// (its hours, staff and handling) before it is passed on.
	Hub Topology = "hub"
	// Platform carries one post to several members at once (the CTG
	// platform): a share's named recipients on the platform, plus the
	// channel's Relevant members for an originator's post. With a hub, the
	// post passes through the hub agency first, which handles it once.
	Platform Topology = "platform"
	// Liaison relays through a liaison officer (an agency, usually one
	// person with office hours) between two sides; members on the same side
	// do not use it.
	Liaison Topology = "liaison"
)

// AmberScope says how far a holder other than the originator may pass a
// TLP:AMBER item.
type AmberScope string

// The AMBER scopes.
const (
	// AmberOrganisation is TLP 2.0: the holder's own organisation and its
	// clients (Agency.Clients). It is the default.
	AmberOrganisation AmberScope = "organisation"
	// AmberCountry is the looser reading that some exchanges use: any
	// agency of the holder's country. A scenario must ask for it.
	AmberCountry AmberScope = "country"
)

// Channel joins agencies and moves messages between them.
type Channel struct {
	ID       liaison.ChannelID    `yaml:"id" desc:"Unique id, one token without dots: ctg, siena, sirene, i247, dk-national." required:"true"`
	Name     string               `yaml:"name" desc:"Full name of the channel."`
	Topology Topology             `yaml:"topology" desc:"mesh (point to point, one message per recipient), hub (point to point over the hub's network; through the hub's desk only for messages addressed to it, or for all with review), platform (one post reaches the share's named recipients on it, and the relevant members for the originator's posts), liaison (relayed by a liaison officer between two sides)." required:"true" enum:"mesh,hub,platform,liaison"`
	Hub      liaison.AgencyID     `yaml:"hub" desc:"The hub agency of a hub channel (required) or the relaying desk of a platform (optional)."`
	Review   bool                 `yaml:"review" desc:"Hub channels only: the hub's desk reviews all traffic, so every message between members queues and is handled at the hub (its hours, staff, handling time) before it is passed on. Default false: messages not addressed to the hub bypass its desk. A reviewing hub still does not learn the items it passes on."`
	Officer  liaison.AgencyID     `yaml:"officer" desc:"The liaison officer of a liaison channel (required)."`
	Members  []liaison.AgencyID   `yaml:"members" desc:"Agencies that use the channel (mesh, hub, platform)."`
	Relevant []liaison.AgencyID   `yaml:"relevant" desc:"Platform channels only: the members that an originator's post of an item reaches besides the share's named recipients (\"relevant members\"). Never applied to TLP:RED items, nor to posts by holders other than the originator. Default: none, a post reaches only the named recipients."`
	Sides    [][]liaison.AgencyID `yaml:"sides" desc:"The two sides a liaison officer joins, e.g. [[dk.police], [se.police]]."`
	Latency  Dist                 `yaml:"latency" desc:"Transit time of one hop, a distribution with a positive minimum (its floor), e.g. lognormal(median=10m, sigma=0.4, min=1m). Waits for outages and fanout are not part of it." required:"true"`
	Outages  []Outage             `yaml:"outages" desc:"Windows of simulated time when the channel is down: messages take another channel that joins the same agencies and is up; when every such channel is down they wait for the one that comes back first (the wait is logged as outage_wait, apart from latency)."`
}

// Outage is a window [From, To) of simulated time when a channel is down.
type Outage struct {
	From Duration `yaml:"from" desc:"Start of the outage, simulated time since start." required:"true"`
	To   Duration `yaml:"to" desc:"End of the outage (exclusive)." required:"true"`
}

// Rule is behaviour: on receiving a message of a type, an agency shares the
// item, replies, or sends a new message. Exactly one of Share, Reply, Send.
//
// Share and Send act at most once per agency, rule and item: an agency that
// hears the same item twice does not pass it on twice. Reply answers every
// request.
type Rule struct {
	At          liaison.AgencyID    `yaml:"at" desc:"The agency that acts." required:"true"`
	On          liaison.MessageType `yaml:"on" desc:"The message type that triggers the rule; * for any type that carries an item." required:"true"`
	From        []liaison.AgencyID  `yaml:"from" desc:"Only when the message came from one of these agencies."`
	TLP         []TLPLevel          `yaml:"tlp" desc:"Only when the item has one of these TLP levels."`
	Share       []liaison.AgencyID  `yaml:"share" desc:"Pass the item on to these agencies."`
	As          liaison.MessageType `yaml:"as" desc:"Message type of the shared copies (default: the type received)."`
	Reply       liaison.MessageType `yaml:"reply" desc:"Answer the sender with a message of this type, e.g. sirene-M for a sirene-G."`
	Within      Duration            `yaml:"within" desc:"Deadline for the reply, counted from the request's arrival, e.g. 12h for SIRENE; a later reply is logged as deadline_missed."`
	Send        liaison.MessageType `yaml:"send" desc:"Send a new message of this type about the same item to the agencies in to."`
	To          []liaison.AgencyID  `yaml:"to" desc:"Recipients of send."`
	Channel     liaison.ChannelID   `yaml:"channel" desc:"Force this channel instead of letting the router choose."`
	Probability *float64            `yaml:"probability" desc:"Chance (0..1) that the rule fires at all: imperfect sharing, for research. Default 1."`
	Urgent      bool                `yaml:"urgent" desc:"Mark the outgoing messages urgent: they jump queues."`
}

// Inject is one event of the master scenario events list: an item of
// information that reaches an agency at a time.
type Inject struct {
	ID                liaison.ItemID      `yaml:"id" desc:"Inject number, unique, e.g. I-1." required:"true"`
	At                Duration            `yaml:"at" desc:"Scenario time of delivery, simulated time since start." required:"true"`
	To                liaison.AgencyID    `yaml:"to" desc:"The agency (player) that receives it." required:"true"`
	From              string              `yaml:"from" desc:"Simulated sender, for the exercise record (a source, a border guard, a foreign service)."`
	Type              liaison.MessageType `yaml:"type" desc:"Message type, matched by rules." required:"true"`
	Summary           string              `yaml:"summary" desc:"The inject's message text." required:"true"`
	TLP               TLPLevel            `yaml:"tlp" desc:"TLP 2.0 level of the item: CLEAR, GREEN, AMBER, AMBER+STRICT or RED. Default GREEN."`
	OriginatorControl bool                `yaml:"originator-control" desc:"Third-party rule: holders other than the originator need its consent before passing the item to a third party."`
	Originator        liaison.AgencyID    `yaml:"originator" desc:"The originating agency under the third-party rule. Default: the receiving agency."`
	Audience          []liaison.AgencyID  `yaml:"audience" desc:"Who needs to know: reach is measured against these agencies."`
	Deadline          Duration            `yaml:"deadline" desc:"Time from the inject by which the whole audience should know."`
	Urgent            bool                `yaml:"urgent" desc:"The message is urgent: it jumps queues."`
	Expected          string              `yaml:"expected" desc:"Expected player action (MSEL column)."`
	Objective         string              `yaml:"objective" desc:"Exercise objective served (MSEL column)."`
	When              string              `yaml:"when" desc:"manual: a contingency inject, which never fires by itself but when the facilitator fires it (its at is the planned time the MSEL shows). Default: at its time." enum:"manual"`
	Trigger           *Trigger            `yaml:"trigger" desc:"A conditional inject: it fires (after the delay after) when what happens to another item meets the condition, not at its at (the planned time the MSEL shows)."`
	After             Duration            `yaml:"after" desc:"With trigger: how long after the condition is met the inject fires, e.g. 10m. At least the least channel latency, which is the default."`
}

// String writes the condition as the scenario file does, in flow style:
// {item: I-1, agency: dk.police}.
func (tr *Trigger) String() string {
	parts := []string{"item: " + string(tr.Item)}
	if tr.Agency != "" {
		parts = append(parts, "agency: "+string(tr.Agency))
	}
	if tr.Share != nil {
		parts = append(parts, "share: "+strconv.FormatFloat(*tr.Share, 'g', -1, 64))
	}
	if tr.MissingBy > 0 {
		parts = append(parts, "missing_by: "+tr.MissingBy.String())
	}
	if tr.DeadlineMissed {
		parts = append(parts, "deadline_missed: true")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Trigger is the condition of a conditional inject: about another item
// (Item), one of: an agency learns it (Agency); a share of its audience
// knows it (Share); an agency or a share does not know it by MissingBy
// after it was injected; it misses its deadline (DeadlineMissed).
type Trigger struct {
	Item           liaison.ItemID   `yaml:"item" desc:"The inject whose item the condition watches." required:"true"`
	Agency         liaison.AgencyID `yaml:"agency" desc:"Fire when this agency learns the item (or, with missing_by, when it has not by then)."`
	Share          *float64         `yaml:"share" desc:"Fire when this share (0..1] of the item's audience knows it (or, with missing_by, when it does not by then)."`
	MissingBy      Duration         `yaml:"missing_by" desc:"With agency or share: fire if the condition is not met this long after the item was injected."`
	DeadlineMissed bool             `yaml:"deadline_missed" desc:"Fire when the item misses its deadline."`
}

// Stream is background traffic: each agency in From sends messages of Type
// as a Poisson process at Rate, each to an agency drawn uniformly from To
// (never itself). Background messages carry no item.
type Stream struct {
	From    []liaison.AgencyID  `yaml:"from" desc:"Sending agencies; each sends at the full rate." required:"true"`
	To      []liaison.AgencyID  `yaml:"to" desc:"Possible recipients, drawn uniformly." required:"true"`
	Type    liaison.MessageType `yaml:"type" desc:"Message type, e.g. routine." required:"true"`
	Rate    Rate                `yaml:"rate" desc:"Messages per sending agency per unit of simulated time, e.g. 40/day or 3/h." required:"true"`
	Channel liaison.ChannelID   `yaml:"channel" desc:"Force this channel instead of letting the router choose."`
}

// Variant is a named overlay: the same story over another topology.
// Channels and agencies with an existing id replace it, others are added;
// rules are added; background, when given, replaces the base streams.
type Variant struct {
	Name           string              `yaml:"name" desc:"Variant name, used with --variant." required:"true"`
	Title          string              `yaml:"title" desc:"What the variant changes."`
	Channels       []Channel           `yaml:"channels" desc:"Channels to replace (same id) or add."`
	RemoveChannels []liaison.ChannelID `yaml:"remove-channels" desc:"Channels to remove."`
	Agencies       []Agency            `yaml:"agencies" desc:"Agencies to replace (same id) or add."`
	Rules          []Rule              `yaml:"rules" desc:"Rules to add."`
	Background     []Stream            `yaml:"background" desc:"Background streams that replace the base scenario's, when given."`
}

// ObjectiveRating is the evaluators' rating of one exercise objective. The
// after-action report computes a rating for every objective from the run;
// one given here replaces it (the report shows both), because an
// evaluator who watched the players may judge what the log cannot show. It
// lives beside the injects rather than in them, so that importing a MSEL
// (which rewrites the injects) keeps it.
type ObjectiveRating struct {
	Objective string      `yaml:"objective" desc:"The objective, exactly as the injects' objective field writes it." required:"true"`
	Rating    RatingLevel `yaml:"rating" desc:"The evaluators' rating: P (performed without challenges), S (performed with some challenges), M (performed with major challenges) or U (unable to be performed)." required:"true"`
	Reason    string      `yaml:"reason" desc:"Why the evaluators rate it so; shown in the report next to the rating."`
}

// RatingLevel is an HSEEP rating as written in a file: P, S, M or U.
type RatingLevel liaison.Rating

func (r *RatingLevel) decodeScalar(s string) error {
	v := liaison.Rating(strings.TrimSpace(s))
	if !v.Valid() {
		return badf(BadValue, "unknown rating %q; expected %s", s, liaison.RatingsExpected())
	}
	*r = RatingLevel(v)
	return nil
}

func (RatingLevel) jsonSchema() map[string]any {
	var e []any
	for _, r := range liaison.Ratings() {
		e = append(e, string(r))
	}
	return map[string]any{"type": "string", "enum": e}
}
