// Package modemsim simulates a Huawei E1752-class USB modem on a
// pseudo-terminal: the AT dialect (3GPP TS 27.007/27.005 and the Huawei
// extensions a client meets), SIM storage of SMS in PDU and text mode, a
// SIM PIN, and the quirks of real modems (unsolicited lines inside replies,
// slow replies, a hung modem, garbage, resets), each behind a knob that can
// be turned while it runs.
//
// It is a tool, not a test double: a client opens Path() like any serial
// port, and `oobd modem simulate` drives one by hand. Where things live:
// pty.go is the line (pty plumbing, client open/close), atparse.go splits
// command lines, commands.go is the command table (one handler per AT
// command), answer.go writes replies (echo, noise, delay, errors, the
// +CMGS prompt, data mode), pdu.go builds and decodes PDUs, control.go is
// the text command language of `oobd modem simulate`.
//
// Behaviour worth knowing:
//   - Storage indexes start at 0, as on Huawei modems; only "SM" storage.
//   - Settings (echo, +CMEE, +CMGF, +CNMI, ^CURC) survive a client's
//     close and re-open, as on a real modem; ATZ, AT&F, +CFUN=1,1 and
//     Reset restore the power-on profile: echo on, +CMEE=0, PDU mode,
//     no indications. A reset also asks for the SIM PIN again.
//   - +CMGR of an empty slot answers just OK; an index outside storage is
//     +CMS ERROR: 321. +CMGD of an empty slot is OK.
//   - +CNMI accepts mt 0 and 1 (stored, "+CMTI"); direct delivery (+CMT,
//     mt 2 and 3) is +CMS ERROR: 303.
//   - ATD*99# (or *99***<cid>#) answers CONNECT when registered and then
//     swallows bytes as a data call until "+++" (no guard time), which
//     answers OK; closing the port also ends the call. PPP is not simulated.
//   - ^CURC=0 silences the Huawei (^) noise lines, as on the real modem.
//   - While the port is closed, output is lost (URCs included); what a
//     client left unread is flushed when the simulator sees the hang-up.
package modemsim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/oobd/oobd/internal/gsmtables"
)

// Identity is what the modem and its SIM say about themselves.
type Identity struct {
	Manufacturer string // +CGMI
	Model        string // +CGMM
	Revision     string // +CGMR
	IMEI         string // +CGSN
	IMSI         string // +CIMI
	ICCID        string // +CCID, ^ICCID
	// Number is the SIM's own number (+CNUM), E.164. A text sent to it
	// comes back, as the network delivers it.
	Number string
}

// DefaultIdentity is a Huawei E1752 with a Swedish SIM.
var DefaultIdentity = Identity{
	Manufacturer: "huawei",
	Model:        "E1752",
	Revision:     "11.126.03.00.00",
	IMEI:         "353142030123456",
	IMSI:         "240011234567890",
	ICCID:        "89460100001234567890",
	Number:       "+46709876543",
}

// Sent is a message a client sent with +CMGS, reassembled from its parts.
type Sent struct {
	To    string // as addressed: "+" and the digits when international
	Text  string // decoded text (empty for 8-bit data)
	Data  []byte // user data of an 8-bit message
	Parts int
	PDUs  [][]byte // the SMS-SUBMIT TPDUs, in part order, without SMSC
	At    time.Time
}

// ErrStorageFull is returned (wrapped) by Deliver when parts were dropped
// because the SIM had no free slot.
var ErrStorageFull = errors.New("modemsim: SIM storage full")

// Option configures New.
type Option func(*config)

type config struct {
	capacity  int
	pin, puk  string
	identity  Identity
	operator  string
	plmn      string
	smsc      string
	csq       int
	reg       int
	bootQuiet time.Duration
	logger    *slog.Logger
	without   []string
	noURC     map[string]bool
	queue     bool
	noNumber  bool
	iccidOpen bool
}

// WithCapacity sets how many messages the SIM holds (default 30).
func WithCapacity(n int) Option { return func(c *config) { c.capacity = n } }

// WithPIN locks the SIM with pin: it must be given with +CPIN after every
// power-on or reset. Three wrong tries lock it with the PUK.
func WithPIN(pin string) Option { return func(c *config) { c.pin = pin } }

// WithPUK sets the PUK that unblocks the SIM (default "12345678").
func WithPUK(puk string) Option { return func(c *config) { c.puk = puk } }

// WithIdentity sets the modem's and SIM's identity; empty fields keep
// DefaultIdentity's.
func WithIdentity(id Identity) Option { return func(c *config) { c.identity = id } }

// WithOperator sets the network's name and its MCC+MNC (default "Telia",
// "24001").
func WithOperator(name, plmn string) Option {
	return func(c *config) { c.operator, c.plmn = name, plmn }
}

// WithSMSC sets the service-centre number (+CSCA), default "+46705008999".
func WithSMSC(number string) Option { return func(c *config) { c.smsc = number } }

// WithBootQuiet sets how long the modem says nothing after a reset
// (default 300ms).
func WithBootQuiet(d time.Duration) Option { return func(c *config) { c.bootQuiet = d } }

// WithoutCommands makes the modem answer ERROR to the named commands
// ("^CPIN", "+CPINR", "+CCID"…), as models that lack them do: e.g. a
// modem that cannot tell how many PIN tries are left.
func WithoutCommands(names ...string) Option {
	return func(c *config) { c.without = append(c.without, names...) }
}

// WithoutURCs makes a modem that never sends the named unsolicited lines:
// "^RSSI" (a modem that is not a Huawei), "+CREG" (+CREG=1 and =2 are
// refused, so registration must be polled).
func WithoutURCs(prefixes ...string) Option {
	return func(c *config) {
		if c.noURC == nil {
			c.noURC = map[string]bool{}
		}
		for _, p := range prefixes {
			c.noURC[strings.ToUpper(p)] = true
		}
	}
}

// WithICCIDWhileLocked makes a SIM that gives its ICCID (+CCID, ^ICCID)
// while it waits for its PIN or PUK, as most do (EF_ICCID needs no PIN);
// without it they answer +CME ERROR: SIM PIN required.
func WithICCIDWhileLocked() Option { return func(c *config) { c.iccidOpen = true } }

// WithoutOwnNumber makes a SIM that does not store its own number: +CNUM
// answers nothing, as on many prepaid SIMs.
func WithoutOwnNumber() Option { return func(c *config) { c.noNumber = true } }

// WithNetworkQueue makes texts that find the SIM full wait in the network
// and arrive (with their +CMTI) as slots are freed, as a real network
// retries delivery; without it they are dropped.
func WithNetworkQueue() Option { return func(c *config) { c.queue = true } }

// WithLogger logs what the simulator does (default: nothing).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// slot is one SIM storage place.
type slot struct {
	used bool
	stat int // 0 REC UNREAD, 1 REC READ, 2 STO UNSENT, 3 STO SENT
	pdu  []byte
}

// settings is what the modem forgets on ATZ, power-on and reset.
type settings struct {
	echo     bool
	cmee     int
	cmgf     int
	cnmiMode int
	cnmiMT   int
	curc     int
	cregN    int
	cgregN   int
	copsFmt  int
	csms     int
}

func powerOn() settings {
	return settings{echo: true, curc: 1}
}

// mode is what the line is doing with the bytes it gets.
type mode int

const (
	modeCommand mode = iota
	modePrompt       // after +CMGS: collecting a PDU or text until Ctrl-Z
	modeData         // after ATD*99#: a data call until "+++"
)

// Simulator is a simulated modem on a pseudo-terminal.
type Simulator struct {
	line *line
	log  *slog.Logger
	cfg  config

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu sync.Mutex // guards everything below
	settings
	slots      []slot
	dropped    int
	identity   Identity
	csq        int
	reg        int
	operator   string
	plmn       string
	smsc       string
	cfun       int
	simState   simState
	pinLeft    int
	pukLeft    int
	pin        string
	noise      bool
	noiseNext  int
	delay      time.Duration
	silent     bool
	bootUntil  time.Time
	closing    bool     // Close has begun: start no goroutines
	busy       bool     // a command is being answered
	pending    []string // URCs held back while busy
	concatRef  int
	mr         int
	sent       []Sent
	sentWake   chan struct{} // closed and replaced when sent changes
	hangups    int           // times a client closed the port
	hangupWake chan struct{} // closed and replaced on each hang-up
	asm        assembler
	received   []string // every command received, as atCmd.String shows it
	queued     [][]byte // parts the network holds while the SIM is full
	cgdcont    map[int]string
	cmds       map[string]handler
	// line state, used only by the serve goroutine (and reset under mu)
	mode      mode
	buf       []byte
	prompt    promptState
	plusCount int
}

// promptState is the +CMGS waiting for its body.
type promptState struct {
	text bool   // text mode: body is text, da is the number
	da   string // text mode destination
	n    int    // PDU mode: TPDU length announced
}

type simState int

const (
	simReady simState = iota
	simPIN
	simPUK
)

// New starts a simulated modem on a new pseudo-terminal.
func New(opts ...Option) (*Simulator, error) {
	gsmtables.Ready() // the SMS library's tables, before goroutines share them
	cfg := config{
		capacity:  30,
		puk:       "12345678",
		identity:  DefaultIdentity,
		operator:  "Telia",
		plmn:      "24001",
		smsc:      "+46705008999",
		csq:       17,
		reg:       1,
		bootQuiet: 300 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.capacity < 1 || cfg.capacity > 255 {
		return nil, fmt.Errorf("modemsim: capacity %d: want 1 to 255", cfg.capacity)
	}
	if cfg.pin != "" && !validPIN(cfg.pin) {
		return nil, fmt.Errorf("modemsim: PIN %q: want 4 to 8 digits", "****")
	}
	cfg.identity = mergeIdentity(cfg.identity)
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l, err := openLine()
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		line:       l,
		log:        cfg.logger,
		cfg:        cfg,
		done:       make(chan struct{}),
		settings:   powerOn(),
		slots:      make([]slot, cfg.capacity),
		identity:   cfg.identity,
		csq:        cfg.csq,
		reg:        cfg.reg,
		operator:   cfg.operator,
		plmn:       cfg.plmn,
		smsc:       cfg.smsc,
		cfun:       1,
		pin:        cfg.pin,
		pinLeft:    3,
		pukLeft:    10,
		sentWake:   make(chan struct{}),
		hangupWake: make(chan struct{}),
		cgdcont:    map[int]string{},
		cmds:       commandTable(),
	}
	if s.pin != "" {
		s.simState = simPIN
	}
	if cfg.iccidOpen {
		for _, n := range []string{"+CCID", "^ICCID"} {
			h := s.cmds[n]
			h.sim = false
			s.cmds[n] = h
		}
	}
	for _, n := range cfg.without {
		delete(s.cmds, strings.ToUpper(n))
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func mergeIdentity(id Identity) Identity {
	d := DefaultIdentity
	for _, f := range []struct{ dst, src *string }{
		{&d.Manufacturer, &id.Manufacturer}, {&d.Model, &id.Model}, {&d.Revision, &id.Revision},
		{&d.IMEI, &id.IMEI}, {&d.IMSI, &id.IMSI}, {&d.ICCID, &id.ICCID}, {&d.Number, &id.Number},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return d
}

func validPIN(p string) bool { return len(p) >= 4 && len(p) <= 8 && isDigits(p) }

// Path is the pty slave: what a client opens as its serial port.
func (s *Simulator) Path() string { return s.line.path }

// Close stops the simulator and closes the pty. It is idempotent and waits
// for its goroutines.
func (s *Simulator) Close() error {
	var err error
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		close(s.done)
		err = s.line.close()
		s.wg.Wait()
		if errors.Is(err, os.ErrClosed) {
			err = nil
		}
	})
	return err
}

// serve reads the line and answers, until Close.
func (s *Simulator) serve() {
	defer s.wg.Done()
	b := make([]byte, 512)
	hungUp := false
	for {
		n, err := s.line.read(b)
		if n > 0 {
			hungUp = false
			s.feed(b[:n])
		}
		switch {
		case err == nil:
		case errors.Is(err, errHangup):
			if !hungUp {
				hungUp = true
				s.hangup()
			}
			select {
			case <-s.done:
				return
			case <-time.After(hangupPoll):
			}
		default:
			select {
			case <-s.done:
			default:
				s.log.Error("modemsim: read", "err", err)
			}
			return
		}
	}
}

// hangup is the client closing the port: a call drops, a half-typed
// command or message is lost, unread output is discarded (as a tty driver
// does on last close). A client that re-opens before the simulator has
// noticed the hang-up (within hangupPoll) may still read the previous
// client's unread output, as with a real modem's buffered bytes: clients
// drain the line after opening it.
func (s *Simulator) hangup() {
	s.line.flushStale()
	s.mu.Lock()
	s.mode, s.buf, s.plusCount = modeCommand, s.buf[:0], 0
	s.pending = nil // URCs for a port nobody has open are lost
	s.hangups++
	close(s.hangupWake)
	s.hangupWake = make(chan struct{})
	s.mu.Unlock()
	s.log.Debug("modemsim: client closed the port")
}

// Stored returns the occupied storage indexes.
func (s *Simulator) Stored() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for i, sl := range s.slots {
		if sl.used {
			out = append(out, i)
		}
	}
	return out
}

// StoredPDU returns the TPDU stored at index and its 27.005 status
// (0 unread, 1 read), or ok false for an empty slot.
func (s *Simulator) StoredPDU(index int) (pdu []byte, stat int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < 0 || index >= len(s.slots) || !s.slots[index].used {
		return nil, 0, false
	}
	return append([]byte(nil), s.slots[index].pdu...), s.slots[index].stat, true
}

// Dropped is how many parts arrived while storage was full.
func (s *Simulator) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Sent returns the messages clients sent, in order.
func (s *Simulator) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// WaitSent waits until at least n messages have been sent, and returns
// them all.
func (s *Simulator) WaitSent(ctx context.Context, n int) ([]Sent, error) {
	for {
		s.mu.Lock()
		if len(s.sent) >= n {
			out := append([]Sent(nil), s.sent...)
			s.mu.Unlock()
			return out, nil
		}
		wake := s.sentWake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-s.done:
			return nil, errors.New("modemsim: closed")
		case <-ctx.Done():
			return nil, fmt.Errorf("modemsim: waiting for %d sent: %w", n, ctx.Err())
		}
	}
}

func (s *Simulator) addSentLocked(m Sent) {
	s.sent = append(s.sent, m)
	close(s.sentWake)
	s.sentWake = make(chan struct{})
}

// DeliverOption adjusts one Deliver.
type DeliverOption func(*deliverConfig)

type deliverConfig struct {
	scts    time.Time
	ton     int
	order   []int
	without []int
	ref16   bool
	ucs2    bool
	ref     int
}

// WithSCTS sets the service-centre timestamp (default now, local zone).
func WithSCTS(t time.Time) DeliverOption { return func(c *deliverConfig) { c.scts = t } }

// WithTON sets the sender's type of number (TONInternational, ...). By
// default "+digits" is international, digits national, anything else
// alphanumeric.
func WithTON(ton int) DeliverOption { return func(c *deliverConfig) { c.ton = ton } }

// WithPartOrder stores a multipart message's parts in this order
// (1-based part numbers, a permutation).
func WithPartOrder(order []int) DeliverOption {
	return func(c *deliverConfig) { c.order = append([]int(nil), order...) }
}

// WithoutParts leaves these parts (1-based) out: an incomplete message.
func WithoutParts(parts ...int) DeliverOption {
	return func(c *deliverConfig) { c.without = append([]int(nil), parts...) }
}

// With16BitRef uses 16-bit concatenation references (IE 0x08) instead of
// 8-bit ones (IE 0x00).
func With16BitRef() DeliverOption { return func(c *deliverConfig) { c.ref16 = true } }

// AsUCS2 encodes the text as UCS-2 even when GSM 7-bit would do.
func AsUCS2() DeliverOption { return func(c *deliverConfig) { c.ucs2 = true } }

// WithConcatRef sets the concatenation reference (default: the next of a
// counter), e.g. to make two messages collide.
func WithConcatRef(ref int) DeliverOption { return func(c *deliverConfig) { c.ref = ref } }

// Deliver has the network deliver a text from a sender: it is encoded as
// SMS-DELIVER PDU(s) (GSM 7-bit, or UCS-2 when needed; concatenated when
// long), stored in free slots (parts that find storage full are dropped,
// as on a real SIM), and "+CMTI" is emitted per stored part when +CNMI asks
// for it. It returns the storage indexes used, and an error wrapping
// ErrStorageFull when parts were dropped.
func (s *Simulator) Deliver(from, text string, opts ...DeliverOption) ([]int, error) {
	return s.deliver(from, text, nil, opts)
}

// DeliverData delivers 8-bit data (DCS 8-bit), concatenated when long.
func (s *Simulator) DeliverData(from string, data []byte, opts ...DeliverOption) ([]int, error) {
	if data == nil {
		data = []byte{}
	}
	return s.deliver(from, "", data, opts)
}

func (s *Simulator) deliver(from, text string, data []byte, opts []DeliverOption) ([]int, error) {
	cfg := deliverConfig{ton: -1, ref: -1}
	for _, o := range opts {
		o(&cfg)
	}
	s.mu.Lock()
	ref := cfg.ref
	if ref < 0 {
		s.concatRef++
		ref = s.concatRef
		if !cfg.ref16 {
			ref %= 256
		}
	}
	s.mu.Unlock()
	pdus, err := buildDeliver(from, text, data, ref, cfg)
	if err != nil {
		return nil, err
	}
	order, err := partOrder(len(pdus), cfg)
	if err != nil {
		return nil, err
	}
	store := make([][]byte, len(order))
	for i, p := range order {
		store[i] = pdus[p]
	}
	return s.store(store)
}

// DeliverPDU stores one SMS-DELIVER TPDU as given (no SMSC prefix), e.g.
// one built by hand to test a decoder. It returns the storage index.
func (s *Simulator) DeliverPDU(tpdu []byte) (int, error) {
	if _, err := deliverText(tpdu); err != nil {
		return -1, fmt.Errorf("modemsim: deliver PDU: %w", err)
	}
	idx, err := s.store([][]byte{append([]byte(nil), tpdu...)})
	if err != nil {
		return -1, err
	}
	return idx[0], nil
}

func (s *Simulator) store(pdus [][]byte) ([]int, error) {
	var idx []int
	var urcs []string
	dropped := 0
	s.mu.Lock()
	for _, p := range pdus {
		i := s.freeSlotLocked()
		switch {
		case i < 0 && s.cfg.queue:
			s.queued = append(s.queued, p)
			continue
		case i < 0:
			s.dropped++
			dropped++
			continue
		}
		idx = append(idx, i)
		urcs = append(urcs, s.putLocked(i, p)...)
	}
	s.mu.Unlock()
	s.urc(urcs...)
	s.log.Info("modemsim: delivered", "parts", len(pdus), "indexes", idx, "dropped", dropped)
	if dropped > 0 {
		return idx, fmt.Errorf("%w: %d of %d parts dropped", ErrStorageFull, dropped, len(pdus))
	}
	return idx, nil
}

// putLocked stores p in slot i and returns its +CMTI, if asked for.
func (s *Simulator) putLocked(i int, p []byte) []string {
	s.slots[i] = slot{used: true, stat: 0, pdu: p}
	if s.cnmiMode > 0 && s.cnmiMT == 1 {
		return []string{fmt.Sprintf(`+CMTI: "SM",%d`, i)}
	}
	return nil
}

// deliverQueuedLocked stores what the network held, as slots allow, and
// returns the +CMTIs to send.
func (s *Simulator) deliverQueuedLocked() []string {
	var urcs []string
	for len(s.queued) > 0 {
		i := s.freeSlotLocked()
		if i < 0 {
			break
		}
		urcs = append(urcs, s.putLocked(i, s.queued[0])...)
		s.queued = s.queued[1:]
	}
	return urcs
}

// Queued is how many parts the network holds for a full SIM
// (WithNetworkQueue).
func (s *Simulator) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued)
}

func (s *Simulator) freeSlotLocked() int {
	for i := range s.slots {
		if !s.slots[i].used {
			return i
		}
	}
	return -1
}

// maxPending bounds the URCs held back (a long data call with many
// deliveries); a real modem's buffer overflows too.
const maxPending = 64

// urc emits unsolicited lines now, or after the reply being written.
func (s *Simulator) urc(lines ...string) {
	if len(lines) == 0 {
		return
	}
	s.mu.Lock()
	if s.busy || s.mode != modeCommand || s.quietLocked() {
		if !s.silent && len(s.pending) < maxPending {
			s.pending = append(s.pending, lines...)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.writeLines(lines...)
}

func (s *Simulator) quietLocked() bool {
	return s.silent || time.Now().Before(s.bootUntil)
}

// takePendingLocked returns the held-back URCs.
func (s *Simulator) takePendingLocked() []string {
	p := s.pending
	s.pending = nil
	return p
}

func (s *Simulator) writeLines(lines ...string) {
	var b []byte
	for _, l := range lines {
		b = append(b, "\r\n"...)
		b = append(b, l...)
		b = append(b, "\r\n"...)
	}
	s.line.write(b)
}

// SetNoise turns unsolicited noise on or off: URCs (^RSSI, ^MODE, ^SRVST,
// +CREG, ^BOOT) between a command's echo and its reply, and between the
// entries of multi-line replies. ^CURC=0 silences the Huawei (^) ones, as
// on the real modem.
func (s *Simulator) SetNoise(on bool) { s.mu.Lock(); s.noise = on; s.mu.Unlock() }

// SetDelay delays every final result code by d: a slow modem.
func (s *Simulator) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetSilent makes the modem read everything and answer nothing (a hung
// modem) until turned off. Messages delivered meanwhile are stored, their
// URCs lost.
func (s *Simulator) SetSilent(on bool) {
	s.mu.Lock()
	s.silent = on
	if on {
		s.pending = nil
	}
	s.mu.Unlock()
}

// InjectGarbage writes raw bytes on the line, as a glitching modem does.
func (s *Simulator) InjectGarbage(b []byte) { s.line.write(b) }

// Reset is AT+CFUN=1,1 or a power cycle: the line goes quiet for a moment
// (input is lost), then boot noise; settings return to power-on, the SIM
// asks for its PIN again. Storage survives (it is on the SIM).
func (s *Simulator) Reset() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.resetLocked()
	quiet := s.cfg.bootQuiet
	// Added under mu, before Close can start waiting.
	s.wg.Add(1)
	s.mu.Unlock()
	s.log.Info("modemsim: reset")
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(quiet)
		defer t.Stop()
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		silent := s.silent
		csq := s.csq
		s.mu.Unlock()
		if !silent {
			s.writeLines("^BOOT:20786834,0,0,0,72", fmt.Sprintf("^RSSI:%d", csq), "^SRVST:2", "^MODE:5,4")
		}
	}()
}

func (s *Simulator) resetLocked() {
	s.settings = powerOn()
	s.mode, s.buf, s.plusCount = modeCommand, s.buf[:0], 0
	s.pending = nil
	s.cfun = 1
	s.bootUntil = time.Now().Add(s.cfg.bootQuiet)
	if s.pin != "" && s.simState == simReady {
		s.simState = simPIN
	}
}

// SetSignal sets the +CSQ rssi (0-31, 99 unknown). A change is announced
// with ^RSSI, as a Huawei does (unless ^CURC=0 or WithoutURCs("^RSSI")).
func (s *Simulator) SetSignal(csq int) {
	s.mu.Lock()
	changed := s.csq != csq
	s.csq = csq
	announce := changed && s.curc == 1 && !s.cfg.noURC["^RSSI"]
	s.mu.Unlock()
	if announce {
		s.urc(fmt.Sprintf("^RSSI:%d", csq))
	}
}

// SetRegistration sets the +CREG/+CGREG stat (0 not registered, 1 home,
// 2 searching, 3 denied, 4 unknown, 5 roaming). A change is announced with
// +CREG when +CREG=1 or =2 asked for it.
func (s *Simulator) SetRegistration(stat int) {
	s.mu.Lock()
	changed := s.reg != stat
	s.reg = stat
	line := ""
	if changed && s.cregN > 0 {
		line = fmt.Sprintf("+CREG: %d", s.regLocked())
		if s.cregN == 2 && (s.regLocked() == 1 || s.regLocked() == 5) {
			line += `,"2A1C","01B7E2F4"`
		}
	}
	s.mu.Unlock()
	if line != "" {
		s.urc(line)
	}
}

// SetOperator sets the network operator's name.
func (s *Simulator) SetOperator(name string) { s.mu.Lock(); s.operator = name; s.mu.Unlock() }

// SetIdentity changes the modem's identity (e.g. a SIM swap); empty
// fields keep DefaultIdentity's.
func (s *Simulator) SetIdentity(id Identity) {
	s.mu.Lock()
	s.identity = mergeIdentity(id)
	s.mu.Unlock()
}

// SetPIN locks the SIM with pin from the next reset on ("" removes the
// lock at once).
func (s *Simulator) SetPIN(pin string) error {
	if pin != "" && !validPIN(pin) {
		return errors.New("modemsim: PIN: want 4 to 8 digits")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pin, s.pinLeft = pin, 3
	if pin == "" {
		s.simState = simReady
	}
	return nil
}

// Status is a snapshot of the simulator's knobs and state.
type Status struct {
	Echo, Noise, Silent bool
	Delay               time.Duration
	CMGF, CMEE          int
	CNMI                [2]int
	SIM                 string
	PINLeft, PUKLeft    int
	Signal, Reg         int
	Operator            string
	Used, Capacity      int
	Dropped, Sent       int
	Mode                string
}

// Commands returns every command received so far, in order, without
// arguments ("AT+CMGL=", "AT+CSQ", "AT+CPIN="; "AT" for a bare AT).
func (s *Simulator) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

// Count is how many of cmds (as Commands returns them) are cmd.
func Count(cmds []string, cmd string) int {
	n := 0
	for _, c := range cmds {
		if c == cmd {
			n++
		}
	}
	return n
}

// Status reports the simulator's state.
func (s *Simulator) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Echo: s.echo, Noise: s.noise, Silent: s.silent, Delay: s.delay,
		CMGF: s.cmgf, CMEE: s.cmee, CNMI: [2]int{s.cnmiMode, s.cnmiMT},
		SIM: s.simState.String(), PINLeft: s.pinLeft, PUKLeft: s.pukLeft,
		Signal: s.csq, Reg: s.reg, Operator: s.operator,
		Capacity: len(s.slots), Dropped: s.dropped, Sent: len(s.sent),
		Mode: [...]string{"command", "prompt", "data"}[s.mode],
	}
	for _, sl := range s.slots {
		if sl.used {
			st.Used++
		}
	}
	return st
}

func (st simState) String() string {
	switch st {
	case simPIN:
		return "SIM PIN"
	case simPUK:
		return "SIM PUK"
	}
	return "READY"
}

// secretEqual compares a PIN or PUK in constant time.
func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
