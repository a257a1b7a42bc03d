package agent

import (
	"context"
	"time"

	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/tunnel"
)

// The real link and tunnel as the session sees them, the crash clean-up,
// and the console bridge.

// pppLink is the cellular link: dial, prove the path, pin the route.
type pppLink struct{ l *link.Link }

func (p pppLink) Up(ctx context.Context) (session.Path, error) {
	path, err := p.l.Up(ctx)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return path, nil
}

// The session holds the real parts through its own interfaces. A link's
// path can move the tunnel's connection onto itself after a redial that
// got the old address back: the tunnel, its forwards and the owner's
// sessions through them carry on.
var (
	_ session.Rebinder = (*link.Path)(nil)
	_ session.Tunnel   = (*tunnel.Tunnel)(nil)
)

// openTunnel connects to the jump host through dial and binds every
// forward (session.TunnelOpener). The session keeps it across redials
// (Suspend, Resume).
func (a *Agent) openTunnel(ctx context.Context, dial session.DialFunc) (session.Tunnel, error) {
	t, err := tunnel.Open(ctx, a.cfg.TunnelConfig(a.log), tunnel.DialFunc(dial))
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return t, nil
}

// realLink is the PPP link from the config.
func (a *Agent) realLink() (session.Link, error) {
	lc, err := a.cfg.LinkConfig()
	if err != nil {
		return nil, err
	}
	l, err := link.New(lc, link.WithLogger(a.log), link.WithJournal(a.store.LinkJournal()), link.WithTries(a.countTry))
	if err != nil {
		return nil, err
	}
	return pppLink{l}, nil
}

// cleanupLeftovers undoes what a crashed run left (its dialer's group,
// its interface and routes) and closes the session the state file still
// shows, which it returns when its owner must be told it went down (nil
// for none, or a drill's). A clean-up that fails is kept and retried
// before every dial.
func (a *Agent) cleanupLeftovers(ctx context.Context) *session.Report {
	reason := "the agent restarted mid-session; torn down"
	if p, ok := a.link.(pppLink); ok {
		if err := p.l.Cleanup(ctx); err != nil {
			a.log.Error("clean-up after the previous run", "err", err)
			reason = "the agent restarted mid-session; clean-up failed, retried before the next dial"
		}
	}
	stale, err := a.store.EndStaleSession(time.Now(), reason)
	if err != nil {
		a.log.Error("the previous run's session not closed in the state file", "err", err)
	}
	if stale == nil {
		return nil
	}
	rep := stale.Report()
	a.log.Warn("the previous run's session ended with it", "requested_by", stale.RequestedBy, "started", rep.Started)
	if rep.Drill {
		return nil // a drill sends no "link down"; the next one runs on schedule
	}
	return &rep
}

// startConsole serves the router's console (nil when none is configured)
// and keeps whether its device is open in the state file.
func (a *Agent) startConsole() (*console.Bridge, error) {
	if a.cfg.Console.Device == "" {
		return nil, nil
	}
	record := func(s console.State) {
		if err := a.store.Update(func(st *state.State) { st.Console = &s }); err != nil {
			a.log.Error("console state not recorded", "err", err)
		}
	}
	b, err := console.Listen(a.cfg.ConsoleConfig(), a.log, console.WithStateFunc(record))
	if err != nil {
		return nil, err
	}
	record(b.State())
	return b, nil
}

// countTry counts one try of the link in the metrics.
func (a *Agent) countTry(err *link.TryError) {
	switch {
	case err == nil:
		a.metrics.Dial("ok")
	case err.Step == link.StepUp:
		a.metrics.Dial("timeout") // no IPv4 on the interface in time
	default:
		a.metrics.Dial("failed")
	}
}
