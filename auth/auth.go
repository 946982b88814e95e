// Package auth gives a run "need to know" on NATS: one user per agency,
// with an nkey, allowed to publish only to the agencies it shares a channel
// with and only as itself (the sender is the last token of a message's
// subject), and to subscribe only to its own subjects; and users for the time
// service, for nodes' links to it and for a facilitator. The same plan
// becomes a configuration file for a stock nats-server and options for the
// embedded one.
//
// Subjects come from broker.Subjects with "*" as the run token, so one
// configuration serves every run of the scenario (and variant) it was made
// for.
package auth

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"liaison"
	"liaison/broker"
	"liaison/scenarios"
)

// The users that are not agencies.
const (
	// ServiceUser is the time service: it grants windows, takes joins,
	// reports and the facilitator's control requests, and answers them.
	ServiceUser = "service"
	// FacilitatorUser drives a live exercise: liaison control and liaison
	// inject.
	FacilitatorUser = "facilitator"
)

// NodeUser is the user of the node with the given name (liaison node
// --name): its link to the time service, allowed to ask to join and to
// report only under its own name (time.join.<node>, time.up.<node>), so
// that no node can speak for another, and to receive grants.
func NodeUser(name string) string { return "node-" + broker.NodeToken(name) }

// Role says what a user is for.
type Role int

// The roles of users.
const (
	Agency Role = iota
	Service
	Node
	Facilitator
)

func (r Role) String() string {
	return [...]string{"agency", "time service", "node link", "facilitator"}[r]
}

// User is one NATS user of the plan.
type User struct {
	ID        string // the agency's id, ServiceUser, FacilitatorUser or NodeUser(name)
	Role      Role
	PublicKey string // the nkey the server knows the user by (U...)
	// Publish and Subscribe are the subjects the user may use, sorted;
	// empty means none at all.
	Publish, Subscribe []string
	// Responses lets the user answer requests it received, on their reply
	// subjects only (nats-server's allow_responses).
	Responses bool
	seed      []byte
}

// Responses are answered once, within this time, as nats-server's
// allow_responses: true would have it.
const (
	responseMax     = server.DEFAULT_ALLOW_RESPONSE_MAX_MSGS
	responseExpires = server.DEFAULT_ALLOW_RESPONSE_EXPIRATION
)

// Plan is the users of one scenario (with its variant applied), each with a
// fresh nkey.
type Plan struct {
	Scenario string
	Users    []*User // the service and facilitator users, the nodes' in the order given, then the agencies in the scenario's order
}

// patterns builds every subject a plan names, from the broker's helper with
// "*" for the run.
type patterns struct{ s broker.Subjects }

var anyRun = patterns{broker.NewSubjects("*")}

// message is where agency from may publish for agency to on ch: the sender
// is part of the subject, so an agency can publish only as itself.
func (p patterns) message(ch liaison.ChannelID, to, from liaison.AgencyID) string {
	return p.s.Message(ch, to, from)
}

// inbox matches what agency a receives on ch, from anyone.
func (p patterns) inbox(ch liaison.ChannelID, a liaison.AgencyID) string { return p.s.InboxAll(ch, a) }
func (p patterns) grant() string                                         { return p.s.Grant() }
func (p patterns) joins() string                                         { return p.s.JoinAll() }
func (p patterns) ups() string                                           { return p.s.UpAll() }
func (p patterns) join(node string) string                               { return p.s.Join(node) }
func (p patterns) up(node string) string                                 { return p.s.Up(node) }

// control matches liaison.<run>.ctl.<verb> (sim.ControlSubject): the
// run's prefix, as Subjects builds it, then ctl and the verb.
func (p patterns) control() string { return strings.TrimSuffix(p.s.Grant(), "time.grant") + "ctl.*" }

// runs is where every run on a server answers "which runs are there"
// (sim.RunsSubject).
func (patterns) runs() string { return "liaison.runs" }

// inboxOf is where a user's requests get their answers: each user has
// its own inbox prefix (Option sets it), so that no user may listen to
// another's answers.
func inboxOf(id string) string { return "_INBOX." + id }

// Members returns every agency that takes part in channel c (see
// scenarios.Channel.Parties).
func Members(c *scenarios.Channel) []liaison.AgencyID { return c.Parties() }

// NewPlan makes the plan of a loaded scenario (apply the variant first)
// with a new nkey for every user, and a user for each named node that is
// to host agencies in another process (liaison node --name); a run in one
// process needs none.
func NewPlan(sc *scenarios.Scenario, nodes ...string) (*Plan, error) {
	p := &Plan{Scenario: sc.Name}
	reserved := map[string]bool{ServiceUser: true, FacilitatorUser: true}
	p.Users = append(p.Users,
		&User{ID: ServiceUser, Role: Service,
			Publish:   []string{anyRun.grant()},
			Subscribe: []string{anyRun.joins(), anyRun.ups(), anyRun.control(), anyRun.runs()},
			Responses: true},
		&User{ID: FacilitatorUser, Role: Facilitator,
			Publish:   []string{anyRun.control(), anyRun.runs()},
			Subscribe: []string{inboxOf(FacilitatorUser) + ".>"}})
	for _, name := range nodes {
		id := NodeUser(name)
		switch {
		case name == "" || strings.ContainsAny(name, "\n"):
			return nil, fmt.Errorf("auth: a node needs a name of one line, not %q", name)
		case reserved[id]:
			return nil, fmt.Errorf("auth: node %s would be user %s, which another name already gives; name the nodes apart in letters, digits, - and _", name, id)
		}
		reserved[id] = true
		p.Users = append(p.Users, &User{ID: id, Role: Node,
			Publish:   []string{anyRun.join(name), anyRun.up(name)},
			Subscribe: []string{anyRun.grant(), inboxOf(id) + ".>"}})
	}
	for _, a := range sc.Agencies {
		if reserved[string(a.ID)] {
			return nil, fmt.Errorf("auth: agency %s has the name of Liaison's %s user; rename the agency", a.ID, a.ID)
		}
		u := &User{ID: string(a.ID), Role: Agency}
		for i := range sc.Channels {
			c := &sc.Channels[i]
			members := Members(c)
			if !slices.Contains(members, a.ID) {
				continue
			}
			u.Subscribe = append(u.Subscribe, anyRun.inbox(c.ID, a.ID))
			for _, m := range members {
				if m != a.ID {
					u.Publish = append(u.Publish, anyRun.message(c.ID, m, a.ID))
				}
			}
		}
		p.Users = append(p.Users, u)
	}
	for _, u := range p.Users {
		slices.Sort(u.Publish)
		u.Publish = slices.Compact(u.Publish)
		slices.Sort(u.Subscribe)
		u.Subscribe = slices.Compact(u.Subscribe)
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("auth: creating an nkey: %w", err)
		}
		seed, err := kp.Seed()
		if err != nil {
			return nil, fmt.Errorf("auth: nkey seed: %w", err)
		}
		u.seed = slices.Clone(seed) // Wipe overwrites the key pair's own copy
		if u.PublicKey, err = kp.PublicKey(); err != nil {
			return nil, fmt.Errorf("auth: nkey public key: %w", err)
		}
		kp.Wipe()
	}
	return p, nil
}

// User returns the user with the given id, or nil.
func (p *Plan) User(id string) *User {
	for _, u := range p.Users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

// Permissions are the user's permissions as the server takes them. An
// empty list is a deny of everything: to nats-server an absent allow list
// means "all".
func (u *User) Permissions() *server.Permissions {
	perm := func(allow []string) *server.SubjectPermission {
		if len(allow) == 0 {
			return &server.SubjectPermission{Deny: []string{">"}}
		}
		return &server.SubjectPermission{Allow: slices.Clone(allow)}
	}
	p := &server.Permissions{Publish: perm(u.Publish), Subscribe: perm(u.Subscribe)}
	if u.Responses {
		p.Response = &server.ResponsePermission{MaxMsgs: responseMax, Expires: responseExpires}
	}
	return p
}

// ServerOptions gives an embedded server the plan's users (use it as
// broker.ServerOptions.Options). Connections without one of their nkeys
// are refused.
func (p *Plan) ServerOptions(opts *server.Options) {
	for _, u := range p.Users {
		opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: u.PublicKey, Permissions: u.Permissions()})
	}
}

// ServerConfig is the plan as a nats-server configuration: an
// authorization block with one nkey user per entry. Add listen, cluster
// and tls settings around it, or include it from another file.
func (p *Plan) ServerConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Liaison \"need to know\" users for scenario %s, written by liaison auth.\n", p.Scenario)
	b.WriteString("# Each agency may publish only to the agencies it shares a channel with, and only\n")
	b.WriteString("# as itself (liaison.<run>.<channel>.<to>.<from>, agency ids with ':' for '.'),\n")
	b.WriteString("# and subscribe only to its own subjects; \"*\" stands for any run id.\n")
	b.WriteString("authorization {\n  users = [\n")
	list := func(allow []string) string {
		if len(allow) == 0 {
			return `deny: [">"]`
		}
		q := make([]string, len(allow))
		for i, s := range allow {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "allow: [" + strings.Join(q, ", ") + "]"
	}
	for _, u := range p.Users {
		if u.Role == Agency || u.Role == Node {
			fmt.Fprintf(&b, "    # %s %s\n", u.Role, u.ID)
		} else {
			fmt.Fprintf(&b, "    # %s\n", u.Role)
		}
		fmt.Fprintf(&b, "    {\n      nkey: %s\n      permissions: {\n", u.PublicKey)
		fmt.Fprintf(&b, "        publish: { %s }\n", list(u.Publish))
		fmt.Fprintf(&b, "        subscribe: { %s }\n", list(u.Subscribe))
		if u.Responses {
			fmt.Fprintf(&b, "        allow_responses: { max: %d, expires: %q }\n", responseMax, responseExpires.String())
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// ConfigFile is the name WriteFiles gives the server configuration.
const ConfigFile = "nats-server.conf"

// SeedFile is where WriteFiles puts a user's nkey seed in dir.
func SeedFile(dir, id string) string { return filepath.Join(dir, id+".nk") }

// ErrExists is returned by WriteFiles when a file it would write is there
// already and force is not set.
var ErrExists = errors.New("file exists")

// WriteFiles writes the server configuration and each user's seed file
// (mode 0600) to dir, creating it. It refuses to replace any existing file,
// naming them all and writing nothing, unless force is set.
func (p *Plan) WriteFiles(dir string, force bool) error {
	files := map[string][]byte{filepath.Join(dir, ConfigFile): []byte(p.ServerConfig())}
	for _, u := range p.Users {
		files[SeedFile(dir, u.ID)] = append(slices.Clone(u.seed), '\n')
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.SortFunc(names, cmp.Compare)
	if !force {
		var there []string
		for _, f := range names {
			if _, err := os.Lstat(f); err == nil {
				there = append(there, f)
			}
		}
		if len(there) > 0 {
			return fmt.Errorf("auth: %w: %s (use --force to replace)", ErrExists, strings.Join(there, ", "))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	for _, f := range names {
		mode := os.FileMode(0o600)
		if filepath.Base(f) == ConfigFile {
			mode = 0o644
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if !force {
			flags |= os.O_EXCL
		}
		fh, err := os.OpenFile(f, flags, mode)
		if err != nil {
			return fmt.Errorf("auth: %w", err)
		}
		// An existing file keeps its mode on open: set it.
		err = fh.Chmod(mode)
		if err == nil {
			_, err = fh.Write(files[f])
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("auth: writing %s: %w", f, err)
		}
	}
	return nil
}

// Option is the connect option for the user whose nkey seed is in the file
// (as WriteFiles writes it), for broker.Connect.
func Option(seedFile string) (nats.Option, error) {
	o, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return withInbox(o, strings.TrimSuffix(filepath.Base(seedFile), ".nk")), nil
}

// withInbox adds the user's own inbox prefix to its connect option.
func withInbox(o nats.Option, id string) nats.Option {
	return func(opts *nats.Options) error {
		if err := o(opts); err != nil {
			return err
		}
		return nats.CustomInboxPrefix(inboxOf(id))(opts)
	}
}

// Option is the connect option for the plan's user id, with its seed kept
// in memory: for runs whose server and connections are all in this
// process.
func (p *Plan) Option(id string) (nats.Option, error) {
	u := p.User(id)
	if u == nil {
		return nil, fmt.Errorf("auth: no user %q in the plan of %s", id, p.Scenario)
	}
	seed := slices.Clone(u.seed)
	return withInbox(nats.Nkey(u.PublicKey, func(nonce []byte) ([]byte, error) {
		kp, err := nkeys.FromSeed(seed)
		if err != nil {
			return nil, err
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	}), id), nil
}
