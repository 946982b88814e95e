// Package dashboards holds Liaison's Grafana dashboards (grafana/*.json),
// the Grafana provisioning files, a Prometheus configuration that scrapes a
// run on 127.0.0.1:9464 and a compose file that brings both up. The Go side
// only reads the dashboards, so that tests can check every panel's query
// against a real Prometheus and every metric they name against the
// program's registry.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
)

//go:embed grafana/*.json
var files embed.FS

// Dashboard is the part of a Grafana dashboard the tests look at.
type Dashboard struct {
	File       string
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Panels     []Panel
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Variable is a dashboard template variable.
type Variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Query      any    `json:"query"`
	Definition string `json:"definition"`
	AllValue   string `json:"allValue"`
}

// Panel is one panel; rows may nest panels.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *DatasourceRef `json:"datasource"`
	Targets     []Target       `json:"targets"`
	Panels      []Panel        `json:"panels"`
}

// DatasourceRef names a panel's or a target's data source.
type DatasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Instant    bool           `json:"instant"`
	Datasource *DatasourceRef `json:"datasource"`
}

// Load reads every dashboard.
func Load() ([]Dashboard, error) {
	names, err := fs.Glob(files, "grafana/*.json")
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var d struct {
			Dashboard
			Panels []Panel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", n, err)
		}
		d.Dashboard.File = path.Base(n)
		d.Dashboard.Panels = flatten(d.Panels)
		out = append(out, d.Dashboard)
	}
	return out, nil
}

// flatten lists the panels with those inside rows, rows themselves left out.
func flatten(ps []Panel) []Panel {
	var out []Panel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, flatten(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}
