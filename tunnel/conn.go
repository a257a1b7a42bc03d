package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is the identification string the jump host logs.
const clientVersion = "SSH-2.0-oobd"

// ForwardError means the jump host would not listen on a forward's port
// within the retry time.
type ForwardError struct {
	Forward Forward
	Port    int // the port asked for
	Tries   int
	For     time.Duration
	Reason  string
}

func (e *ForwardError) Error() string {
	return fmt.Sprintf("tunnel: forward %s -> %s: jump host refused to listen on port %d (%s) after %d tries in %v",
		e.Forward.Remote, e.Forward.Local, e.Port, e.Reason, e.Tries, e.For.Round(time.Millisecond))
}

// Summary is the reason in a few words, for an SMS.
func (e *ForwardError) Summary() string {
	return fmt.Sprintf("jump host refused forward port %d", e.Port)
}

// refusedReason is all a refused tcpip-forward can say: OpenSSH's
// REQUEST_FAILURE carries no text and x/crypto drops any payload.
const refusedReason = "denied by the server, which gives no reason: the port is not permitted for this key (permitlisten, PermitListen, AllowTcpForwarding) or is still held by an earlier session"

// KeepaliveError means the jump host stopped answering keepalives.
type KeepaliveError struct {
	Missed   int
	Interval time.Duration
}

func (e *KeepaliveError) Error() string {
	return fmt.Sprintf("tunnel: keepalive: no reply for %d intervals of %v", e.Missed, e.Interval)
}

// Summary is the reason in a few words, for an SMS.
func (e *KeepaliveError) Summary() string { return "jump host stopped answering keepalives" }

// errNoReply marks a request that got no reply in time; the connection is
// closed when it happens.
var errNoReply = errors.New("no reply in time")

// conn is one SSH connection with its forwards.
type conn struct {
	t      *Tunnel
	client *ssh.Client
	ctx    context.Context // ends when the connection is closed
	cancel context.CancelFunc
	bound  []BoundForward

	wg        sync.WaitGroup
	mu        sync.Mutex // guards closed, listeners and active
	closed    bool
	listeners []net.Listener
	active    map[net.Conn]struct{}
	closeOnce sync.Once
}

// establish dials, authenticates and binds every forward. On error nothing
// is left running.
func (t *Tunnel) establish(ctx context.Context) (*conn, error) {
	timeout := t.cfg.HandshakeTimeout
	dctx, cancel := context.WithTimeout(ctx, timeout)
	nc, err := t.dial(dctx, "tcp", t.cfg.JumpHost)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", t.cfg.JumpHost, err)
	}
	// The handshake has no timeout of its own (golang/go#15113).
	nc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	wire := &CountingConn{Conn: nc, Sent: &t.wireSent, Received: &t.wireReceived}
	sshConn, chans, reqs, err := ssh.NewClientConn(wire, t.cfg.JumpHost, &ssh.ClientConfig{
		User:              t.cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(t.signer)},
		HostKeyCallback:   t.keys.check,
		HostKeyAlgorithms: t.keys.algos,
		ClientVersion:     clientVersion,
	})
	if !stop() || ctx.Err() != nil {
		nc.Close()
		if sshConn != nil {
			sshConn.Close()
		}
		return nil, fmt.Errorf("tunnel: ssh to %s: %w", t.cfg.JumpHost, context.Cause(ctx))
	}
	if err != nil {
		nc.Close()
		if hk := hostKeyError(err); hk != nil {
			return nil, hk
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("tunnel: ssh to %s: handshake not done within %v: %w", t.cfg.JumpHost, timeout, err)
		}
		return nil, fmt.Errorf("tunnel: ssh to %s as %s: %w", t.cfg.JumpHost, t.cfg.User, err)
	}
	nc.SetDeadline(time.Time{})

	cctx, ccancel := context.WithCancel(context.Background())
	c := &conn{
		t:      t,
		client: ssh.NewClient(sshConn, chans, reqs),
		ctx:    cctx,
		cancel: ccancel,
		active: map[net.Conn]struct{}{},
	}
	t.log.Info("tunnel: connected", "server", string(sshConn.ServerVersion()))
	for i, f := range t.cfg.Forwards {
		b, err := c.listen(ctx, i, f)
		if err != nil {
			c.close()
			return nil, err
		}
		c.bound = append(c.bound, b)
	}
	return c, nil
}

// bounded runs fn, which waits on the SSH connection, and closes the
// connection if fn has not returned within d or when ctx ends: x/crypto's
// requests have no timeout (golang/go#19338).
func (c *conn) bounded(ctx context.Context, d time.Duration, fn func() error) error {
	done := make(chan error, 1)
	// SelfCheck calls this from the caller's goroutine: never Add to the
	// WaitGroup once close is waiting on it.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("connection closed")
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		done <- fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		c.client.Close()
		<-done
		return errNoReply
	case <-ctx.Done():
		c.client.Close()
		<-done
		return context.Cause(ctx)
	}
}

// listen asks the jump host for forward i, retrying a refusal with backoff
// for the forward retry time. For port 0 it first asks for the port the
// last connection had, so a reconnect keeps the port the owner was told.
func (c *conn) listen(ctx context.Context, i int, f Forward) (BoundForward, error) {
	t := c.t
	hp, _ := parseHostPort(f.Remote, true) // validated in New
	port := hp.port
	c.t.lastPortMu.Lock()
	if port == 0 && t.lastPort[i] != 0 {
		port = t.lastPort[i]
	}
	c.t.lastPortMu.Unlock()
	start := time.Now()
	for try := 1; ; try++ {
		addr := net.JoinHostPort(hp.host, strconv.Itoa(port))
		var ln net.Listener
		err := c.bounded(ctx, t.cfg.HandshakeTimeout, func() error {
			var err error
			ln, err = c.client.Listen("tcp", addr)
			return err
		})
		if err == nil {
			bound := ln.Addr().(*net.TCPAddr).Port
			c.mu.Lock()
			c.listeners = append(c.listeners, ln)
			c.mu.Unlock()
			t.lastPortMu.Lock()
			t.lastPort[i] = bound
			t.lastPortMu.Unlock()
			c.wg.Add(1)
			go c.accept(i, ln)
			return BoundForward{Forward: f, BoundPort: bound}, nil
		}
		if !strings.Contains(err.Error(), "request denied by peer") {
			return BoundForward{}, fmt.Errorf("tunnel: forward %s: %w", addr, err)
		}
		if time.Since(start) >= t.opt.forwardRetry {
			if hp.port == 0 && port != 0 {
				// The old port is gone; let the server pick a new one.
				t.log.Warn("tunnel: previous port refused, asking for a new one", "forward", f.Remote, "port", port)
				port, start, try = 0, time.Now(), 0
				continue
			}
			return BoundForward{}, &ForwardError{Forward: f, Port: port, Tries: try, For: time.Since(start), Reason: refusedReason}
		}
		t.log.Warn("tunnel: forward refused, retrying", "forward", f.Remote, "port", port, "try", try)
		delay := min(t.opt.backoffMin*time.Duration(1<<min(try-1, 5)), t.opt.backoffMax)
		delay = min(delay, t.opt.forwardRetry-time.Since(start)+time.Millisecond)
		if !sleepCtx(ctx, delay) {
			return BoundForward{}, fmt.Errorf("tunnel: forward %s: %w", addr, context.Cause(ctx))
		}
	}
}

// accept serves one remote listener until the connection ends. It must
// keep accepting, or the SSH connection stalls.
func (c *conn) accept(i int, ln net.Listener) {
	defer c.wg.Done()
	for {
		rc, err := ln.Accept()
		if err != nil {
			return
		}
		c.t.accepted[i].Add(1)
		c.wg.Add(1)
		go c.serve(i, rc)
	}
}

// serve joins one forwarded connection to its local target.
func (c *conn) serve(i int, remote net.Conn) {
	defer c.wg.Done()
	f := c.t.cfg.Forwards[i]
	dctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	local, err := c.t.opt.localDial(dctx, "tcp", f.Local)
	cancel()
	if err != nil {
		c.t.setLocalErr(i, err)
		c.t.log.Warn("tunnel: local target unreachable", "local", f.Local, "err", err)
		remote.Close()
		return
	}
	if !c.track(remote, local) {
		remote.Close()
		local.Close()
		return
	}
	defer c.untrack(remote, local)
	join(remote, local, &c.t.forwardIn, &c.t.forwardOut)
}

func (c *conn) track(conns ...net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	for _, x := range conns {
		c.active[x] = struct{}{}
	}
	return true
}

func (c *conn) untrack(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range conns {
		delete(c.active, x)
	}
}

// wait returns when the connection is lost (keepalives unanswered, or the
// transport closed) or ctx ends.
func (c *conn) wait(ctx context.Context) error {
	interval := c.t.cfg.Keepalive
	lost := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		lost <- c.client.Wait()
	}()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var pending chan error // the outstanding keepalive, nil when none
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case err := <-lost:
			if err == nil {
				err = errors.New("closed by the server")
			}
			return fmt.Errorf("tunnel: connection lost: %w", err)
		case err := <-pending:
			pending = nil
			if err != nil {
				return fmt.Errorf("tunnel: keepalive: %w", err)
			}
			missed = 0
		case <-ticker.C:
			if pending != nil {
				missed++
				if missed >= MaxMissedKeepalives {
					return &KeepaliveError{Missed: missed, Interval: interval}
				}
				continue
			}
			// OpenSSH answers an unknown global request with a failure:
			// any reply means alive, only an error means dead.
			ch := make(chan error, 1)
			pending = ch
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				ch <- err
			}()
		}
	}
}

// close ends the connection and everything it carries, and waits.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		// Close the transport first: closing a listener sends
		// cancel-tcpip-forward and waits for a reply that a dead server
		// never gives.
		c.client.Close()
		c.mu.Lock()
		c.closed = true
		for _, ln := range c.listeners {
			ln.Close()
		}
		for x := range c.active {
			x.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
}

// CountingConn is a net.Conn that counts what passes through it: the
// bytes it reads are added to Received, the bytes it writes to Sent. Both
// must be set; several connections may share them (one total for a link).
type CountingConn struct {
	net.Conn
	Sent, Received *atomic.Int64
}

func (c *CountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.Received.Add(int64(n))
	return n, err
}

func (c *CountingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.Sent.Add(int64(n))
	return n, err
}
