package agent

import (
	"context"
	"log/slog"
	"time"

	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/session"
	"github.com/oobd/oobd/oob/state"
)

// pusher sends a push; *notify.Pushover satisfies it. Nil when pushes are
// not configured.
type pusher interface {
	SetDialer(d notify.DialFunc)
	Send(ctx context.Context, m notify.Message) error
}

// texter sends an SMS, held while the link has the modem;
// *inbox.Poller satisfies it.
type texter interface {
	Send(ctx context.Context, to, text string)
}

// notices carries the session's notices out as the spec's "Notices"
// decision says: up by push (and SMS on a two-port modem), a failed up by
// SMS to the requester (and a push), down by SMS to the requester and
// notify.sms (and a push over whatever route is left).
type notices struct {
	push     pusher // nil: no pushes
	sms      texter
	extra    []string // notify.sms
	twoPort  bool
	jumpHost string
	signal   func() (dbm int, operator string)
	store    *state.Store
	log      *slog.Logger
	now      func() time.Time
}

func (n *notices) Up(ctx context.Context, r session.Report, via session.DialFunc) {
	dbm, op := n.signal()
	m := notify.UpMessage(notify.Up{
		RequestedBy: r.RequestedBy, Drill: r.Drill, Started: r.Started, Until: r.Until,
		JumpHost: n.jumpHost, Forwards: r.Forwards, Interface: r.Interface, LocalIP: r.LocalIP,
		SignalDBm: dbm, Operator: op,
	})
	n.pushVia(ctx, m, via)
	if n.twoPort && r.RequestedBy != "" {
		n.sms.Send(ctx, r.RequestedBy, m.SMS)
	}
}

func (n *notices) Failed(ctx context.Context, r session.Report) {
	m := notify.FailedMessage(notify.Failed{
		RequestedBy: r.RequestedBy, Drill: r.Drill, At: r.Ended, Step: r.Step, Reason: r.Reason,
	})
	n.store.Update(func(st *state.State) {
		st.SetFailure(r.Ended, r.Step, r.Reason)
		st.AddEvent(r.Ended, "session", "up failed at "+r.Step+": "+r.Reason)
	})
	if r.RequestedBy != "" {
		n.sms.Send(ctx, r.RequestedBy, m.SMS)
	}
	n.pushVia(ctx, m, nil)
}

func (n *notices) Down(ctx context.Context, r session.Report) {
	m := notify.DownMessage(notify.Down{
		RequestedBy: r.RequestedBy, Drill: r.Drill, Started: r.Started, Ended: r.Ended,
		Bytes: r.Bytes, Reason: r.Reason,
	})
	for _, to := range recipients(r.RequestedBy, n.extra) {
		n.sms.Send(ctx, to, m.SMS)
	}
	n.pushVia(ctx, m, nil)
}

// recipients is the requester (when a text asked) and the extra numbers,
// each once.
func recipients(requester string, extra []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, to := range append([]string{requester}, extra...) {
		if to != "" && !seen[to] {
			seen[to] = true
			out = append(out, to)
		}
	}
	return out
}

// pushVia pushes m through via (the link), or over the default route when
// via is nil. A failure is logged: notices never block the lifecycle.
func (n *notices) pushVia(ctx context.Context, m notify.Message, via session.DialFunc) {
	if n.push == nil {
		return
	}
	n.push.SetDialer(via)
	defer n.push.SetDialer(nil)
	if err := n.push.Send(ctx, m); err != nil {
		n.log.Warn("push not sent", "title", m.Title, "err", err)
		return
	}
	n.log.Info("push sent", "title", m.Title)
}
