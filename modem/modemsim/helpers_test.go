package modemsim

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/internal/pseudoterm"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait in the tests: generous, it is only hit on failure.
const wait = 5 * time.Second

// client is a test's end of the serial line: the pty slave opened as a
// modem client would, raw.
type client struct {
	t   *testing.T
	f   *os.File
	buf []byte
}

func newSimulator(t *testing.T, opts ...Option) *Simulator {
	t.Helper()
	s, err := New(append([]Option{WithBootQuiet(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *Simulator) *client {
	t.Helper()
	f, err := os.OpenFile(s.Path(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := pseudoterm.MakeRaw(f); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, f: f}
	t.Cleanup(func() { f.Close() })
	return c
}

func (c *client) close() { c.f.Close() }

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.f.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// fill reads once, within d; false on timeout.
func (c *client) fill(d time.Duration) bool {
	c.t.Helper()
	b := make([]byte, 1024)
	c.f.SetReadDeadline(time.Now().Add(d))
	n, err := c.f.Read(b)
	c.buf = append(c.buf, b[:n]...)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false
		}
		c.t.Fatalf("read: %v", err)
	}
	return true
}

// until reads until the input holds want, and returns everything up to
// and including it.
func (c *client) until(want string) string {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if i := bytes.Index(c.buf, []byte(want)); i >= 0 {
			out := string(c.buf[:i+len(want)])
			c.buf = c.buf[i+len(want):]
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %q within %v; got %q", want, wait, c.buf)
		}
		c.fill(time.Until(deadline))
	}
}

var finalRE = regexp.MustCompile(`\r\n(OK|ERROR|\+CM[ES] ERROR: [^\r]*|CONNECT|NO CARRIER)\r\n|\r\n> `)

// reply reads up to and including a final result code (or the prompt).
func (c *client) reply() string {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if loc := finalRE.FindIndex(c.buf); loc != nil {
			out := string(c.buf[:loc[1]])
			c.buf = c.buf[loc[1]:]
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no final result code within %v; got %q", wait, c.buf)
		}
		c.fill(time.Until(deadline))
	}
}

// cmd sends an AT command line and returns its reply.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r")
	return c.reply()
}

// quiet asserts nothing arrives within d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	if len(c.buf) > 0 || c.fill(d) {
		c.t.Fatalf("expected silence, got %q", c.buf)
	}
}

// lines splits a reply into its non-empty lines.
func lines(reply string) []string {
	var out []string
	for _, l := range strings.Split(reply, "\r\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// quietClient is a client with echo off and verbose errors.
func quietClient(t *testing.T, s *Simulator) *client {
	c := dial(t, s)
	if r := c.cmd("ATE0"); !strings.HasSuffix(r, "\r\nOK\r\n") {
		t.Fatalf("ATE0: %q", r)
	}
	if r := c.cmd("AT+CMEE=2"); r != "\r\nOK\r\n" {
		t.Fatalf("AT+CMEE=2: %q", r)
	}
	return c
}
