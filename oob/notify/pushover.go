// Package notify builds oobd's notices (the texts of the pushes and SMS)
// and delivers the pushes through Pushover.
//
// The texts are pure functions of small structs the session fills in; every
// SMS text is GSM-7 only and fits one SMS part. The Pushover notifier sends
// over whatever route it is told to use: the current link's bound dialer
// while a session is up, a plain dialer otherwise.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gregdel/pushover"
	"github.com/oobd/oobd/internal/secretfile"
)

// DefaultAPIURL is Pushover's own API base.
const DefaultAPIURL = "https://api.pushover.net/1"

// DefaultTimeout bounds one push when no shorter deadline is given:
// room for a DNS look-up, a TCP and a TLS handshake over a slow 3G link.
const DefaultTimeout = 30 * time.Second

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("pushover: notifier closed")

// PushoverConfig is the notify.pushover part of the configuration.
type PushoverConfig struct {
	TokenFile string // the application token; whitespace at both ends is trimmed
	UserKey   string // the user (or group) key the pushes go to
	APIURL    string // the API base; "" is Pushover's own; plain http is accepted
}

// DialFunc dials a connection, like net.Dialer.DialContext. It must honour
// ctx. The address it gets holds the API's host name, not an address: the
// link's dialer resolves it with the link's DNS servers.
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// RejectedError is a push the API refused (status 0), with its errors.
// It unwraps to the library's pushover.Errors.
type RejectedError struct {
	HTTPStatus int
	Errors     []string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("pushover: rejected (HTTP %d): %s", e.HTTPStatus, strings.Join(e.Errors, "; "))
}

func (e *RejectedError) Unwrap() error { return pushover.Errors(e.Errors) }

// Pushover sends pushes through github.com/gregdel/pushover.
//
// The library offers only process-wide hooks: it posts through
// http.DefaultClient to the package variable pushover.APIEndpoint. So
// NewPushover sets both, and must be called once per process; nothing else
// in oobd uses http.DefaultClient. Sends are serialised (pushes are rare)
// so that each request runs under its own send's deadline.
type Pushover struct {
	app       *pushover.Pushover
	recipient *pushover.Recipient
	transport *linkTransport
	timeout   time.Duration

	sem  chan struct{} // one send at a time
	life context.Context
	stop context.CancelFunc

	mu      sync.Mutex // guards closed and restore
	closed  bool
	wg      sync.WaitGroup
	restore func()
}

// Option tunes a Pushover notifier.
type Option func(*Pushover)

// WithTimeout sets the longest one push may take (DefaultTimeout when not
// set); a caller's earlier deadline wins.
func WithTimeout(d time.Duration) Option {
	return func(p *Pushover) {
		if d > 0 {
			p.timeout = d
		}
	}
}

// WithDialer sets the dialer of pushes sent without one of their own
// (default: a plain net.Dialer, whatever route the box has).
func WithDialer(d DialFunc) Option {
	return func(p *Pushover) { p.transport.plain = d }
}

// NewPushover reads the token file, checks the keys and the API URL, and
// installs the library's process-wide hooks: http.DefaultClient becomes a
// client whose transport dials through the notifier's current dialer, and
// pushover.APIEndpoint the configured API base. Call it once per process
// (Close puts the previous hooks back).
func NewPushover(cfg PushoverConfig, opts ...Option) (*Pushover, error) {
	raw, err := secretfile.Read(cfg.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("pushover: token_file: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if !isKey(token) {
		// The token itself stays out of the message.
		return nil, fmt.Errorf("pushover: token_file %s: the token is not 30 letters and digits", cfg.TokenFile)
	}
	if !isKey(cfg.UserKey) {
		return nil, errors.New("pushover: user_key: not 30 letters and digits")
	}
	endpoint, err := apiEndpoint(cfg.APIURL)
	if err != nil {
		return nil, err
	}

	life, stop := context.WithCancel(context.Background())
	p := &Pushover{
		app:       pushover.New(token),
		recipient: pushover.NewRecipient(cfg.UserKey),
		transport: newLinkTransport(),
		timeout:   DefaultTimeout,
		sem:       make(chan struct{}, 1),
		life:      life,
		stop:      stop,
	}
	for _, o := range opts {
		o(p)
	}

	prevClient, prevEndpoint := http.DefaultClient, pushover.APIEndpoint
	mine := &http.Client{
		Transport: p.transport,
		// A backstop only: each send has its own, usually shorter, deadline.
		Timeout: 2 * p.timeout,
		// The API never redirects; following one would leave the link.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	http.DefaultClient = mine
	pushover.APIEndpoint = endpoint
	p.restore = func() {
		if http.DefaultClient == mine {
			http.DefaultClient = prevClient
		}
		if pushover.APIEndpoint == endpoint {
			pushover.APIEndpoint = prevEndpoint
		}
	}
	return p, nil
}

// apiEndpoint checks api_url: "" is Pushover's own; http and https only.
func apiEndpoint(raw string) (string, error) {
	if raw == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("pushover: api_url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("pushover: api_url %q: want http(s)://host[/path]", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("pushover: api_url %q: no credentials, query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Send pushes m (its Title and Push text, or its SMS text when Push is
// empty) through via: the link's bound dialer while a session is up, nil
// for the plain route. Pushes go one at a time, each through its own via,
// so two that race never swap routes. It returns when the API has answered
// or at ctx's deadline (or the notifier's timeout, whichever is first),
// never later; the error says why the push failed, for the caller to log.
func (p *Pushover) Send(ctx context.Context, m Message, via DialFunc) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()

	body := m.Push
	if body == "" {
		body = m.SMS
	}
	msg := pushover.NewMessageWithTitle(truncateRunes(body, pushover.MessageMaxLength), truncateRunes(m.Title, 250))
	msg.Priority = m.Priority
	if msg.Priority >= pushover.PriorityEmergency { // would need retry and expire
		msg.Priority = pushover.PriorityHigh
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	stopOnClose := context.AfterFunc(p.life, cancel)
	defer stopOnClose()

	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("pushover: waiting for the previous push: %w", context.Cause(ctx))
	}
	p.transport.begin(ctx, via)

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, err := p.app.SendMessage(msg, p.recipient)
		status := p.transport.end()
		<-p.sem
		done <- result{status, err}
	}()

	select {
	case r := <-done:
		return sendError(r.status, r.err)
	case <-ctx.Done():
		// The request runs under ctx too, so the goroutine ends now as well.
		return fmt.Errorf("pushover: no answer: %w", context.Cause(ctx))
	}
}

// sendError explains the library's error.
func sendError(status int, err error) error {
	var rejected pushover.Errors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rejected):
		return &RejectedError{HTTPStatus: status, Errors: rejected}
	case errors.Is(err, pushover.ErrHTTPPushover):
		return fmt.Errorf("pushover: server error (HTTP %d): %w", status, err)
	case errors.Is(err, pushover.ErrInvalidHeaders):
		return fmt.Errorf("pushover: reply without X-Limit-App headers (HTTP %d), push state unknown: %w", status, err)
	}
	return fmt.Errorf("pushover: %w", err)
}

// Close cancels a push in flight, waits for it, and puts back the
// process-wide hooks NewPushover replaced. It is idempotent.
func (p *Pushover) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.wg.Wait()
	p.transport.base.CloseIdleConnections()
	p.restore()
	return nil
}

// isKey reports whether s looks like a Pushover token or user key: 30
// ASCII letters and digits (the library refuses anything else, but only
// when sending).
func isKey(s string) bool {
	if len(s) != 30 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func truncateRunes(s string, max int) string {
	if n := 0; len(s) > max {
		for i := range s {
			if n == max {
				return s[:i]
			}
			n++
		}
	}
	return s
}

// linkTransport is the http.RoundTripper of the process-wide client: it
// dials through the current send's dialer and runs each request under
// that send's deadline. Sends take turns (Pushover.sem), so the current
// send is the only one.
type linkTransport struct {
	base  *http.Transport
	plain DialFunc // for sends without a dialer; nil: net.Dialer

	mu     sync.Mutex      // guards dial, ctx and status
	dial   DialFunc        // the current send's; nil: plain
	ctx    context.Context // the current send's; nil between sends
	status int             // the current send's last HTTP status
}

func newLinkTransport() *linkTransport {
	t := &linkTransport{}
	t.base = &http.Transport{
		// Never a proxy: a LAN proxy is exactly the path that is down.
		Proxy:       nil,
		DialContext: t.dialContext,
		// No connection outlives its push: the next one may go over
		// another link, and pushes are minutes apart.
		DisableKeepAlives:     true,
		TLSHandshakeTimeout:   20 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ForceAttemptHTTP2:     false,
	}
	return t
}

func (t *linkTransport) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	d := t.dial
	t.mu.Unlock()
	if d == nil {
		d = t.plain
	}
	if d == nil {
		var plain net.Dialer
		d = plain.DialContext
	}
	return d(ctx, network, addr)
}

func (t *linkTransport) begin(ctx context.Context, via DialFunc) {
	t.mu.Lock()
	t.ctx, t.dial, t.status = ctx, via, 0
	t.mu.Unlock()
}

func (t *linkTransport) end() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx, t.dial = nil, nil
	return t.status
}

func (t *linkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	ctx := t.ctx
	t.mu.Unlock()
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.mu.Lock()
		t.status = resp.StatusCode
		t.mu.Unlock()
	}
	return resp, err
}
