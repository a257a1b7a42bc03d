// Package console bridges the router's serial console to a TCP port on
// the box, so an operator who came in through the tunnel reaches it with
// `telnet 127.0.0.1 2323` or `nc`. What the router prints while nobody is
// connected is kept (up to a size) and shown to whoever connects next, and
// everything it prints is appended to a log file. Many may watch; only the
// first connected may type, so two people never interleave keystrokes on
// a router's console.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
)

// Config says which device to bridge and where.
type Config struct {
	Listen  string // e.g. 127.0.0.1:2323
	History int    // bytes kept for the next client
	// LogFile receives everything the router prints; "" for none.
	LogFile string
	// LogMax is the size at which LogFile is rotated to LogFile.1.
	LogMax int64
}

// Bridge copies between the serial port and TCP clients.
type Bridge struct {
	cfg  Config
	port io.ReadWriteCloser
	ln   net.Listener
	log  *slog.Logger

	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex // guards the fields below
	history []byte     // ring of the last cfg.History bytes
	clients map[*client]struct{}
	writer  *client // the one client whose input reaches the router
	logf    *os.File
	logSize int64
}

type client struct {
	conn net.Conn
	out  chan []byte // to the client; a slow client loses output, not the router
}

// New starts bridging port to cfg.Listen. Close stops it and closes port.
func New(port io.ReadWriteCloser, cfg Config, log *slog.Logger) (*Bridge, error) {
	if cfg.History < 0 {
		cfg.History = 0
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("console: listen %s: %w", cfg.Listen, err)
	}
	b := &Bridge{cfg: cfg, port: port, ln: ln, log: log, clients: map[*client]struct{}{}}
	if cfg.LogFile != "" {
		if err := b.openLog(); err != nil {
			ln.Close()
			return nil, err
		}
	}
	b.wg.Add(2)
	go b.readPort()
	go b.accept()
	return b, nil
}

// Addr is where the bridge listens.
func (b *Bridge) Addr() net.Addr { return b.ln.Addr() }

func (b *Bridge) openLog() error {
	f, err := os.OpenFile(b.cfg.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("console: log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("console: log: %w", err)
	}
	b.logf, b.logSize = f, fi.Size()
	return nil
}

// readPort is the port's only reader: it fans output out to the history,
// the log and every client.
func (b *Bridge) readPort() {
	defer b.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := b.port.Read(buf)
		if n > 0 {
			b.fanOut(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			b.log.Info("console port closed", "err", err)
			return
		}
	}
}

func (b *Bridge) fanOut(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.History > 0 {
		b.history = append(b.history, p...)
		if over := len(b.history) - b.cfg.History; over > 0 {
			b.history = append(b.history[:0], b.history[over:]...)
		}
	}
	if b.logf != nil {
		b.writeLog(p)
	}
	for c := range b.clients {
		select {
		case c.out <- p:
		default: // the client is not keeping up; the router must not wait
		}
	}
}

// writeLog appends to the log, rotating it at LogMax. Called with mu held.
func (b *Bridge) writeLog(p []byte) {
	if b.cfg.LogMax > 0 && b.logSize+int64(len(p)) > b.cfg.LogMax {
		b.logf.Close()
		b.logf = nil
		if err := os.Rename(b.cfg.LogFile, b.cfg.LogFile+".1"); err != nil {
			b.log.Warn("console log rotate", "err", err)
		}
		if err := b.openLog(); err != nil {
			b.log.Warn("console log", "err", err)
			return
		}
	}
	n, err := b.logf.Write(p)
	b.logSize += int64(n)
	if err != nil {
		b.log.Warn("console log write", "err", err)
	}
}

func (b *Bridge) accept() {
	defer b.wg.Done()
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			return
		}
		c := &client{conn: conn, out: make(chan []byte, 256)}
		b.mu.Lock()
		hist := append([]byte(nil), b.history...)
		isWriter := b.writer == nil
		if isWriter {
			b.writer = c
		}
		b.clients[c] = struct{}{}
		b.mu.Unlock()
		b.log.Info("console client connected", "remote", conn.RemoteAddr(), "writer", isWriter)
		b.wg.Add(2)
		go b.serveOut(c, hist, isWriter)
		go b.serveIn(c)
	}
}

func (b *Bridge) serveOut(c *client, hist []byte, isWriter bool) {
	defer b.wg.Done()
	banner := "oobd console: you have the keyboard.\r\n"
	if !isWriter {
		banner = "oobd console: watching only; someone else has the keyboard.\r\n"
	}
	if len(hist) > 0 {
		banner += fmt.Sprintf("--- %d bytes printed while nobody watched ---\r\n", len(hist))
	}
	if _, err := io.WriteString(c.conn, banner); err != nil {
		return
	}
	if _, err := c.conn.Write(hist); err != nil {
		return
	}
	for p := range c.out {
		if _, err := c.conn.Write(p); err != nil {
			c.conn.Close()
			// keep draining until serveIn removes us and closes out
		}
	}
}

func (b *Bridge) serveIn(c *client) {
	defer b.wg.Done()
	buf := make([]byte, 1024)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			b.mu.Lock()
			w := b.writer == c
			b.mu.Unlock()
			if w {
				if _, werr := b.port.Write(buf[:n]); werr != nil {
					b.log.Warn("console write", "err", werr)
				}
			}
		}
		if err != nil {
			break
		}
	}
	c.conn.Close()
	b.mu.Lock()
	delete(b.clients, c)
	if b.writer == c {
		b.writer = nil
		// The longest-connected watcher would be a fair heir, but map order
		// is random; the next to connect takes the keyboard instead.
	}
	close(c.out)
	b.mu.Unlock()
}

// Close stops the bridge, disconnects every client, closes the port and
// waits for its goroutines. It is safe to call more than once.
func (b *Bridge) Close() error {
	var err error
	b.once.Do(func() {
		b.ln.Close()
		err = b.port.Close()
		b.mu.Lock()
		for c := range b.clients {
			c.conn.Close()
		}
		b.mu.Unlock()
		b.wg.Wait()
		b.mu.Lock()
		if b.logf != nil {
			b.logf.Close()
		}
		b.mu.Unlock()
	})
	if errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}

// Run bridges until ctx ends.
func (b *Bridge) Run(ctx context.Context) error {
	<-ctx.Done()
	return b.Close()
}
