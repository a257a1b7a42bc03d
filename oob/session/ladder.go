package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/oobd/oobd/internal/clock"
	"github.com/oobd/oobd/tunnel"
)

// ladder is one session's way up (modem hand-over, link, tunnel,
// self-check), its hold, and its way back down in reverse. It owns what
// is up: only the goroutine that runs it touches its fields, so they
// need no lock. What the Controller reads and changes meanwhile (the
// report, the end, the waiters) is in s.
type ladder struct {
	*parts
	s   *running
	log *slog.Logger

	// What is up, in the order it came up.
	released bool   // the modem's AT port is lent to the dialer
	path     Path   // nil while no link is up
	tun      Tunnel // nil while no tunnel is open
	// earlierRx and earlierTx are the bytes of the links this session
	// already took down (before a redial, or in the teardown).
	earlierRx, earlierTx uint64
}

func newLadder(p *parts, s *running) *ladder {
	rep := s.report()
	return &ladder{parts: p, s: s, log: p.log.With("requested_by", rep.RequestedBy, "drill", rep.Drill)}
}

// run brings the session up, holds it, and tears it down. Whatever came
// up is taken down in reverse before it returns, on every path, and
// everyone who asked for an up has had its one outcome.
func (l *ladder) run() {
	rep := l.tearDown(l.upAndHold())
	// An up that joined after the outcome was given (during a redial
	// that failed, or during the teardown) is answered too.
	l.s.settle(Outcome{Err: fmt.Errorf("the session ended (%s) before it could take this up; ask again", rep.Reason), Step: "start"})
}

// upAndHold climbs the ladder and holds the session, and says why it
// ends and at which step ("" for an end that is no failure). Whoever
// waits for the up has its outcome once the self-check passed or the
// way up failed.
func (l *ladder) upAndHold() (reason, step string) {
	l.record(l.s.report())
	if err := l.handOver(); err != nil {
		l.s.settle(Outcome{Err: err, Step: "modem"})
		return "modem hand-over: " + err.Error(), "modem"
	}
	dialCtx, cancel := clock.WithTimeout(l.s.ctx, l.clock, l.cfg.BringUpTimeout)
	err := l.overTime(dialCtx, l.bringUp(dialCtx))
	cancel()
	if err != nil {
		step, reason := failure(l.s.ctx, err)
		l.log.Error("session could not come up", "step", step, "err", err)
		// The operator at a terminal gets the whole error; the SMS the
		// short reason.
		full := err
		if step == "cancelled" {
			full = context.Cause(l.s.ctx) // a down, a kill, ErrYielded
		}
		l.s.settle(Outcome{Err: unstep(full), Step: step})
		return reason, step
	}

	if l.s.report().Drill {
		// A drill's probes (the quiet push) go through the link before
		// it counts as passed.
		for _, p := range l.s.probes {
			if err := l.step(p.Name, func() error { return p.Check(l.s.ctx, l.path.DialContext) }); err != nil {
				step, reason := failure(l.s.ctx, err)
				l.s.settle(Outcome{Err: unstep(err), Step: step})
				return reason, step
			}
		}
	}
	rep := l.s.markUp(l.clock.Now())
	l.record(rep)
	l.s.settle(Outcome{Until: rep.Until, Forwards: rep.Forwards})
	l.log.Info("session up", "until", rep.Until, "interface", rep.Interface, "local_ip", rep.LocalIP)
	if rep.Drill {
		return "drill passed", ""
	}
	ctx, cancel := clock.WithTimeout(l.s.ctx, l.clock, l.cfg.TeardownTimeout)
	l.notices.Up(ctx, rep, l.path.DialContext)
	cancel()
	return l.hold()
}

// handOver lends a single-port modem's AT port to the dialer.
func (l *ladder) handOver() error {
	if l.port == nil {
		return nil
	}
	ctx, cancel := clock.WithTimeout(l.s.ctx, l.clock, l.cfg.TeardownTimeout)
	defer cancel()
	if err := l.port.Release(ctx); err != nil {
		return err
	}
	l.released = true
	return nil
}

// bringUp dials within dialCtx, proves the path, and opens the tunnel
// (for the session's life, not the dial's) or, after a redial, resumes
// the open one on the new link (within dialCtx); then it checks the
// tunnel end to end. What it brought up stays up when a later step fails:
// tearDown takes it down.
func (l *ladder) bringUp(dialCtx context.Context) error {
	l.record(l.s.update(func(rep *Report) { rep.State = StateDialing }))
	var p Path
	l.s.dialed()
	if err := l.step("link", func() (err error) { p, err = l.link.Up(dialCtx); return err }); err != nil {
		return err
	}
	l.path = p
	if ut, ok := p.(upTimer); ok {
		// The link says how its step split: the dial, then the path proof.
		dial, prove := ut.UpTimes()
		l.s.update(func(rep *Report) {
			rep.Steps = append(rep.Steps[:len(rep.Steps)-1], StepTime{Name: "dial", Took: dial}, StepTime{Name: "path", Took: prove})
		})
	}
	l.record(l.s.update(func(rep *Report) {
		rep.Interface, rep.LocalIP, rep.State = p.Interface(), addrString(p.LocalIP()), StateTunnel
	}))
	if l.tun == nil {
		var t Tunnel
		if err := l.step("tunnel", func() (err error) { t, err = l.open(l.s.ctx, p.DialContext); return err }); err != nil {
			return err
		}
		l.tun = t
	} else if err := l.step("tunnel", func() error { return l.tun.Resume(dialCtx, tunnelPath(p)) }); err != nil {
		return err
	}
	var res []tunnel.CheckResult
	if err := l.step("self-check", func() (err error) { res, err = l.tun.SelfCheck(dialCtx); return err }); err != nil {
		return err
	}
	// The ports that answered are the ones to announce: after a redial
	// they may differ from the first (a port 0 forward whose old port the
	// jump host still held).
	l.s.update(func(rep *Report) { rep.Forwards = answered(res) })
	return nil
}

// step runs one step of the way up, records how long it took, and names
// it in the error.
func (l *ladder) step(name string, do func() error) error {
	start := l.clock.Now()
	err := do()
	st := StepTime{Name: name, Took: l.clock.Now().Sub(start)}
	if err != nil {
		st.Err = summary(err)
	}
	l.s.update(func(rep *Report) { rep.Steps = append(rep.Steps, st) })
	if err != nil {
		return &stepError{name, err}
	}
	return nil
}

// answered are the forwards a self-check proved.
func answered(res []tunnel.CheckResult) []tunnel.BoundForward {
	out := make([]tunnel.BoundForward, 0, len(res))
	for _, r := range res {
		out = append(out, r.Forward)
	}
	return out
}

// boundPorts are the forwards' ports on the jump host, for the log.
func boundPorts(fs []tunnel.BoundForward) []int {
	out := make([]int, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.BoundPort)
	}
	return out
}

// tunnelPath is what the tunnel needs of a redialed link to resume on it.
func tunnelPath(p Path) tunnel.Path {
	tp := tunnel.Path{Dial: tunnel.DialFunc(p.DialContext), LocalIP: p.LocalIP()}
	if r, ok := p.(Rebinder); ok {
		tp.Rebind = r.Rebind
	}
	return tp
}

// hold keeps the session up until its end, a request to end it, the data
// budget, or a link drop that redialing cannot repair, and says why it
// ended and at which step ("" for an end that is no failure).
func (l *ladder) hold() (reason, step string) {
	budget := l.clock.NewTicker(l.cfg.BudgetCheck)
	defer budget.Stop()
	// The end timer is armed for armedFor. An end that moved later (an
	// extend, an up) is found when the timer fires, and the timer armed
	// again; one that moved earlier arms it again at once. (Re-arming
	// only from the timer's own firing keeps a fake clock's tests free
	// of a race between the re-arm and the test's next step.)
	armedFor := l.s.until()
	end := l.clock.NewTimer(armedFor.Sub(l.clock.Now()))
	defer end.Stop()
	for {
		select {
		case <-l.s.ctx.Done():
			return context.Cause(l.s.ctx).Error(), ""
		case <-l.s.changed:
			l.record(l.s.report()) // the new end, for status
			if until := l.s.until(); until.Before(armedFor) {
				armedFor = until
				end.Reset(until.Sub(l.clock.Now()))
			}
		case <-end.C():
			now, until := l.clock.Now(), l.s.until()
			if now.Before(until) {
				armedFor = until
				end.Reset(until.Sub(now))
				continue
			}
			return ReasonTimeUp, ""
		case <-budget.C():
			if used, over := l.checkBudget(); over {
				return fmt.Sprintf("data budget reached (%d bytes)", used), "budget"
			}
		case <-l.path.Done():
			if reason, ok := l.redial(); !ok {
				return reason, "redial"
			}
		}
	}
}

// checkBudget reads the link's bytes into the report and says whether
// the data budget is used up.
func (l *ladder) checkBudget() (used uint64, over bool) {
	rx, tx := l.path.Bytes()
	rx, tx = l.earlierRx+rx, l.earlierTx+tx
	reconnects, fs := l.tun.Reconnects(), l.tun.Forwards()
	if last := l.s.report(); last.BytesRx == rx && last.BytesTx == tx && last.Reconnects == reconnects {
		// Nothing new (an idle tunnel between keepalives): no record.
		return rx + tx, l.cfg.DataBudget > 0 && rx+tx >= l.cfg.DataBudget
	}
	rep := l.s.update(func(rep *Report) {
		rep.Bytes, rep.BytesRx, rep.BytesTx = rx+tx, rx, tx
		if reconnects != rep.Reconnects && len(fs) > 0 {
			// The tunnel connected again by itself: a port 0 forward may
			// have another port now.
			rep.Forwards = fs
		}
		rep.Reconnects = reconnects
	})
	l.record(rep)
	return rx + tx, l.cfg.DataBudget > 0 && rx+tx >= l.cfg.DataBudget
}

// redial replaces a link that dropped by itself, within the time the
// session has left, and moves the tunnel onto it. When it cannot, it says
// why the session ends.
func (l *ladder) redial() (reason string, ok bool) {
	dropped := l.path.Err()
	l.log.Warn("link dropped; redialing", "err", dropped)
	// The tunnel stays open: its connection may still be alive on the
	// jump host, holding the forwarded ports, and carry on over the new
	// link (Resume, in bringUp). Until then it sends nothing.
	if err := l.tun.Suspend(); err != nil {
		l.log.Warn("tunnel not suspended", "err", err)
	}
	l.takeDownPath()
	l.s.update(func(rep *Report) { rep.Redials++ })
	// A redial may take the rest of the session's time: the jump host
	// may hold the forwarded port for the dead connection a while.
	dialCtx, cancel := clock.WithDeadline(l.s.ctx, l.clock, l.s.until())
	err := l.bringUp(dialCtx)
	cancel()
	if err != nil {
		if l.s.ctx.Err() == nil && !l.clock.Now().Before(l.s.until()) {
			return fmt.Sprintf("%s; time ran out while redialing", summary(dropped)), false
		}
		_, why := failure(l.s.ctx, err)
		return fmt.Sprintf("%s; redial failed: %s", summary(dropped), why), false
	}
	rep := l.s.update(func(rep *Report) {
		rep.State = StateUp
		rep.Reconnects = l.tun.Reconnects()
	})
	l.record(rep)
	l.log.Info("link redialed", "interface", rep.Interface, "local_ip", rep.LocalIP, "ports", boundPorts(rep.Forwards),
		"tunnel_reconnects", rep.Reconnects)
	// An up asked for during the redial joined a running session. The up
	// notice is not sent again: the owner was told, and the record
	// carries the ports that answered now.
	l.s.settle(Outcome{Already: true, Until: rep.Until, Forwards: rep.Forwards})
	return "", true
}

// closeTunnel closes the tunnel, if one is open.
func (l *ladder) closeTunnel() {
	if l.tun != nil {
		if err := l.tun.Close(); err != nil {
			l.log.Warn("tunnel close", "err", err)
		}
		l.tun = nil
	}
}

// takeDownPath takes the link down, keeping its bytes for the session's
// count.
func (l *ladder) takeDownPath() {
	if l.path != nil {
		// Read before Down: the counters go with the interface.
		rx, tx := l.path.Bytes()
		l.earlierRx += rx
		l.earlierTx += tx
		ctx, cancel := clock.WithTimeout(context.WithoutCancel(l.s.ctx), l.clock, l.cfg.TeardownTimeout)
		if err := l.path.Down(ctx); err != nil {
			l.log.Error("link down", "err", err)
		}
		cancel()
		l.path = nil
	}
}

// takeBack re-opens the modem's AT port once the link is down.
func (l *ladder) takeBack() {
	if !l.released {
		return
	}
	ctx, cancel := clock.WithTimeout(context.WithoutCancel(l.s.ctx), l.clock, l.cfg.TeardownTimeout)
	defer cancel()
	if err := l.port.Reacquire(ctx, !l.s.report().Drill); err != nil {
		l.log.Error("modem re-open after the session", "err", err)
	}
	l.released = false
}

// tearDown takes down whatever is up in reverse (tunnel, link, modem
// hand-over), records the end and sends its notice: Failed when the
// session never came up, Down when it did (a drill has none). reason and
// step say why it ended. Each step and the notice are bounded by
// TeardownTimeout, and none is cut short by the session's own end. It
// returns the final report.
func (l *ladder) tearDown(reason, step string) Report {
	l.record(l.s.update(func(rep *Report) {
		rep.State = StateTearDown
		if rep.Reason == "" {
			rep.Reason, rep.Step = reason, step
		}
	}))
	l.closeTunnel()
	l.takeDownPath()
	l.takeBack()
	now := l.clock.Now()
	rx, tx := l.earlierRx, l.earlierTx
	rep := l.s.update(func(rep *Report) {
		rep.Ended = now
		rep.Bytes, rep.BytesRx, rep.BytesTx = rx+tx, rx, tx
		rep.State = StateIdle
	})
	l.record(rep)
	ctx, cancel := clock.WithTimeout(context.WithoutCancel(l.s.ctx), l.clock, l.cfg.TeardownTimeout)
	defer cancel()
	switch {
	case rep.Drill: // a drill's result is its runner's to tell
	case rep.Started.IsZero():
		l.notices.Failed(ctx, rep)
	default:
		l.notices.Down(ctx, rep)
	}
	l.log.Info("session ended", "reason", rep.Reason, "step", rep.Step, "bytes", rep.Bytes)
	return rep
}

// stepError is a failure at a named step of the way up.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// overTime says that a step of the way up failed because the way up ran
// out of its time (BringUpTimeout), not for a reason of its own.
func (l *ladder) overTime(dialCtx context.Context, err error) error {
	var se *stepError
	if err == nil || l.s.ctx.Err() != nil || !errors.Is(context.Cause(dialCtx), context.DeadlineExceeded) || !errors.As(err, &se) {
		return err
	}
	return &stepError{se.step, &overTimeError{l.cfg.BringUpTimeout, se.err}}
}

// overTimeError is a step cut short by the way up's time limit.
type overTimeError struct {
	limit time.Duration
	err   error
}

func (e *overTimeError) Error() string {
	return fmt.Sprintf("the way up took more than %v: %v", e.limit, e.err)
}
func (e *overTimeError) Summary() string { return fmt.Sprintf("took more than %v", e.limit) }
func (e *overTimeError) Unwrap() error   { return e.err }

// unstep is err without its step, which an Outcome carries on its own.
func unstep(err error) error {
	if se, ok := err.(*stepError); ok {
		return se.err
	}
	return err
}

// failure turns a bring-up error into the step and a reason short enough
// for the requester's SMS, preferring the cause the session was cancelled
// with (a down during the dial). The full error goes to the log.
func failure(session context.Context, err error) (step, reason string) {
	if cause := context.Cause(session); cause != nil {
		return "cancelled", cause.Error()
	}
	var se *stepError
	if errors.As(err, &se) {
		return se.step, summary(se.err)
	}
	return "", summary(err)
}

// summarizer is an error that can say itself in a few words (the link's
// and the tunnel's errors do).
type summarizer interface{ Summary() string }

// summary is err in a few words: its own Summary where it has one.
func summary(err error) string {
	if err == nil {
		return ""
	}
	var s summarizer
	if errors.As(err, &s) {
		return s.Summary()
	}
	return err.Error()
}

// addrString is an address for the report: "" when there is none.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// upTimer is a Path that knows how long its dial and its path proof took
// (*link.Path does).
type upTimer interface {
	UpTimes() (dial, prove time.Duration)
}
