package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is the identification string the jump host logs.
const clientVersion = "SSH-2.0-oobd"

// keepaliveRequest is the global request that proves the jump host is
// there. OpenSSH answers it with a failure, as any unknown request: any
// reply means alive, only an error means dead.
const keepaliveRequest = "keepalive@openssh.com"

// localDialTimeout bounds the connection to a local target.
const localDialTimeout = 10 * time.Second

// maxForwardRetryDelay caps the wait between two asks for a refused
// forward: the jump host frees a dead session's port at a moment it does
// not announce (ClientAliveInterval × ClientAliveCountMax after the
// session went silent), and a tcpip-forward request is about 100 bytes.
const maxForwardRetryDelay = 5 * time.Second

// ForwardError means the jump host would not listen on a forward's port
// within the retry time (or before the caller's context ended: Cause).
type ForwardError struct {
	Forward Forward
	Port    int // the port asked for
	Tries   int
	For     time.Duration
	Reason  string
	// Cause is why the retries stopped before the retry time was up (the
	// context's cause), nil when the retry time ran out.
	Cause error
}

func (e *ForwardError) Error() string {
	msg := fmt.Sprintf("tunnel: forward %s -> %s: jump host refused to listen on port %d (%s) after %d tries in %v",
		e.Forward.Remote, e.Forward.Local, e.Port, e.Reason, e.Tries, e.For.Round(time.Millisecond))
	if e.Cause != nil {
		msg += "; stopped: " + e.Cause.Error()
	}
	return msg
}

func (e *ForwardError) Unwrap() error { return e.Cause }

// Summary is the reason in a few words, for an SMS.
func (e *ForwardError) Summary() string {
	return fmt.Sprintf("jump host refused forward port %d", e.Port)
}

// refusedReason is all a refused tcpip-forward can say: OpenSSH's
// REQUEST_FAILURE carries no text.
const refusedReason = "denied by the server, which gives no reason: the port is not permitted for this key (permitlisten, PermitListen, AllowTcpForwarding) or is still held by an earlier session"

// errRefused is a tcpip-forward request the jump host refused.
var errRefused = errors.New("tcpip-forward request denied by the jump host")

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

// conn is one SSH connection with its forwards. Its owner (Start, then the
// supervising goroutine) is the only one that closes it.
type conn struct {
	t      *Tunnel
	client *ssh.Client
	// raw is the connection as the dial function returned it (for
	// Path.Rebind), local its own address on this box.
	raw    net.Conn
	local  netip.Addr
	made   time.Time       // when it was established
	ctx    context.Context // ends when the connection is closed
	cancel context.CancelFunc
	bound  []BoundForward
	// gone is closed when the SSH connection has ended; goneErr (set
	// before) says why.
	gone    chan struct{}
	goneErr error

	wg        sync.WaitGroup
	mu        sync.Mutex // guards closed, routes and active
	closed    bool
	routes    map[string]int // "host:port" as asked (port as bound) -> forward index
	active    map[io.Closer]struct{}
	closeOnce sync.Once
}

// establish dials, authenticates and binds every forward, asking again for
// a refused one for retry (until ctx ends when retry <= 0). On error
// nothing is left running.
func (t *Tunnel) establish(ctx context.Context, retry time.Duration) (*conn, error) {
	timeout := t.cfg.HandshakeTimeout
	dctx, cancel := context.WithTimeout(ctx, timeout)
	nc, err := t.dialFunc()(dctx, "tcp", t.cfg.JumpHost)
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
		made:   time.Now(),
		client: ssh.NewClient(sshConn, chans, reqs),
		raw:    nc,
		ctx:    cctx,
		cancel: ccancel,
		gone:   make(chan struct{}),
		routes: map[string]int{},
		active: map[io.Closer]struct{}{},
	}
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.local = a.AddrPort().Addr().Unmap()
	}
	// The forwarded channels are taken here, not by x/crypto's Listen, so
	// that they can be counted and refused before they are accepted.
	forwarded := c.client.HandleChannelOpen("forwarded-tcpip")
	c.wg.Add(2)
	go c.dispatch(forwarded)
	go func() {
		defer c.wg.Done()
		c.goneErr = c.client.Wait()
		close(c.gone)
	}()
	t.log.Info("tunnel: connected", "server", string(sshConn.ServerVersion()), "local", c.local)
	for i, f := range t.cfg.Forwards {
		b, err := c.listen(ctx, i, f, retry)
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

// forwardRequest is the payload of tcpip-forward (RFC 4254 section 7.1).
type forwardRequest struct {
	Addr string
	Port uint32
}

// forwardedPayload is the payload of a forwarded-tcpip channel (RFC 4254
// section 7.2).
type forwardedPayload struct {
	Addr       string
	Port       uint32
	OriginAddr string
	OriginPort uint32
}

// requestForward asks the jump host to listen on host:port for forward i
// and returns the port it listens on (errRefused if it will not).
func (c *conn) requestForward(ctx context.Context, i int, host string, port int) (int, error) {
	// A channel for a fixed port may come the moment the reply is sent:
	// be ready for it before asking.
	if port != 0 {
		c.route(host, port, i)
	}
	var ok bool
	var resp []byte
	err := c.bounded(ctx, c.t.cfg.HandshakeTimeout, func() error {
		var err error
		ok, resp, err = c.client.SendRequest("tcpip-forward", true, ssh.Marshal(&forwardRequest{Addr: host, Port: uint32(port)}))
		return err
	})
	if err == nil && !ok {
		err = errRefused
	}
	bound := port
	if err == nil && port == 0 {
		var p struct{ Port uint32 }
		if uerr := ssh.Unmarshal(resp, &p); uerr != nil || p.Port == 0 || p.Port > 65535 {
			err = fmt.Errorf("bad reply to tcpip-forward for port 0: %x", resp)
		}
		bound = int(p.Port)
	}
	if err != nil {
		if port != 0 {
			c.unroute(host, port)
		}
		return 0, err
	}
	c.route(host, bound, i)
	return bound, nil
}

func (c *conn) route(host string, port, i int) {
	c.mu.Lock()
	c.routes[net.JoinHostPort(host, strconv.Itoa(port))] = i
	c.mu.Unlock()
}

func (c *conn) unroute(host string, port int) {
	c.mu.Lock()
	delete(c.routes, net.JoinHostPort(host, strconv.Itoa(port)))
	c.mu.Unlock()
}

// listen asks the jump host for forward i, asking again after a refusal,
// with backoff, for retry (until ctx ends when retry <= 0). For port 0 it
// first asks for the port the last connection had, so a reconnect keeps
// the port the owner was told, and after the forward retry time for any.
func (c *conn) listen(ctx context.Context, i int, f Forward, retry time.Duration) (BoundForward, error) {
	t := c.t
	hp, _ := parseHostPort(f.Remote, true) // validated in New
	port := hp.port
	t.lastPortMu.Lock()
	if port == 0 && t.lastPort[i] != 0 {
		port = t.lastPort[i]
	}
	t.lastPortMu.Unlock()
	start := time.Now()
	for try := 1; ; try++ {
		bound, err := c.requestForward(ctx, i, hp.host, port)
		if err == nil {
			t.lastPortMu.Lock()
			t.lastPort[i] = bound
			t.lastPortMu.Unlock()
			return BoundForward{Forward: f, BoundPort: bound}, nil
		}
		addr := net.JoinHostPort(hp.host, strconv.Itoa(port))
		if !errors.Is(err, errRefused) {
			return BoundForward{}, fmt.Errorf("tunnel: forward %s: %w", addr, err)
		}
		elapsed := time.Since(start)
		if hp.port == 0 && port != 0 && elapsed >= t.opt.forwardRetry {
			// The old port is still held; let the server pick a new one
			// (the owner learns it from the next notice).
			t.log.Warn("tunnel: previous port refused, asking for a new one", "forward", f.Remote, "port", port)
			port, start, try = 0, time.Now(), 0
			continue
		}
		refused := func(cause error) error {
			return &ForwardError{Forward: f, Port: port, Tries: try, For: time.Since(start), Reason: refusedReason, Cause: cause}
		}
		if retry > 0 && elapsed >= retry {
			return BoundForward{}, refused(nil)
		}
		t.log.Warn("tunnel: forward refused, retrying", "forward", f.Remote, "port", port, "try", try)
		delay := min(t.opt.backoffMin*time.Duration(1<<min(try-1, 5)), t.opt.backoffMax, maxForwardRetryDelay)
		if retry > 0 {
			delay = min(delay, retry-elapsed+time.Millisecond)
		}
		if !sleepCtx(ctx, delay) {
			return BoundForward{}, refused(context.Cause(ctx))
		}
	}
}

// dispatch takes the jump host's forwarded-tcpip channels until the
// connection ends: each goes to its forward, within the forward's limit.
func (c *conn) dispatch(chans <-chan ssh.NewChannel) {
	defer c.wg.Done()
	for nc := range chans {
		var p forwardedPayload
		if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
			nc.Reject(ssh.ConnectionFailed, "bad forwarded-tcpip payload")
			continue
		}
		// The jump host names the forward as it was asked for (x/crypto's
		// own listeners match the same way).
		key := net.JoinHostPort(p.Addr, strconv.FormatUint(uint64(p.Port), 10))
		c.mu.Lock()
		i, ok := c.routes[key]
		closed := c.closed
		c.mu.Unlock()
		switch {
		case !ok:
			// RFC 4254 section 7.2: spurious ones MUST be rejected.
			nc.Reject(ssh.Prohibited, "no forward for "+key)
			continue
		case closed:
			nc.Reject(ssh.ConnectionFailed, "closing")
			continue
		case !c.t.admit(i):
			c.t.refuse(i, key)
			nc.Reject(ssh.ResourceShortage, fmt.Sprintf("this forward already carries %d connections", MaxChannelsPerForward))
			continue
		}
		c.t.accepted[i].Add(1)
		c.wg.Add(1)
		go c.serve(i, nc)
	}
}

// serve connects one forwarded channel to its local target, and frees
// the forward's slot when both are done.
func (c *conn) serve(i int, nc ssh.NewChannel) {
	defer c.wg.Done()
	defer c.t.release(i)
	f := c.t.cfg.Forwards[i]
	dctx, cancel := context.WithTimeout(c.ctx, localDialTimeout)
	local, err := c.t.opt.localDial(dctx, "tcp", f.Local)
	cancel()
	if err != nil {
		c.t.setLocalErr(i, err)
		c.t.log.Warn("tunnel: local target unreachable", "local", f.Local, "err", err)
		nc.Reject(ssh.ConnectionFailed, "local target unreachable")
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		local.Close()
		return
	}
	// Requests and extended data have no meaning on a forwarded
	// connection; they are read and dropped, so that they cannot fill the
	// channel's window. The requests end when the channel is closed both
	// ways (or the connection ends).
	closed := make(chan struct{})
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		defer close(closed)
		ssh.DiscardRequests(reqs)
	}()
	go func() {
		defer c.wg.Done()
		io.Copy(io.Discard, ch.Stderr())
	}()
	// The slot is freed only once the jump host has closed the channel
	// too: x/crypto keeps a channel until then, so one that never answers
	// a close must keep holding its slot, or a jump host could make this
	// box keep channels without bound.
	defer func() { <-closed }()
	if !c.track(ch, local) {
		ch.Close()
		local.Close()
		return
	}
	defer c.untrack(ch, local)
	join(ch, local, &c.t.forwardIn, &c.t.forwardOut)
}

func (c *conn) track(conns ...io.Closer) bool {
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

func (c *conn) untrack(conns ...io.Closer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range conns {
		delete(c.active, x)
	}
}

// hold keeps the connection up until it is lost (keepalives unanswered,
// or the transport closed) or ctx ends, and says why; or until a command
// comes (got).
func (c *conn) hold(ctx context.Context, cmds <-chan command) (cmd command, got bool, err error) {
	interval := c.t.cfg.Keepalive
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var pending chan error // the outstanding keepalive, nil when none
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return command{}, false, context.Cause(ctx)
		case cmd := <-cmds:
			// An outstanding keepalive is left to finish by itself.
			return cmd, true, nil
		case <-c.gone:
			err := c.goneErr
			if err == nil {
				err = errors.New("closed by the server")
			}
			return command{}, false, fmt.Errorf("tunnel: connection lost: %w", err)
		case err := <-pending:
			pending = nil
			if err != nil {
				return command{}, false, fmt.Errorf("tunnel: keepalive: %w", err)
			}
			missed = 0
		case <-ticker.C:
			if pending != nil {
				missed++
				if missed >= MaxMissedKeepalives {
					return command{}, false, &KeepaliveError{Missed: missed, Interval: interval}
				}
				continue
			}
			ch := make(chan error, 1)
			pending = ch
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				_, _, err := c.client.SendRequest(keepaliveRequest, true, nil)
				ch <- err
			}()
		}
	}
}

// probe sends one keepalive and waits d for the reply; the connection is
// closed when none comes.
func (c *conn) probe(ctx context.Context, d time.Duration) error {
	return c.bounded(ctx, d, func() error {
		_, _, err := c.client.SendRequest(keepaliveRequest, true, nil)
		return err
	})
}

// close ends the connection and everything it carries, and waits.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		// Closing the transport ends every channel and the dispatcher. No
		// cancel-tcpip-forward is sent: it would wait for a reply that a
		// dead server never gives, and the server frees the forwards
		// with the connection anyway.
		c.client.Close()
		c.mu.Lock()
		c.closed = true
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
