package notify

import (
	"context"
	"log/slog"

	"github.com/oobd/oobd/oob/session"
)

// Pusher sends a push through via (nil: the plain route); *Pushover
// satisfies it.
type Pusher interface {
	Send(ctx context.Context, m Message, via DialFunc) error
}

// Texter sends an SMS, held while the dialer has a single-port modem;
// *inbox.Poller satisfies it.
type Texter interface {
	Send(ctx context.Context, to, text string)
}

// Notices tells the world about sessions (session.Notices), as the spec's
// "Notices" decision says: up by push (and SMS to the requester on a
// two-port modem), a failed up by SMS to the requester (and a push), down
// by SMS to the requester and the extra numbers (and a push over whatever
// route is left). A failed notice is logged; it never blocks the session.
type Notices struct {
	Push     Pusher // nil: no pushes
	SMS      Texter
	Extra    []string // notify.sms, E.164
	TwoPort  bool     // texts can be sent while the link is up
	JumpHost string   // tunnel.jump_host
	// Signal is the last signal and operator the modem reported.
	Signal func() (dbm int, operator string)
	Log    *slog.Logger
}

// Up: the tunnel passed its self-check.
func (n *Notices) Up(ctx context.Context, r session.Report, via session.DialFunc) {
	dbm, op := n.Signal()
	m := UpMessage(Up{
		RequestedBy: r.RequestedBy, Drill: r.Drill, Started: r.Started, Until: r.Until,
		JumpHost: n.JumpHost, Forwards: r.Forwards, Interface: r.Interface, LocalIP: r.LocalIP,
		SignalDBm: dbm, Operator: op,
	})
	n.push(ctx, m, DialFunc(via))
	if n.TwoPort && r.RequestedBy != "" {
		n.SMS.Send(ctx, r.RequestedBy, m.SMS)
	}
}

// Failed: an up could not be brought to the self-check.
func (n *Notices) Failed(ctx context.Context, r session.Report) {
	m := FailedMessage(Failed{
		RequestedBy: r.RequestedBy, Drill: r.Drill, At: r.Ended, Step: r.Step, Reason: r.Reason,
	})
	if r.RequestedBy != "" {
		n.SMS.Send(ctx, r.RequestedBy, m.SMS)
	}
	n.push(ctx, m, nil)
}

// Down: the session is over and everything is torn down.
func (n *Notices) Down(ctx context.Context, r session.Report) {
	m := DownMessage(Down{
		RequestedBy: r.RequestedBy, Drill: r.Drill, Started: r.Started, Ended: r.Ended,
		Bytes: r.Bytes, Reason: r.Reason,
	})
	for _, to := range recipients(r.RequestedBy, n.Extra) {
		n.SMS.Send(ctx, to, m.SMS)
	}
	n.push(ctx, m, nil)
}

// Alert pushes m over the plain route: what the owner must know of the
// modem (a SIM change, a locked SIM, storage near full).
func (n *Notices) Alert(ctx context.Context, m Message) { n.push(ctx, m, nil) }

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

func (n *Notices) push(ctx context.Context, m Message, via DialFunc) {
	if n.Push == nil {
		return
	}
	if err := n.Push.Send(ctx, m, via); err != nil {
		n.Log.Warn("push not sent", "title", m.Title, "err", err)
		return
	}
	n.Log.Info("push sent", "title", m.Title)
}
