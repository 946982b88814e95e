package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// workerProc is a liaison worker process whose stderr is read line by
// line, so that a test can wait for it to start a replication.
type workerProc struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	log     strings.Builder
	started chan struct{} // closed at its first replication
	done    chan error
}

func startWorker(t *testing.T, bin, url, name string) *workerProc {
	t.Helper()
	w := &workerProc{cmd: exec.Command(bin, "worker", "--nats", url, "--parallel", "1", "--name", name, "--verbose"),
		started: make(chan struct{}), done: make(chan error, 1)}
	stderr, err := w.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			w.mu.Lock()
			w.log.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			if strings.Contains(sc.Text(), ": job ") {
				once.Do(func() { close(w.started) })
			}
		}
		w.done <- w.cmd.Wait()
	}()
	t.Cleanup(func() { w.cmd.Process.Kill() })
	return w
}

func (w *workerProc) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// TestCompareWorkersCluster hands a sweep's replications to three worker
// processes of the real binary, each on another server of a three-server
// cluster, and kills one (SIGKILL) in the middle of a replication: the
// comparison sends it again, says so, and gives the local comparison's
// CSV and table byte for byte.
func TestCompareWorkersCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	bin := buildBinary(t)
	srvs := startCluster(t)
	var workers []*workerProc
	for i, s := range srvs {
		workers = append(workers, startWorker(t, bin, s.ClientURL(), fmt.Sprintf("w%d", i+1)))
	}
	// Longer runs (20 simulated days of background traffic) so that the
	// kill lands inside a replication.
	args := []string{"compare", "ctg-research", "--variants", "base,mesh", "--set", "agencies[dk.pet].staff=2,1",
		"--set", "duration=20d", "--runs", "2", "--seed", "4"}
	dir := t.TempDir()
	remoteCSV, localCSV := filepath.Join(dir, "remote.csv"), filepath.Join(dir, "local.csv")
	go func() {
		select {
		case <-workers[1].started:
			workers[1].cmd.Process.Kill()
		case <-time.After(time.Minute):
		}
	}()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := m.Run(ctx, append(args, "--nats", srvs[0].ClientURL(), "--workers", "3", "--worker-timeout", "2s", "--csv", remoteCSV))
	if code != exitOK {
		for _, w := range workers {
			t.Logf("worker:\n%s", w)
		}
		t.Fatalf("compare over workers: exit %d:\n%s", code, errb.String())
	}
	if err := <-workers[1].done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("worker 2 was not killed: %v", err)
	}
	m2 := regexp.MustCompile(`(\d+) sent again`).FindStringSubmatch(errb.String())
	if n, _ := strconv.Atoi(append(m2, "", "0")[1]); n < 1 {
		t.Errorf("the comparison does not report a replication sent again:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), "worker w2 fell silent") {
		t.Errorf("the comparison does not name the silent worker:\n%s", errb.String())
	}
	code, localTable, stderr := cli(t, append(args, "--parallel", "2", "--csv", localCSV)...)
	if code != exitOK {
		t.Fatalf("local compare: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(remoteCSV)
	b, _ := os.ReadFile(localCSV)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the CSV of the comparison over workers differs from the local one")
	}
	if out.String() != localTable {
		t.Errorf("the tables differ:\n%s\n---\n%s", out.String(), localTable)
	}
	t.Logf("compare said:\n%s", errb.String())
	// The others stop cleanly when interrupted.
	for _, i := range []int{0, 2} {
		workers[i].cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-workers[i].done:
			if err != nil {
				t.Errorf("worker %d: %v\n%s", i+1, err, workers[i])
			}
		case <-time.After(10 * time.Second):
			t.Errorf("worker %d did not stop on interrupt", i+1)
		}
	}
}
