package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/oobd/oobd/modem/serialport"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/tunnel"
)

// The adapters between the session's small interfaces and the real parts.

// pppLink is the cellular link: dial, prove the path, pin the route.
type pppLink struct {
	l        *link.Link
	jumpHost string // as configured: host:port
}

func (p pppLink) Up(ctx context.Context) (session.Path, error) {
	s, err := p.l.Up(ctx)
	if err != nil {
		return nil, err
	}
	return pppPath{s: s, jumpHost: p.jumpHost}, nil
}

type pppPath struct {
	s        *link.Path
	jumpHost string
}

func (p pppPath) Interface() string     { return p.s.Interface }
func (p pppPath) LocalIP() netip.Addr   { return p.s.LocalIP }
func (p pppPath) Done() <-chan struct{} { return p.s.Done() }
func (p pppPath) Err() error            { return p.s.Err() }
func (p pppPath) Down(ctx context.Context) error {
	return p.s.Down(ctx)
}

// DialContext dials through the link only: the socket is bound to the
// interface and names are asked of the link's DNS servers. The jump host
// is dialed at the address the path proof resolved and pinned, not looked
// up again (a round-robin name could answer with an unpinned address).
func (p pppPath) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr == p.jumpHost && p.s.JumpAddr != "" {
		addr = p.s.JumpAddr
	}
	return p.s.Dialer.DialContext(ctx, network, addr)
}

// Bytes is what went through the link; after the interface is gone, the
// last count read.
func (p pppPath) Bytes() (rx, tx uint64) {
	c, _ := p.s.Bytes()
	return c.RxBytes, c.TxBytes
}

// openTunnel connects to the jump host through dial and binds every
// forward (session.TunnelOpener).
func (a *Agent) openTunnel(ctx context.Context, dial session.DialFunc) (session.Tunnel, error) {
	t, err := tunnel.New(a.cfg.TunnelConfig(a.log), tunnel.DialFunc(dial))
	if err != nil {
		return nil, err
	}
	if err := t.Start(ctx); err != nil {
		t.Close()
		return nil, err
	}
	return sshTunnel{t}, nil
}

type sshTunnel struct{ t *tunnel.Tunnel }

func (s sshTunnel) Close() error    { return s.t.Close() }
func (s sshTunnel) Reconnects() int { return s.t.Status().Reconnects }

func (s sshTunnel) Forwards() []tunnel.BoundForward { return s.t.Status().Forwards }

func (s sshTunnel) SelfCheck(ctx context.Context) error {
	_, err := s.t.SelfCheck(ctx)
	return err
}

// stateJournal keeps the link's leftovers in the state file, so a crashed
// run's successor finds them there (link.Journal).
type stateJournal struct{ store *state.Store }

func (j *stateJournal) Record(lo link.Leftovers) error {
	return j.store.Update(func(st *state.State) {
		l := state.Leftovers{Interface: lo.Interface}
		if d := lo.Dialer; d != nil {
			l.DialerPID, l.DialerStartTime, l.DialerCmdline = d.PID, d.StartTime, d.Cmdline
			l.DialerRecorded = true
		}
		for _, r := range lo.Routes {
			l.Routes = append(l.Routes, state.Route{Destination: r.Dst, Interface: r.Interface})
		}
		st.Session.Leftovers = l
	})
}

func (j *stateJournal) leftovers() link.Leftovers {
	l := j.store.Snapshot().Session.Leftovers
	lo := link.Leftovers{Interface: l.Interface}
	if l.DialerRecorded {
		lo.Dialer = &link.Process{PID: l.DialerPID, StartTime: l.DialerStartTime, Cmdline: l.DialerCmdline}
	}
	for _, r := range l.Routes {
		lo.Routes = append(lo.Routes, link.HostRoute{Dst: r.Destination, Interface: r.Interface})
	}
	return lo
}

// realLink is the PPP link from the config.
func (a *Agent) realLink() (session.Link, error) {
	lc := link.Config{
		UpCommand: a.cfg.Link.UpCommand,
		Interface: a.cfg.Link.Interface,
		Attempts:  a.cfg.Link.Attempts,
		UpTimeout: a.cfg.Link.UpTimeout,
		PinRoute:  a.cfg.Link.PinRoute,
		JumpHost:  a.cfg.Tunnel.JumpHost,
	}
	for _, s := range a.cfg.Link.DNS {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("link.dns: %q: %w", s, err)
		}
		lc.DNS = append(lc.DNS, ip)
	}
	l, err := link.New(lc, link.WithLogger(a.log), link.WithJournal(&stateJournal{a.store}))
	if err != nil {
		return nil, err
	}
	return pppLink{l: l, jumpHost: a.cfg.Tunnel.JumpHost}, nil
}

// cleanupLeftovers undoes what a crashed run left: its dialer and routes.
func (a *Agent) cleanupLeftovers(ctx context.Context) {
	j := &stateJournal{a.store}
	lo := j.leftovers()
	reason := "the agent restarted mid-session"
	if !lo.Empty() {
		a.log.Warn("cleaning up after the previous run", "dialer", lo.Dialer, "routes", lo.Routes)
		if err := link.Cleanup(ctx, lo, 10*time.Second, a.log); err != nil {
			a.log.Error("clean-up after the previous run", "err", err)
		}
		if err := j.Record(link.Leftovers{}); err != nil {
			a.log.Error("clean-up record", "err", err)
		}
		reason = "the agent restarted mid-session; torn down"
	}
	a.store.EndStaleSession(time.Now(), reason)
}

// startConsole opens the router's console and serves it (nil when none
// is configured).
func (a *Agent) startConsole() (*console.Bridge, error) {
	c := a.cfg.Console
	if c.Device == "" {
		return nil, nil
	}
	port, err := serialport.Open(c.Device, c.Baud)
	if err != nil {
		return nil, err
	}
	b, err := console.New(port, console.Config{Listen: c.Listen, History: int(c.History),
		LogFile: a.cfg.StateDir + "/console.log", LogMax: 10 << 20}, a.log)
	if err != nil {
		port.Close()
		return nil, err
	}
	return b, nil
}
