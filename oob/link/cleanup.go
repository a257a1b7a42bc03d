//go:build linux || freebsd

package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"syscall"
	"time"
)

// Cleanup undoes what a previous run of the agent left behind, as its
// journal recorded it: the dialer is stopped (SIGTERM to its group, SIGKILL
// after grace) only if the process now holding the PID has the recorded
// start time and command line, never found by name; the routes still
// present are removed. Call it at start-up, before the first Up, then
// record empty Leftovers.
func Cleanup(ctx context.Context, lo Leftovers, grace time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	var errs []error
	if p := lo.Dialer; p != nil && p.PID > 0 {
		stopped, err := stopRecorded(ctx, *p, grace, log)
		if err != nil {
			errs = append(errs, err)
		}
		if stopped && lo.Interface != "" {
			if err := waitInterfaceGone(ctx, lo.Interface); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, r := range lo.Routes {
		dst, err := netip.ParseAddr(r.Dst)
		if err != nil {
			errs = append(errs, fmt.Errorf("route %q: %w", r.Dst, err))
			continue
		}
		if err := delHostRouteByName(dst, r.Interface); err != nil {
			errs = append(errs, fmt.Errorf("remove host route to %s via %s: %w", dst, r.Interface, err))
			continue
		}
		log.Info("link: cleanup: host route removed if present", "dst", dst, "interface", r.Interface)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("link: cleanup: %w", err)
	}
	return nil
}

// stopRecorded stops p if it is still the recorded process. stopped
// reports whether it was (and now is gone).
func stopRecorded(ctx context.Context, p Process, grace time.Duration, log *slog.Logger) (stopped bool, err error) {
	log = log.With("pid", p.PID, "cmdline", loggableArgv(p.Cmdline))
	same, err := signalIfSame(p, syscall.SIGTERM)
	if err != nil {
		return false, fmt.Errorf("stop dialer pid %d: %w", p.PID, err)
	}
	if !same {
		log.Info("link: cleanup: recorded dialer is not running (pid gone or reused), nothing stopped")
		return false, nil
	}
	log.Warn("link: cleanup: stopping the dialer a previous run left")
	gctx, cancel := context.WithTimeout(ctx, grace)
	err = waitExit(gctx, p)
	cancel()
	if err == nil {
		return true, nil
	}
	if _, err := signalIfSame(p, syscall.SIGKILL); err != nil {
		return true, fmt.Errorf("kill dialer pid %d: %w", p.PID, err)
	}
	if err := waitExit(ctx, p); err != nil {
		return true, fmt.Errorf("dialer pid %d: %w", p.PID, err)
	}
	return true, nil
}

// isSame reports whether the process holding p.PID is p.
func isSame(p Process) bool {
	start, _, cmd, err := processIdentity(p.PID)
	return err == nil && start == p.StartTime && p.StartTime != "" && sameCmdline(p.Cmdline, cmd)
}

// waitExit waits until p is no longer running. It is not our child, so
// there is nothing to wait on: it looks every 50ms.
func waitExit(ctx context.Context, p Process) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for isSame(p) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("still running: %w", ctx.Err())
		}
	}
	return nil
}

func waitInterfaceGone(ctx context.Context, name string) error {
	w, err := watchInterface(name)
	if err != nil {
		return err
	}
	defer w.close()
	return w.waitGone(ctx)
}
