package tunnel_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/oobd/oobd/tunnel"
)

func Example() {
	// The session hands in a dialer bound to the PPP link.
	d := &net.Dialer{Timeout: 30 * time.Second}
	tun, err := tunnel.New(tunnel.Config{
		JumpHost:       "jump.example.net:22",
		User:           "oob",
		IdentityFile:   "/usr/local/etc/oobd/id_ed25519",
		KnownHostsFile: "/usr/local/etc/oobd/known_hosts",
		Keepalive:      15 * time.Second,
		Forwards:       []tunnel.Forward{{Remote: "localhost:31337", Local: "localhost:22"}},
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}, d.DialContext, tunnel.WithEvents(func(ev tunnel.Event) {
		fmt.Println("tunnel", ev.State, ev.Forwards, ev.Err)
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tun.Close()
	ctx := context.Background() // the session's lifetime
	if err := tun.Start(ctx); err != nil {
		fmt.Println(err) // e.g. *tunnel.HostKeyChangedError, *tunnel.ForwardError
		return
	}
	if _, err := tun.SelfCheck(ctx); err != nil {
		fmt.Println(err) // *tunnel.SelfCheckError names the step
		return
	}
	fmt.Println("forwards:", tun.Status().Forwards)
}
