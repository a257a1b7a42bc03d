package tunnel_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/tunnel"
	"golang.org/x/crypto/ssh"
)

// slotWatch follows a forward's count of open forwarded connections
// through the tunnel's hook.
type slotWatch struct{ ch chan int }

func newSlotWatch() *slotWatch { return &slotWatch{ch: make(chan int, 1024)} }

func (w *slotWatch) hook(_, open int) { w.ch <- open }

// drain forgets the changes so far: call it before what should change
// the count.
func (w *slotWatch) drain() {
	for {
		select {
		case <-w.ch:
		default:
			return
		}
	}
}

// until waits for the count to reach n (after the last drain).
func (w *slotWatch) until(t *testing.T, n int) {
	t.Helper()
	timer := time.NewTimer(waitBound)
	defer timer.Stop()
	for {
		select {
		case open := <-w.ch:
			if open == n {
				return
			}
		case <-timer.C:
			t.Fatalf("the forward never had %d connections open", n)
		}
	}
}

// readBanner reads the local target's greeting through a forwarded
// connection.
func readBanner(r io.Reader) error {
	b := make([]byte, len("SSH-2.0-"))
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	if string(b) != "SSH-2.0-" {
		return fmt.Errorf("read %q, want a banner", b)
	}
	return nil
}

// TestChannelLimit: a jump host that opens forwarded channels without
// bound gets MaxChannelsPerForward of them at once; the next ones are
// refused with SSH_OPEN_RESOURCE_SHORTAGE and counted, and once one
// closes, another is let through.
func TestChannelLimit(t *testing.T) {
	target := startServer(t, bannerThenEcho) // holds every connection
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: target.Addr()})
	slots := newSlotWatch()
	tun := startTunnel(t, cfg, tunnel.WithChannelHook(slots.hook))
	port := tun.Forwards()[0].BoundPort

	var held []ssh.Channel
	defer func() {
		for _, ch := range held {
			ch.Close()
		}
	}()
	for i := range tunnel.MaxChannelsPerForward {
		ch, err := jh.OpenForwarded(port)
		if err != nil {
			t.Fatalf("channel %d of %d refused: %v", i+1, tunnel.MaxChannelsPerForward, err)
		}
		held = append(held, ch)
		if err := readBanner(ch); err != nil {
			t.Fatalf("channel %d: %v", i+1, err)
		}
	}
	_, err := jh.OpenForwarded(port)
	var oce *ssh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != ssh.ResourceShortage {
		t.Fatalf("channel %d: %v, want a refusal for resource shortage", tunnel.MaxChannelsPerForward+1, err)
	}
	// What the owner sees at the jump host: the connection is closed.
	c := jumpSide(t, port)
	c.SetDeadline(time.Now().Add(waitBound))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("a connection past the limit read %d bytes, %v; want EOF", n, err)
	}
	c.Close()
	want := tunnel.ChannelStats{Forward: cfg.Forwards[0], Open: tunnel.MaxChannelsPerForward,
		Accepted: tunnel.MaxChannelsPerForward, Refused: 2}
	if got := tun.Status().Channels; len(got) != 1 || got[0] != want {
		t.Fatalf("channel stats %+v, want %+v", got, want)
	}

	// One closes; its slot frees, and the next is let through.
	slots.drain()
	held[0].Close()
	held = held[1:]
	slots.until(t, tunnel.MaxChannelsPerForward-1)
	ch, err := jh.OpenForwarded(port)
	if err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	held = append(held, ch)
	if err := readBanner(ch); err != nil {
		t.Fatal(err)
	}
	if st := tun.Status().Channels[0]; st.Open != tunnel.MaxChannelsPerForward || st.Accepted != tunnel.MaxChannelsPerForward+1 || st.Refused != 2 {
		t.Fatalf("channel stats %+v", st)
	}
}

// TestChannelLimitSelfCheck: a forward that is full fails the self-check,
// which says so.
func TestChannelLimitSelfCheck(t *testing.T) {
	target := startServer(t, bannerThenEcho)
	jh, cfg := inProcess(t, tunnel.Forward{Remote: "localhost:0", Local: target.Addr()})
	tun := startTunnel(t, cfg)
	port := tun.Forwards()[0].BoundPort
	for range tunnel.MaxChannelsPerForward {
		ch, err := jh.OpenForwarded(port)
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		if err := readBanner(ch); err != nil {
			t.Fatal(err)
		}
	}
	_, err := tun.SelfCheck(t.Context())
	sce, ok := asError[*tunnel.SelfCheckError](err)
	if !ok || sce.Step != tunnel.StepRead || !strings.Contains(err.Error(), strconv.Itoa(tunnel.MaxChannelsPerForward)+" connections, its limit") {
		t.Fatalf("self-check of a full forward: %v", err)
	}
	t.Log(err)
}

// TestOpenSSHChannelLimit: 17 connections at once to the forwarded port
// on a real sshd, while the local target holds each open: 16 get through,
// one is refused (sshd logs the RFC 4254 reason), and after two close, two
// more get through.
func TestOpenSSHChannelLimit(t *testing.T) {
	jump, port := startJump(t, restricted)
	box := startServer(t, bannerThenEcho)
	slots := newSlotWatch()
	tun := startTunnel(t, jump.config(t, tunnel.Forward{Remote: fmt.Sprintf("localhost:%d", port), Local: box.Addr()}),
		tunnel.WithChannelHook(slots.hook))

	type result struct {
		c   net.Conn
		err error
	}
	connect := func(results chan<- result) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), waitBound)
		if err == nil {
			c.SetDeadline(time.Now().Add(waitBound))
			err = readBanner(c)
			c.SetDeadline(time.Time{})
		}
		results <- result{c, err}
	}
	n := tunnel.MaxChannelsPerForward + 1
	results := make(chan result, n)
	for range n {
		go connect(results)
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	refused := 0
	for range n {
		r := <-results
		switch {
		case r.err == nil:
			held = append(held, r.c)
		case errors.Is(r.err, io.EOF) || errors.Is(r.err, io.ErrUnexpectedEOF):
			refused++
			r.c.Close()
		default:
			t.Fatalf("connection to the forwarded port: %v", r.err)
		}
	}
	if len(held) != tunnel.MaxChannelsPerForward || refused != 1 {
		t.Fatalf("%d connections got through and %d were refused; want %d and 1", len(held), refused, tunnel.MaxChannelsPerForward)
	}
	if !jump.sshd.WaitLog(t.Context(), "open failed: resource shortage") {
		t.Fatalf("sshd did not log the refusal's reason:\n%s", jump.sshd.LogTail(20))
	}
	if st := tun.Status().Channels[0]; st.Open != tunnel.MaxChannelsPerForward || st.Refused != 1 {
		t.Fatalf("channel stats %+v", st)
	}

	slots.drain()
	for _, c := range held[:2] {
		c.Close()
	}
	held = held[2:]
	slots.until(t, tunnel.MaxChannelsPerForward-2)
	for range 2 {
		go connect(results)
	}
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("after two closed: %v", r.err)
		}
		held = append(held, r.c)
	}
	if st := tun.Status().Channels[0]; st.Open != tunnel.MaxChannelsPerForward || st.Refused != 1 {
		t.Fatalf("channel stats %+v", st)
	}
}
