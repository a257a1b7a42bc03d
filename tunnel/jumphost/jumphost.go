// Package jumphost is an SSH jump host that runs in process on 127.0.0.1:
// public-key auth against given keys, remote forwards (tcpip-forward,
// cancel-tcpip-forward) and direct-tcpip, nothing else. It serves tests that
// need no OpenSSH and `oobd demo`. It is built on gliderlabs/ssh; the
// forwarding handlers are its own so that Close can wait for every
// goroutine and half-closes pass through.
package jumphost

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"

	gl "github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Option configures a Server.
type Option func(*Server) error

// WithAuthorizedKeys sets the keys that may log in.
func WithAuthorizedKeys(keys ...gossh.PublicKey) Option {
	return func(s *Server) error {
		s.authorized = append(s.authorized, keys...)
		return nil
	}
}

// WithHostKey sets the server's host key (default: a new ed25519 key).
func WithHostKey(signer gossh.Signer) Option {
	return func(s *Server) error {
		s.hostKey = signer
		return nil
	}
}

// WithPermitListen restricts remote forwards, like OpenSSH's permitlisten:
// each entry is "host:port" or "host:*"; a forward must match one. Without
// it every forward on a loopback name or address is allowed.
func WithPermitListen(hostports ...string) Option {
	return func(s *Server) error {
		for _, hp := range hostports {
			if _, _, err := net.SplitHostPort(hp); err != nil {
				return fmt.Errorf("jumphost: permit listen %q: %w", hp, err)
			}
		}
		s.permitListen = append(s.permitListen, hostports...)
		return nil
	}
}

// WithAddr sets the listen address (default 127.0.0.1:0).
func WithAddr(addr string) Option {
	return func(s *Server) error {
		s.addr = addr
		return nil
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error {
		s.log = l
		return nil
	}
}

// Server is a running jump host.
type Server struct {
	addr         string
	authorized   []gossh.PublicKey
	hostKey      gossh.Signer
	permitListen []string
	log          *slog.Logger

	srv *gl.Server
	ln  net.Listener

	mu     sync.Mutex // guards closed, conns and state
	closed bool
	conns  map[net.Conn]struct{}                // raw client connections
	state  map[*gossh.ServerConn]*connResources // what each SSH connection holds
	wg     sync.WaitGroup
}

// connResources are what one SSH connection holds; they are closed when it
// ends.
type connResources struct {
	fwds    []fwdLn
	streams map[net.Conn]struct{}
}

func (r *connResources) closeAll() {
	for _, f := range r.fwds {
		f.ln.Close()
	}
	for c := range r.streams {
		c.Close()
	}
}

type fwdLn struct {
	key  string // "host:port" as the client asked, port as bound
	host string // as the client asked
	port uint32 // as bound
	ln   net.Listener
}

// Start listens and serves until Close.
func Start(opts ...Option) (*Server, error) {
	s := &Server{
		addr:  "127.0.0.1:0",
		log:   slog.New(slog.DiscardHandler),
		conns: map[net.Conn]struct{}{},
		state: map[*gossh.ServerConn]*connResources{},
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.hostKey == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jumphost: host key: %w", err)
		}
		if s.hostKey, err = gossh.NewSignerFromKey(priv); err != nil {
			return nil, fmt.Errorf("jumphost: host key: %w", err)
		}
	}
	s.srv = &gl.Server{
		HostSigners: []gl.Signer{s.hostKey},
		Version:     "oobd-jumphost",
		PublicKeyHandler: func(ctx gl.Context, key gl.PublicKey) bool {
			ok := false
			for _, k := range s.authorized {
				// KeysEqual compares in constant time.
				if gl.KeysEqual(key, k) {
					ok = true
				}
			}
			if !ok {
				s.log.Warn("jumphost: key refused", "user", ctx.User(), "key", gossh.FingerprintSHA256(key))
			}
			return ok
		},
		RequestHandlers: map[string]gl.RequestHandler{
			"tcpip-forward":        s.handleForward,
			"cancel-tcpip-forward": s.handleCancel,
		},
		// No "session": no shell, forwarding only.
		ChannelHandlers: map[string]gl.ChannelHandler{
			"direct-tcpip": s.handleDirect,
		},
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("jumphost: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the "host:port" clients dial.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HostKey is the server's public host key.
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine is the known_hosts line a client needs for Addr.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.HostKey()) + "\n"
}

// serve accepts connections itself rather than through gliderlabs' Serve,
// so connections still in their handshake are tracked and closed too.
func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.add(func() { s.conns[c] = struct{}{} }) {
			c.Close()
			return
		}
		go func() {
			defer s.wg.Done()
			s.srv.HandleConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// add counts a goroutine about to start, unless the server is closing.
func (s *Server) add(also func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	if also != nil {
		also()
	}
	return true
}

// register records something sconn holds (under the lock), starting the
// watcher that releases it all when sconn ends. It counts one goroutine in
// s.wg for the caller, like add.
func (s *Server) register(sconn *gossh.ServerConn, fn func(*connResources)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	r := s.state[sconn]
	if r == nil {
		r = &connResources{streams: map[net.Conn]struct{}{}}
		s.state[sconn] = r
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sconn.Wait()
			s.mu.Lock()
			r.closeAll()
			delete(s.state, sconn)
			s.mu.Unlock()
		}()
	}
	fn(r)
	s.wg.Add(1)
	return true
}

// DropConnections closes every client connection at once, without a
// goodbye, and keeps listening: a jump host that lost its clients.
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops listening, closes every connection and forward, and waits
// for every goroutine. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	for _, r := range s.state {
		r.closeAll()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) allowListen(host string, port uint32) bool {
	if len(s.permitListen) == 0 {
		return isLoopback(host)
	}
	for _, p := range s.permitListen {
		h, pp, _ := net.SplitHostPort(p)
		if h == host && (pp == "*" || pp == strconv.FormatUint(uint64(port), 10)) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type forwardRequest struct {
	BindAddr string
	BindPort uint32
}

type forwardedPayload struct {
	DestAddr   string
	DestPort   uint32
	OriginAddr string
	OriginPort uint32
}

func (s *Server) handleForward(ctx gl.Context, _ *gl.Server, req *gossh.Request) (bool, []byte) {
	var r forwardRequest
	if err := gossh.Unmarshal(req.Payload, &r); err != nil {
		return false, nil
	}
	if !s.allowListen(r.BindAddr, r.BindPort) {
		s.log.Warn("jumphost: forward not permitted", "host", r.BindAddr, "port", r.BindPort)
		return false, nil
	}
	sconn := ctx.Value(gl.ContextKeyConn).(*gossh.ServerConn)
	ln, err := net.Listen("tcp", net.JoinHostPort(r.BindAddr, strconv.FormatUint(uint64(r.BindPort), 10)))
	if err != nil {
		s.log.Warn("jumphost: forward listen failed", "host", r.BindAddr, "port", r.BindPort, "err", err)
		return false, nil
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	key := net.JoinHostPort(r.BindAddr, strconv.FormatUint(uint64(port), 10))
	if !s.register(sconn, func(res *connResources) {
		res.fwds = append(res.fwds, fwdLn{key: key, host: r.BindAddr, port: port, ln: ln})
	}) {
		ln.Close()
		return false, nil
	}
	go s.acceptForward(sconn, ln, r.BindAddr, port)
	s.log.Info("jumphost: forward", "user", ctx.User(), "host", r.BindAddr, "port", port)
	return true, gossh.Marshal(struct{ Port uint32 }{port})
}

func (s *Server) acceptForward(sconn *gossh.ServerConn, ln net.Listener, bindAddr string, port uint32) {
	defer s.wg.Done()
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !s.add(nil) {
			c.Close()
			return
		}
		go func() {
			oa := c.RemoteAddr().(*net.TCPAddr)
			// The address must be the one the client asked for: x/crypto
			// matches forwarded channels to listeners by that string.
			ch, reqs, err := sconn.OpenChannel("forwarded-tcpip", gossh.Marshal(forwardedPayload{
				DestAddr: bindAddr, DestPort: port, OriginAddr: oa.IP.String(), OriginPort: uint32(oa.Port),
			}))
			if err != nil {
				c.Close()
				s.wg.Done()
				return
			}
			s.pipe(sconn, ch, reqs, c) // takes over the count
		}()
	}
}

// OpenForwarded opens a forwarded-tcpip channel for the forward bound on
// port to the client that holds it, as a connection to that port would,
// but connects it to nothing: the caller reads and writes the client's
// end directly and closes it. It lets a test play a jump host that opens
// channels without bound; a refusal is the client's
// *gossh.OpenChannelError, with its reason.
func (s *Server) OpenForwarded(port int) (gossh.Channel, error) {
	s.mu.Lock()
	var sconn *gossh.ServerConn
	var fwd fwdLn
	for c, r := range s.state {
		for _, f := range r.fwds {
			if int(f.port) == port {
				sconn, fwd = c, f
			}
		}
	}
	s.mu.Unlock()
	if sconn == nil {
		return nil, fmt.Errorf("jumphost: no forward on port %d", port)
	}
	ch, reqs, err := sconn.OpenChannel("forwarded-tcpip", gossh.Marshal(forwardedPayload{
		DestAddr: fwd.host, DestPort: fwd.port, OriginAddr: "127.0.0.1", OriginPort: 1,
	}))
	if err != nil {
		return nil, err
	}
	if !s.add(nil) {
		ch.Close()
		return nil, errors.New("jumphost: closed")
	}
	go func() {
		defer s.wg.Done()
		gossh.DiscardRequests(reqs) // until the channel or the connection ends
	}()
	return ch, nil
}

func (s *Server) handleCancel(ctx gl.Context, _ *gl.Server, req *gossh.Request) (bool, []byte) {
	var r forwardRequest
	if err := gossh.Unmarshal(req.Payload, &r); err != nil {
		return false, nil
	}
	sconn := ctx.Value(gl.ContextKeyConn).(*gossh.ServerConn)
	key := net.JoinHostPort(r.BindAddr, strconv.FormatUint(uint64(r.BindPort), 10))
	s.mu.Lock()
	defer s.mu.Unlock()
	res := s.state[sconn]
	if res == nil {
		return false, nil
	}
	for i, f := range res.fwds {
		if f.key == key {
			f.ln.Close()
			res.fwds = append(res.fwds[:i], res.fwds[i+1:]...)
			return true, nil
		}
	}
	return false, nil
}

type directPayload struct {
	Host       string
	Port       uint32
	OriginAddr string
	OriginPort uint32
}

// handleDirect serves direct-tcpip to loopback destinations only: the
// tunnel's self-check and `ssh -J` to a forwarded port.
func (s *Server) handleDirect(_ *gl.Server, sconn *gossh.ServerConn, nc gossh.NewChannel, ctx gl.Context) {
	var d directPayload
	if err := gossh.Unmarshal(nc.ExtraData(), &d); err != nil {
		nc.Reject(gossh.ConnectionFailed, "bad direct-tcpip payload")
		return
	}
	if !isLoopback(d.Host) {
		nc.Reject(gossh.Prohibited, "only loopback destinations")
		return
	}
	if !s.add(nil) {
		nc.Reject(gossh.ConnectionFailed, "shutting down")
		return
	}
	defer s.wg.Done()
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(d.Host, strconv.FormatUint(uint64(d.Port), 10)))
	if err != nil {
		nc.Reject(gossh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		c.Close()
		return
	}
	if !s.add(nil) {
		ch.Close()
		c.Close()
		return
	}
	s.pipe(sconn, ch, reqs, c)
}

// pipe joins a channel and a TCP connection with half-close both ways; it
// owns one count of s.wg.
func (s *Server) pipe(sconn *gossh.ServerConn, ch gossh.Channel, reqs <-chan *gossh.Request, c net.Conn) {
	defer s.wg.Done()
	discarded := make(chan struct{})
	go func() {
		defer close(discarded)
		gossh.DiscardRequests(reqs)
	}()
	defer func() {
		ch.Close()
		c.Close()
		// The request stream ends once the channel is closed both ways.
		<-discarded
	}()
	if !s.register(sconn, func(r *connResources) { r.streams[c] = struct{}{} }) {
		return
	}
	defer func() {
		s.mu.Lock()
		if r := s.state[sconn]; r != nil {
			delete(r.streams, c)
		}
		s.mu.Unlock()
		s.wg.Done() // the count register took
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := io.Copy(ch, c); err != nil {
			ch.Close()
			c.Close()
			return
		}
		ch.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		if _, err := io.Copy(c, ch); err != nil {
			ch.Close()
			c.Close()
			return
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	wg.Wait()
}
