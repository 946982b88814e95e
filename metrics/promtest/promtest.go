// Package promtest helps tests use the real Prometheus tools: it finds
// promtool and prometheus (Debian's package `prometheus`), starts a server
// on a free loopback port with storage in a test directory, and queries its
// HTTP API. Without the tools a test is skipped with a clear message, unless
// the environment variable CI is set: then it fails, since CI installs them.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tool returns the path of a Prometheus program (promtool, prometheus), or
// skips the test (fails it under CI) when it is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found: install Debian's package prometheus (apt-get install --no-install-recommends prometheus)", name)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Server is a prometheus process started for one test.
type Server struct {
	URL string // http://127.0.0.1:PORT
}

// Start runs prometheus with the given configuration (YAML) on the storage
// directory, listening on a free loopback port, and waits until it is
// ready. The process is stopped when the test ends.
func Start(t testing.TB, storage, config string, extra ...string) *Server {
	t.Helper()
	bin := Tool(t, "prometheus")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	args := append([]string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + storage,
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, extra...)
	cmd := exec.Command(bin, args...)
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("prometheus log:\n%s", b)
		}
	})
	s := &Server{URL: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus exited before it was ready (%v):\n%s", err, b)
		default:
		}
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s at %s", s.URL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Sample is one series of a query result: its labels and its values, one
// for an instant query, many for a range query.
type Sample struct {
	Metric map[string]string
	Values []Point
}

// Point is one value of a series at a time.
type Point struct {
	T time.Time
	V float64
}

// Query runs an instant query at time at (the server's now when zero).
func (s *Server) Query(ctx context.Context, q string, at time.Time) ([]Sample, error) {
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", formatTime(at))
	}
	return s.get(ctx, "/api/v1/query", v)
}

// QueryRange runs a range query.
func (s *Server) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]Sample, error) {
	v := url.Values{"query": {q}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}
	return s.get(ctx, "/api/v1/query_range", v)
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func (s *Server) get(ctx context.Context, path string, v url.Values) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path+"?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: decoding the answer: %w", path, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s %q: %s: %s", path, v.Get("query"), r.ErrorType, r.Error)
	}
	var out []Sample
	for _, res := range r.Data.Result {
		smp := Sample{Metric: res.Metric}
		vals := res.Values
		if res.Value != nil {
			vals = append(vals, res.Value)
		}
		for _, pv := range vals {
			p, err := point(pv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			smp.Values = append(smp.Values, p)
		}
		out = append(out, smp)
	}
	if r.Data.ResultType == "scalar" || r.Data.ResultType == "string" {
		return nil, fmt.Errorf("%s %q: result type %s, want a vector or matrix", path, v.Get("query"), r.Data.ResultType)
	}
	return out, nil
}

func point(pv []any) (Point, error) {
	if len(pv) != 2 {
		return Point{}, fmt.Errorf("bad point %v", pv)
	}
	ts, ok1 := pv[0].(float64)
	vs, ok2 := pv[1].(string)
	if !ok1 || !ok2 {
		return Point{}, fmt.Errorf("bad point %v", pv)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(vs), 64)
	if err != nil {
		return Point{}, err
	}
	return Point{T: time.UnixMilli(int64(ts * 1000)), V: v}, nil
}
