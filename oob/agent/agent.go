// Package agent puts oobd together: the modem and its inbox, the trigger,
// the session lifecycle over the real link and tunnel, the notices, the
// state file, the control socket, the drill schedule, the health endpoint
// and the console bridge. `oobd run` is agent.New + Run; `oobd demo` is
// the same with the two stand-ins it names.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/serialport"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/config"
	"github.com/oobd/oobd/oob/console"
	"github.com/oobd/oobd/oob/control"
	"github.com/oobd/oobd/oob/health"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/link"
	"github.com/oobd/oobd/oob/notify"
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

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.log = l } }

// Agent is the daemon.
type Agent struct {
	cfg  *config.Config
	log  *slog.Logger
	now  func() time.Time
	link session.Link

	observe func(session.Report)

	store    *state.Store
	audit    *audit.Log
	modem    *modemLine
	inbox    *inbox.Poller
	sessions *session.Controller
	push     *notify.Pushover // nil: pushes not configured
	journal  *stateJournal
}

// New builds the agent from cfg. Nothing runs until Run.
func New(cfg *config.Config, opts ...Option) (_ *Agent, err error) {
	a := &Agent{cfg: cfg, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(a)
	}
	defer func() {
		// Half-built: put back what was opened or hooked.
		if err != nil {
			if a.audit != nil {
				a.audit.Close()
			}
			if a.push != nil {
				a.push.Close()
			}
		}
	}()
	if a.store, err = state.Open(cfg.StateDir, state.WithLogger(a.log)); err != nil {
		return nil, err
	}
	if r := a.store.Recovered(); r != "" {
		a.log.Warn("state file was damaged; started clean", "detail", r)
	}
	if a.audit, err = audit.Open(cfg.StateDir); err != nil {
		return nil, err
	}
	trig, err := trigger.New(trigger.SettingsFrom(cfg), a.store, trigger.WithLogger(a.log))
	if err != nil {
		return nil, err
	}

	mopts := []modem.Option{
		modem.WithBaud(cfg.Modem.Baud),
		modem.WithCommandTimeout(cfg.Modem.CommandTimeout),
		modem.WithIndications(cfg.Trigger.URC),
		modem.WithLogger(a.log),
	}
	if cfg.Modem.PINFile != "" {
		mopts = append(mopts, modem.WithPINFile(cfg.Modem.PINFile))
	}
	if len(cfg.Modem.RecoveryCommand) > 0 {
		mopts = append(mopts, modem.WithRecoveryCommand(cfg.Modem.RecoveryCommand))
	}
	a.modem = newModemLine(cfg.Modem.Port, a.log, cfg.Modem.RecoveryCommand, mopts...)

	iopts := []inbox.Option{inbox.WithSchedule(cfg.Trigger.Schedule), inbox.WithLogger(a.log)}
	if cfg.Trigger.URC {
		iopts = append(iopts, inbox.WithIndications(a.modem.Indications()))
	}
	warn := &inboxStore{Store: a.store, stats: a.modem.Stats, onWarn: func(used, total int) {
		a.log.Warn("SMS storage nearly full", "used", used, "total", total)
		go a.pushNow(context.Background(), notify.StorageMessage(used, total))
	}}
	if a.inbox, err = inbox.New(a.modem, trig, a.audit, warn, a, iopts...); err != nil {
		return nil, err
	}

	if cfg.Notify.Pushover.Enabled() {
		a.push, err = notify.NewPushover(notify.PushoverConfig{
			TokenFile: cfg.Notify.Pushover.TokenFile,
			UserKey:   cfg.Notify.Pushover.UserKey,
			APIURL:    cfg.Notify.Pushover.APIURL,
		})
		if err != nil {
			return nil, err
		}
	}

	a.journal = &stateJournal{store: a.store}
	if a.link == nil {
		if a.link, err = a.realLink(); err != nil {
			return nil, err
		}
	}
	n := &notices{
		sms: a.inbox, extra: cfg.Notify.SMSNumbers, twoPort: !cfg.Modem.SinglePort(),
		jumpHost: cfg.Tunnel.JumpHost, signal: a.signal, store: a.store, log: a.log, now: a.now,
	}
	if a.push != nil {
		n.push = a.push
	}
	sopts := []session.Option{session.WithLogger(a.log), session.WithRecorder(&recorder{store: a.store, observe: a.observe})}
	if cfg.Modem.SinglePort() {
		sopts = append(sopts, session.WithPort(&handOver{a: a}))
	}
	a.sessions = session.New(session.Config{
		Duration:    cfg.Session.Duration,
		MaxDuration: cfg.Session.MaxDuration,
		DataBudget:  uint64(cfg.Session.DataBudget),
	}, a.link, a.openTunnel, n, sopts...)
	return a, nil
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
	l, err := link.New(lc, link.WithLogger(a.log), link.WithJournal(a.journal))
	if err != nil {
		return nil, err
	}
	return pppLink{l}, nil
}

// Run runs the daemon until ctx ends, then tears down whatever is up and
// returns. What a previous run left behind (a dialer, a host route) is
// cleaned up first.
func (a *Agent) Run(ctx context.Context) error {
	defer a.audit.Close()
	defer a.modem.Close()
	if a.push != nil {
		defer a.push.Close()
	}
	// The control socket first: it is also the guard against a second
	// daemon, which must not "clean up" the first one's live session.
	ctl, err := control.Listen(control.SocketPath(a.cfg.StateDir), control.HandlerFunc(a.HandleControl), a.log)
	if err != nil {
		return err
	}
	defer ctl.Close()

	a.cleanupLeftovers(ctx)

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
	bg, cancelBg := context.WithCancel(ctx)
	defer cancelBg()

	// The modem's first look (health, SIM change, PIN) and the texts that
	// arrived while the agent was not running; a slow or absent modem
	// holds up neither the control socket nor a local `oobd up`.
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.checkModem(bg)
		if err := a.inbox.Poll(bg); err != nil && bg.Err() == nil {
			a.log.Warn("first poll", "err", err)
		}
	}()

	if spec := a.cfg.Drill.Schedule; spec != "" {
		l := cronLog{a.log}
		c := cron.New(cron.WithLogger(l), cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)))
		if _, err := c.AddFunc(spec, func() { <-a.drill() }); err != nil {
			return fmt.Errorf("drill.schedule: %w", err)
		}
		c.Start()
		// Not waiting for a running drill: it ends with the sessions,
		// which are stopped after this.
		defer c.Stop()
	}
	if addr := a.cfg.Health.Listen; addr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := health.Serve(bg, addr, a.healthSnapshot); err != nil {
				a.log.Error("health endpoint", "err", err)
			}
		}()
	}
	if dev := a.cfg.Console.Device; dev != "" {
		port, err := serialport.Open(dev, a.cfg.Console.Baud)
		if err != nil {
			a.log.Error("console bridge not started", "err", err)
		} else {
			b, err := console.New(port, console.Config{
				Listen: a.cfg.Console.Listen, History: int(a.cfg.Console.History),
				LogFile: a.cfg.StateDir + "/console.log", LogMax: 10 << 20,
			}, a.log)
			if err != nil {
				port.Close()
				a.log.Error("console bridge not started", "err", err)
			} else {
				defer b.Close()
			}
		}
	}
	a.log.Info("oobd running", "modem", a.cfg.Modem.Port, "jump_host", a.cfg.Tunnel.JumpHost, "schedule", a.cfg.Trigger.Schedule)
	<-ctx.Done()
	a.log.Info("oobd stopping")
	return nil
}

// checkModem reads the modem once at start-up: its health for the state
// file, and whether the SIM changed since the last run.
func (a *Agent) checkModem(ctx context.Context) {
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	info, err := a.modem.Info(ictx)
	if err != nil {
		a.log.Error("modem not ready; will retry on every poll", "port", a.cfg.Modem.Port, "err", err)
		a.store.Update(func(st *state.State) {
			st.Modem.OK, st.Modem.LastError = false, err.Error()
			st.AddEvent(a.now(), "modem", "not ready: "+err.Error())
		})
		return
	}
	var changed *notify.SIMChange
	a.store.Update(func(st *state.State) {
		m := &st.Modem
		if (m.ICCID != "" && info.ICCID != "" && m.ICCID != info.ICCID) || (m.IMSI != "" && info.IMSI != "" && m.IMSI != info.IMSI) {
			changed = &notify.SIMChange{OldICCID: m.ICCID, NewICCID: info.ICCID, OldIMSI: m.IMSI, NewIMSI: info.IMSI}
			st.AddEvent(a.now(), "modem", "SIM changed")
		}
		m.OK, m.LastError, m.LastAnswer = true, "", a.now()
		m.ICCID, m.IMSI = info.ICCID, info.IMSI
		m.SIM, m.PINAttempts = string(info.SIM), info.PINAttempts
		m.SignalDBm, m.SignalKnown = info.SignalDBm, info.SignalKnown
		m.Registration, m.Operator = string(info.Registration), info.Operator
		m.StorageUsed, m.StorageTotal = info.StorageUsed, info.StorageTotal
	})
	if changed != nil {
		a.log.Warn("SIM changed", "old_iccid", changed.OldICCID, "new_iccid", changed.NewICCID)
		a.pushNow(ctx, notify.SIMChangedMessage(*changed))
	}
	if info.SIM == modem.SIMPIN || info.SIM == modem.SIMPUK {
		a.log.Error("SIM locked", "sim", info.SIM, "attempts_left", info.PINAttempts)
		a.pushNow(ctx, notify.WrongPINMessage(info.PINAttempts))
	}
}

// pushNow pushes over the default route, if pushes are configured.
func (a *Agent) pushNow(ctx context.Context, m notify.Message) {
	if a.push == nil {
		return
	}
	if err := a.push.Send(ctx, m); err != nil {
		a.log.Warn("push not sent", "title", m.Title, "err", err)
	}
}

// signal is the last signal and operator the modem reported.
func (a *Agent) signal() (int, string) {
	st := a.store.Snapshot().Modem
	if !st.SignalKnown {
		return 0, st.Operator
	}
	return st.SignalDBm, st.Operator
}

func (a *Agent) healthSnapshot() health.Snapshot {
	st := a.store.Snapshot()
	rep, active := a.sessions.Status()
	s := health.Snapshot{
		ModemOK: st.Modem.OK, ModemError: st.Modem.LastError,
		SignalDBm: st.Modem.SignalDBm, SignalKnown: st.Modem.SignalKnown,
		Registration: st.Modem.Registration, SIM: st.Modem.SIM,
		LastPoll: st.LastPoll, LockoutActive: st.Trigger.LockedOut(a.now()),
		SessionActive: active, StorageUsed: st.Modem.StorageUsed, StorageTotal: st.Modem.StorageTotal,
	}
	if active {
		s.SessionBytes = rep.Bytes
	}
	if d := st.LastDrill; d != nil {
		s.LastDrill, s.LastDrillOK = d.Time, d.OK
	}
	ms := a.modem.Stats()
	s.ModemRecovered = ms.Reopens + ms.Resets + ms.PowerCycles
	return s
}

// cleanupLeftovers undoes what a crashed run left: its dialer and routes.
// The link keeps a clean-up that fails and retries it before its next
// dial.
func (a *Agent) cleanupLeftovers(ctx context.Context) {
	lo, _ := a.journal.Leftovers()
	reason := ""
	if !lo.Empty() {
		reason = "the agent restarted mid-session; torn down"
	}
	if p, ok := a.link.(pppLink); ok {
		if err := p.l.Cleanup(ctx); err != nil {
			a.log.Error("clean-up after the previous run", "err", err)
			if !lo.Empty() {
				reason = "the agent restarted mid-session; clean-up failed, retried before the next dial"
			}
		}
	}
	a.markSessionOver(reason)
}

// markSessionOver closes a session the state file still shows as active
// (the previous run died holding it).
func (a *Agent) markSessionOver(reason string) {
	a.store.Update(func(st *state.State) {
		if !st.Session.Active {
			return
		}
		st.Session.Active = false
		st.Session.Ended = a.now()
		if reason == "" {
			reason = "the agent restarted mid-session"
		}
		st.Session.EndReason = reason
		st.AddEvent(a.now(), "session", reason)
	})
}

type cronLog struct{ l *slog.Logger }

func (c cronLog) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLog) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
