package liveness

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends one sd_notify(3) state line ("READY=1", "WATCHDOG=1").
type Notifier interface {
	Notify(state string) error
}

// Systemd is the Notifier that writes to $NOTIFY_SOCKET; without one
// (started by hand, FreeBSD) it does nothing.
type Systemd struct{}

// Notify sends state to systemd.
func (Systemd) Notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// SystemdInterval is the watchdog interval systemd asked of this process
// (WatchdogSec= in the unit), or 0 when there is no watchdog.
func SystemdInterval() (time.Duration, error) {
	return daemon.SdWatchdogEnabled(false)
}

// Watchdog tells systemd that oobd has started (READY=1), that its loops
// are alive (WATCHDOG=1, every Interval/2, only while Record.Check is ok)
// and that it is stopping (STOPPING=1). When the pings stop, systemd
// kills and restarts oobd once Interval has passed without one.
type Watchdog struct {
	Record *Record
	// Interval is systemd's watchdog interval (SystemdInterval); 0 sends
	// READY and STOPPING only.
	Interval time.Duration
	// Notifier is where the states go; nil is Systemd.
	Notifier Notifier
	// Log says when the pings stop and start again; nil discards.
	Log *slog.Logger

	// beaten is called after each tick has been handled (tests).
	beaten func()
}

// Run sends READY=1, then pings while ctx lasts, and STOPPING=1 when ctx
// ends. Call it once oobd has started.
func (w *Watchdog) Run(ctx context.Context) {
	n, log := w.Notifier, w.Log
	if n == nil {
		n = Systemd{}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	send := func(state string) {
		if err := n.Notify(state); err != nil {
			log.Warn("sd_notify", "state", state, "err", err)
		}
	}
	send(daemon.SdNotifyReady)
	defer send(daemon.SdNotifyStopping)
	if w.Interval <= 0 {
		<-ctx.Done()
		return
	}
	// Twice per interval, as sd_watchdog_enabled(3) advises: one late ping
	// must not cost a restart. On the Record's clock, which Check reads.
	ticker := w.Record.clock.NewTicker(w.Interval / 2)
	defer ticker.Stop()
	var stalled []string // the stale loops the last tick saw
	beat := func() {
		ok, stale := w.Record.Check(w.Record.clock.Now())
		switch {
		case ok && stalled != nil:
			log.Info("loops alive again: watchdog pings resume")
			send("STATUS=running")
		case !ok && !slices.Equal(stale, stalled):
			log.Error("loops stale: no watchdog ping; systemd restarts oobd if they stay so", "stale", stale, "watchdog", w.Interval)
			send("STATUS=stale loops: " + strings.Join(stale, ", "))
		}
		stalled = stale
		if ok {
			send(daemon.SdNotifyWatchdog)
		}
	}
	beat()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			beat()
			if w.beaten != nil {
				w.beaten()
			}
		}
	}
}
