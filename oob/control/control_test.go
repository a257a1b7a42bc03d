package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRoundTripAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	s, err := Listen(path, HandlerFunc(func(ctx context.Context, req Request) Response {
		if req.Verb != "up" || req.For != "45m" {
			return Response{Error: "unexpected " + string(req.Verb)}
		}
		return Response{OK: true, Forwards: []tunnel.BoundForward{{Forward: tunnel.Forward{Remote: "localhost:0"}, BoundPort: 40022}}}
	}), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	resp, err := Do(context.Background(), path, Request{Verb: "up", For: "45m"})
	if err != nil || !resp.OK || resp.Forwards[0].BoundPort != 40022 {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	// A second daemon must not steal the socket of a live one.
	if _, err := Listen(path, HandlerFunc(func(context.Context, Request) Response { return Response{} }), quiet()); err == nil {
		t.Fatal("second Listen on a live socket succeeded")
	}
	s.Close()
	s.Close() // idempotent
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left after Close: %v", err)
	}
}

func TestNoDaemon(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	if _, err := Do(context.Background(), path, Request{Verb: "down"}); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Do with no daemon: %v", err)
	}
	// A stale socket file from a crashed daemon reads as no daemon, and a
	// new daemon replaces it.
	s, err := Listen(path, HandlerFunc(func(context.Context, Request) Response { return Response{OK: true} }), quiet())
	if err != nil {
		t.Fatal(err)
	}
	s.ln.(interface{ SetUnlinkOnClose(bool) }).SetUnlinkOnClose(false)
	s.ln.Close()
	s.wg.Wait()
	if _, err := Do(context.Background(), path, Request{Verb: "down"}); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Do on a stale socket: %v", err)
	}
	s2, err := Listen(path, HandlerFunc(func(context.Context, Request) Response { return Response{OK: true} }), quiet())
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s2.Close()
}

func TestClientHangUpCancelsWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	cancelled := make(chan struct{})
	s, err := Listen(path, HandlerFunc(func(ctx context.Context, req Request) Response {
		<-ctx.Done()
		close(cancelled)
		return Response{}
	}), quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := Do(ctx, path, Request{Verb: "up"}); done <- err }()
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after cancel: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler's context not cancelled when the client left")
	}
}

// beatLog is a Beat that keeps the deadlines it was given.
type beatLog struct {
	busy chan time.Time
	idle chan struct{}
}

func (b *beatLog) Busy(d time.Time) func() { b.busy <- d; return func() {} }
func (b *beatLog) Idle()                   { b.idle <- struct{}{} }

// A request is served for at most RequestTimeout, and the socket's loop
// is busy only that long: less than the watchdog's window (10 minutes).
func TestRequestIsBoundedBelowTheWatchdog(t *testing.T) {
	if RequestTimeout >= 10*time.Minute {
		t.Fatalf("RequestTimeout %v is not below WatchdogSec 10m", RequestTimeout)
	}
	beat := &beatLog{busy: make(chan time.Time, 1), idle: make(chan struct{}, 4)}
	deadline := make(chan time.Time, 1)
	path := filepath.Join(t.TempDir(), SocketName)
	s, err := Listen(path, HandlerFunc(func(ctx context.Context, req Request) Response {
		d, ok := ctx.Deadline()
		if !ok {
			return Response{Error: "no deadline"}
		}
		deadline <- d
		return Response{OK: true}
	}), quiet(), WithBeat(beat))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	if resp, err := Do(context.Background(), path, Request{Verb: "up"}); err != nil || !resp.OK {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	if d := (<-deadline).Sub(start); d < RequestTimeout || d > RequestTimeout+time.Second {
		t.Errorf("request deadline %v after the start, want %v", d, RequestTimeout)
	}
	if d := (<-beat.busy).Sub(start); d < RequestTimeout || d >= 10*time.Minute {
		t.Errorf("busy for %v, want at least the request's %v and less than the watchdog's 10m", d, RequestTimeout)
	}
}
