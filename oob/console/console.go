// Package console bridges the router's serial console to a TCP port on
// the box, so an owner who came in through the tunnel reaches it with
// `telnet 127.0.0.1 2323` (or nc). The bridge owns the device: it opens
// it by path, and re-opens it after an error or a re-plug (a USB hub
// power-cycled by the modem's recovery) while its clients stay
// connected and are told. What the router prints is kept (up to a size)
// for whoever connects next and appended to a log file.
//
// Many may watch; one client at a time has the keyboard, so two people
// never interleave keystrokes. The first to connect (or to type while
// nobody has it) gets it; Ctrl-^ t takes it over, and an idle keyboard
// is freed after Config.IdleTimeout, so a forgotten nc never locks the
// owner out. Ctrl-^ b sends a BREAK; Ctrl-^ ? lists the keys.
package console

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/oobd/oobd/internal/clock"
	"github.com/oobd/oobd/modem/serialport"
)

// Config says which device to bridge and where.
type Config struct {
	// Device is the console's path, best its stable /dev/serial/by-id/
	// name: after a re-plug it is found again by that path.
	Device  string
	Baud    int
	Listen  string // e.g. 127.0.0.1:2323
	History int    // bytes kept for the next client
	// IdleTimeout frees the keyboard of a client that has typed nothing
	// for this long; 0 never does.
	IdleTimeout time.Duration
	// LogFile receives everything the router prints; "" for none.
	LogFile string
	// LogMax is the size at which LogFile is rotated to LogFile.1.
	LogMax int64
}

// Port is an open console device.
type Port interface {
	io.ReadWriteCloser
	// SendBreak holds the line in the break condition for a moment.
	SendBreak() error
}

// Opener opens the device at path. It is called again after every error.
type Opener func(path string, baud int) (Port, error)

// State is whether the device is open, and since when.
type State struct {
	Open bool `json:"open"`
	// Since is when the device was opened, or when it was lost (the
	// bridge's start, if it was never open).
	Since time.Time `json:"since"`
	// Err is why it is not open: the last error reading, writing or
	// opening it.
	Err string `json:"error,omitempty"`
}

// Option changes a Bridge.
type Option func(*Bridge)

// WithOpener sets how the device is opened (tests); the default opens a
// serial port with modem/serialport.
func WithOpener(o Opener) Option { return func(b *Bridge) { b.open = o } }

// WithClock sets the clock of the idle timeout and the re-open backoff
// (tests); the default is clock.Real.
func WithClock(c clock.Clock) Option { return func(b *Bridge) { b.clock = c } }

// WithBackoff sets the wait before re-opening: first, doubling up to max.
// The default is 1 s to 30 s.
func WithBackoff(first, max time.Duration) Option {
	return func(b *Bridge) {
		if first > 0 && max >= first {
			b.backoffFirst, b.backoffMax = first, max
		}
	}
}

// WithStateFunc has f called with the device's state whenever it changes
// (opened, lost, a different open error), in order, from the bridge's
// device goroutine: f must not block.
func WithStateFunc(f func(State)) Option { return func(b *Bridge) { b.onState = f } }

// maxClients bounds the connections: a console has one owner and a few
// onlookers, not a crowd.
const maxClients = 16

// Bridge copies between the console device and TCP clients.
type Bridge struct {
	cfg          Config
	log          *slog.Logger
	open         Opener
	clock        clock.Clock
	backoffFirst time.Duration
	backoffMax   time.Duration
	onState      func(State)
	ln           net.Listener
	done         chan struct{} // closed by Close
	wg           sync.WaitGroup
	once         sync.Once

	writeMu sync.Mutex // serialises writes and breaks on the device

	mu        sync.Mutex // guards the fields below
	closed    bool
	port      Port  // the open device; nil while it is gone
	cause     error // why a writer gave up on port
	everOpen  bool
	state     State
	history   []byte // the device's last output: at most 2×cfg.History, trimmed lazily
	clients   map[*client]struct{}
	nextID    int
	writer    *client   // the one client whose input reaches the router
	lastInput time.Time // the writer's last keystroke, or when it got the keyboard
	idleGen   int       // bumped when the writer changes: stale idle timers do nothing
	idleTimer clock.Timer
	logf      *os.File
	logSize   int64
	logFailed bool // a log write failed and was reported; quiet until one succeeds
}

// Listen serves the console device cfg.Device on cfg.Listen. The device
// is opened in the background, and re-opened whenever it fails, so a
// missing device is no error here: State says whether it is open. Close
// stops it all.
func Listen(cfg Config, log *slog.Logger, opts ...Option) (*Bridge, error) {
	if cfg.Device == "" {
		return nil, errors.New("console: no device")
	}
	return listen(cfg, log, opts...)
}

func listen(cfg Config, log *slog.Logger, opts ...Option) (*Bridge, error) {
	if cfg.History < 0 {
		cfg.History = 0
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b := &Bridge{
		cfg:          cfg,
		log:          log.With("device", cfg.Device),
		open:         openSerial,
		clock:        clock.Real{},
		backoffFirst: time.Second,
		backoffMax:   30 * time.Second,
		done:         make(chan struct{}),
		clients:      map[*client]struct{}{},
	}
	for _, o := range opts {
		o(b)
	}
	b.state = State{Since: b.clock.Now(), Err: "not opened yet"}
	if cfg.LogFile != "" {
		if err := b.openLog(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		if b.logf != nil {
			b.logf.Close()
		}
		return nil, fmt.Errorf("console: listen %s: %w", cfg.Listen, err)
	}
	b.ln = ln
	b.wg.Add(2)
	go b.runDevice()
	go b.accept()
	return b, nil
}

// Addr is where the bridge listens.
func (b *Bridge) Addr() net.Addr { return b.ln.Addr() }

// State says whether the device is open, and since when.
func (b *Bridge) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Close disconnects every client, closes the device and waits for the
// bridge's goroutines. It is safe to call more than once.
func (b *Bridge) Close() error {
	b.once.Do(func() {
		close(b.done)
		b.ln.Close()
		b.mu.Lock()
		b.closed = true
		port := b.port
		b.idleGen++
		if b.idleTimer != nil {
			b.idleTimer.Stop()
		}
		for c := range b.clients {
			c.conn.Close()
		}
		b.mu.Unlock()
		if port != nil {
			port.Close() // wakes the device's reader
		}
		b.wg.Wait()
		b.mu.Lock()
		if b.logf != nil {
			b.logf.Close()
			b.logf = nil
		}
		b.mu.Unlock()
	})
	return nil
}

// sleep waits d on the bridge's clock; false means the bridge closed.
func (b *Bridge) sleep(d time.Duration) bool {
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-b.done:
		return false
	}
}

// serialPort is a port from modem/serialport.
type serialPort struct{ io.ReadWriteCloser }

func (p serialPort) SendBreak() error { return serialport.SendBreak(p.ReadWriteCloser) }

func openSerial(path string, baud int) (Port, error) {
	p, err := serialport.Open(path, baud)
	if err != nil {
		return nil, err
	}
	return serialPort{p}, nil
}
