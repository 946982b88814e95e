package dashboards_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"liaison/dashboards"
	"liaison/metrics"
	"liaison/metrics/promtest"
	"liaison/scenarios"
	"liaison/sim"
)

func load(t *testing.T) []dashboards.Dashboard {
	t.Helper()
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

var varRef = regexp.MustCompile(`\$\{?(\w+)\}?`)

// TestWellFormed: fixed uids, a datasource variable that every panel and
// query uses, a description and a query for every panel, and no query that
// names a variable the dashboard lacks.
func TestWellFormed(t *testing.T) {
	want := map[string]bool{"liaison-overview": true, "liaison-agencies": true, "liaison-channels": true}
	for _, d := range load(t) {
		if !want[d.UID] {
			t.Errorf("%s: uid %q, want one of the fixed uids", d.File, d.UID)
		}
		delete(want, d.UID)
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Name == "datasource" && (v.Type != "datasource" || v.Query != "prometheus") {
				t.Errorf("%s: variable datasource is %s %v, want a prometheus datasource variable", d.File, v.Type, v.Query)
			}
		}
		if !vars["datasource"] {
			t.Errorf("%s: no datasource variable", d.File)
		}
		if len(d.Panels) < 5 {
			t.Errorf("%s: %d panels", d.File, len(d.Panels))
		}
		for _, p := range d.Panels {
			where := fmt.Sprintf("%s: panel %q", d.File, p.Title)
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: data source %+v, want ${datasource}", where, p.Datasource)
			}
			if p.Description == "" || len(p.Targets) == 0 {
				t.Errorf("%s: no description or no query", where)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" || tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s: query %s is empty or not on ${datasource}", where, tg.RefID)
				}
				for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
					if !vars[m[1]] && !strings.HasPrefix(m[1], "__") {
						t.Errorf("%s: query %s names $%s, which the dashboard does not define", where, tg.RefID, m[1])
					}
				}
			}
		}
	}
	for uid := range want {
		t.Errorf("no dashboard with uid %s", uid)
	}
}

// TestConfigFiles: the compose file, the provisioning files and the
// Prometheus configuration parse, and what compose mounts exists.
func TestConfigFiles(t *testing.T) {
	for _, f := range []string{"compose.yaml", "prometheus.yml", "provisioning/datasources/prometheus.yaml",
		"provisioning/dashboards/liaison.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if len(doc) == 0 {
			t.Errorf("%s: empty", f)
		}
	}
	var compose struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	b, _ := os.ReadFile("compose.yaml")
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"prometheus", "grafana"} {
		svc, ok := compose.Services[s]
		if !ok || svc.Image == "" {
			t.Errorf("compose.yaml: no service %s with an image", s)
		}
		for _, v := range svc.Volumes {
			src := strings.Split(v, ":")[0]
			if src == "./data" {
				continue // made by promtool or by Docker
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("compose.yaml: %s mounts %s: %v", s, src, err)
			}
		}
	}
	if p, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(p, "check", "config", "prometheus.yml").CombinedOutput(); err != nil {
			t.Errorf("promtool check config prometheus.yml: %v\n%s", err, out)
		}
	}
}

var metricName = regexp.MustCompile(`\bliaison_[a-z0-9_]+`)

// run runs ctg-threat-warning (it has drops, holds, consent requests and a
// missed deadline, so every panel has something to show) with a Collector.
func run(t *testing.T) *metrics.Collector {
	t.Helper()
	sc, err := scenarios.Open("ctg-threat-warning")
	if err != nil {
		t.Fatal(err)
	}
	c := metrics.New()
	cfg := sim.Config{Scenario: sc, Seed: sc.Seed}
	c.Attach(&cfg)
	if _, err := sim.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMetricsExist: every metric a dashboard or variable names is one the
// program registers.
func TestMetricsExist(t *testing.T) {
	mfs, err := run(t).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				have[mf.GetName()+s] = true
			}
		}
	}
	n := 0
	for _, d := range load(t) {
		var exprs []string
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
		}
		for _, v := range d.Templating.List {
			exprs = append(exprs, v.Definition)
		}
		for _, e := range exprs {
			for _, m := range metricName.FindAllString(e, -1) {
				n++
				if !have[m] {
					t.Errorf("%s names %s, which the registry does not have", d.File, m)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d metric names found in the dashboards", n)
	}
}

// substitute replaces Grafana's variables by concrete values: every
// template variable by its "All" value, the built-in intervals by fixed
// durations.
func substitute(expr string, d dashboards.Dashboard) string {
	for _, v := range d.Templating.List {
		if v.AllValue != "" {
			expr = strings.ReplaceAll(expr, "${"+v.Name+"}", v.AllValue)
			expr = strings.ReplaceAll(expr, "$"+v.Name, v.AllValue)
		}
	}
	return strings.NewReplacer("$__rate_interval", "1m", "$__interval", "5s", "$__range", "1h").Replace(expr)
}

var labelValues = regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`)

// TestPanelsAgainstPrometheus serves a finished run's metrics (held open in
// process, as --hold does), lets a real Prometheus scrape it every second,
// and runs every query of every panel and every variable: each must parse
// as PromQL and return data.
func TestPanelsAgainstPrometheus(t *testing.T) {
	promtest.Tool(t, "prometheus")
	c := run(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(c.Registry(), promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cfg := fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"+
		"scrape_configs:\n  - job_name: liaison\n    static_configs: [{targets: [%q]}]\n", ln.Addr().String())
	prom := promtest.Start(t, filepath.Join(t.TempDir(), "data"), cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		res, err := prom.Query(ctx, "count_over_time("+metrics.SimTime+"[1m])", time.Time{})
		if err == nil && len(res) == 1 && res[0].Values[0].V >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Prometheus did not scrape the run twice within 60s (last: %v %v)", res, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	queries := 0
	for _, d := range load(t) {
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(metric, label)", d.File, v.Name, v.Definition)
				continue
			}
			res, err := prom.Query(ctx, fmt.Sprintf("count by (%s) (%s)", m[2], m[1]), time.Time{})
			if err != nil || len(res) == 0 {
				t.Errorf("%s: variable %s has no values: %v", d.File, v.Name, err)
			}
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				queries++
				q := substitute(tg.Expr, d)
				res, err := prom.Query(ctx, q, time.Time{})
				switch {
				case err != nil:
					t.Errorf("%s: panel %q query %s: %v", d.File, p.Title, tg.RefID, err)
				case len(res) == 0:
					t.Errorf("%s: panel %q query %s returns no data: %s", d.File, p.Title, tg.RefID, q)
				default:
					t.Logf("%s / %s / %s: %d series", d.File, p.Title, tg.RefID, len(res))
				}
			}
		}
	}
	if queries < 20 {
		t.Errorf("only %d panel queries", queries)
	}
}
