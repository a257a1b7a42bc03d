package agent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/oobd/oobd/modem"
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

// handOver lends a single-port modem to the dialer for the session.
type handOver struct{ a *Agent }

func (h *handOver) Release(ctx context.Context) error {
	h.a.inbox.Pause()
	h.a.modem.release()
	return nil
}

func (h *handOver) Reacquire(ctx context.Context) error {
	// However the re-open goes, the inbox resumes: its next polls retry
	// the modem (and recover it), and held notices go out once it answers.
	err := h.a.modem.reacquire(ctx)
	h.a.inbox.Resume(ctx, nil, h.a.now())
	if err != nil {
		return fmt.Errorf("re-open the modem after the session: %w", err)
	}
	return nil
}

// recorder writes the session to the state file for `oobd status`.
type recorder struct {
	store   *state.Store
	observe func(session.Report) // nil: nobody watches
}

func (r *recorder) Session(rep session.Report) {
	if r.observe != nil {
		r.observe(rep)
	}
	r.store.Update(func(st *state.State) {
		s := &st.Session
		lo := s.Leftovers
		*s = state.Session{
			Active:      rep.State != session.StateIdle,
			RequestedBy: rep.RequestedBy,
			Started:     rep.Started,
			Until:       rep.Until,
			Ended:       rep.Ended,
			EndReason:   rep.Reason,
			Interface:   rep.Interface,
			LocalIP:     rep.LocalIP,
			Bytes:       int64(rep.Bytes),
			Reconnects:  rep.Reconnects,
			Leftovers:   lo,
		}
		if s.RequestedBy == "" && rep.Local {
			s.RequestedBy = "local operator"
		}
		if rep.Drill {
			s.RequestedBy = "drill"
		}
		s.Forwards = rep.Forwards
	})
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

// inboxStore is the state store as the inbox sees it. Each of its
// updates (every poll makes some) also adds the modem's new troubles to
// the recovery counters `oobd status` shows, and when one raises the SMS
// storage warning the owner gets a push, once, before the SIM is full and
// stops taking texts.
type inboxStore struct {
	*state.Store
	stats  func() modem.Stats
	onWarn func(used, total int)

	mu   sync.Mutex  // guards seen
	seen modem.Stats // the counters already added
}

func (w *inboxStore) Update(fn func(*state.State)) error {
	var raised bool
	var used, total int
	w.mu.Lock()
	now := w.stats()
	// A re-opened modem (single-port hand-over) counts from 0 again.
	delta := func(cur, seen int) int {
		if cur < seen {
			return cur
		}
		return cur - seen
	}
	d := state.ModemRecovery{
		Timeouts:    delta(now.Timeouts, w.seen.Timeouts),
		Resyncs:     delta(now.Resyncs, w.seen.Resyncs),
		Reopens:     delta(now.Reopens, w.seen.Reopens),
		Resets:      delta(now.Resets, w.seen.Resets),
		PowerCycles: delta(now.PowerCycles, w.seen.PowerCycles),
	}
	w.seen = now
	w.mu.Unlock()
	err := w.Store.Update(func(st *state.State) {
		before := st.Modem.StorageWarning
		fn(st)
		r := &st.Modem.Recovery
		r.Timeouts += d.Timeouts
		r.Resyncs += d.Resyncs
		r.Reopens += d.Reopens
		r.Resets += d.Resets
		r.PowerCycles += d.PowerCycles
		if before == "" && st.Modem.StorageWarning != "" {
			raised, used, total = true, st.Modem.StorageUsed, st.Modem.StorageTotal
		}
	})
	if raised {
		w.onWarn(used, total)
	}
	return err
}
