package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"liaison"
)

// LogError says where an event log is wrong and what was expected.
type LogError struct {
	File string
	Line int
	Col  int // 0 when the whole line is meant
	Msg  string
}

func (e *LogError) Error() string {
	switch {
	case e.Line == 0:
		return e.File + ": " + e.Msg
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Record is one event of a log as a Reader yields it: the event with its
// names resolved to indices into the Reader's Names, and the line it was on.
type Record struct {
	Event
	Line int
	// Inject describes the item a live_inject added, as the run header
	// describes the scenario's items.
	Inject *ItemDesc
}

// Reader reads an event log: the JSON Lines a Recorder writes, the run
// header first and then one event a line, one at a time. It is the one
// reader of the format (reports and replays read logs through it, and
// Tally recomputes a log's summary from what it yields), and it checks every line against the writer's own tables: the kind
// must be one of Kind's, a line may carry only the members its kind
// carries and must carry those it always does, every agency, channel and
// item must be the header's (or a live inject's before it), and time must
// not go back. An error says file:line[:column] and what was expected.
type Reader struct {
	name  string
	sc    *bufio.Scanner
	line  int
	info  RunInfo
	names Names
	items []ItemInfo
	desc  []ItemDesc
	agIx  map[string]int32
	chIx  map[string]int32
	itIx  map[string]int32
	tyIx  map[string]int32
	prev  liaison.Time
	err   error // sticky: io.EOF at the end
}

var kindByName = func() map[string]Kind {
	m := map[string]Kind{}
	for k := Kind(1); k < kindEnd; k++ {
		m[k.String()] = k
	}
	return m
}()

// NewReader reads and checks the run header of the log in r; name is the
// file name errors give.
func NewReader(name string, r io.Reader) (*Reader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	rd := &Reader{name: name, sc: sc, agIx: map[string]int32{}, chIx: map[string]int32{},
		itIx: map[string]int32{}, tyIx: map[string]int32{}}
	rd.names.Reasons = Reasons
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, &LogError{File: name, Line: 1, Msg: err.Error()}
		}
		return nil, &LogError{File: name, Msg: "empty event log; expected the run header (a log written by liaison run --events)"}
	}
	rd.line = 1
	if err := rd.header(sc.Bytes()); err != nil {
		return nil, err
	}
	return rd, nil
}

// Info returns the run header.
func (r *Reader) Info() *RunInfo { return &r.info }

// Names returns the tables the records' indices refer to. Items and types
// grow as live injects and new message types are read.
func (r *Reader) Names() *Names { return &r.names }

// Items returns the items read so far, the header's and then the live
// injects', in the order of Names().Items.
func (r *Reader) Items() []ItemDesc { return r.desc }

func (r *Reader) errorf(col int, format string, args ...any) error {
	return &LogError{File: r.name, Line: r.line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Next returns the next event, or io.EOF after the last.
func (r *Reader) Next() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		rec, err := r.event(b)
		if err != nil {
			r.err = err
			return nil, err
		}
		return rec, nil
	}
	r.err = io.EOF
	if err := r.sc.Err(); err != nil {
		r.line++
		r.err = r.errorf(0, "%v", err)
	}
	return nil, r.err
}

func (r *Reader) header(b []byte) error {
	if err := r.decode(b, &r.info); err != nil {
		if !bytes.Contains(b, []byte(`"kind":"run"`)) {
			return r.errorf(0, "not an event log: the first line must be the run header (kind \"run\") that liaison run --events writes: %v", err)
		}
		return err
	}
	info := &r.info
	if info.Kind != "run" {
		return r.errorf(0, "the first line must be the run header (kind \"run\"), found kind %q; was the log written by liaison run --events?", info.Kind)
	}
	if _, err := time.Parse(time.RFC3339, info.Start); err != nil {
		return r.errorf(0, "run header: start %q is not an RFC 3339 time", info.Start)
	}
	for i, a := range info.Agencies {
		if a.ID == "" {
			return r.errorf(0, "run header: agencies[%d] has no id", i)
		}
		if _, dup := r.agIx[a.ID]; dup {
			return r.errorf(0, "run header: agency %q is listed twice", a.ID)
		}
		r.agIx[a.ID] = int32(i)
		r.names.Agencies = append(r.names.Agencies, liaison.AgencyID(a.ID))
	}
	for i, c := range info.Channels {
		if c.ID == "" {
			return r.errorf(0, "run header: channels[%d] has no id", i)
		}
		if _, dup := r.chIx[c.ID]; dup {
			return r.errorf(0, "run header: channel %q is listed twice", c.ID)
		}
		r.chIx[c.ID] = int32(i)
		r.names.Channels = append(r.names.Channels, liaison.ChannelID(c.ID))
	}
	if info.DurationSeconds != nil && !(*info.DurationSeconds >= 0) {
		return r.errorf(0, "run header: duration_seconds must not be negative")
	}
	for i, it := range info.Items {
		where := fmt.Sprintf("run header: items[%d] (%s)", i, it.ID)
		if !(it.AtSeconds >= 0) || it.DeadlineSeconds != nil && !(*it.DeadlineSeconds >= 0) {
			return r.errorf(0, "%s: at_seconds and deadline_seconds must not be negative", where)
		}
		var dl float64
		if it.DeadlineSeconds != nil {
			dl = *it.DeadlineSeconds
		}
		aud := make([]liaison.AgencyID, len(it.Audience))
		for j, a := range it.Audience {
			aud[j] = liaison.AgencyID(a)
		}
		if msg := r.addItem(it, aud, liaison.FromSeconds(it.AtSeconds), dl); msg != "" {
			return r.errorf(0, "%s: %s", where, msg)
		}
	}
	for i, p := range info.Players {
		if _, ok := r.agIx[p]; !ok {
			return r.errorf(0, "run header: players[%d]: %q is not an agency of the header", i, p)
		}
	}
	rated := map[string]bool{}
	for i, o := range info.Ratings {
		switch {
		case !liaison.Rating(o.Rating).Valid():
			return r.errorf(0, "run header: ratings[%d]: rating %q; expected %s", i, o.Rating, liaison.RatingsExpected())
		case strings.TrimSpace(o.Objective) == "":
			return r.errorf(0, "run header: ratings[%d] names no objective", i)
		case rated[o.Objective]:
			return r.errorf(0, "run header: ratings[%d]: objective %q is rated twice", i, o.Objective)
		}
		rated[o.Objective] = true
	}
	return nil
}

// addItem registers an item; it returns what is wrong with it, if anything.
func (r *Reader) addItem(d ItemDesc, audience []liaison.AgencyID, at liaison.Time, deadline float64) string {
	if d.ID == "" {
		return "an item without an id"
	}
	if _, dup := r.itIx[d.ID]; dup {
		return fmt.Sprintf("item %q is already defined", d.ID)
	}
	for _, a := range []string{d.To, d.Originator} {
		if _, ok := r.agIx[a]; !ok {
			return fmt.Sprintf("agency %q is not in the run header", a)
		}
	}
	if d.When != "" && d.When != "manual" && d.When != "trigger" {
		return fmt.Sprintf("item %q: when is %q; expected manual, trigger or nothing", d.ID, d.When)
	}
	info := ItemInfo{ID: liaison.ItemID(d.ID), At: at, Deadline: liaison.FromSeconds(deadline), Manual: d.When != ""}
	for _, a := range audience {
		ix, ok := r.agIx[string(a)]
		if !ok {
			return fmt.Sprintf("audience member %q is not in the run header", a)
		}
		info.Audience = append(info.Audience, ix)
	}
	r.itIx[d.ID] = int32(len(r.items))
	r.items = append(r.items, info)
	r.desc = append(r.desc, d)
	r.names.Items = append(r.names.Items, liaison.ItemID(d.ID))
	return ""
}

// line is an event line as JSON; a nil member is one the line lacks.
type line struct {
	T           *float64        `json:"t"`
	Kind        *string         `json:"kind"`
	Inject      json.RawMessage `json:"inject"`
	Reject      json.RawMessage `json:"reject"`
	Action      json.RawMessage `json:"action"`
	Decision    json.RawMessage `json:"decision"`
	Decided     json.RawMessage `json:"decided"`
	Agency      *string         `json:"agency"`
	Channel     *string         `json:"channel"`
	Msg         *string         `json:"msg"`
	Cause       *string         `json:"cause"`
	Item        *string         `json:"item"`
	Type        *string         `json:"type"`
	From        *string         `json:"from"`
	To          *string         `json:"to"`
	Originator  *string         `json:"originator"`
	Reason      *string         `json:"reason"`
	Latency     *float64        `json:"latency"`
	FanoutDelay *float64        `json:"fanout_delay"`
	OutageWait  *float64        `json:"outage_wait"`
	Until       *float64        `json:"until"`
	Wait        *float64        `json:"wait"`
	Handling    *float64        `json:"handling"`
	SinceInject *float64        `json:"since_inject"`
	TimeToReach *float64        `json:"time_to_reach"`
	Deadline    *float64        `json:"deadline"`
	Queue       *int64          `json:"queue"`
	Audience    *int64          `json:"audience"`
	Reached     *int64          `json:"reached"`
}

type (
	strMember struct {
		key string
		p   *string
	}
	numMember struct {
		key string
		p   *float64
	}
	intMember struct {
		key string
		p   *int64
	}
)

func (l *line) peers() []strMember {
	return []strMember{{"from", l.From}, {"to", l.To}, {"originator", l.Originator}}
}

func (l *line) values() []numMember {
	return []numMember{{"latency", l.Latency}, {"until", l.Until}, {"wait", l.Wait}, {"handling", l.Handling},
		{"since_inject", l.SinceInject}, {"time_to_reach", l.TimeToReach}, {"deadline", l.Deadline}}
}

func (l *line) counts() []intMember {
	return []intMember{{"queue", l.Queue}, {"audience", l.Audience}, {"reached", l.Reached}}
}

var memberNames = []struct {
	m    member
	name string
}{
	{mAgency, "agency"}, {mChannel, "channel"}, {mMsg, "msg"}, {mCause, "cause"}, {mItem, "item"},
	{mType, "type"}, {mReason, "reason"}, {mInject, "inject"}, {mReject, "reject"}, {mAction, "action"}, {mDecision, "decision"}, {mDecided, "decided"}, {mFanout, "fanout_delay"}, {mOutage, "outage_wait"},
}

// event parses and checks one event line.
func (r *Reader) event(b []byte) (*Record, error) {
	var l line
	if err := r.decode(b, &l); err != nil {
		if lineKind(b) == "run" {
			return nil, r.errorf(0, "a second run header; a log holds one run")
		}
		return nil, err
	}
	col := func(key string) int { return column(b, key) }
	if l.Kind == nil {
		return nil, r.errorf(0, "an event without \"kind\"")
	}
	k, ok := kindByName[*l.Kind]
	if !ok {
		return nil, r.errorf(col("kind"), "unknown event kind %q; expected one of %s", *l.Kind, kindList())
	}
	if l.T == nil {
		return nil, r.errorf(0, "%s event without \"t\"", k)
	}
	rec := &Record{Line: r.line, Event: Event{T: liaison.FromSeconds(*l.T), Kind: k, Seq: uint64(r.line), Agency: -1,
		MsgFrom: -1, Channel: -1, Type: -1, Item: -1, Peer: -1, Reason: -1, CauseFrom: -1}}
	e := &rec.Event
	if !(*l.T >= 0) {
		return nil, r.errorf(col("t"), "time %v is negative", *l.T)
	}
	if e.T < r.prev {
		return nil, r.errorf(col("t"), "time %s goes back (the line before is at %s); the log must be in time order",
			liaison.FormatSeconds(e.T), liaison.FormatSeconds(r.prev))
	}
	r.prev = e.T

	// Which members the line has, against what its kind carries.
	var has member
	for _, m := range [...]struct {
		p *string
		m member
	}{{l.Agency, mAgency}, {l.Channel, mChannel}, {l.Msg, mMsg}, {l.Cause, mCause}, {l.Item, mItem},
		{l.Type, mType}, {l.Reason, mReason}} {
		if m.p != nil {
			has |= m.m
		}
	}
	if l.Inject != nil {
		has |= mInject
	}
	if l.Reject != nil {
		has |= mReject
	}
	if l.Action != nil {
		has |= mAction
	}
	if l.Decision != nil {
		has |= mDecision
	}
	if l.Decided != nil {
		has |= mDecided
	}
	if l.FanoutDelay != nil {
		has |= mFanout
	}
	if l.OutageWait != nil {
		has |= mOutage
	}
	var peer *string
	for _, m := range l.peers() {
		if m.p == nil {
			continue
		}
		if m.key != peerKey[k] {
			return nil, r.errorf(col(m.key), "a %s event has no %q%s", k, m.key, keyHint("peer", peerKey[k]))
		}
		has, peer = has|mPeer, m.p
	}
	var value *float64
	for _, m := range l.values() {
		if m.p == nil {
			continue
		}
		if m.key != valueKey[k] {
			return nil, r.errorf(col(m.key), "a %s event has no %q%s", k, m.key, keyHint("time", valueKey[k]))
		}
		has, value = has|mValue, m.p
	}
	var count *int64
	for _, m := range l.counts() {
		if m.p == nil {
			continue
		}
		if m.key != countKey[k] {
			return nil, r.errorf(col(m.key), "a %s event has no %q%s", k, m.key, keyHint("count", countKey[k]))
		}
		has, count = has|mCount, m.p
	}
	for _, mn := range memberNames {
		if has&mn.m != 0 && allowedMembers[k]&mn.m == 0 {
			return nil, r.errorf(col(mn.name), "a %s event has no %q", k, mn.name)
		}
	}
	if missing := requiredMembers[k] &^ has; missing != 0 {
		return nil, r.errorf(0, "%s event without %s", k, r.memberList(k, missing))
	}

	// Resolve the names.
	var err error
	if l.Agency != nil {
		if e.Agency, err = r.agency("agency", *l.Agency, b); err != nil {
			return nil, err
		}
	}
	if l.Channel != nil {
		c, ok := r.chIx[*l.Channel]
		if !ok {
			return nil, r.errorf(col("channel"), "channel %q is not in the run header", *l.Channel)
		}
		e.Channel = c
	}
	if l.Msg != nil {
		if e.MsgFrom, e.MsgSeq, err = r.msgID("msg", *l.Msg, b); err != nil {
			return nil, err
		}
	}
	if l.Cause != nil {
		if e.CauseFrom, e.CauseSeq, err = r.msgID("cause", *l.Cause, b); err != nil {
			return nil, err
		}
	}
	if l.Type != nil {
		ix, ok := r.tyIx[*l.Type]
		if !ok {
			ix = int32(len(r.names.Types))
			r.tyIx[*l.Type] = ix
			r.names.Types = append(r.names.Types, liaison.MessageType(*l.Type))
		}
		e.Type = ix
	}
	if l.Reason != nil {
		e.Reason = -1
		for i, x := range r.names.Reasons {
			if x == *l.Reason {
				e.Reason = int32(i)
			}
		}
		if e.Reason < 0 {
			return nil, r.errorf(col("reason"), "unknown drop reason %q; expected one of %s", *l.Reason,
				strings.Join(r.names.Reasons, ", "))
		}
	}
	if peer != nil {
		if e.Peer, err = r.agency(peerKey[k], *peer, b); err != nil {
			return nil, err
		}
	}
	if value != nil {
		if !(*value >= 0) {
			return nil, r.errorf(col(valueKey[k]), "%q must not be negative", valueKey[k])
		}
		e.Value = liaison.FromSeconds(*value)
	}
	for _, w := range []struct {
		key string
		p   *float64
		to  *liaison.Time
	}{{"fanout_delay", l.FanoutDelay, &e.Value}, {"outage_wait", l.OutageWait, &e.OutageWait}} {
		if w.p == nil {
			continue
		}
		if !(*w.p > 0) {
			return nil, r.errorf(col(w.key), "%q must be above zero (the writer leaves out a zero)", w.key)
		}
		*w.to = liaison.FromSeconds(*w.p)
	}
	if count != nil {
		if *count < 0 || *count > math.MaxInt32 {
			return nil, r.errorf(col(countKey[k]), "%q is out of range", countKey[k])
		}
		e.Count = int32(*count)
	}
	if k == LiveInject {
		if err := r.liveInject(rec, l.Inject, *l.Item, b); err != nil {
			return nil, err
		}
	}
	for _, m := range []struct {
		key string
		raw json.RawMessage
		v   any
	}{{"action", l.Action, &ActionDef{}}, {"decision", l.Decision, &DecisionDue{}}, {"decided", l.Decided, &Decided{}}} {
		if m.raw == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(m.raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(m.v); err != nil {
			return nil, r.errorf(col(m.key), "%s: %q is not what a %s event carries: %v", k, m.key, k, plainJSONError(err))
		}
		rec.Raw = append([]byte(`"`+m.key+`":`), m.raw...)
	}
	if k == Reject {
		var ref Refusal
		dec := json.NewDecoder(bytes.NewReader(l.Reject))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ref); err != nil || ref.Why == "" {
			return nil, r.errorf(col("reject"), "reject: expected {\"subject\": ..., \"why\": ...}")
		}
		rec.Raw = RejectMember(ref)
	}
	if l.Item != nil {
		ix, ok := r.itIx[*l.Item]
		if !ok {
			return nil, r.errorf(col("item"), "item %q is neither in the run header nor a live inject before this line", *l.Item)
		}
		e.Item = ix
	}
	if k == Reached || k == DeadlineMissed && e.Agency < 0 {
		e.Rank = RankDerived
	}
	return rec, nil
}

// liveInject checks a live inject's definition and adds its item.
func (r *Reader) liveInject(rec *Record, raw json.RawMessage, item string, b []byte) error {
	var d InjectDef
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return r.errorf(column(b, "inject"), "live_inject: the inject is not an inject definition: %v", plainJSONError(err))
	}
	if string(d.ID) != item {
		return r.errorf(column(b, "item"), "live_inject: item %q, but its inject is %q", item, d.ID)
	}
	if _, ok := liaison.ParseTLP(d.TLP); !ok {
		return r.errorf(column(b, "inject"), "live_inject %s: unknown TLP %q", d.ID, d.TLP)
	}
	if !(d.DeadlineSeconds >= 0) {
		return r.errorf(column(b, "inject"), "live_inject %s: deadline_seconds must not be negative", d.ID)
	}
	desc := d.Desc(rec.T)
	if msg := r.addItem(desc, d.Audience, rec.T, d.DeadlineSeconds); msg != "" {
		return r.errorf(column(b, "inject"), "live_inject: %s", msg)
	}
	rec.Inject = &desc
	rec.Raw = InjectMember(raw)
	return nil
}

// LiveInjectOf returns the definition a live_inject event carries, for
// observers of a run (live views, metrics) that see the event before it
// is written.
func LiveInjectOf(e *Event) (*InjectDef, error) {
	raw := InjectJSON(e)
	if raw == nil {
		return nil, errors.New("events: not a live_inject event")
	}
	var d InjectDef
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("events: live_inject: %w", err)
	}
	return &d, nil
}

func (r *Reader) agency(key, id string, b []byte) (int32, error) {
	ix, ok := r.agIx[id]
	if !ok {
		return -1, r.errorf(column(b, key), "agency %q is not in the run header", id)
	}
	return ix, nil
}

// msgID parses a message id, "dk.pet#17".
func (r *Reader) msgID(key, id string, b []byte) (int32, uint64, error) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return -1, 0, r.errorf(column(b, key), "%q: %q is not a message id (expected AGENCY#N)", key, id)
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil {
		return -1, 0, r.errorf(column(b, key), "%q: %q is not a message id (expected AGENCY#N)", key, id)
	}
	from, err := r.agency(key, id[:i], b)
	return from, seq, err
}

func (r *Reader) memberList(k Kind, m member) string {
	var out []string
	for _, mn := range memberNames {
		if m&mn.m != 0 {
			out = append(out, strconv.Quote(mn.name))
		}
	}
	if m&mPeer != 0 {
		out = append(out, strconv.Quote(peerKey[k]))
	}
	if m&mValue != 0 {
		out = append(out, strconv.Quote(valueKey[k]))
	}
	if m&mCount != 0 {
		out = append(out, strconv.Quote(countKey[k]))
	}
	return strings.Join(out, ", ")
}

func keyHint(what, key string) string {
	if key == "" {
		return ""
	}
	return fmt.Sprintf(" (its %s is %q)", what, key)
}

func kindList() string {
	names := make([]string, 0, kindEnd-1)
	for k := Kind(1); k < kindEnd; k++ {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// decode unmarshals one line strictly: no unknown members, one value.
func (r *Reader) decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	if err == nil && d.More() {
		off := d.InputOffset()
		return r.errorf(int(off)+1, "bad JSON: more than one value on the line")
	}
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return r.errorf(int(syn.Offset), "bad JSON: %v", syn)
	case errors.As(err, &typ):
		field := typ.Field[strings.LastIndexByte(typ.Field, '.')+1:]
		return r.errorf(column(b, field), "bad JSON: %q must be %s, found %s", typ.Field, typeWords(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return r.errorf(len(b)+1, "bad JSON: the line ends inside a value")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ := strconv.Unquote(f)
		return r.errorf(column(b, name), "unknown member %s; expected %s", f, r.expected(b))
	}
	return r.errorf(0, "bad JSON: %v", err)
}

// expected says what members a line's kind may carry.
func (r *Reader) expected(b []byte) string {
	kind := lineKind(b)
	if kind == "run" {
		return "the run header's members"
	}
	k, ok := kindByName[kind]
	if !ok {
		return "an event's members"
	}
	out := []string{`"t"`, `"kind"`}
	m := allowedMembers[k]
	if m == 0 {
		return strings.Join(out, ", ") + " only"
	}
	return strings.Join(out, ", ") + ", " + r.memberList(k, m)
}

// lineKind returns the kind of a line that may not decode strictly.
func lineKind(b []byte) string {
	var kl struct {
		Kind string `json:"kind"`
	}
	json.Unmarshal(b, &kl)
	return kl.Kind
}

func plainJSONError(err error) string { return strings.TrimPrefix(err.Error(), "json: ") }

func typeWords(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	}
	return "an object"
}

// column returns the 1-based column of member key on a line, 0 if absent.
func column(b []byte, key string) int {
	if key == "" {
		return 0
	}
	i := bytes.Index(b, []byte(`"`+key+`"`))
	return i + 1
}
