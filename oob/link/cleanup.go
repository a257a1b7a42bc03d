package link

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Cleanup undoes what a previous run of the agent left, as the journal
// recorded it: the dialer's whole process group is stopped (SIGTERM,
// SIGKILL after the grace period), its interface waited for, the host
// routes removed. It is bounded by the grace period plus the wait for the
// group and the interface to go. Call it at start-up, before the first Up.
//
// If it fails, what is left stays recorded, the failure is recorded with
// it (Journal.RecordCleanup), and Up retries it before every dial.
func (l *Link) Cleanup(ctx context.Context) error {
	lo, err := l.journal.Leftovers()
	if err != nil {
		return fmt.Errorf("link: cleanup: read the journal: %w", err)
	}
	if lo.Empty() {
		// Nothing left: a failed clean-up an earlier run recorded is over.
		if err := l.settle(lo, "", nil); err != nil {
			return fmt.Errorf("link: cleanup: %w", err)
		}
		return nil
	}
	l.log.Warn("link: cleaning up what the previous run left", "left", lo.items(""))
	if err := l.undo(ctx, lo); err != nil {
		return fmt.Errorf("link: cleanup: %w", err)
	}
	return nil
}

// retryCleanup retries a clean-up that failed, if there is one.
func (l *Link) retryCleanup(ctx context.Context) error {
	l.mu.Lock()
	pending := l.pending
	l.mu.Unlock()
	if pending == nil {
		return nil
	}
	l.log.Info("link: retrying the clean-up that failed, before dialing", "left", pending.items(""))
	if err := l.undo(ctx, *pending); err != nil {
		return fmt.Errorf("what an earlier run or try left is still there: %w", err)
	}
	return nil
}

// undo stops a recorded dialer, waits for its interface to go and removes
// recorded routes; what it cannot undo stays recorded, and pending.
func (l *Link) undo(ctx context.Context, lo Leftovers) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StopGrace+l.goneWait)
	defer cancel()
	left := lo.clone()
	name := cmp.Or(lo.Interface, l.cfg.Interface)
	ifaceLeft := ""
	var errs []error
	if p := lo.Dialer; p != nil {
		stopped, err := l.stopRecorded(ctx, *p)
		switch {
		case err != nil:
			errs = append(errs, err)
			if held, _ := l.present(name); held {
				ifaceLeft = name
			}
		case stopped:
			left.Dialer = nil
			if err := l.waitGone(ctx, name); err != nil {
				errs = append(errs, err)
				ifaceLeft = name
			}
		default:
			left.Dialer = nil
			// Nothing of ours to stop: an interface of that name now is
			// not known to be ours (another dialer may hold it), so it
			// is named, not waited for or failed on.
			if held, _ := l.present(name); held {
				l.log.Warn("link: cleanup: the recorded dialer is gone but an interface of its name is up; left alone (stop it by hand if it is oobd's)",
					"interface", name, "pid", p.PID)
			}
		}
	}
	left.Routes = nil
	for _, r := range lo.Routes {
		if err := l.delRecordedRoute(r); err != nil {
			errs = append(errs, err)
			left.Routes = append(left.Routes, r)
		}
	}
	err := errors.Join(errs...)
	if rerr := l.journal.Record(left); rerr != nil {
		err = errors.Join(err, fmt.Errorf("record leftovers: %w", rerr))
	}
	if serr := l.settle(left, ifaceLeft, err); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// settle records how undoing went: a failure with what it left, which
// becomes pending, or, once all is undone, the end of a recorded failure.
func (l *Link) settle(left Leftovers, ifaceLeft string, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.pending = nil
		if !l.failureRecorded {
			return nil
		}
		if rerr := l.journal.RecordCleanup(nil); rerr != nil {
			return fmt.Errorf("record clean-up: %w", rerr)
		}
		l.failureRecorded = false
		return nil
	}
	f := &CleanupFailure{FailedAt: l.now(), Error: err.Error(), Left: left.items(ifaceLeft)}
	l.pending = &left
	l.failureRecorded = true
	l.log.Error("link: clean-up failed; it is retried before the next dial", "err", err, "left", f.Left)
	if rerr := l.journal.RecordCleanup(f); rerr != nil {
		return fmt.Errorf("record clean-up: %w", rerr)
	}
	return nil
}

func (l *Link) delRecordedRoute(r Route) error {
	dst, err := routeDestination(r.Destination)
	if err != nil {
		return err
	}
	if err := l.os.delRoute(dst, r.Interface); err != nil {
		return fmt.Errorf("remove host route to %s via %s: %w", dst, r.Interface, err)
	}
	l.log.Info("link: cleanup: host route removed if present", "dst", dst, "interface", r.Interface)
	return nil
}

// pollEvery is how often a clean-up looks whether the processes it
// signalled are gone: they are not its children, so nothing tells it.
const pollEvery = 50 * time.Millisecond

// stopRecorded stops what still runs of the recorded dialer's process
// group: SIGTERM, then SIGKILL after the grace period, until none of it
// runs. stopped reports whether any of it was running. A group already
// gone is not an error.
func (l *Link) stopRecorded(ctx context.Context, rec Process) (stopped bool, err error) {
	log := l.log.With("pid", rec.PID, "started", rec.StartTime, "cmdline", loggableArgv(rec.Cmdline))
	switch {
	case rec.PID <= 0:
		log.Warn("link: cleanup: a dialer was about to start when the agent stopped; its PID was never recorded, so nothing can be stopped safely")
		return false, nil
	case rec.StartTime == "":
		log.Warn("link: cleanup: the dialer's start time was never recorded; it cannot be told from a process that reused its PID, so nothing is stopped")
		return false, nil
	}
	g, err := l.recordedGroup(rec)
	if err != nil {
		return false, fmt.Errorf("dialer pid %d: %w", rec.PID, err)
	}
	if len(g.running) == 0 {
		log.Info("link: cleanup: the recorded dialer and its process group are not running; nothing stopped")
		return false, nil
	}
	log.Warn("link: cleanup: stopping the dialer's process group a previous run left", "pids", g.pids())
	grace, cancel := context.WithTimeout(ctx, l.cfg.StopGrace)
	err = l.signalUntilGone(grace, rec, syscall.SIGTERM, false)
	cancel()
	if err == nil {
		return true, nil
	}
	log.Warn("link: cleanup: the dialer's group is still running after the grace period; killing it", "grace", l.cfg.StopGrace)
	if err := l.signalUntilGone(ctx, rec, syscall.SIGKILL, true); err != nil {
		return true, fmt.Errorf("dialer pid %d (started %s): %w", rec.PID, rec.StartTime, err)
	}
	return true, nil
}

// signalUntilGone signals the recorded group and waits until none of it
// runs; again sends sig again each time it looks (SIGKILL, for processes
// the group forked meanwhile).
func (l *Link) signalUntilGone(ctx context.Context, rec Process, sig syscall.Signal, again bool) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for sent := false; ; {
		g, err := l.recordedGroup(rec)
		if err != nil {
			return err
		}
		if len(g.running) == 0 {
			return nil
		}
		if !sent || again {
			if _, err := l.os.signalGroup(g.pgid, g.lead, sig); err != nil {
				return fmt.Errorf("%s: %w", signalName(sig), err)
			}
			sent = true
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("still running after %s: pids %v: %w", signalName(sig), g.pids(), ctx.Err())
		}
	}
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return sig.String()
}

// group is what still runs of a recorded dialer.
type group struct {
	pgid    int
	lead    *procInfo  // the dialer itself, if it still runs
	running []procInfo // every process of it still running, lead included
}

func (g group) pids() []int {
	out := make([]int, len(g.running))
	for i, p := range g.running {
		out[i] = p.pid
	}
	slices.Sort(out)
	return out
}

// recordedGroup finds what still runs of the recorded dialer: the process
// with its PID and start time, and the running processes of the process
// group it led (the dialer starts in a group of its own, whose ID is its
// PID).
//
// Why a group found by that ID is the dialer's: the kernel hands out no
// PID that is still the ID of a process group, so the ID cannot be reused
// while any of the group lives. Hence:
//   - the PID held by a process with the recorded start time: the dialer
//     runs; its group is its group;
//   - the PID held by another process: the dialer's group had ended
//     before the PID was handed out again, and a group of that ID now is
//     the newcomer's: nothing is stopped;
//   - the PID held by no one: the group may have outlived its leader (a
//     script killed, the pppd it started still running). Or, after the
//     whole group had ended, the PID went to a process that made a group
//     of its own and died in turn. That takes the PID counter going round
//     while the agent was down, and even then only processes that started
//     no earlier than the recorded dialer are taken: nothing older can be
//     in a group it made.
func (l *Link) recordedGroup(rec Process) (group, error) {
	procs, err := l.os.processes()
	if err != nil {
		return group{}, fmt.Errorf("list processes: %w", err)
	}
	g := group{pgid: rec.PID}
	i := slices.IndexFunc(procs, func(p procInfo) bool { return p.pid == rec.PID })
	holder := (*procInfo)(nil)
	if i >= 0 {
		holder = &procs[i]
		if holder.start != rec.StartTime {
			return group{pgid: rec.PID}, nil // the PID was reused
		}
		if !holder.zombie {
			lead := *holder
			g.lead = &lead
			g.running = append(g.running, lead)
		}
	}
	for _, p := range procs {
		if p.pgid != rec.PID || p.zombie || p.pid == rec.PID {
			continue
		}
		if holder == nil {
			if before, ok := startedBefore(p.start, rec.StartTime); !ok || before {
				continue
			}
		}
		g.running = append(g.running, p)
	}
	return g, nil
}

// present reports whether an interface holds name.
func (l *Link) present(name string) (bool, error) {
	w, err := l.os.watch(name)
	if err != nil {
		return false, err
	}
	defer w.close()
	return w.present()
}

// waitGone waits until no interface holds name.
func (l *Link) waitGone(ctx context.Context, name string) error {
	w, err := l.os.watch(name)
	if err != nil {
		return fmt.Errorf("watch %s: %w", name, err)
	}
	defer w.close()
	if err := w.waitGone(ctx); err != nil {
		return fmt.Errorf("wait for %s to go: %w", name, err)
	}
	return nil
}
