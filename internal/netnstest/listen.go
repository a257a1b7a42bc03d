package netnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// Listen opens a listener inside namespace ns. A socket stays in the
// namespace it was created in, so it can be served from any goroutine.
func Listen(ns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := Do(ns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// ListenPacket is Listen for datagram sockets.
func ListenPacket(ns, network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := Do(ns, func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}

// Recorder is a TCP server that notes the source address of every
// connection, sends an SSH-like banner and hangs up.
type Recorder struct {
	l     net.Listener
	conns chan netip.Addr
	done  chan struct{}
	mu    sync.Mutex // guards srcs
	srcs  []netip.Addr
}

// Record starts a Recorder on addr inside namespace ns.
func Record(ns, addr string) (*Recorder, error) {
	l, err := Listen(ns, "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("netnstest: listen %s in %s: %w", addr, ns, err)
	}
	r := &Recorder{l: l, conns: make(chan netip.Addr, 128), done: make(chan struct{})}
	go r.serve()
	return r, nil
}

func (r *Recorder) serve() {
	defer close(r.done)
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		src := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
		r.mu.Lock()
		r.srcs = append(r.srcs, src)
		r.mu.Unlock()
		select {
		case r.conns <- src:
		default:
		}
		c.Write([]byte("SSH-2.0-netnstest\r\n"))
		c.Close()
	}
}

// Sources returns the source address of every connection so far.
func (r *Recorder) Sources() []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netip.Addr(nil), r.srcs...)
}

// Next waits for the next connection's source address.
func (r *Recorder) Next(ctx context.Context) (netip.Addr, error) {
	select {
	case a := <-r.conns:
		return a, nil
	case <-ctx.Done():
		return netip.Addr{}, ctx.Err()
	}
}

// Close stops the server and waits for it.
func (r *Recorder) Close() error {
	err := r.l.Close()
	<-r.done
	return err
}

// DNSServer answers A queries from a fixed table over UDP and notes each
// query's source address.
type DNSServer struct {
	c    net.PacketConn
	recs map[string]netip.Addr
	done chan struct{}
	mu   sync.Mutex // guards srcs
	srcs []netip.Addr
}

// ServeDNS starts a DNSServer on addr (e.g. "203.0.113.53:53") inside ns.
// Names in recs are fully qualified ("jump.test.").
func ServeDNS(ns, addr string, recs map[string]netip.Addr) (*DNSServer, error) {
	c, err := ListenPacket(ns, "udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("netnstest: dns %s in %s: %w", addr, ns, err)
	}
	s := &DNSServer{c: c, recs: recs, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

func (s *DNSServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.c.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src := from.(*net.UDPAddr).AddrPort().Addr().Unmap()
		s.mu.Lock()
		s.srcs = append(s.srcs, src)
		s.mu.Unlock()
		if resp, err := s.answer(buf[:n]); err == nil {
			s.c.WriteTo(resp, from)
		}
	}
}

func (s *DNSServer) answer(q []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil, err
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil, errors.New("want one question")
	}
	h.Response, h.Authoritative, h.RecursionAvailable = true, true, true
	a, ok := s.recs[qs[0].Name.String()]
	if !ok {
		h.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(qs[0]); err != nil {
		return nil, err
	}
	if ok && qs[0].Type == dnsmessage.TypeA && a.Is4() {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		rh := dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// Sources returns the source address of every query so far.
func (s *DNSServer) Sources() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.Addr(nil), s.srcs...)
}

// Close stops the server and waits for it.
func (s *DNSServer) Close() error {
	err := s.c.Close()
	<-s.done
	return err
}
