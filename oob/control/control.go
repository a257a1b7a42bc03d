// Package control is the local operator's line to the running daemon: a
// unix socket in the state directory (mode 0600, so only root talks to
// it) carrying one JSON request and one JSON response per connection.
// `oobd up` and `oobd down` are its clients.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
	"github.com/oobd/oobd/tunnel"
)

// The requests only the local operator makes.
const (
	// VerbDrill runs one end-to-end test now.
	VerbDrill trigger.Verb = "drill"
	// VerbUnlock ends the trigger's lockout and clears its failures; no
	// text can ask for it.
	VerbUnlock trigger.Verb = "unlock"
)

// SocketName is the socket's file name in the state directory.
const SocketName = "oobd.sock"

// SocketPath is where the daemon with this state directory listens.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// Request is what the operator asks: a verb of the SMS grammar (up,
// down, extend, status) or one of the requests only the box's operator
// can make.
type Request struct {
	Verb trigger.Verb `json:"verb"`
	// For is the session length for up, or the extension for extend.
	For string `json:"for,omitempty"`
}

// Response is the daemon's answer.
type Response struct {
	OK       bool                  `json:"ok"`
	Error    string                `json:"error,omitempty"`
	Step     string                `json:"step,omitempty"`
	Until    time.Time             `json:"until,omitzero"`
	Forwards []tunnel.BoundForward `json:"forwards,omitempty"`
	JumpHost string                `json:"jump_host,omitempty"`
	Message  string                `json:"message,omitempty"`
	// Health is the daemon's health checks, and State its state as it
	// holds it (a status request): fresher than state.json, which gets
	// readings such as the signal and the bytes used only now and then.
	Health *health.Report `json:"health,omitempty"`
	State  *state.State   `json:"state,omitempty"`
}

// Handler carries out requests. It may take as long as the request does
// (an up returns when the self-check passed or the try failed); ctx ends
// when the client goes away or the server closes.
type Handler interface {
	Handle(ctx context.Context, req Request) Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) Response

func (f HandlerFunc) Handle(ctx context.Context, req Request) Response { return f(ctx, req) }

// Server serves the control socket.
type Server struct {
	ln      net.Listener
	path    string
	handler Handler
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	beat    Beat

	mu       sync.Mutex // guards inFlight
	inFlight int
}

// Listen creates the socket at path, replacing a stale one left by a
// crashed daemon but refusing to take over a live one.
func Listen(path string, h Handler, log *slog.Logger, opts ...Option) (*Server, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control: %s: another oobd is already running", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control: remove stale socket: %w", err)
	}
	// The umask makes the socket 0600 from its creation: no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control: listen: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, handler: h, log: log, ctx: ctx, cancel: cancel}
	for _, o := range opts {
		o(s)
	}
	if s.beat != nil {
		s.beat.Idle()
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		s.busy(+1)
		go func() {
			defer s.wg.Done()
			defer s.busy(-1)
			s.serveConn(c)
		}()
	}
}

// RequestTimeout is the longest a request is served: an up waits for the
// whole way up (bounded at 8 minutes), a drill for its SMS loop too. A
// client still waiting then gets "gave up waiting" (an up it asked for
// goes on; a drill ends, as when the client hangs up). It is shorter than the systemd watchdog's
// window (WatchdogSec=10min) so that the socket's loop, busy while a
// request runs, stops the pings only when a request is stuck past it.
const RequestTimeout = 9 * time.Minute

// Beat is where the server says it is alive (*liveness.Loop): idle while
// it waits for a client, busy while requests run.
type Beat interface {
	Busy(deadline time.Time) (done func())
	Idle()
}

// Option configures a Server.
type Option func(*Server)

// WithBeat reports the server's liveness to b.
func WithBeat(b Beat) Option { return func(s *Server) { s.beat = b } }

// busy counts the requests in flight and tells the beat.
func (s *Server) busy(n int) {
	if s.beat == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight += n
	switch {
	case s.inFlight == 0:
		s.beat.Idle()
	case n > 0:
		s.beat.Busy(time.Now().Add(RequestTimeout + 10*time.Second))
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var req Request
	if err := json.NewDecoder(io.LimitReader(c, 4096)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad request: " + err.Error()})
		return
	}
	c.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithTimeout(s.ctx, RequestTimeout)
	defer cancel()
	// A client that hangs up cancels its wait (not the session).
	go func() {
		var b [1]byte
		c.Read(b[:])
		cancel()
	}()
	s.log.Info("control request", "verb", req.Verb, "for", req.For)
	resp := s.handler.Handle(ctx, req)
	if err := json.NewEncoder(c).Encode(resp); err != nil {
		s.log.Warn("control reply", "err", err)
	}
}

// Close stops serving, waits for the handlers and removes the socket. It
// is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.ln.Close()
		s.wg.Wait()
		os.Remove(s.path)
	})
	return nil
}

// ErrNoDaemon means nothing listens on the control socket.
var ErrNoDaemon = errors.New("no oobd daemon is running")

// Do sends req to the daemon listening at path and returns its response.
func Do(ctx context.Context, path string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("%w (no one listens on %s)", ErrNoDaemon, path)
		}
		return Response{}, fmt.Errorf("control: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("control: send: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		return Response{}, fmt.Errorf("control: read reply: %w", err)
	}
	return resp, nil
}
