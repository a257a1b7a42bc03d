// Package agent puts oobd together: the modem and its inbox, the trigger,
// the session lifecycle over the real link and tunnel, the notices, the
// state file, the control socket, the drill schedule, the health endpoint
// and the console bridge. It only wires the parts: each knows its own job.
// `oobd run` is agent.New + Run; `oobd demo` is the same with the two
// stand-ins it names.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/drill"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/liveness"
	"github.com/oobd/oobd/oob/metrics"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/requests"
	"github.com/oobd/oobd/oob/schedule"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// Option changes how the agent is put together.
type Option func(*Agent)

// WithLink replaces the cellular link (the demo's loopback link).
func WithLink(l session.Link) Option { return func(a *Agent) { a.link = l } }

// WithObserver calls f with every change of the session (the demo
// prints them). f must not block.
func WithObserver(f func(session.Report)) Option { return func(a *Agent) { a.observe = f } }

// WithVersion names oobd's version in its metrics (oobd_build_info).
func WithVersion(v string) Option { return func(a *Agent) { a.version = v } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.log = l } }

// Agent is the daemon.
type Agent struct {
	cfg     *config.Config
	log     *slog.Logger
	version string
	link    session.Link
	observe func(session.Report)

	store    *state.Store
	audit    *audit.Log
	modem    *modem.Modem
	inbox    *inbox.Poller
	sessions *session.Controller
	requests *requests.Handler
	drills   *drill.Runner
	push     *notify.Pushover // nil: pushes not configured
	notices  *notify.Notices
	trigger  *trigger.Trigger
	metrics  *metrics.Metrics
	health   *health.Checker
	started  time.Time
	live     *liveness.Record // the loops systemd's watchdog and /healthz watch
	watchdog time.Duration    // systemd's WatchdogSec; 0 when not under one
	closers  []func() error   // what New opened, closed by Run (or by New on failure)
}

// New builds the agent from cfg. Nothing runs until Run.
func New(cfg *config.Config, opts ...Option) (_ *Agent, err error) {
	a := &Agent{cfg: cfg, log: slog.Default(), started: time.Now(), health: health.NewChecker(nil)}
	for _, o := range opts {
		o(a)
	}
	a.watchdog, _ = liveness.SystemdInterval()
	a.live = liveness.New(a.watchdog)
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := a.openState(); err != nil {
		return nil, err
	}
	notices, err := a.newNotices()
	if err != nil {
		return nil, err
	}
	a.notices = notices
	ts := cfg.TriggerSettings()
	ts.Unsafe = func(err error) { go notices.Alert(context.Background(), notify.UnsafeSecretMessage(err)) }
	if a.trigger, err = trigger.New(ts, a.store, trigger.WithLogger(a.log)); err != nil {
		return nil, err
	}
	if a.metrics, err = metrics.New(metrics.Config{Version: a.version, Source: a.metricsSnapshot, Checker: a.health, Log: a.log}); err != nil {
		return nil, err
	}
	a.modem = modem.New(cfg.Modem.Port, cfg.ModemOptions(a.store.ModemMemory(), a.log)...)
	a.closers = append(a.closers, a.modem.Close)
	a.requests = &requests.Handler{Store: a.store, JumpHost: cfg.Tunnel.JumpHost, Lockout: a.trigger.Lockout,
		Unlock: a.trigger.Unlock, Audit: a.audit, Log: a.log, Now: time.Now}
	a.drills = &drill.Runner{Store: a.store, Push: notices.Push, Extra: cfg.Notify.SMSNumbers, Log: a.log, Now: time.Now}
	iopts := append(cfg.InboxOptions(a.log), inbox.WithAlerts(notices.Alert), inbox.WithBeat(a.live.Loop("inbox"), a.live.Window()),
		inbox.WithCounter(a.metrics))
	if cfg.Drill.SMSLoop {
		a.drills.Loop = &drill.Loop{OwnNumber: cfg.Modem.OwnE164, AskSIM: a.modem.OwnNumber, CountryCode: cfg.Trigger.CountryCode, Now: time.Now}
		iopts = append(iopts, inbox.WithLoopback(a.drills.Loop.Match))
	}
	if a.inbox, err = inbox.New(a.modem, a.trigger, a.audit, a.store, inbox.HandlerFunc(a.requests.Text), iopts...); err != nil {
		return nil, err
	}
	notices.SMS, a.drills.SMS = a.inbox, a.inbox
	if a.link == nil {
		if a.link, err = a.realLink(); err != nil {
			return nil, err
		}
	}
	sopts := []session.Option{session.WithLogger(a.log), session.WithRecorder(&recorder{store: a.store, observe: a.observe, beat: a.live.Loop("session"), metrics: a.metrics, log: a.log})}
	if cfg.Modem.SinglePort() {
		sopts = append(sopts, session.WithPort(a.inbox))
	}
	a.sessions = session.New(cfg.SessionConfig(), a.link, a.openTunnel, notices, sopts...)
	a.requests.Sessions, a.drills.Sessions = a.sessions, a.sessions
	a.requests.Drill = func(ctx context.Context) session.Outcome { return a.drills.Run(ctx, drill.Manual) }
	a.requests.Health = func() health.Report { return a.health.Check(a.healthInput()) }
	return a, nil
}

// openState opens the state file and the audit log.
func (a *Agent) openState() (err error) {
	if a.store, err = state.Open(a.cfg.StateDir, state.WithLogger(a.log)); err != nil {
		return err
	}
	if r := a.store.Recovered(); r != "" {
		a.log.Warn("state file was damaged; started clean", "detail", r)
	}
	if a.audit, err = audit.Open(a.cfg.StateDir); err != nil {
		return err
	}
	a.closers = append(a.closers, a.audit.Close)
	return nil
}

// newNotices makes the session's notices, with pushes when configured.
func (a *Agent) newNotices() (*notify.Notices, error) {
	n := &notify.Notices{Extra: a.cfg.Notify.SMSNumbers, TwoPort: !a.cfg.Modem.SinglePort(),
		JumpHost: a.cfg.Tunnel.JumpHost, Signal: a.store.Signal, Log: a.log}
	if a.cfg.Notify.Pushover.Enabled() {
		var err error
		if a.push, err = notify.NewPushover(a.cfg.PushoverConfig()); err != nil {
			return nil, err
		}
		a.closers = append(a.closers, a.push.Close)
		n.Push = a.push
	}
	return n, nil
}

// close closes what New opened, in reverse.
func (a *Agent) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// Run runs the daemon until ctx ends, then tears down whatever is up and
// returns. What a previous run left behind (a dialer, a host route) is
// cleaned up first.
func (a *Agent) Run(ctx context.Context) error {
	defer a.close()
	defer func() {
		// The readings the store held back (signal, bytes, last poll).
		if err := a.store.Flush(); err != nil {
			a.log.Error("state not saved", "err", err)
		}
	}()
	// The control socket first: it is also the guard against a second
	// daemon, which must not "clean up" the first one's live session.
	ctl, err := control.Listen(control.SocketPath(a.cfg.StateDir), control.HandlerFunc(a.requests.Control), a.log,
		control.WithBeat(a.live.Loop("control")))
	if err != nil {
		return err
	}
	defer ctl.Close()
	stale := a.cleanupLeftovers(ctx)

	sessCtx, stopSessions := context.WithCancel(context.WithoutCancel(ctx))
	sessDone := make(chan struct{})
	go func() { a.sessions.Run(sessCtx); close(sessDone) }()
	defer func() { stopSessions(); <-sessDone }()
	if err := a.inbox.Start(ctx); err != nil {
		return err
	}
	defer a.inbox.Close()

	var wg sync.WaitGroup
	defer wg.Wait()
	if stale != nil {
		// The owner last heard "link up": say that it went down with the
		// previous run. In the background: a modem in trouble must not
		// hold up the start.
		wg.Go(func() { a.notices.Down(ctx, *stale) })
	}
	// The texts that arrived while the agent was not running; a slow or
	// absent modem holds up neither the control socket nor `oobd up`.
	wg.Go(func() {
		if err := a.inbox.Poll(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("first poll", "err", err)
		}
	})
	stopExtras, err := a.startExtras(ctx, &wg)
	if err != nil {
		return err
	}
	defer stopExtras()
	a.log.Info("oobd running", "modem", a.cfg.Modem.Port, "jump_host", a.cfg.Tunnel.JumpHost, "schedule", a.cfg.Trigger.Schedule)
	<-ctx.Done()
	a.log.Info("oobd stopping")
	return nil
}

// startExtras starts what serves beside the inbox and the sessions: the
// drill schedule, the health endpoint, the console bridge and the
// watchdog. Stop stops what it started; the goroutines end with ctx.
func (a *Agent) startExtras(ctx context.Context, wg *sync.WaitGroup) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if spec := a.cfg.Drill.Schedule; spec != "" {
		drills, err := schedule.Start(spec, func() { a.drills.Run(ctx, drill.Scheduled) }, a.log)
		if err != nil {
			return stop, fmt.Errorf("drill.schedule: %w", err)
		}
		stops = append(stops, drills.Stop)
	}
	if addr := a.cfg.Health.Listen; addr != "" {
		wg.Go(func() {
			if err := health.ListenAndServe(ctx, addr, health.Handler(a.health, a.healthInput, a.metrics.Handler()), a.log); err != nil {
				a.log.Error("health endpoint", "err", err)
			}
		})
	}
	if b, err := a.startConsole(); err != nil {
		a.log.Error("console bridge not started", "err", err)
	} else if b != nil {
		stops = append(stops, func() { b.Close() })
	}
	wg.Go(func() { (&liveness.Watchdog{Record: a.live, Interval: a.watchdog, Log: a.log}).Run(ctx) })
	return stop, nil
}
