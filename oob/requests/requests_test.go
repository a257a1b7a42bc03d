package requests

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
	"github.com/oobd/oobd/tunnel"
)

type tun struct{}

func (tun) Forwards() []tunnel.BoundForward {
	return []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}, BoundPort: 31337}}
}
func (t tun) SelfCheck(context.Context) ([]tunnel.CheckResult, error) {
	return []tunnel.CheckResult{{Forward: t.Forwards()[0]}}, nil
}
func (tun) Suspend() error                            { return nil }
func (tun) Resume(context.Context, tunnel.Path) error { return nil }
func (tun) Reconnects() int                           { return 0 }
func (tun) Close() error                              { return nil }

type quiet struct{}

func (quiet) Up(context.Context, session.Report, session.DialFunc) {}
func (quiet) Failed(context.Context, session.Report)               {}
func (quiet) Down(context.Context, session.Report)                 {}

func newHandler(t *testing.T) *Handler {
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := session.New(session.Config{}, session.Loopback{},
		func(context.Context, session.DialFunc) (session.Tunnel, error) { return tun{}, nil }, quiet{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &Handler{Sessions: c, Store: store, JumpHost: "jump.example.net:22",
		Lockout: func() (bool, time.Time) { return false, time.Time{} },
		Health:  func() health.Report { return health.Report{OK: true} },
		Log:     slog.New(slog.DiscardHandler), Now: time.Now}
}

// What a text gets back: nothing for an up on its way (its notices tell
// how it went), a reply for what is answered at once; never anything for
// a bare kill.
func TestTextReplies(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	owner := "+46701234567"
	reply := func(v trigger.Verb, d time.Duration) string {
		return h.Text(ctx, trigger.Request{Verb: v, Sender: owner, Duration: d}).Text
	}
	if r := reply(trigger.VerbDown, 0); r != notify.NoSessionSMS() {
		t.Errorf("down with no session: %q", r)
	}
	if r := reply(trigger.VerbKill, 0); r != "" {
		t.Errorf("a kill with no session was answered: %q", r)
	}
	if r := reply(trigger.VerbExtend, time.Hour); !strings.Contains(r, "nothing to extend") {
		t.Errorf("extend with no session: %q", r)
	}
	// An up on its way gets no reply: its notices tell how it went.
	gate := make(chan struct{})
	h.Sessions = session.New(session.Config{}, gatedLink{gate},
		func(context.Context, session.DialFunc) (session.Tunnel, error) { return tun{}, nil }, quiet{})
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { h.Sessions.Run(cctx); close(done) }()
	defer func() { cancel(); <-done }()
	if r := reply(trigger.VerbUp, 0); r != "" {
		t.Errorf("up: %q, want no reply", r)
	}
	if r := reply(trigger.VerbExtend, time.Hour); !strings.Contains(r, "still being set up") {
		t.Errorf("extend while dialing: %q", r)
	}
	close(gate)
	// The operator's up joins it and returns once it is up.
	if r := h.Control(ctx, control.Request{Verb: trigger.VerbUp}); !r.OK {
		t.Fatalf("up: %+v", r)
	}
	if r := reply(trigger.VerbUp, 0); !strings.Contains(r, "already up") {
		t.Errorf("up during a session: %q", r)
	}
	if r := reply(trigger.VerbExtend, time.Hour); !strings.Contains(r, "extended until") {
		t.Errorf("extend: %q", r)
	}
	if r := reply(trigger.VerbStatus, 0); !strings.HasPrefix(r, "oobd up until") {
		t.Errorf("status: %q", r)
	}
	if r := reply(trigger.VerbDown, 0); r != "" {
		t.Errorf("down during a session: %q, want no reply (the down notice tells)", r)
	}
}

func TestControlRequests(t *testing.T) {
	h := newHandler(t)
	ctx := context.Background()
	if r := h.Control(ctx, control.Request{Verb: trigger.VerbUp, For: "soon"}); r.OK || !strings.Contains(r.Error, "bad duration") {
		t.Errorf("up for soon: %+v", r)
	}
	up := h.Control(ctx, control.Request{Verb: trigger.VerbUp, For: "45m"})
	if !up.OK || up.JumpHost != "jump.example.net:22" || len(up.Forwards) != 1 || up.Until.Sub(time.Now()) < 44*time.Minute {
		t.Fatalf("up: %+v", up)
	}
	if r := h.Control(ctx, control.Request{Verb: trigger.VerbStatus}); !r.OK || r.Health == nil || !r.Health.OK {
		t.Errorf("status: %+v", r)
	}
	if r := h.Control(ctx, control.Request{Verb: trigger.VerbDown}); !r.OK || !strings.Contains(r.Message, "session down after") {
		t.Errorf("down: %+v", r)
	}
	if r := h.Control(ctx, control.Request{Verb: "reboot"}); r.OK || !strings.Contains(r.Error, "unknown request") {
		t.Errorf("an unknown request: %+v", r)
	}
}

// gatedLink dials the loopback once gate is closed.
type gatedLink struct{ gate chan struct{} }

func (g gatedLink) Up(ctx context.Context) (session.Path, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return session.Loopback{}.Up(ctx)
}
