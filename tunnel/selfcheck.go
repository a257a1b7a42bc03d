package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Self-check steps, named in a SelfCheckError.
const (
	StepTunnelUp = "tunnel up"
	StepOpen     = "open direct-tcpip to the jump host's end of the forward"
	StepRead     = "read the local service's first bytes through the forward"
	StepThrough  = "connection came through this tunnel"
)

// SelfCheckError names the forward and the step that failed.
type SelfCheckError struct {
	Forward BoundForward
	Step    string
	Err     error
}

func (e *SelfCheckError) Error() string {
	if e.Forward.Remote == "" {
		return fmt.Sprintf("tunnel: self-check failed at %q: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("tunnel: self-check of %s (port %d) -> %s failed at %q: %v",
		e.Forward.Remote, e.Forward.BoundPort, e.Forward.Local, e.Step, e.Err)
}

func (e *SelfCheckError) Unwrap() error { return e.Err }

// Summary is the reason in a few words, for an SMS.
func (e *SelfCheckError) Summary() string {
	return fmt.Sprintf("self-check of port %d failed: %s", e.Forward.BoundPort, e.Step)
}

// CheckResult is what the self-check saw for one forward.
type CheckResult struct {
	Forward BoundForward
	// Banner is the local SSH server's identification line, when it is one.
	Banner string
	// FirstBytes is how many bytes the local service sent first (0 when it
	// waited for the client and the connection was only held).
	FirstBytes int
}

// SelfCheck proves every forward end to end: it asks the jump host, over
// the tunnel's own connection, to connect to its end of the forward
// (direct-tcpip), which loops back through the forward to the local
// target, and reads what the local service says first (an SSH banner for
// an SSH server). A service that waits for the client passes when the
// connection is accepted and held for the hold time.
func (t *Tunnel) SelfCheck(ctx context.Context) ([]CheckResult, error) {
	c := t.current()
	if c == nil {
		return nil, &SelfCheckError{Step: StepTunnelUp, Err: errors.New("the tunnel is not up")}
	}
	var out []CheckResult
	for i, b := range c.bound {
		r, err := t.checkForward(ctx, c, i, b)
		if err != nil {
			t.log.Warn("tunnel: self-check failed", "err", err)
			return out, err
		}
		t.log.Info("tunnel: self-check passed", "forward", b.Remote, "port", b.BoundPort, "banner", r.Banner, "first_bytes", r.FirstBytes)
		out = append(out, r)
	}
	return out, nil
}

// jumpSideHost is the host to ask the jump host to connect to: its own end
// of the forward. A wildcard bind is reached on loopback.
func jumpSideHost(remoteHost string) string {
	switch remoteHost {
	case "", "*", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return remoteHost
}

func (t *Tunnel) checkForward(ctx context.Context, c *conn, i int, b BoundForward) (CheckResult, error) {
	res := CheckResult{Forward: b}
	fail := func(step string, err error) (CheckResult, error) {
		return res, &SelfCheckError{Forward: b, Step: step, Err: err}
	}
	host, _, _ := net.SplitHostPort(b.Remote)
	addr := net.JoinHostPort(jumpSideHost(host), strconv.Itoa(b.BoundPort))
	before, refusedBefore := t.accepted[i].Load(), t.refused[i].Load()
	t.setLocalErr(i, nil)

	var ch net.Conn
	err := c.bounded(ctx, t.cfg.HandshakeTimeout, func() error {
		var err error
		ch, err = c.client.Dial("tcp", addr)
		return err
	})
	if err != nil {
		return fail(StepOpen, fmt.Errorf("%s: %w", addr, err))
	}
	defer ch.Close()

	type readResult struct {
		b   []byte
		err error
	}
	got := make(chan readResult, 1)
	go func() {
		buf := make([]byte, 256)
		n, err := ch.Read(buf)
		// An SSH banner may come in pieces: read on to the end of its line.
		for err == nil && n < len(buf) && bytes.HasPrefix(buf[:n], []byte("SSH-")) && !bytes.Contains(buf[:n], []byte("\n")) {
			var m int
			m, err = ch.Read(buf[n:])
			n += m
		}
		got <- readResult{buf[:n], err}
	}()
	hold := time.NewTimer(t.opt.selfCheckHold)
	defer hold.Stop()
	var first readResult
	held := false
	select {
	case first = <-got:
	case <-hold.C:
		held = true
	case <-ctx.Done():
		ch.Close()
		<-got
		return fail(StepRead, context.Cause(ctx))
	}
	if held {
		// Nothing said and nothing closed: the service waits for its client.
		ch.Close()
		<-got
	} else if len(first.b) == 0 {
		err := first.err
		if err == io.EOF {
			err = errors.New("closed before the local service sent anything")
		}
		if lerr := t.getLocalErr(i); lerr != nil {
			err = fmt.Errorf("%w (local target %s: %v)", err, b.Local, lerr)
		}
		if t.refused[i].Load() > refusedBefore {
			err = fmt.Errorf("%w (the forward already carries %d connections, its limit)", err, MaxChannelsPerForward)
		}
		return fail(StepRead, err)
	}
	res.FirstBytes = len(first.b)
	if bytes.HasPrefix(first.b, []byte("SSH-")) {
		line, _, _ := bytes.Cut(first.b, []byte("\n"))
		res.Banner = string(bytes.TrimRight(line, "\r"))
		if !bytes.HasPrefix(first.b, []byte("SSH-2.0-")) && !bytes.HasPrefix(first.b, []byte("SSH-1.99-")) {
			return fail(StepRead, fmt.Errorf("local SSH server speaks an unsupported protocol: %q", res.Banner))
		}
	}
	if t.accepted[i].Load() == before {
		return fail(StepThrough, fmt.Errorf("%s answered, but not through this tunnel's forward", addr))
	}
	return res, nil
}
