package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/tunnel"
)

func ExampleUpMessage() {
	start := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	m := notify.UpMessage(notify.Up{
		RequestedBy: "+46701234567",
		Started:     start,
		Until:       start.Add(30 * time.Minute),
		JumpHost:    "jump.example.net:22",
		Forwards:    []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:31337", Local: "localhost:22"}, BoundPort: 31337}},
		Interface:   "ppp0",
		LocalIP:     "10.64.12.7",
		SignalDBm:   -71,
	})
	fmt.Println(m.SMS)
	// Output:
	// oobd UP 30m, until 14:35 UTC
	// ssh -J jump.example.net -p 31337 root@localhost
	// ppp0 10.64.12.7 -71dBm
	// by +46701234567
}

func ExampleDownMessage() {
	start := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	m := notify.DownMessage(notify.Down{
		RequestedBy: "+46701234567",
		Started:     start,
		Ended:       start.Add(30 * time.Minute),
		Bytes:       2_345_678,
		Reason:      "time up",
	})
	fmt.Println(m.SMS)
	// Output:
	// oobd DOWN: time up. Lasted 30m, 2.3MB used. Asked by +46701234567.
}

// The notifier's life in the agent: created once at start-up, pointed at
// the link while a session is up, and back at the plain route after.
func ExamplePushover() {
	p, err := notify.NewPushover(notify.PushoverConfig{
		TokenFile: "/usr/local/etc/oobd/pushover.token",
		UserKey:   "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",
	})
	if err != nil {
		slog.Error("pushover off", "err", err)
		return
	}
	defer p.Close()

	// Session up: through the link's bound dialer (session.Path.DialContext).
	var linkDial func(ctx context.Context, network, addr string) (net.Conn, error)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Send(ctx, notify.UpMessage(notify.Up{ /* … */ }), linkDial); err != nil {
		slog.Warn("push failed", "err", err) // logged, never blocks
	}
	// Session down: whatever route the box has (a nil dialer).
}
