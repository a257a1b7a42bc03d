package session

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/oobd/oobd/tunnel"
)

// running is one session from the up to the end of its teardown.
type running struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the lifecycle has returned
	// changed is signalled (without blocking) when the end moves.
	changed chan struct{}

	mu       sync.Mutex // guards the fields below
	rep      Report
	duration time.Duration // asked for; the end is set once up
	waiters  []chan<- Outcome
}

func newRunning(parent context.Context, rep Report, d time.Duration) *running {
	ctx, cancel := context.WithCancelCause(parent)
	return &running{ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}, 1), rep: rep, duration: d}
}

func (r *running) report() Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.rep
	rep.Forwards = append([]tunnel.BoundForward(nil), r.rep.Forwards...)
	return rep
}

func (r *running) update(f func(*Report)) Report {
	r.mu.Lock()
	f(&r.rep)
	r.mu.Unlock()
	return r.report()
}

func (r *running) stop(cause error) { r.cancel(cause) }

func (r *running) addWaiter(w chan<- Outcome) {
	r.mu.Lock()
	r.waiters = append(r.waiters, w)
	r.mu.Unlock()
}

// settle answers everyone waiting for the up's outcome.
func (r *running) settle(o Outcome) {
	r.mu.Lock()
	ws := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range ws {
		w <- o // buffered, one each
	}
}

// capEnd limits an end to max after the start (or after now, before the
// session is up).
func (r *running) capEnd(end time.Time, maxLen time.Duration, now func() time.Time) time.Time {
	start := r.rep.Started
	if start.IsZero() {
		start = now()
	}
	return minTime(end, start.Add(maxLen))
}

// extendTo moves the end to at least end (an up during a session).
func (r *running) extendTo(end time.Time, maxLen time.Duration, now func() time.Time) time.Time {
	r.mu.Lock()
	if r.rep.Until.IsZero() {
		// Not up yet: the duration counts from the self-check.
		r.duration = max(r.duration, end.Sub(now()))
		r.mu.Unlock()
		return time.Time{}
	}
	if end.After(r.rep.Until) {
		r.rep.Until = r.capEnd(end, maxLen, now)
	}
	until := r.rep.Until
	r.mu.Unlock()
	r.signal()
	return until
}

// extendBy adds d to the end.
func (r *running) extendBy(d time.Duration, maxLen time.Duration, now func() time.Time) time.Time {
	r.mu.Lock()
	if r.rep.Until.IsZero() {
		r.duration = min(r.duration+d, maxLen)
		r.mu.Unlock()
		return time.Time{}
	}
	r.rep.Until = r.capEnd(r.rep.Until.Add(d), maxLen, now)
	until := r.rep.Until
	r.mu.Unlock()
	r.signal()
	return until
}

func (r *running) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// addrString is a for the report: "" when there is none.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// stepError is a failure at a named lifecycle step.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// lifecycle runs one session to its end. Whatever it brought up is torn
// down in reverse before it returns, on every path.
func (c *Controller) lifecycle(r *running) {
	defer close(r.done)
	log := c.log.With("requested_by", r.rep.RequestedBy, "drill", r.rep.Drill)
	var (
		path     Path
		tun      Tunnel
		released bool
		rx, tx   uint64 // over earlier links of this session (redials)
	)
	c.record(r.report())

	teardown := func(reason, step string) {
		rep := r.update(func(rep *Report) {
			rep.State = StateTearDown
			if rep.Reason == "" {
				rep.Reason, rep.Step = reason, step
			}
		})
		c.record(rep)
		ctx := context.WithoutCancel(r.ctx)
		if tun != nil {
			if err := tun.Close(); err != nil {
				log.Warn("tunnel close", "err", err)
			}
		}
		if path != nil {
			prx, ptx := path.Bytes()
			rx, tx = rx+prx, tx+ptx
			sctx, cancel := context.WithTimeout(ctx, c.cfg.TeardownTimeout)
			if err := path.Down(sctx); err != nil {
				log.Error("link down", "err", err)
			}
			cancel()
		}
		if released && c.port != nil {
			sctx, cancel := context.WithTimeout(ctx, c.cfg.TeardownTimeout)
			if err := c.port.Reacquire(sctx); err != nil {
				log.Error("modem re-open after the session", "err", err)
			}
			cancel()
		}
		rep = r.update(func(rep *Report) {
			rep.Ended = c.now()
			rep.Bytes, rep.BytesRx, rep.BytesTx = rx+tx, rx, tx
			rep.State = StateIdle
		})
		c.record(rep)
		nctx, cancel := context.WithTimeout(ctx, c.cfg.TeardownTimeout)
		defer cancel()
		if rep.Started.IsZero() {
			c.notices.Failed(nctx, rep)
		} else if !rep.Drill {
			c.notices.Down(nctx, rep)
		}
		log.Info("session ended", "reason", rep.Reason, "step", rep.Step, "bytes", rep.Bytes)
	}

	// bringUp dials (within dialCtx), proves the path, opens the tunnel
	// (for the session's life) and checks it.
	bringUp := func(dialCtx context.Context) error {
		r.update(func(rep *Report) { rep.State = StateDialing })
		c.record(r.report())
		p, err := c.link.Up(dialCtx)
		if err != nil {
			return &stepError{"link", err}
		}
		path = p
		r.update(func(rep *Report) {
			rep.Interface, rep.LocalIP, rep.State = p.Interface(), addrString(p.LocalIP()), StateTunnel
		})
		c.record(r.report())
		t, err := c.open(r.ctx, p.DialContext)
		if err != nil {
			return &stepError{"tunnel", err}
		}
		tun = t
		if err := t.SelfCheck(r.ctx); err != nil {
			return &stepError{"self-check", err}
		}
		r.update(func(rep *Report) { rep.Forwards = t.Forwards() })
		return nil
	}
	// takeDownLink closes the tunnel and the link before a redial.
	takeDownLink := func() {
		if tun != nil {
			tun.Close()
			tun = nil
		}
		if path != nil {
			prx, ptx := path.Bytes()
			rx, tx = rx+prx, tx+ptx
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), c.cfg.TeardownTimeout)
			if err := path.Down(ctx); err != nil {
				log.Error("link down before redial", "err", err)
			}
			cancel()
			path = nil
		}
	}

	if c.port != nil {
		ctx, cancel := context.WithTimeout(r.ctx, c.cfg.TeardownTimeout)
		err := c.port.Release(ctx)
		cancel()
		if err != nil {
			r.settle(Outcome{Err: err, Step: "modem"})
			teardown("modem hand-over: "+err.Error(), "modem")
			return
		}
		released = true
	}
	if err := bringUp(r.ctx); err != nil {
		step, reason := failure(r, err)
		log.Error("session could not come up", "step", step, "err", err)
		// The operator at a terminal gets the whole error; the SMS the
		// short reason.
		full := err
		if step == "cancelled" {
			full = errors.New(reason)
		}
		r.settle(Outcome{Err: full, Step: step})
		teardown(reason, step)
		return
	}

	now := c.now()
	rep := r.update(func(rep *Report) {
		rep.Started = now
		rep.Until = now.Add(r.duration)
		rep.State = StateUp
	})
	c.record(rep)
	r.settle(Outcome{Until: rep.Until, Forwards: rep.Forwards})
	log.Info("session up", "until", rep.Until, "interface", rep.Interface, "local_ip", rep.LocalIP)
	if rep.Drill {
		teardown("drill passed", "")
		return
	}
	nctx, cancel := context.WithTimeout(r.ctx, c.cfg.TeardownTimeout)
	c.notices.Up(nctx, rep, path.DialContext)
	cancel()

	reason, step := c.hold(r, &path, &tun, &rx, &tx, bringUp, takeDownLink)
	teardown(reason, step)
}

// hold keeps the session up until its end, a request to end it, the data
// budget, or a link drop that redialing cannot repair.
func (c *Controller) hold(r *running, path *Path, tun *Tunnel, rx, tx *uint64, bringUp func(context.Context) error, takeDownLink func()) (reason, step string) {
	budget := time.NewTicker(c.cfg.BudgetCheck)
	defer budget.Stop()
	timer := time.NewTimer(time.Until(r.report().Until))
	defer timer.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return context.Cause(r.ctx).Error(), ""
		case <-r.changed:
			timer.Reset(time.Until(r.report().Until))
		case <-timer.C:
			if until := r.report().Until; c.now().Before(until) {
				timer.Reset(until.Sub(c.now()))
				continue
			}
			return "time is up", ""
		case <-budget.C:
			prx, ptx := (*path).Bytes()
			urx, utx := *rx+prx, *tx+ptx
			used := urx + utx
			r.update(func(rep *Report) {
				rep.Bytes, rep.BytesRx, rep.BytesTx = used, urx, utx
				rep.Reconnects = (*tun).Reconnects()
			})
			c.record(r.report())
			if c.cfg.DataBudget > 0 && used >= c.cfg.DataBudget {
				return fmt.Sprintf("data budget reached (%d bytes)", used), "budget"
			}
		case <-(*path).Done():
			dropErr := summary((*path).Err())
			c.log.Warn("link dropped; redialing", "err", (*path).Err())
			takeDownLink()
			r.update(func(rep *Report) { rep.Redials++ })
			// The redial may take only the time the session has left.
			dialCtx, cancel := context.WithDeadline(r.ctx, r.report().Until)
			err := bringUp(dialCtx)
			cancel()
			if err != nil {
				if r.ctx.Err() == nil && !c.now().Before(r.report().Until) {
					return fmt.Sprintf("%s; time ran out while redialing", dropErr), "redial"
				}
				_, why := failure(r, err)
				return fmt.Sprintf("%s; redial failed: %s", dropErr, why), "redial"
			}
			r.update(func(rep *Report) { rep.State = StateUp })
			c.record(r.report())
		}
	}
}

// failure turns a bring-up error into the step and a reason short enough
// for the requester's SMS, preferring the cause the session was cancelled
// with (a down during the dial). The full error goes to the log.
func failure(r *running, err error) (step, reason string) {
	if cause := context.Cause(r.ctx); cause != nil {
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

func (c *Controller) record(r Report) {
	if c.rec != nil {
		c.rec.Session(r)
	}
}
