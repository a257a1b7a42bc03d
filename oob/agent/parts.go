package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/tunnel"
)

// The adapters between the session's small interfaces and the real parts.

// pppLink is the cellular link: dial, prove the path, pin the route.
type pppLink struct{ l *link.Link }

func (p pppLink) Up(ctx context.Context) (session.Path, error) {
	s, err := p.l.Up(ctx)
	if err != nil {
		return nil, err
	}
	return pppPath{s}, nil
}

// pppPath converts *link.Path to session.Path until their LocalIP and
// Bytes agree.
type pppPath struct{ *link.Path }

func (p pppPath) LocalIP() string { return p.Path.LocalIP().String() }

// Bytes is what went through the link, both ways.
func (p pppPath) Bytes() uint64 {
	rx, tx := p.Path.Bytes()
	return rx + tx
}

// openTunnel connects to the jump host through dial and binds every
// forward (session.TunnelOpener).
func (a *Agent) openTunnel(ctx context.Context, dial session.DialFunc) (session.Tunnel, error) {
	tc := tunnel.Config{
		JumpHost:       a.cfg.Tunnel.JumpHost,
		User:           a.cfg.Tunnel.User,
		IdentityFile:   a.cfg.Tunnel.IdentityFile,
		KnownHostsFile: a.cfg.Tunnel.KnownHosts,
		Keepalive:      a.cfg.Tunnel.Keepalive,
		Logger:         a.log,
	}
	for _, f := range a.cfg.Tunnel.Forwards {
		tc.Forwards = append(tc.Forwards, tunnel.Forward{Remote: f.Remote, Local: f.Local})
	}
	t, err := tunnel.New(tc, tunnel.DialFunc(dial))
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

func (s sshTunnel) Forwards() []session.Forward {
	var out []session.Forward
	for _, b := range s.t.Status().Forwards {
		out = append(out, session.Forward{Remote: b.Remote, BoundPort: b.Port, Local: b.Local})
	}
	return out
}

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
		for _, f := range rep.Forwards {
			s.Forwards = append(s.Forwards, state.Forward{Remote: f.Remote, Local: f.Local, BoundPort: f.BoundPort})
		}
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
			l.Routes = append(l.Routes, state.Route{Destination: r.Destination, Interface: r.Interface})
		}
		st.Session.Leftovers = l
	})
}

func (j *stateJournal) Leftovers() (link.Leftovers, error) {
	l := j.store.Snapshot().Session.Leftovers
	lo := link.Leftovers{Interface: l.Interface}
	if l.DialerRecorded {
		lo.Dialer = &link.Process{PID: l.DialerPID, StartTime: l.DialerStartTime, Cmdline: l.DialerCmdline}
	}
	for _, r := range l.Routes {
		lo.Routes = append(lo.Routes, link.Route{Destination: r.Destination, Interface: r.Interface})
	}
	return lo, nil
}

// RecordCleanup shows a failed clean-up as the last failure (step
// "cleanup") until one succeeds; the state file has no place of its own
// for it yet.
func (j *stateJournal) RecordCleanup(f *link.CleanupFailure) error {
	return j.store.Update(func(st *state.State) {
		if f != nil {
			st.SetFailure(f.FailedAt, "cleanup", f.String())
		} else if st.LastFailure != nil && st.LastFailure.Step == "cleanup" {
			st.LastFailure = nil
		}
	})
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
