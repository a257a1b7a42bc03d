package link

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// scripted is an interface whose state the test sets, for pollWatch.
type scripted struct {
	mu     sync.Mutex // guards state and err
	state  ifaceState
	err    error
	looked chan struct{} // a token after each look, if nobody took the last
}

func newScripted(st ifaceState) *scripted {
	return &scripted{state: st, looked: make(chan struct{}, 1)}
}

// awaitLooks returns once the watch has looked n more times.
func (s *scripted) awaitLooks(t *testing.T, n int) {
	t.Helper()
	select {
	case <-s.looked: // one from before
	default:
	}
	for range n {
		select {
		case <-s.looked:
		case <-time.After(10 * time.Second):
			t.Fatal("the watch stopped looking")
		}
	}
}

func (s *scripted) set(st ifaceState, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.err = st, err
}

func (s *scripted) inspect(name string) (ifaceState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.looked <- struct{}{}:
	default:
	}
	return s.state, s.err
}

func TestPollWatch(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	local, peer := netip.MustParseAddr("10.64.0.2"), netip.MustParseAddr("10.64.0.1")
	up := ifaceState{exists: true, up: true, running: true, local: local, peer: peer, openedBy: 1234}
	s := newScripted(ifaceState{exists: true}) // a closed husk: not held
	w := newPollWatch("tun0", time.Millisecond, s.inspect)
	defer w.close()

	if held, err := w.present(); held || err != nil {
		t.Fatalf("present = %v, %v; a closed tun is not held", held, err)
	}
	s.set(ifaceState{exists: true, openedBy: 1234}, nil) // ppp opened it
	if held, _ := w.present(); !held {
		t.Error("an opened tun is not held")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readyc := make(chan error, 1)
	var info linkInfo
	go func() {
		var err error
		info, err = w.ready(ctx, nil)
		readyc <- err
	}()
	s.set(up, nil)
	if err := <-readyc; err != nil {
		t.Fatal(err)
	}
	if info != (linkInfo{name: "tun0", local: local, peer: peer}) {
		t.Errorf("ready = %+v", info)
	}

	// A failed look is not a vanished interface; a closed one is.
	s.set(ifaceState{}, errors.New("ifconfig: signal: killed"))
	s.awaitLooks(t, 3)
	select {
	case <-w.gone():
		t.Fatal("gone on a failed look")
	default:
	}
	s.set(ifaceState{exists: true}, nil)
	select {
	case <-w.gone():
	case <-ctx.Done():
		t.Fatal("the interface went and gone was not closed")
	}
	if err := w.waitGone(ctx); err != nil {
		t.Errorf("waitGone = %v", err)
	}
	if _, ok := w.lastCounts(); ok {
		t.Error("counters from a deletion notice FreeBSD does not send")
	}
	w.close() // twice is harmless
}

func TestPollWatchReadyFails(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newScripted(ifaceState{})
	w := newPollWatch("tun0", time.Millisecond, s.inspect)
	defer w.close()
	exited := make(chan struct{})
	close(exited)
	if _, err := w.ready(context.Background(), exited); err == nil || !strings.Contains(err.Error(), "dialer exited") {
		t.Errorf("ready with the dialer gone = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := w.ready(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ready timing out = %v", err)
	}
	s.set(ifaceState{exists: true, openedBy: 9}, nil)
	if err := w.waitGone(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still exists") {
		t.Errorf("waitGone of a held interface = %v", err)
	}
	s.set(ifaceState{}, errors.New("ifconfig: permission denied"))
	if _, err := w.ready(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("ready with failing looks = %v", err)
	}
}

func TestPollChanges(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ch, stop := pollChanges(time.Millisecond)
	for range 3 {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("no tick")
		}
	}
	stop()
	stop()
}
