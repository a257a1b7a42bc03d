package health

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// get fetches path from srv and decodes the JSON body into v.
func get(t *testing.T, srv *httptest.Server, path string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); v != nil && ct != "application/json" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v in %s", path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

func failedDrill() Input {
	in := healthy()
	in.Drill = Drill{Configured: true, Period: 24 * time.Hour, Last: t0.Add(-5 * time.Minute),
		FailedStep: "tunnel", Reason: "ssh: handshake failed: host key mismatch",
		Steps: []DrillStep{{"dial", 11 * time.Second}, {"path", time.Second}, {"tunnel", 4 * time.Second}}}
	return in
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name   string
		in     Input
		path   string
		code   int
		checks []string // the names in the body, in order
		ok     bool
	}{
		{"all pass", healthy(), "/healthz", 200, Names(), true},
		{"a failed drill", failedDrill(), "/healthz", 503, Names(), false},
		{"one passing check", failedDrill(), "/healthz/modem", 200, []string{"modem"}, true},
		{"one failing check", failedDrill(), "/healthz/drill", 503, []string{"drill"}, false},
		{"crash leftovers", healthy(), "/healthz/crash_leftovers", 200, []string{"crash_leftovers"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t0}
			srv := httptest.NewServer(Handler(NewChecker(clk.now), func() Input { return tt.in }, nil))
			defer srv.Close()
			var rep Report
			code, body := get(t, srv, tt.path, &rep)
			if code != tt.code || rep.OK != tt.ok {
				t.Fatalf("%s: %d ok=%v, want %d ok=%v:\n%s", tt.path, code, rep.OK, tt.code, tt.ok, body)
			}
			var names []string
			for _, c := range rep.Checks {
				names = append(names, c.Name)
				if c.Since.IsZero() || c.Detail == "" {
					t.Errorf("%s: %+v lacks since or detail", tt.path, c)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.checks) {
				t.Errorf("%s: checks %v, want %v", tt.path, names, tt.checks)
			}
			// The JSON names are the API.
			for _, key := range []string{`"ok":`, `"checks":`, `"name":`, `"detail":`, `"since":`} {
				if !strings.Contains(body, key) {
					t.Errorf("%s: no %s in\n%s", tt.path, key, body)
				}
			}
			t.Logf("GET %s: %d\n%s", tt.path, code, body)
		})
	}
}

func TestHandlerUnknownCheckAndNoMetrics(t *testing.T) {
	srv := httptest.NewServer(Handler(NewChecker(nil), healthy, nil))
	defer srv.Close()
	var e struct{ Error string }
	if code, body := get(t, srv, "/healthz/nope", &e); code != 404 || !strings.Contains(e.Error, `"nope"`) {
		t.Errorf("unknown check: %d %s", code, body)
	}
	if code, _ := get(t, srv, "/metrics", nil); code != 404 {
		t.Errorf("/metrics without a metrics handler: %d, want 404", code)
	}
}

func TestHandlerServesMetrics(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "oobd_up 1\n") })
	srv := httptest.NewServer(Handler(NewChecker(nil), healthy, metrics))
	defer srv.Close()
	if code, body := get(t, srv, "/metrics", nil); code != 200 || body != "oobd_up 1\n" {
		t.Errorf("/metrics: %d %q", code, body)
	}
}

// The since of a check survives across requests, /healthz and
// /healthz/NAME alike.
func TestHandlerSinceAcrossRequests(t *testing.T) {
	clk := &clock{t0}
	in := healthy()
	in.StaleLoops = []string{"inbox"}
	srv := httptest.NewServer(Handler(NewChecker(clk.now), func() Input { return in }, nil))
	defer srv.Close()
	var first, second Report
	get(t, srv, "/healthz", &first)
	clk.t = t0.Add(time.Minute)
	get(t, srv, "/healthz/loops", &second)
	if !first.Checks[0].Since.Equal(t0) || !second.Checks[0].Since.Equal(t0) {
		t.Errorf("loops since %v then %v, want %v both times", first.Checks[0].Since, second.Checks[0].Since, t0)
	}
}

func TestServerTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), nil)
	for name, got := range map[string][2]time.Duration{
		"ReadHeaderTimeout": {srv.ReadHeaderTimeout, 5 * time.Second},
		"ReadTimeout":       {srv.ReadTimeout, 10 * time.Second},
		"WriteTimeout":      {srv.WriteTimeout, 10 * time.Second},
		"IdleTimeout":       {srv.IdleTimeout, 60 * time.Second},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
	if srv.ErrorLog == nil {
		t.Error("no ErrorLog: the server would log around slog")
	}
}

// At most maxConns connections are served at once; the next one is served
// when one of them is done.
func TestServeLimitsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan string, maxConns+1)
	release := make([]chan struct{}, maxConns)
	for i := range release {
		release[i] = make(chan struct{})
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		entered <- n
		var i int
		if _, err := fmt.Sscan(n, &i); err == nil {
			<-release[i]
		}
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, h, nil) }()
	defer func() {
		for _, r := range release[1:] {
			close(r)
		}
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	// request sends a request that asks the server to close the
	// connection once answered, so that an answer frees its slot.
	request := func(n string) net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "GET /?n=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", n)
		return c
	}
	for i := range maxConns {
		request(fmt.Sprint(i))
		<-entered // served: it holds a slot until released
	}
	last := request("last") // accepted by the kernel, queued by the limit
	// The limit is a negative: nothing can signal that a connection was
	// not accepted, so give a server without it a moment to serve it.
	select {
	case n := <-entered:
		t.Fatalf("request %s served while %d connections held every slot", n, maxConns)
	case <-time.After(200 * time.Millisecond):
	}
	close(release[0]) // answered, its connection closes: a slot frees
	if n := <-entered; n != "last" {
		t.Fatalf("request %s entered, want the queued one", n)
	}
	resp, err := http.ReadResponse(bufio.NewReader(last), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("queued request: %d", resp.StatusCode)
	}
}

func TestListenAndServe(t *testing.T) {
	if err := ListenAndServe(context.Background(), "256.0.0.1:0", http.NotFoundHandler(), nil); err == nil || !strings.HasPrefix(err.Error(), "health: listen") {
		t.Errorf("bad address: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ListenAndServe(ctx, "127.0.0.1:0", http.NotFoundHandler(), nil); err != nil {
		t.Errorf("after ctx ends: %v, want nil", err)
	}
}
