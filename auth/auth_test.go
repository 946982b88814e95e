package auth_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"liaison"
	"liaison/auth"
	"liaison/broker"
	"liaison/scenarios"
	"liaison/sim"
)

const scenarioFile = "testdata/need-to-know.yaml"

func plan(t *testing.T, variant string) *auth.Plan {
	t.Helper()
	sc, err := scenarios.Load(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	if sc, err = sc.Apply(variant); err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPlan(sc, "n1", "n2")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// msg is the subject pattern of a message for agency to from agency from
// on a channel, for any run.
func msg(ch, to, from string) string {
	return broker.NewSubjects("*").Message(liaison.ChannelID(ch), liaison.AgencyID(to), liaison.AgencyID(from))
}

// inbox is the pattern of what agency a receives on a channel, for any run.
func inbox(ch, a string) string {
	return broker.NewSubjects("*").InboxAll(liaison.ChannelID(ch), liaison.AgencyID(a))
}

func TestPlanPermissions(t *testing.T) {
	p := plan(t, "")
	want := map[string][2][]string{
		// member of the platform (with its hub) and the Danish mesh
		"dk.pet": {
			{msg("ctg", "ctg.platform", "dk.pet"), msg("ctg", "no.pst", "dk.pet"), msg("ctg", "se.sapo", "dk.pet"), msg("dk-national", "dk.police", "dk.pet")},
			{inbox("ctg", "dk.pet"), inbox("dk-national", "dk.pet")}},
		// one side of the liaison channel: the officer and the other side
		"se.police": {
			{msg("lo", "dk.police", "se.police"), msg("lo", "nordic.lo", "se.police")},
			{inbox("lo", "se.police")}},
		"nordic.lo": {
			{msg("lo", "dk.police", "nordic.lo"), msg("lo", "se.police", "nordic.lo")},
			{inbox("lo", "nordic.lo")}},
		"ctg.platform": {
			{msg("ctg", "dk.pet", "ctg.platform"), msg("ctg", "no.pst", "ctg.platform"), msg("ctg", "se.sapo", "ctg.platform")},
			{inbox("ctg", "ctg.platform")}},
		"fi.supo": {nil, nil},
	}
	for _, w := range want {
		slices.Sort(w[0])
		slices.Sort(w[1])
	}
	for id, w := range want {
		u := p.User(id)
		if u == nil {
			t.Fatalf("no user %s", id)
		}
		if u.Role != auth.Agency || !slices.Equal(u.Publish, w[0]) || !slices.Equal(u.Subscribe, w[1]) {
			t.Errorf("%s: role %v, publish %q, subscribe %q;\nwant publish %q, subscribe %q", id, u.Role, u.Publish, u.Subscribe, w[0], w[1])
		}
	}
	if n := len(p.Users); n != 8+4 {
		t.Errorf("%d users, want 8 agencies, the service, the facilitator and 2 nodes", n)
	}
	keys := map[string]bool{}
	for _, u := range p.Users {
		if !strings.HasPrefix(u.PublicKey, "U") || keys[u.PublicKey] {
			t.Errorf("%s: public key %q is not a fresh user nkey", u.ID, u.PublicKey)
		}
		keys[u.PublicKey] = true
	}
	// The mesh variant adds fi.supo to the CTG channel, without the hub.
	v := plan(t, "mesh").User("fi.supo")
	if want := []string{msg("ctg", "dk.pet", "fi.supo"), msg("ctg", "no.pst", "fi.supo"), msg("ctg", "se.sapo", "fi.supo")}; !slices.Equal(v.Publish, want) {
		t.Errorf("mesh variant: fi.supo publishes %q, want %q", v.Publish, want)
	}
}

// matches is NATS subject matching for patterns with * only.
func matches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	if len(p) != len(s) {
		return false
	}
	for i := range p {
		if p[i] != "*" && p[i] != s[i] {
			return false
		}
	}
	return true
}

// TestPlanCoversProtocol: the service, node and facilitator users' patterns
// match the subjects the run really uses (broker's and sim's helpers), and
// agency patterns match no time-service or control subject.
func TestPlanCoversProtocol(t *testing.T) {
	p := plan(t, "")
	s := broker.NewSubjects(broker.RunToken("need-to-know-XYZ"))
	anyOf := func(patterns []string, subject string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, subject) })
	}
	svc, node, fac := p.User(auth.ServiceUser), p.User(auth.NodeUser("n1")), p.User(auth.FacilitatorUser)
	checks := []struct {
		who     string
		list    []string
		subject string
	}{
		{"service publishes", svc.Publish, s.Grant()},
		{"service subscribes", svc.Subscribe, s.Join("n1")},
		{"service subscribes", svc.Subscribe, s.Up("n7")},
		{"service subscribes", svc.Subscribe, sim.ControlSubject("need-to-know-XYZ", "inject")},
		{"service subscribes", svc.Subscribe, sim.RunsSubject},
		{"node publishes", node.Publish, s.Join("n1")},
		{"node publishes", node.Publish, s.Up("n1")},
		{"node subscribes", node.Subscribe, s.Grant()},
		{"facilitator publishes", fac.Publish, sim.ControlSubject("r", "pause")},
		{"facilitator publishes", fac.Publish, sim.RunsSubject},
		{"dk.pet publishes", p.User("dk.pet").Publish, s.Message("ctg", "se.sapo", "dk.pet")},
		{"dk.pet subscribes", p.User("dk.pet").Subscribe, s.Message("dk-national", "dk.pet", "dk.police")},
	}
	for _, c := range checks {
		if !anyOf(c.list, c.subject) {
			t.Errorf("%s %s: not in %q", c.who, c.subject, c.list)
		}
	}
	if !svc.Responses || node.Responses || p.User("dk.pet").Responses {
		t.Error("only the time service answers requests")
	}
	// A node may join and report only as itself.
	for _, subj := range []string{s.Join("n2"), s.Up("n2"), s.JoinAll(), s.UpAll()} {
		if anyOf(node.Publish, subj) {
			t.Errorf("node n1 may publish on %s", subj)
		}
	}
	for _, u := range p.Users {
		if u.Role != auth.Agency {
			continue
		}
		for _, subj := range []string{s.Grant(), s.Join("n1"), s.Up("n1"), sim.ControlSubject("x", "pause"), sim.RunsSubject} {
			if anyOf(u.Publish, subj) || anyOf(u.Subscribe, subj) {
				t.Errorf("agency %s may use %s", u.ID, subj)
			}
		}
	}
}

func TestReservedNames(t *testing.T) {
	sc, err := scenarios.Load(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		agency string
		nodes  []string
		want   string
	}{
		{"service", nil, "agency service has the name"},
		{"facilitator", nil, "agency facilitator has the name"},
		{"node-a", []string{"a"}, "agency node-a has the name"},
		{"dk.x", []string{"a.b", "a_b"}, "node a_b would be user node-a_b"},
		{"dk.x", []string{""}, "a node needs a name"},
	} {
		sc := *sc
		sc.Agencies = append(slices.Clone(sc.Agencies), scenarios.Agency{ID: liaison.AgencyID(c.agency)})
		if _, err := auth.NewPlan(&sc, c.nodes...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("agency %s, nodes %q: %v, want an error with %q", c.agency, c.nodes, err, c.want)
		}
	}
	// A node's name only has to be distinct as a subject token.
	if _, err := auth.NewPlan(sc, "node", "a.b"); err != nil {
		t.Errorf("nodes named node and a.b: %v", err)
	}
}

// startServer starts an embedded server that listens on a port, with the
// plan's users.
func startServer(t *testing.T, apply func(*server.Options)) *server.Server {
	t.Helper()
	s, err := broker.StartServer(broker.ServerOptions{Listen: "127.0.0.1:-1", Options: apply})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// connector connects as a user of the plan.
type connector func(t *testing.T, id string) *broker.Conn

// TestNeedToKnowEmbedded: the permissions hold on the embedded server with
// the plan applied, users connecting in process with keys in memory.
func TestNeedToKnowEmbedded(t *testing.T) {
	p := plan(t, "")
	s := startServer(t, p.ServerOptions)
	checkNeedToKnow(t, s, p, func(t *testing.T, id string) *broker.Conn {
		t.Helper()
		o, err := p.Option(id)
		if err != nil {
			t.Fatal(err)
		}
		c, err := broker.Connect("", s, id, o)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		t.Cleanup(c.Close)
		return c
	})
}

// TestNeedToKnowFromFiles: the same with the written configuration file
// (as nats-server parses it) and the seed files, over TCP.
func TestNeedToKnowFromFiles(t *testing.T) {
	p := plan(t, "")
	dir := t.TempDir()
	if err := p.WriteFiles(dir, false); err != nil {
		t.Fatal(err)
	}
	fileOpts, err := server.ProcessConfigFile(filepath.Join(dir, auth.ConfigFile))
	if err != nil {
		t.Fatalf("nats-server does not take the configuration: %v", err)
	}
	s := startServer(t, func(o *server.Options) { o.Nkeys = fileOpts.Nkeys })
	checkNeedToKnow(t, s, p, func(t *testing.T, id string) *broker.Conn {
		t.Helper()
		o, err := auth.Option(auth.SeedFile(dir, id))
		if err != nil {
			t.Fatal(err)
		}
		c, err := broker.Connect(s.ClientURL(), nil, id, o)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		t.Cleanup(c.Close)
		return c
	})
}

func checkNeedToKnow(t *testing.T, s *server.Server, p *auth.Plan, connect connector) {
	subj := broker.NewSubjects("run-1")
	pet, sapo, police, sePolice, supo := connect(t, "dk.pet"), connect(t, "se.sapo"), connect(t, "dk.police"), connect(t, "se.police"), connect(t, "fi.supo")

	got := make(chan string, 16)
	recv := func(c *broker.Conn, subject string) {
		t.Helper()
		if _, err := c.Subscribe(subject, func(m *nats.Msg) { got <- m.Subject + " " + string(m.Data) }); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("received %q, want %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("nothing received, want %q", want)
		}
	}
	// violation waits for the server's permission error on c.
	violation := func(c *broker.Conn, what string, before int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for c.Errors.Permission.Load() == before {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no permission violation reported (errors: %d, last %q)", what, c.Errors.Total(), c.Errors.Last())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !strings.Contains(strings.ToLower(c.Errors.Last()), "permissions violation") {
			t.Fatalf("%s: last error %q", what, c.Errors.Last())
		}
	}

	// What should flow does: on the platform, the national mesh and the
	// liaison channel.
	recv(sapo, subj.InboxAll("ctg", "se.sapo"))
	recv(police, subj.InboxAll("dk-national", "dk.police"))
	recv(sePolice, subj.InboxAll("lo", "se.police"))
	for _, m := range []struct {
		c       *broker.Conn
		subject string
	}{
		{pet, subj.Message("ctg", "se.sapo", "dk.pet")},
		{pet, subj.Message("dk-national", "dk.police", "dk.pet")},
		{police, subj.Message("lo", "se.police", "dk.police")},
	} {
		if err := m.c.Publish(m.subject, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		m.c.Flush()
		expect(m.subject + " hello")
	}

	// An agency cannot listen on another agency's subject ...
	n := pet.Errors.Permission.Load()
	if _, err := pet.Subscribe(subj.InboxAll("ctg", "se.sapo"), func(*nats.Msg) { got <- "dk.pet overheard se.sapo" }); err != nil {
		t.Fatal(err)
	}
	pet.Flush()
	violation(pet, "dk.pet subscribing to se.sapo's subject", n)
	// ... nor on a wildcard over the run ...
	n = pet.Errors.Permission.Load()
	pet.Subscribe("liaison.>", func(*nats.Msg) { got <- "dk.pet overheard everything" })
	pet.Flush()
	violation(pet, "dk.pet subscribing to liaison.>", n)
	// ... nor publish on a channel it is not a member of (the liaison
	// channel, where se.police listens) ...
	n = pet.Errors.Permission.Load()
	pet.Publish(subj.Message("lo", "se.police", "dk.pet"), []byte("not a member"))
	pet.Flush()
	violation(pet, "dk.pet publishing on lo", n)
	// ... nor to the time service.
	n = pet.Errors.Permission.Load()
	pet.Publish(subj.Up("n1"), []byte("F"))
	pet.Flush()
	violation(pet, "dk.pet publishing on the time service's subject", n)
	// An agency on no channel may do nothing at all: an empty list is not
	// "everything".
	n = supo.Errors.Permission.Load()
	supo.Subscribe("liaison.>", func(*nats.Msg) { got <- "fi.supo overheard everything" })
	supo.Flush()
	violation(supo, "fi.supo subscribing", n)
	n = supo.Errors.Permission.Load()
	supo.Publish(subj.Message("ctg", "se.sapo", "fi.supo"), []byte("from nowhere"))
	supo.Flush()
	violation(supo, "fi.supo publishing", n)

	// ... nor claim to be another agency: the sender's place in the
	// subject is bound to its user.
	n = pet.Errors.Permission.Load()
	pet.Publish(subj.Message("ctg", "se.sapo", "no.pst"), []byte("forged"))
	pet.Flush()
	violation(pet, "dk.pet publishing as no.pst", n)

	// Still flowing, and nothing of the refused traffic arrived.
	sapo.Publish(subj.Message("ctg", "dk.pet", "se.sapo"), []byte("x")) // dk.pet has no subscription of its own: nothing arrives
	pet.Publish(subj.Message("ctg", "se.sapo", "dk.pet"), []byte("again"))
	pet.Flush()
	expect(subj.Message("ctg", "se.sapo", "dk.pet") + " again")
	select {
	case m := <-got:
		t.Fatalf("refused traffic arrived: %q", m)
	case <-time.After(200 * time.Millisecond):
	}

	// The time service, a node's link and a facilitator do their parts of
	// the protocol with the real broker code: join by request and reply,
	// grants, reports and control requests.
	svc, link, fac := connect(t, auth.ServiceUser), connect(t, auth.NodeUser("n1")), connect(t, auth.FacilitatorUser)
	joins, err := svc.Subscribe(subj.JoinAll(), func(m *nats.Msg) { m.Respond([]byte("ok 0")) })
	if err != nil {
		t.Fatal(err)
	}
	defer joins.Unsubscribe()
	ups := make(chan byte, 64)
	if _, err := svc.Subscribe(subj.UpAll(), func(m *nats.Msg) { ups <- m.Data[0] }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Subscribe(sim.ControlSubject("run-1", "pause"), func(m *nats.Msg) { m.Respond([]byte("ok 0")) }); err != nil {
		t.Fatal(err)
	}
	svc.Flush()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := broker.JoinRun(ctx, link, subj, "n1", "digest", []liaison.AgencyID{"dk.pet"})
	if err != nil {
		t.Fatalf("node joining through the permissions: %v", err)
	}
	defer node.Close()
	if err := node.Update(broker.Report{SentTo: []uint64{0}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ups:
	case <-time.After(5 * time.Second):
		t.Fatal("the service got no report from the node")
	}
	if err := svc.Publish(subj.Grant(), []byte("Astop")); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-node.Downs():
		if a, ok := d.(broker.Abort); !ok || a.Reason != "stop" {
			t.Fatalf("from the service: %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the node got no grant")
	}
	if r, err := fac.Request(sim.ControlSubject("run-1", "pause"), nil, 5*time.Second); err != nil || string(r.Data) != "ok 0" {
		t.Fatalf("facilitator's control request: %v %v", r, err)
	}
	for _, c := range []*broker.Conn{svc, link, fac} {
		if c.Errors.Total() != 0 {
			t.Errorf("%s: %d errors, last %q", c.Opts.Name, c.Errors.Total(), c.Errors.Last())
		}
	}
	// A node's link cannot speak for another node: not join under its
	// name, nor report for it.
	for _, subject := range []string{subj.Join("n2"), subj.Up("n2")} {
		n = link.Errors.Permission.Load()
		link.Publish(subject, []byte("F"))
		link.Flush()
		violation(link, "node n1 publishing on "+subject, n)
	}
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	if _, err := broker.JoinRun(short, link, subj, "n2", "digest", nil); err == nil {
		t.Fatal("node n1's user joined as n2")
	}
	// The node's link cannot hear agencies, nor the service publish
	// messages as one.
	n = link.Errors.Permission.Load()
	link.Subscribe(subj.InboxAll("ctg", "se.sapo"), func(*nats.Msg) {})
	link.Flush()
	violation(link, "node link subscribing to an agency", n)
	n = svc.Errors.Permission.Load()
	svc.Publish(subj.Message("ctg", "se.sapo", "dk.pet"), []byte("forged"))
	svc.Flush()
	violation(svc, "service publishing as an agency", n)
	// Each user hears the answers to its own requests only.
	for _, pattern := range []string{"_INBOX.>", "_INBOX." + auth.NodeUser("n1") + ".>"} {
		n = fac.Errors.Permission.Load()
		fac.Subscribe(pattern, func(*nats.Msg) {})
		fac.Flush()
		violation(fac, "facilitator subscribing to "+pattern, n)
	}

	// Without a key, or with a key the server does not know, no
	// connection.
	url := s.ClientURL()
	if c, err := broker.Connect(url, nil, "anonymous", nats.MaxReconnects(0)); err == nil {
		c.Close()
		t.Error("a connection without credentials was accepted")
	}
	stranger := plan(t, "")
	o, _ := stranger.Option("dk.pet")
	if c, err := broker.Connect(url, nil, "stranger", o, nats.MaxReconnects(0)); err == nil {
		c.Close()
		t.Error("a connection with another plan's key was accepted")
	}
}

// TestConfigMatchesOptions: the configuration file, parsed by the server's
// own parser, gives exactly the users and permissions ServerOptions sets.
func TestConfigMatchesOptions(t *testing.T) {
	p := plan(t, "")
	dir := t.TempDir()
	conf := filepath.Join(dir, "c.conf")
	if err := os.WriteFile(conf, []byte(p.ServerConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var direct server.Options
	p.ServerOptions(&direct)
	perms := func(users []*server.NkeyUser) map[string]*server.Permissions {
		m := map[string]*server.Permissions{}
		for _, u := range users {
			m[u.Nkey] = u.Permissions
		}
		return m
	}
	a, b := perms(fromFile.Nkeys), perms(direct.Nkeys)
	if len(a) != len(p.Users) || !reflect.DeepEqual(a, b) {
		t.Fatalf("the file's users differ from ServerOptions':\nfile    %v\noptions %v", a, b)
	}
}

// TestNatsServerAcceptsConfig checks the configuration with the real
// nats-server binary (nats-server -t), when one is installed.
func TestNatsServerAcceptsConfig(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "nats-server")
		if _, err := os.Stat(bin); err != nil {
			t.Skip("no nats-server binary on PATH or in $GOPATH/bin; install one with " +
				"go install github.com/nats-io/nats-server/v2@v2.15.2 to check the configuration with it")
		}
	}
	dir := t.TempDir()
	if err := plan(t, "mesh").WriteFiles(dir, false); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "-c", filepath.Join(dir, auth.ConfigFile)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration file") {
		t.Fatalf("%s -t: %v\n%s", bin, err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}

func TestWriteFiles(t *testing.T) {
	p := plan(t, "")
	dir := filepath.Join(t.TempDir(), "creds")
	if err := p.WriteFiles(dir, false); err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for _, u := range p.Users {
		f := auth.SeedFile(dir, u.ID)
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
		b, _ := os.ReadFile(f)
		seeds = append(seeds, strings.TrimSpace(string(b)))
		if !strings.HasPrefix(string(b), "SU") {
			t.Errorf("%s: not a user seed", f)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, auth.ConfigFile))
	if err != nil || string(conf) != p.ServerConfig() {
		t.Fatalf("configuration file: %v", err)
	}
	for _, s := range seeds {
		if strings.Contains(string(conf), s) {
			t.Error("the configuration holds a seed")
		}
	}

	// A second plan does not overwrite, and writes nothing ...
	seed := auth.SeedFile(dir, "dk.pet")
	os.Chmod(seed, 0o644)
	before, _ := os.ReadFile(seed)
	again := plan(t, "")
	err = again.WriteFiles(dir, false)
	if !errors.Is(err, auth.ErrExists) || !strings.Contains(err.Error(), seed) {
		t.Fatalf("writing over existing files: %v, want ErrExists naming %s", err, seed)
	}
	if after, _ := os.ReadFile(seed); string(after) != string(before) {
		t.Fatal("a refused write changed a seed file")
	}
	// ... unless forced, and then the modes are right again.
	if err := again.WriteFiles(dir, true); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(seed)
	st, _ := os.Stat(seed)
	if string(after) == string(before) || st.Mode().Perm() != 0o600 {
		t.Fatalf("forced write: seed changed %v, mode %v", string(after) != string(before), st.Mode().Perm())
	}
	if _, err := auth.Option(filepath.Join(dir, "nobody.nk")); err == nil {
		t.Error("Option with a missing seed file: no error")
	}
	if _, err := p.Option("nobody"); err == nil {
		t.Error("Plan.Option of an unknown user: no error")
	}
}
