package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregdel/pushover"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testToken = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
	testUser  = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
)

// fakeAPI speaks Pushover's messages.json: it records each push's form and
// answers with what reply says.
type fakeAPI struct {
	srv   *httptest.Server
	got   chan map[string]string
	reply func(w http.ResponseWriter, r *http.Request)
}

func newFakeAPI(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{got: make(chan map[string]string, 16), reply: reply}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/1/messages.json" {
			http.Error(w, `{"status":0,"errors":["not found"]}`, http.StatusNotFound)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form := map[string]string{}
		for k := range r.PostForm {
			form[k] = r.PostForm.Get(k)
		}
		f.got <- form
		f.reply(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) url() string { return f.srv.URL + "/1" }

// accepted is the API's success: status 1 and the three X-Limit headers the
// library insists on.
func accepted(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Limit-App-Limit", "10000")
	w.Header().Set("X-Limit-App-Remaining", "9999")
	w.Header().Set("X-Limit-App-Reset", "1393653600")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":1,"request":"647d2300-702c-4b38-8b2f-d56326ae460b"}`))
}

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pushover.token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestPushover(t *testing.T, apiURL string, opts ...Option) *Pushover {
	t.Helper()
	p, err := NewPushover(PushoverConfig{TokenFile: tokenFile(t, testToken+"\n"), UserKey: testUser, APIURL: apiURL}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestPushoverSendAccepted(t *testing.T) {
	api := newFakeAPI(t, accepted)
	p := newTestPushover(t, api.url())
	m := Message{Title: "oobd: link up", Push: "Log in: ssh -J jump -p 31337 root@localhost", SMS: "short", Priority: PriorityHigh}
	if err := p.Send(context.Background(), m, nil); err != nil {
		t.Fatalf("Send: %v", err)
	}
	form := <-api.got
	want := map[string]string{"token": testToken, "user": testUser, "title": m.Title, "message": m.Push, "priority": "1"}
	for k, v := range want {
		if form[k] != v {
			t.Errorf("form %s = %q, want %q", k, form[k], v)
		}
	}
}

func TestPushoverSendUsesSMSWhenNoPushText(t *testing.T) {
	api := newFakeAPI(t, accepted)
	p := newTestPushover(t, api.url())
	if err := p.Send(context.Background(), Message{Title: "t", SMS: "the sms text"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := (<-api.got)["message"]; got != "the sms text" {
		t.Errorf("message = %q", got)
	}
}

func TestPushoverSendErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply func(w http.ResponseWriter, r *http.Request)
		check func(t *testing.T, err error)
	}{
		{
			name: "server error",
			reply: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, pushover.ErrHTTPPushover) || !strings.Contains(err.Error(), "HTTP 500") {
					t.Errorf("err = %v, want a server error naming HTTP 500", err)
				}
			},
		},
		{
			name: "rejected with errors",
			reply: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]any{
					"status": 0, "request": "x", "user": "invalid",
					"errors": []string{"user identifier is not a valid user, group, or subscribed user key", "second"},
				})
			},
			check: func(t *testing.T, err error) {
				var re *RejectedError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v (%T), want *RejectedError", err, err)
				}
				if re.HTTPStatus != 400 || len(re.Errors) != 2 || !strings.Contains(re.Errors[0], "not a valid user") {
					t.Errorf("RejectedError = %+v", re)
				}
				var pe pushover.Errors
				if !errors.As(err, &pe) || len(pe) != 2 {
					t.Errorf("err does not unwrap to pushover.Errors: %v", err)
				}
				if !strings.Contains(err.Error(), "second") {
					t.Errorf("message %q lacks the API's errors", err)
				}
			},
		},
		{
			name: "accepted without limit headers",
			reply: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`{"status":1,"request":"x"}`))
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, pushover.ErrInvalidHeaders) {
					t.Errorf("err = %v, want ErrInvalidHeaders", err)
				}
			},
		},
		{
			name: "not json",
			reply: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`<html>captive portal</html>`))
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.HasPrefix(err.Error(), "pushover: ") {
					t.Errorf("err = %v, want a pushover: error", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, tt.reply)
			p := newTestPushover(t, api.url())
			err := p.Send(context.Background(), Message{Title: "t", Push: "body"}, nil)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			tt.check(t, err)
		})
	}
}

// hangingAPI never answers until the request is cancelled (or the test ends).
func hangingAPI(t *testing.T) (*fakeAPI, chan struct{}) {
	release := make(chan struct{})
	api := newFakeAPI(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	return api, release
}

func TestPushoverSendReturnsAtDeadline(t *testing.T) {
	// The first request hangs until cancelled, later ones are accepted.
	var calls atomic.Int32
	api := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		accepted(w, r)
	})
	p := newTestPushover(t, api.url())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Send(ctx, Message{Title: "t", Push: "b"}, nil) }()
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Send did not return at its deadline")
	}
	<-api.got // it did reach the server
	// The hung request was cancelled with its send, so the next push is not
	// stuck behind it.
	if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil); err != nil {
		t.Errorf("push after a hang: %v", err)
	}
}

func TestPushoverOwnTimeout(t *testing.T) {
	api, _ := hangingAPI(t)
	p := newTestPushover(t, api.url(), WithTimeout(100*time.Millisecond))
	errc := make(chan error, 1)
	go func() { errc <- p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil) }()
	select {
	case err := <-errc:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Send ignored WithTimeout")
	}
}

func TestPushoverCloseCancelsSend(t *testing.T) {
	api, _ := hangingAPI(t)
	p := newTestPushover(t, api.url())
	errc := make(chan error, 1)
	go func() { errc <- p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil) }()
	<-api.got // the push is in flight
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Send succeeded after Close")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not end the push in flight")
	}
	if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPushoverSecondSendWaitsForFirst(t *testing.T) {
	api, _ := hangingAPI(t)
	p := newTestPushover(t, api.url())
	first := make(chan error, 1)
	go func() { first <- p.Send(context.Background(), Message{Title: "1", Push: "b"}, nil) }()
	<-api.got
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := p.Send(ctx, Message{Title: "2", Push: "b"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "previous push") {
		t.Errorf("second Send = %v, want a deadline while waiting for the previous push", err)
	}
	p.Close()
	<-first
}

func TestPushoverDialsThroughItsVia(t *testing.T) {
	api := newFakeAPI(t, accepted)
	var dials atomic.Int32
	var lastAddr atomic.Value
	counting := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		lastAddr.Store(addr)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	p := newTestPushover(t, api.url())

	for i := 0; i < 2; i++ {
		if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, counting); err != nil {
			t.Fatal(err)
		}
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("dials through the link dialer = %d, want 2 (one connection per push)", n)
	}
	if got := lastAddr.Load(); got != api.srv.Listener.Addr().String() {
		t.Errorf("dialed %v, want %v", got, api.srv.Listener.Addr())
	}

	// no link: the plain route
	if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("the link dialer was used for a plain push: %d dials", n)
	}

	// A link dialer that fails makes the push fail: no silent fallback to
	// another route.
	gone := func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("link gone")
	}
	if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, gone); err == nil || !strings.Contains(err.Error(), "link gone") {
		t.Errorf("Send with a failing dialer = %v", err)
	}
}

func TestPushoverWithDialer(t *testing.T) {
	api := newFakeAPI(t, accepted)
	var dials atomic.Int32
	p := newTestPushover(t, api.url(), WithDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}))
	if err := p.Send(context.Background(), Message{Title: "t", Push: "b"}, nil); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 1 {
		t.Errorf("dials = %d, want 1", dials.Load())
	}
}

func TestNewPushoverInstallsAndRestoresHooks(t *testing.T) {
	prevClient, prevEndpoint := http.DefaultClient, pushover.APIEndpoint
	p, err := NewPushover(PushoverConfig{TokenFile: tokenFile(t, "  "+testToken+"\n\n"), UserKey: testUser, APIURL: "http://127.0.0.1:1/1/"})
	if err != nil {
		t.Fatal(err)
	}
	if http.DefaultClient == prevClient || http.DefaultClient.Transport != p.transport {
		t.Error("http.DefaultClient not replaced by the link client")
	}
	if pushover.APIEndpoint != "http://127.0.0.1:1/1" {
		t.Errorf("APIEndpoint = %q", pushover.APIEndpoint)
	}
	p.Close()
	if http.DefaultClient != prevClient || pushover.APIEndpoint != prevEndpoint {
		t.Error("Close did not restore the hooks")
	}

	p, err = NewPushover(PushoverConfig{TokenFile: tokenFile(t, testToken), UserKey: testUser})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if pushover.APIEndpoint != DefaultAPIURL {
		t.Errorf("empty api_url gave %q, want %q", pushover.APIEndpoint, DefaultAPIURL)
	}
}

func TestNewPushoverErrors(t *testing.T) {
	good := tokenFile(t, testToken)
	tests := []struct {
		name string
		cfg  PushoverConfig
		want string
	}{
		{"missing token file", PushoverConfig{TokenFile: filepath.Join(t.TempDir(), "nope"), UserKey: testUser}, "token_file"},
		{"short token", PushoverConfig{TokenFile: tokenFile(t, "abc"), UserKey: testUser}, "token_file"},
		{"token with symbols", PushoverConfig{TokenFile: tokenFile(t, "azGDORePK8gMaC0QOYAMyEEuzJnyU!"), UserKey: testUser}, "token_file"},
		{"bad user key", PushoverConfig{TokenFile: good, UserKey: "short"}, "user_key"},
		{"ftp url", PushoverConfig{TokenFile: good, UserKey: testUser, APIURL: "ftp://api.example/1"}, "api_url"},
		{"no host", PushoverConfig{TokenFile: good, UserKey: testUser, APIURL: "https:///1"}, "api_url"},
		{"credentials in url", PushoverConfig{TokenFile: good, UserKey: testUser, APIURL: "https://u:p@api.example/1"}, "api_url"},
		{"unparsable url", PushoverConfig{TokenFile: good, UserKey: testUser, APIURL: "http://[::1"}, "api_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPushover(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("NewPushover succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "azGDORePK8") {
				t.Errorf("err leaks the token: %v", err)
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ééé", 2, "éé"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := truncateRunes(tt.in, tt.max); got != tt.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// Two pushes that race (a session's up notice over the link, a storage
// warning over the plain route) each go through their own dialer.
func TestRacingPushesKeepTheirRoutes(t *testing.T) {
	api := newFakeAPI(t, accepted)
	p := newTestPushover(t, api.url())
	var link, plain atomic.Int32
	via := func(n *atomic.Int32) DialFunc {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	const each = 20
	errs := make(chan error, 2*each)
	for i := 0; i < each; i++ {
		go func() { errs <- p.Send(context.Background(), Message{Title: "up", Push: "b"}, via(&link)) }()
		go func() { errs <- p.Send(context.Background(), Message{Title: "warn", Push: "b"}, via(&plain)) }()
	}
	for i := 0; i < 2*each; i++ {
		<-api.got
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if link.Load() != each || plain.Load() != each {
		t.Errorf("dials: %d through the link, %d plain; want %d each", link.Load(), plain.Load(), each)
	}
}
