// Package promtest runs Debian's Prometheus and promtool for tests: a real
// server on loopback that scrapes given targets into a temporary data
// directory and answers queries, and promtool's checks of an exposition,
// of rule files and of rule unit tests. Both come from Debian's
// prometheus package, which scripts/install-test-deps.sh installs; a test
// that needs them fails (it never skips) when they are missing.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/netnstest"
)

// Where Debian's prometheus package puts its programs.
const (
	PrometheusPath = "/usr/bin/prometheus"
	PromtoolPath   = "/usr/bin/promtool"
)

const (
	// startTimeout bounds how long Prometheus may take to say it is ready.
	startTimeout = 20 * time.Second
	// stopTimeout is how long Prometheus gets to exit after SIGTERM.
	stopTimeout = 10 * time.Second
	// readyLine is what Prometheus logs once it serves queries.
	readyLine = "Server is ready to receive web requests."
	// startTries is how often Start picks a new port when the one it
	// picked was taken in the meantime.
	startTries = 3
)

// need fails t unless path is an executable file.
func need(t testing.TB, path string) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("promtest: %s is missing (%v): run scripts/install-test-deps.sh (it installs Debian's prometheus package)", path, err)
	}
}

// Options configures a Server.
type Options struct {
	// Targets are the "host:port" addresses whose /metrics it scrapes.
	Targets []string
	// Job is the job label of the targets (default "oobd", as the
	// example scrape config and the alert rules have it).
	Job string
	// ScrapeInterval is how often it scrapes and evaluates rules
	// (default 1s).
	ScrapeInterval time.Duration
	// RuleFiles are rule files to load.
	RuleFiles []string
	// Netns, when set, runs Prometheus inside that network namespace (a
	// netnstest topology's), where the targets are; queries reach it there.
	Netns string
}

// Server is a running Prometheus.
type Server struct {
	// URL is its base URL, e.g. "http://127.0.0.1:40123".
	URL string
	// Dir holds its config and its data directory.
	Dir string

	t      testing.TB
	netns  string
	client *http.Client
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	log    *lineLog
	once   sync.Once
}

// Start writes a config and starts Prometheus on a free loopback port,
// failing t if it cannot. It is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	need(t, PrometheusPath)
	if opts.Job == "" {
		opts.Job = "oobd"
	}
	if opts.ScrapeInterval <= 0 {
		opts.ScrapeInterval = time.Second
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, configText(opts), 0o644); err != nil {
		t.Fatalf("promtest: %v", err)
	}
	for try := 1; ; try++ {
		s, err := start(t, dir, config, opts.Netns)
		if err == nil {
			return s
		}
		// Another process can take the free port before Prometheus binds
		// it (Prometheus cannot listen on port 0 and say which it got).
		if !errors.Is(err, errPortTaken) || try == startTries {
			t.Fatalf("promtest: %v", err)
		}
	}
}

var errPortTaken = errors.New("port taken")

func start(t testing.TB, dir, config, netns string) (*Server, error) {
	port, err := freePort(netns)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	data := filepath.Join(dir, "data-"+strconv.Itoa(port))
	s := &Server{URL: "http://" + addr, Dir: dir, t: t, netns: netns, client: http.DefaultClient,
		exited: make(chan struct{}), log: newLineLog(readyLine)}
	var argv []string
	if netns != "" {
		// `ip netns exec` execs Prometheus: the process signalled is it.
		argv = []string{"ip", "netns", "exec", netns}
		s.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			var c net.Conn
			err := netnstest.Do(netns, func() (err error) {
				c, err = (&net.Dialer{}).DialContext(ctx, network, a)
				return err
			})
			return c, err
		}}}
	}
	argv = append(argv, PrometheusPath,
		"--config.file="+config,
		"--storage.tsdb.path="+data,
		"--web.listen-address="+addr,
		"--web.console.templates="+filepath.Join(dir, "consoles"),
		"--web.console.libraries="+filepath.Join(dir, "console_libraries"),
	)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", PrometheusPath, err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-s.log.ready:
		t.Cleanup(s.Stop)
		return s, nil
	case <-s.exited:
		if strings.Contains(s.log.String(), "address already in use") {
			return nil, errPortTaken
		}
		return nil, fmt.Errorf("prometheus exited before it was ready (%v):\n%s", s.cmd.ProcessState, s.log)
	case <-timer.C:
		s.Stop()
		return nil, fmt.Errorf("prometheus not ready after %v:\n%s", startTimeout, s.log)
	}
}

func configText(opts Options) []byte {
	var b bytes.Buffer
	iv := opts.ScrapeInterval.String()
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n", iv, iv, iv)
	if len(opts.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range opts.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %q\n    static_configs:\n      - targets:\n", opts.Job)
	for _, tg := range opts.Targets {
		fmt.Fprintf(&b, "          - %q\n", tg)
	}
	return b.Bytes()
}

func freePort(netns string) (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if netns != "" {
		l, err = netnstest.Listen(netns, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop ends Prometheus (SIGTERM, then SIGKILL after stopTimeout) and
// waits for it. It may be called more than once.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-s.exited:
		case <-timer.C:
			s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("promtest: prometheus ignored SIGTERM for %v:\n%s", stopTimeout, s.log)
		}
	})
}

// Log is what Prometheus has logged so far.
func (s *Server) Log() string { return s.log.String() }

// Sample is one element of an instant query's result.
type Sample struct {
	Labels map[string]string
	Value  float64
	Time   time.Time
}

// Query runs an instant query through the HTTP API (/api/v1/query) and
// returns its vector.
func (s *Server) Query(ctx context.Context, expr string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("promtest: query %q: %s: %w", expr, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("promtest: query %q: %s: %s", expr, resp.Status, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("promtest: query %q: a %s, want a vector", expr, body.Data.ResultType)
	}
	out := make([]Sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		ts, ok1 := r.Value[0].(float64)
		vs, ok2 := r.Value[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("promtest: query %q: bad sample %v", expr, r.Value)
		}
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil {
			return nil, fmt.Errorf("promtest: query %q: %w", expr, err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v, Time: time.UnixMilli(int64(ts * 1000))})
	}
	return out, nil
}

// Await queries expr until it returns at least one sample and returns
// them, failing t after timeout. Nothing tells when a scrape has been
// stored, so it asks again every scrape-ish moment.
func (s *Server) Await(t testing.TB, expr string, timeout time.Duration) []Sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := s.Query(ctx, expr)
		if err == nil && len(got) > 0 {
			return got
		}
		select {
		case <-tick.C:
		case <-s.exited:
			t.Fatalf("promtest: prometheus exited while waiting for %q:\n%s", expr, s.log)
		case <-ctx.Done():
			t.Fatalf("promtest: no %q after %v (last error: %v); prometheus said:\n%s", expr, timeout, err, s.log)
		}
	}
}

// lineLog keeps what a process writes and closes ready at the first line
// that contains a given text.
type lineLog struct {
	want  string
	ready chan struct{}

	mu   sync.Mutex // guards buf and seen
	buf  bytes.Buffer
	seen bool
}

func newLineLog(want string) *lineLog { return &lineLog{want: want, ready: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && bytes.Contains(l.buf.Bytes(), []byte(l.want)) {
		l.seen = true
		close(l.ready)
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
