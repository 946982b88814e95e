package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"liaison"
	"liaison/broker"
	"liaison/events"
)

//go:embed assets
var assets embed.FS

// Limits of the HTTP side.
const (
	maxBody    = 64 << 10 // bytes of an action's JSON body
	maxStreams = 64       // live update streams at once, all seats together
	// Live streams of one seat at once: a few pages or a projector each,
	// and one link can never lock the others (the facilitator's) out.
	maxSeatStreams = 8
	streamEvery    = 250 * time.Millisecond
	clockEvery     = time.Second
	writeDeadline  = 10 * time.Second
)

// ServeHTTP serves the pages, their assets and the API.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		h.Set("Cache-Control", "no-store")
		c.api(w, r)
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, errorf(http.StatusMethodNotAllowed, "the page is read with GET"))
			return
		}
		h.Set("Cache-Control", "no-store")
		serveAsset(w, r, "assets/index.html")
	case strings.HasPrefix(r.URL.Path, "/assets/") && !strings.HasSuffix(r.URL.Path, "/"):
		serveAsset(w, r, strings.TrimPrefix(r.URL.Path, "/"))
	default:
		http.NotFound(w, r)
	}
}

func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(assets, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := map[string]string{".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
		".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for ext, t := range ct {
		if strings.HasSuffix(name, ext) {
			w.Header().Set("Content-Type", t)
		}
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// route is one endpoint of the API.
type route struct {
	method string
	path   []string // segments; "*" matches one
	role   string   // facilitator, player, or "" for either
	serve  func(c *Console, w http.ResponseWriter, r *http.Request, s Seat, args []string)
}

var routes = []route{
	{"GET", []string{"session"}, "", (*Console).session},
	{"GET", []string{"state"}, "", (*Console).state},
	{"GET", []string{"events"}, "", (*Console).stream},
	{"POST", []string{"pause"}, "facilitator", clockRoute(broker.ActionPause)},
	{"POST", []string{"resume"}, "facilitator", clockRoute(broker.ActionResume)},
	{"POST", []string{"injects", "*", "skip"}, "facilitator", injectRoute(broker.ActionSkip)},
	{"POST", []string{"injects", "*", "postpone"}, "facilitator", injectRoute(broker.ActionPostpone)},
	{"POST", []string{"injects", "*", "fire"}, "facilitator", injectRoute(broker.ActionFire)},
	{"POST", []string{"channels", "*", "cut"}, "facilitator", channelRoute(broker.ActionCut)},
	{"POST", []string{"channels", "*", "restore"}, "facilitator", channelRoute(broker.ActionRestore)},
	{"POST", []string{"agencies", "*", "staff"}, "facilitator", (*Console).staff},
	{"POST", []string{"notes"}, "facilitator", (*Console).note},
	{"POST", []string{"decisions", "*"}, "player", (*Console).decision},
}

// api finds the endpoint, checks the token and the seat's role, and
// serves it. Every answer is JSON, errors included.
func (c *Console) api(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/"), "/")
	var allow []string
	for _, rt := range routes {
		args, ok := match(rt.path, segs)
		if !ok {
			continue
		}
		if rt.method != r.Method && !(rt.method == "GET" && r.Method == http.MethodHead) {
			allow = append(allow, rt.method)
			continue
		}
		s, aerr := c.authorize(r)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		switch {
		case rt.role == "facilitator" && s.Role != "facilitator":
			writeError(w, errorf(http.StatusForbidden, "this is the facilitator's action; a player's link cannot take it"))
			return
		case rt.role == "player" && s.Role != "player":
			writeError(w, errorf(http.StatusForbidden, "only a player decides for an agency; the facilitator's link cannot"))
			return
		}
		rt.serve(c, w, r, s, args)
		return
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, errorf(http.StatusMethodNotAllowed, "%s %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
		return
	}
	writeError(w, errorf(http.StatusNotFound, "no endpoint %s (see the README, \"Running a tabletop exercise\")", r.URL.Path))
}

func match(pattern, segs []string) ([]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var args []string
	for i, p := range pattern {
		switch {
		case p == "*" && segs[i] != "":
			args = append(args, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return args, true
}

// authorize finds the seat of the request's token: the Authorization
// header ("Bearer TOKEN"), or, for reading (GET: pages, streams), the
// token query parameter. Actions take the header only, which another
// site's form cannot set.
func (c *Console) authorize(r *http.Request) (Seat, *apiError) {
	// The scheme's name is case-insensitive (RFC 9110, section 11.1).
	scheme, tok, hasHeader := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	hasHeader = hasHeader && strings.EqualFold(scheme, "Bearer")
	if !hasHeader {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return Seat{}, errorf(http.StatusUnauthorized, "an action needs the token in an Authorization: Bearer header")
		}
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		return Seat{}, errorf(http.StatusUnauthorized, "no token: open the link liaison run printed for you, or send Authorization: Bearer TOKEN")
	}
	s, ok := c.seat(strings.TrimSpace(tok))
	if !ok {
		c.mu.Lock()
		started := c.started
		c.mu.Unlock()
		if !started {
			return Seat{}, errNotStarted
		}
		return Seat{}, errorf(http.StatusUnauthorized, "unknown token: use the link liaison run printed for this run")
	}
	return s, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"the answer could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, Error{Error: e.msg})
}

func (c *Console) session(w http.ResponseWriter, r *http.Request, s Seat, _ []string) {
	out := Session{Role: s.Role}
	if s.Role == "player" {
		c.mu.Lock()
		if ag := c.st.agIx[s.Agency]; ag != nil {
			out.Agency = &AgencyRef{ID: ag.info.ID, Name: ag.info.Name, Country: ag.info.Country}
		}
		c.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) state(w http.ResponseWriter, r *http.Request, s Seat, _ []string) {
	b, _, err := c.view(s)
	if err != nil {
		var aerr *apiError
		if !errors.As(err, &aerr) {
			aerr = errorf(http.StatusInternalServerError, "%v", err)
		}
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(b, '\n'))
}

// stream sends the seat's view as server-sent events: "state" with the
// whole view whenever it changes (at most every streamEvery), "clock"
// every second in between, and "end" once the run is over.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, s Seat, _ []string) {
	c.mu.Lock()
	switch {
	case c.seatStreams[s.Token] >= maxSeatStreams:
		c.mu.Unlock()
		writeError(w, errorf(http.StatusTooManyRequests, "this link has %d live pages open already; close some", maxSeatStreams))
		return
	case c.streams >= maxStreams:
		c.mu.Unlock()
		writeError(w, errorf(http.StatusServiceUnavailable, "too many live pages are open (%d); close some", maxStreams))
		return
	}
	if c.seatStreams == nil {
		c.seatStreams = map[string]int{}
	}
	c.streams++
	c.seatStreams[s.Token]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.streams--
		c.seatStreams[s.Token]--
		c.mu.Unlock()
	}()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(writeDeadline))
		var b bytes.Buffer
		fmt.Fprintf(&b, "event: %s\ndata: ", event)
		b.Write(data)
		b.WriteString("\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// Browsers reconnect after two seconds when the stream breaks.
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return
	}
	last := uint64(math.MaxUint64)
	clock := time.NewTicker(clockEvery)
	defer clock.Stop()
	for {
		c.mu.Lock()
		changed, ver, ended, started := c.changed, c.ver, c.ended, c.started
		c.mu.Unlock()
		if ver != last && started {
			b, v, err := c.view(s)
			if err != nil || !send("state", b) {
				return
			}
			last = v
		}
		if ended && last == ver {
			send("end", []byte(`{}`))
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
			// Coalesce a burst of events into one update.
			select {
			case <-time.After(streamEvery):
			case <-r.Context().Done():
				return
			}
		case <-clock.C:
			c.mu.Lock()
			b, _ := json.Marshal(c.clock())
			c.mu.Unlock()
			if !send("clock", b) {
				return
			}
		}
	}
}

// decode reads an action's JSON body: at most maxBody bytes, no unknown
// fields, one value.
func decode(r *http.Request, v any) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errorf(http.StatusUnsupportedMediaType, "send the body as application/json, not %s", ct)
	}
	// A body announced as too large is refused before it is read, so the
	// client gets the answer rather than a reset connection.
	if r.ContentLength > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "reading the body: %v", err)
	}
	if len(body) > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "the body is larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	// JSON is UTF-8; encoding/json would turn bad bytes into U+FFFD
	// silently, and a note would not say what was sent.
	if !utf8.Valid(body) {
		return errorf(http.StatusBadRequest, "the body is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "the body is not the JSON expected: %s", jsonError(err))
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "the body holds more than one JSON value")
	}
	return nil
}

// jsonError says what encoding/json found wrong, without Go type names.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return fmt.Sprintf("the body should be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("%s should be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too soon"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a whole number"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice":
		return "a list"
	case k == "string":
		return "a string"
	case k == "struct", k == "ptr":
		return "an object"
	}
	return k
}

func (c *Console) act(w http.ResponseWriter, r *http.Request, s Seat, kind string, d events.ActionDef) {
	res, aerr := c.submit(r.Context(), s, kind, d)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func clockRoute(kind string) func(*Console, http.ResponseWriter, *http.Request, Seat, []string) {
	return func(c *Console, w http.ResponseWriter, r *http.Request, s Seat, _ []string) {
		var body struct{}
		if aerr := decode(r, &body); aerr != nil {
			writeError(w, aerr)
			return
		}
		c.act(w, r, s, kind, events.ActionDef{})
	}
}

func injectRoute(kind string) func(*Console, http.ResponseWriter, *http.Request, Seat, []string) {
	return func(c *Console, w http.ResponseWriter, r *http.Request, s Seat, args []string) {
		d := events.ActionDef{ID: liaison.ItemID(args[0])}
		if kind != broker.ActionPostpone {
			var body struct{}
			if aerr := decode(r, &body); aerr != nil {
				writeError(w, aerr)
				return
			}
			c.act(w, r, s, kind, d)
			return
		}
		var body struct {
			AtSeconds *float64 `json:"at_seconds"`
			BySeconds *float64 `json:"by_seconds"`
		}
		if aerr := decode(r, &body); aerr != nil {
			writeError(w, aerr)
			return
		}
		switch {
		case (body.AtSeconds == nil) == (body.BySeconds == nil):
			writeError(w, errorf(http.StatusBadRequest, "postpone takes one of at_seconds (the new simulated time) and by_seconds (how much later than planned)"))
			return
		case body.AtSeconds != nil:
			if !finite(*body.AtSeconds) || *body.AtSeconds < 0 {
				writeError(w, errorf(http.StatusBadRequest, "at_seconds must be a number of seconds since the start"))
				return
			}
			d.AtSeconds = body.AtSeconds
		default:
			if !finite(*body.BySeconds) || *body.BySeconds <= 0 {
				writeError(w, errorf(http.StatusBadRequest, "by_seconds must be a positive number of seconds"))
				return
			}
			c.mu.Lock()
			it := c.st.itemIx[string(d.ID)]
			if it == nil {
				c.mu.Unlock()
				writeError(w, errorf(http.StatusNotFound, "no inject %q in this run", d.ID))
				return
			}
			at := secs(it.at + liaison.FromSeconds(*body.BySeconds))
			c.mu.Unlock()
			d.AtSeconds = &at
		}
		// Whole milliseconds, as simulated time counts.
		at := secs(liaison.FromSeconds(*d.AtSeconds))
		d.AtSeconds = &at
		c.act(w, r, s, kind, d)
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e12 }

func channelRoute(kind string) func(*Console, http.ResponseWriter, *http.Request, Seat, []string) {
	return func(c *Console, w http.ResponseWriter, r *http.Request, s Seat, args []string) {
		var body struct{}
		if aerr := decode(r, &body); aerr != nil {
			writeError(w, aerr)
			return
		}
		c.act(w, r, s, kind, events.ActionDef{Channel: liaison.ChannelID(args[0])})
	}
}

func (c *Console) staff(w http.ResponseWriter, r *http.Request, s Seat, args []string) {
	var body struct {
		Staff *int `json:"staff"`
	}
	if aerr := decode(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	if body.Staff == nil {
		writeError(w, errorf(http.StatusBadRequest, "staff is missing: how many people handle messages at once"))
		return
	}
	c.act(w, r, s, broker.ActionStaff, events.ActionDef{Agency: liaison.AgencyID(args[0]), Staff: body.Staff})
}

func (c *Console) note(w http.ResponseWriter, r *http.Request, s Seat, _ []string) {
	var body struct {
		Text      string `json:"text"`
		Objective string `json:"objective"`
		Agency    string `json:"agency"`
	}
	if aerr := decode(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	c.act(w, r, s, broker.ActionNote, events.ActionDef{Text: body.Text, Objective: body.Objective, Agency: liaison.AgencyID(body.Agency)})
}

func (c *Console) decision(w http.ResponseWriter, r *http.Request, s Seat, args []string) {
	var body struct {
		Action  string              `json:"action"`
		To      []liaison.AgencyID  `json:"to"`
		Channel liaison.ChannelID   `json:"channel"`
		Type    liaison.MessageType `json:"type"`
	}
	if aerr := decode(r, &body); aerr != nil {
		writeError(w, aerr)
		return
	}
	var id uint64
	if _, err := fmt.Sscanf(args[0], "%d", &id); err != nil || fmt.Sprint(id) != args[0] {
		writeError(w, errorf(http.StatusNotFound, "no decision %q: decisions are numbered 1, 2, …", args[0]))
		return
	}
	c.act(w, r, s, broker.ActionDecision, events.ActionDef{Decision: &id, Action: body.Action, To: body.To,
		Channel: body.Channel, Type: body.Type})
}
