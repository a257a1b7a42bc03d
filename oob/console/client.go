package console

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"
)

// outQueue is how many chunks a client may fall behind before it loses
// output: a slow client must never hold up the router.
const outQueue = 256

// lingerOut is how long a leaving client's last output may take.
const lingerOut = 5 * time.Second

type client struct {
	id     int
	conn   net.Conn
	telnet atomic.Bool // it spoke telnet: output 255s are doubled

	// out is what goes to the client. Sent to only with Bridge.mu held
	// and while the client is in Bridge.clients; closed on removal.
	out chan []byte

	// guarded by Bridge.mu:
	hinted      bool // told it is only watching, since the keyboard last moved
	toldDropped bool // told its keystrokes are dropped while the device is gone
	lost        int  // chunks of output it was too slow to take
}

func (c *client) String() string { return fmt.Sprintf("client %d (%s)", c.id, c.conn.RemoteAddr()) }

func (b *Bridge) accept() {
	defer b.wg.Done()
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			select {
			case <-b.done:
				return
			default:
			}
			// Out of descriptors, most likely: wait, never give up the
			// console for good.
			b.log.Warn("console accept", "err", err)
			if !b.sleep(time.Second) {
				return
			}
			continue
		}
		b.add(conn)
	}
}

// add greets a new client, gives it the keyboard if nobody has it, and
// starts its goroutines.
func (b *Bridge) add(conn net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		conn.Close()
		return
	}
	if len(b.clients) >= maxClients {
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write([]byte("oobd console: too many clients\r\n"))
		conn.Close()
		b.log.Warn("console client refused: too many", "remote", conn.RemoteAddr())
		return
	}
	b.nextID++
	c := &client{id: b.nextID, conn: conn, out: make(chan []byte, outQueue)}
	if b.writer == nil {
		b.setWriter(c)
	}
	c.out <- telnetOffer
	c.out <- []byte(b.greeting(c))
	if h := b.lastOutput(); len(h) > 0 {
		c.out <- []byte(fmt.Sprintf("--- the console's last %d bytes ---\r\n", len(h)))
		c.out <- h
	}
	b.clients[c] = struct{}{}
	b.log.Info("console client connected", "client", c.String(), "keyboard", b.writer == c)
	b.wg.Add(2)
	go b.serveOut(c)
	go b.serveIn(c)
}

// serveOut writes c's queue to it, and closes the connection at the end.
func (b *Bridge) serveOut(c *client) {
	defer b.wg.Done()
	defer c.conn.Close()
	for p := range c.out {
		if _, err := c.conn.Write(p); err != nil {
			c.conn.Close() // serveIn sees it, removes c and closes out
		}
	}
}

// serveIn reads what c types and acts on it until c leaves.
func (b *Bridge) serveIn(c *client) {
	defer b.wg.Done()
	defer b.remove(c)
	in := newInput()
	buf := make([]byte, 1024)
	for {
		n, err := c.conn.Read(buf)
		evs, reply := in.feed(buf[:n])
		if in.telnet {
			c.telnet.Store(true)
		}
		if len(reply) > 0 {
			b.mu.Lock()
			b.send(c, reply)
			b.mu.Unlock()
		}
		for _, ev := range evs {
			switch ev.act {
			case actData:
				b.typed(c, ev.data)
			case actTake:
				b.take(c)
			case actBreak:
				b.breakFrom(c)
			case actHelp:
				b.mu.Lock()
				b.send(c, []byte("\r\n"+b.status(c)))
				b.mu.Unlock()
			case actQuit:
				b.mu.Lock()
				b.send(c, []byte("\r\n[oobd: bye]\r\n"))
				b.mu.Unlock()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// remove forgets c; a keyboard it held is free.
func (b *Bridge) remove(c *client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.clients, c)
	close(c.out)
	// What is still queued gets a moment to go out; a client that does
	// not read must not hold serveOut, and Close, for ever.
	c.conn.SetWriteDeadline(time.Now().Add(lingerOut))
	b.log.Info("console client left", "client", c.String())
	if b.writer == c {
		b.setWriter(nil)
		b.tellAll(fmt.Sprintf("%s left: the keyboard is free, type to take it", c))
	}
}

// typed sends what c typed to the router, if c has the keyboard or takes
// a free one.
func (b *Bridge) typed(c *client, data []byte) {
	b.mu.Lock()
	if !b.keyboard(c) {
		b.mu.Unlock()
		return
	}
	p := b.port
	if p == nil && !c.toldDropped {
		c.toldDropped = true
		b.tell(c, "the console device is not open: keystrokes dropped until it is back")
	}
	b.mu.Unlock()
	if p != nil {
		b.writeDevice(p, data)
	}
}

// keyboard reports whether c may type now: it has the keyboard, or takes
// it because nobody has. It counts as input for the idle timeout. Called
// with mu held.
func (b *Bridge) keyboard(c *client) bool {
	switch b.writer {
	case c:
		b.lastInput = b.clock.Now()
		return true
	case nil:
		b.setWriter(c)
		b.tell(c, "you have the keyboard")
		return true
	}
	if !c.hinted {
		c.hinted = true
		b.tell(c, fmt.Sprintf("watching only: %s has the keyboard; Ctrl-^ t takes it over", b.writer))
	}
	return false
}

// take gives c the keyboard and tells whoever had it.
func (b *Bridge) take(c *client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := b.writer
	if prev == c {
		b.lastInput = b.clock.Now()
		b.tell(c, "you have the keyboard already")
		return
	}
	b.setWriter(c)
	b.tell(c, "you have the keyboard")
	if prev != nil {
		b.tell(prev, fmt.Sprintf("%s took the keyboard over; you are watching (Ctrl-^ t takes it back)", c))
		b.log.Info("console keyboard taken over", "client", c.String(), "from", prev.String())
	}
}

// breakFrom sends a BREAK for c, if c may type.
func (b *Bridge) breakFrom(c *client) {
	b.mu.Lock()
	if !b.keyboard(c) {
		b.mu.Unlock()
		return
	}
	p := b.port
	b.mu.Unlock()
	err := errNotOpen
	if p != nil {
		err = b.sendBreak(p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.tell(c, fmt.Sprintf("no BREAK: %v", err))
		b.log.Warn("console BREAK", "client", c.String(), "err", err)
		return
	}
	b.tellAll(fmt.Sprintf("%s sent a BREAK", c))
	b.log.Info("console BREAK sent", "client", c.String())
}

// setWriter gives the keyboard to c (nil: nobody) and starts its idle
// timer. Called with mu held.
func (b *Bridge) setWriter(c *client) {
	b.writer = c
	b.lastInput = b.clock.Now()
	for o := range b.clients {
		o.hinted = false
	}
	b.idleGen++
	if b.idleTimer != nil {
		b.idleTimer.Stop()
		b.idleTimer = nil
	}
	if c != nil && b.cfg.IdleTimeout > 0 {
		b.armIdle(b.cfg.IdleTimeout)
	}
}

// armIdle checks the writer's idleness after d. Called with mu held.
func (b *Bridge) armIdle(d time.Duration) {
	gen := b.idleGen
	b.idleTimer = b.clock.AfterFunc(d, func() { b.checkIdle(gen) })
}

// checkIdle frees the keyboard if its holder has not typed for
// IdleTimeout, or looks again when it could have been.
func (b *Bridge) checkIdle(gen int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.writer
	if gen != b.idleGen || c == nil || b.closed {
		return // the keyboard moved since this timer was set
	}
	idle := b.clock.Now().Sub(b.lastInput)
	if left := b.cfg.IdleTimeout - idle; left > 0 {
		b.armIdle(left)
		return
	}
	b.setWriter(nil)
	b.tell(c, fmt.Sprintf("no input for %s: the keyboard is free; type or Ctrl-^ t to take it back", short(b.cfg.IdleTimeout)))
	for o := range b.clients {
		if o != c {
			b.tell(o, fmt.Sprintf("%s was idle for %s: the keyboard is free, type to take it", c, short(b.cfg.IdleTimeout)))
		}
	}
	b.log.Info("console keyboard freed: idle", "client", c.String(), "idle", idle)
}

// tell sends c a notice on a line of its own. Called with mu held.
func (b *Bridge) tell(c *client, msg string) {
	b.send(c, []byte("\r\n[oobd: "+msg+"]\r\n"))
}

// tellAll tells every client. Called with mu held.
func (b *Bridge) tellAll(msg string) {
	for c := range b.clients {
		b.tell(c, msg)
	}
}

// send queues p for c, or drops it if c is not keeping up. Called with
// mu held.
func (b *Bridge) send(c *client, p []byte) {
	if _, ok := b.clients[c]; !ok {
		return
	}
	select {
	case c.out <- p:
	default:
		if c.lost == 0 {
			b.log.Warn("console client too slow: output lost", "client", c.String())
		}
		c.lost++
	}
}

// greeting is the first thing a client sees. Called with mu held.
func (b *Bridge) greeting(c *client) string {
	return fmt.Sprintf("oobd console: %s at %d baud. You are %s.\r\n", b.cfg.Device, b.cfg.Baud, c) + b.status(c)
}

// status says where the device and the keyboard are, and lists the keys.
// Called with mu held.
func (b *Bridge) status(c *client) string {
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\r\n", args...) }
	if b.state.Open {
		line("Device:   open since %s.", b.state.Since.Format("2006-01-02 15:04:05 MST"))
	} else {
		line("Device:   NOT OPEN (%s); re-opening.", b.state.Err)
	}
	switch b.writer {
	case c:
		line("Keyboard: yours.")
	case nil:
		line("Keyboard: free; type to take it.")
	default:
		line("Keyboard: %s has it; you are watching.", b.writer)
	}
	if b.cfg.IdleTimeout > 0 {
		line("          An idle keyboard is freed after %s.", short(b.cfg.IdleTimeout))
	}
	line("Keys:     Ctrl-^ is Ctrl-Shift-6 (or Ctrl-6), then:")
	line("          t       take the keyboard")
	line("          b       send a BREAK to the router")
	line("          ?       this help")
	line("          .       disconnect")
	line("          Ctrl-^  send Ctrl-^ itself (any other key: both go to the router)")
	return s.String()
}

// short prints 30m0s as 30m and 1h0m0s as 1h.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
