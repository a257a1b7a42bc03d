package link

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// ifaceState is one look at an interface.
type ifaceState struct {
	exists      bool
	up, running bool
	local, peer netip.Addr // first IPv4 address and its point-to-point peer
	openedBy    int        // FreeBSD tun(4): the PID holding /dev/tunN, 0 if none
}

// held reports whether the interface is there for the purpose of the link:
// it exists and is in use. FreeBSD's tun(4) interface outlives a ppp(8)
// killed before it could destroy it: down, not running, without addresses
// and opened by nobody. Such a husk is no one's link, and the next ppp
// opens it again, so it does not count.
func (s ifaceState) held() bool {
	return s.exists && (s.up || s.running || s.openedBy != 0 || s.local.IsValid())
}

// ready reports whether the interface is up, running and has an IPv4
// address. A PPP link's operstate reads UNKNOWN, so the flags are what
// count.
func (s ifaceState) ready() bool { return s.exists && s.up && s.running && s.local.IsValid() }

// pollWatch is ifaceWatch for an OS without interface notifications the
// link can use: it looks at the interface every interval.
type pollWatch struct {
	name     string
	inspect  func(name string) (ifaceState, error)
	interval time.Duration

	stop     chan struct{} // closed by close
	goneCh   chan struct{} // closed by loop once the ready interface is gone
	readyCh  chan struct{} // closed by ready, which starts loop's watching
	loopDone chan struct{} // closed when loop has returned

	stopOnce, readyOnce sync.Once // guard the closing of stop and readyCh
}

func newPollWatch(name string, interval time.Duration, inspect func(string) (ifaceState, error)) *pollWatch {
	w := &pollWatch{
		name:     name,
		inspect:  inspect,
		interval: interval,
		stop:     make(chan struct{}),
		goneCh:   make(chan struct{}),
		readyCh:  make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go w.loop()
	return w
}

// loop closes goneCh once the interface that was ready is no longer held.
// A failed look is not taken for its absence.
func (w *pollWatch) loop() {
	defer close(w.loopDone)
	select {
	case <-w.readyCh:
	case <-w.stop:
		return
	}
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if s, err := w.inspect(w.name); err == nil && !s.held() {
				close(w.goneCh)
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *pollWatch) present() (bool, error) {
	s, err := w.inspect(w.name)
	if err != nil {
		return false, err
	}
	return s.held(), nil
}

func (w *pollWatch) ready(ctx context.Context, exited <-chan struct{}) (linkInfo, error) {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		s, err := w.inspect(w.name)
		if err != nil {
			return linkInfo{}, err
		}
		if s.ready() {
			w.readyOnce.Do(func() { close(w.readyCh) })
			return linkInfo{name: w.name, local: s.local, peer: s.peer}, nil
		}
		select {
		case <-tick.C:
		case <-exited:
			return linkInfo{}, fmt.Errorf("dialer exited before %s was up with an IPv4 address", w.name)
		case <-ctx.Done():
			return linkInfo{}, fmt.Errorf("%s not up with an IPv4 address: %w", w.name, ctx.Err())
		}
	}
}

func (w *pollWatch) gone() <-chan struct{} { return w.goneCh }

func (w *pollWatch) lastCounts() (byteCounts, bool) { return byteCounts{}, false }

func (w *pollWatch) waitGone(ctx context.Context) error {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		held, err := w.present()
		if err == nil && !held {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%s: %w (last look: %v)", w.name, ctx.Err(), err)
			}
			return fmt.Errorf("%s still exists: %w", w.name, ctx.Err())
		}
	}
}

func (w *pollWatch) close() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.loopDone
}

// pollChanges signals every interval until stop, for an OS whose routing
// table changes the link does not follow: a short poll is enough for the
// few seconds an ip-up script takes.
func pollChanges(interval time.Duration) (<-chan struct{}, func()) {
	t := time.NewTicker(interval)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }); <-finished }
}
