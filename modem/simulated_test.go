package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/modem/serialport"
)

// Integration tests: the real serial path (serialport over a pty) and
// the AT engine against the modem simulator.

func newSimulator(t *testing.T, opts ...modemsim.Option) *modemsim.Simulator {
	t.Helper()
	opts = append([]modemsim.Option{modemsim.WithBootQuiet(50 * time.Millisecond)}, opts...)
	s, err := modemsim.New(opts...)
	if err != nil {
		t.Fatalf("modemsim.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fast shortens the slow paths so that failures are quick.
func fast(o *options) {
	o.resyncWait = 3 * time.Second
	o.comeBack = 2 * time.Second
	o.retryEvery = 100 * time.Millisecond
	o.backoff = 10 * time.Millisecond
}

func openSimulated(t *testing.T, s *modemsim.Simulator, opts ...Option) *Modem {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts = append([]Option{WithCommandTimeout(2 * time.Second), fast}, opts...)
	m, err := Open(ctx, s.Path(), opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pinFile(t *testing.T, pin string) string {
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenSetsUpModemThroughNoise(t *testing.T) {
	s := newSimulator(t)
	s.SetNoise(true)
	m := openSimulated(t, s, WithIndications(true))
	st := s.Status()
	if st.Echo || st.CMGF != 0 || st.CMEE != 2 || st.CNMI != [2]int{2, 1} {
		t.Errorf("sim status after Open: %+v; want echo off, PDU mode, CMEE 2, CNMI 2,1", st)
	}
	s.SetSignal(20)
	s.SetRegistration(5)
	s.SetOperator("Roamer Net")
	in, err := m.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	id := modemsim.DefaultIdentity
	if in.Manufacturer != id.Manufacturer || in.Model != id.Model || in.Revision != id.Revision ||
		in.IMEI != id.IMEI || in.IMSI != id.IMSI || in.ICCID != id.ICCID {
		t.Errorf("identity %+v, want %+v", in, id)
	}
	if in.SIM != SIMReady || in.Operator != "Roamer Net" || in.Registration != RegRoaming ||
		in.SignalDBm != -73 || in.SignalBars != 5 || !in.SignalKnown || in.StorageTotal != st.Capacity {
		t.Errorf("info %+v", in)
	}
	s.SetSignal(99)
	s.SetRegistration(2)
	// A round trip: what the modem sent before its answer has been heard.
	if err := m.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	in, err = m.Info(testCtx(t))
	if err != nil || in.SignalKnown || in.Registration != RegSearching {
		t.Errorf("info %+v, %v; want unknown signal, searching", in, err)
	}
}

func TestMessagesThroughNoise(t *testing.T) {
	s := newSimulator(t)
	s.SetNoise(true)
	m := openSimulated(t, s)
	ctx := testCtx(t)
	long := strings.Repeat("Reassemble me in order, please. ", 10)
	longIdx, err := s.Deliver("+46701234567", long, modemsim.WithPartOrder([]int{3, 1, 2}))
	if err != nil {
		t.Fatal(err)
	}
	ucs := strings.Repeat("Привет 👋 ", 20)
	if _, err := s.Deliver("+46701234567", ucs, modemsim.With16BitRef()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver("+46709999999", strings.Repeat("x", 400), modemsim.WithoutParts(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeliverData("+46701234567", []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver("0701234567", "national", modemsim.WithTON(modemsim.TONNational)); err != nil {
		t.Fatal(err)
	}
	msgs, err := m.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string]Message{}
	var incomplete, binary []Message
	for _, msg := range msgs {
		switch {
		case !msg.Complete:
			incomplete = append(incomplete, msg)
		case msg.Encoding == EncodingBinary:
			binary = append(binary, msg)
		default:
			byText[msg.Text] = msg
		}
	}
	if got, ok := byText[long]; !ok || got.Encoding != EncodingGSM7 || got.Parts != 3 || len(got.Indexes) != 3 || got.Sender != "+46701234567" {
		t.Errorf("long GSM7 message: %+v (found %v)", got, ok)
	} else if len(longIdx) != 3 {
		t.Errorf("sim stored %v", longIdx)
	}
	if got, ok := byText[ucs]; !ok || got.Encoding != EncodingUCS2 || got.Parts < 2 {
		t.Errorf("UCS-2 message: %+v (found %v)", got, ok)
	}
	if got, ok := byText["national"]; !ok || got.Sender != "0701234567" || got.SenderTON != TONNational {
		t.Errorf("national sender: %+v (found %v)", got, ok)
	}
	if len(incomplete) != 1 || incomplete[0].Have != incomplete[0].Parts-1 || incomplete[0].SCTS.IsZero() {
		t.Errorf("incomplete: %+v", incomplete)
	}
	if len(binary) != 1 || string(binary[0].Data) != "\xde\xad\xbe\xef" || binary[0].Text != "" {
		t.Errorf("binary: %+v", binary)
	}
}

func TestLateAnswerDoesNotAnswerNextCommand(t *testing.T) {
	s := newSimulator(t)
	m := openSimulated(t, s, WithCommandTimeout(300*time.Millisecond))
	ctx := testCtx(t)
	if _, err := s.Deliver("+46701234567", "still here"); err != nil {
		t.Fatal(err)
	}
	s.SetDelay(time.Second)
	if err := m.Ping(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Ping with a slow modem: %v, want ErrTimeout", err)
	}
	s.SetDelay(0)
	// Were the late OK of the ping taken as the answer of +CMGL, the list
	// would come back empty.
	msgs, err := m.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Text != "still here" {
		t.Errorf("messages %+v, want the one stored", msgs)
	}
	if st := m.Stats(); st.Recovery.Timeouts < 1 || st.Recovery.Resyncs < 1 {
		t.Errorf("stats %+v: want a timeout and a resync counted", st)
	}
}

func TestSilenceThenAnswersAgain(t *testing.T) {
	s := newSimulator(t)
	m := openSimulated(t, s, WithCommandTimeout(300*time.Millisecond),
		func(o *options) { o.resyncWait = 500 * time.Millisecond })
	ctx := testCtx(t)
	s.SetSilent(true)
	if err := m.Ping(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Ping a silent modem: %v, want ErrTimeout", err)
	}
	s.SetSilent(false)
	if err := m.Ping(ctx); err != nil {
		t.Fatalf("Ping once it answers again: %v", err)
	}
	if err := m.Recover(ctx); err != nil {
		t.Fatalf("Recover of a modem that answers: %v", err)
	}
	if st := m.Stats(); st.Recovery.ResyncFailures != 1 || st.Recovery.Reopens != 0 {
		t.Errorf("stats %+v: want one resync failure, no re-open", st)
	}
}

func TestRecoveryLadder(t *testing.T) {
	s := newSimulator(t)
	var ran atomic.Int32
	m := openSimulated(t, s, WithCommandTimeout(200*time.Millisecond), WithRecoveryCommand([]string{"power-cycle"}),
		func(o *options) {
			o.resyncWait = 300 * time.Millisecond
			o.runCmd = func(ctx context.Context, argv []string) error {
				ran.Add(1)
				s.SetSilent(false)
				s.Reset()
				return nil
			}
		})
	ctx := testCtx(t)
	s.SetSilent(true)
	if err := m.Ping(ctx); err == nil {
		t.Fatal("Ping of a hung modem succeeded")
	}
	if err := m.Recover(ctx); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if err := m.Ping(ctx); err != nil {
		t.Fatalf("Ping after Recover: %v", err)
	}
	st := m.Stats()
	if ran.Load() != 1 || st.Recovery.Reopens != 1 || st.Recovery.Resets != 1 || st.Recovery.PowerCycles != 1 {
		t.Errorf("ran %d, stats %+v: want every rung once", ran.Load(), st)
	}
	if s.Status().CMGF != 0 {
		t.Error("PDU mode not asserted again after the power cycle")
	}
}

func TestRecoveryWithoutCommandFails(t *testing.T) {
	s := newSimulator(t)
	m := openSimulated(t, s, WithCommandTimeout(200*time.Millisecond), func(o *options) { o.resyncWait = 300 * time.Millisecond })
	s.SetSilent(true)
	err := m.Recover(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "no recovery_command") {
		t.Fatalf("Recover of a hung modem without a command: %v", err)
	}
}

func TestGarbageOnTheLine(t *testing.T) {
	s := newSimulator(t)
	m := openSimulated(t, s)
	ctx := testCtx(t)
	if _, err := s.Deliver("+46701234567", "through the noise"); err != nil {
		t.Fatal(err)
	}
	for _, g := range [][]byte{{0x00, 0xff, 0xfe}, []byte("\r\n#$%garbage\r\n"), {0x1b, 0x7f, 'O'}} {
		s.InjectGarbage(g)
		in, err := m.Info(ctx)
		if err != nil || in.IMEI != modemsim.DefaultIdentity.IMEI {
			t.Errorf("Info after garbage %q: %+v, %v", g, in, err)
		}
		msgs, err := m.Messages(ctx)
		if err != nil || len(msgs) != 1 || msgs[0].Text != "through the noise" {
			t.Errorf("Messages after garbage %q: %+v, %v", g, msgs, err)
		}
	}
}

func TestSIMPIN(t *testing.T) {
	t.Run("right PIN entered once", func(t *testing.T) {
		s := newSimulator(t, modemsim.WithPIN("1234"))
		m := openSimulated(t, s, WithPINFile(pinFile(t, "1234")))
		in, err := m.Info(testCtx(t))
		if err != nil || in.SIM != SIMReady || in.IMSI == "" {
			t.Fatalf("info %+v, %v; want SIM ready", in, err)
		}
		if st := s.Status(); st.PINLeft != 3 {
			t.Errorf("PIN tries left %d, want 3", st.PINLeft)
		}
		// A reset asks for the PIN again: the session notices the lost
		// settings and enters it again.
		s.Reset()
		if _, err := m.Messages(testCtx(t)); err != nil {
			t.Fatalf("Messages after a reset: %v", err)
		}
		if st := s.Status(); st.SIM != "READY" || st.CMGF != 0 || st.CMEE != 2 {
			t.Errorf("after reset: %+v", st)
		}
	})
	t.Run("wrong PIN never retried", func(t *testing.T) {
		s := newSimulator(t, modemsim.WithPIN("1234"))
		m := openSimulated(t, s, WithPINFile(pinFile(t, "0000")))
		ctx := testCtx(t)
		in, err := m.Info(ctx)
		if err != nil || in.SIM != SIMPIN || in.PINAttempts != 2 || !strings.Contains(in.SIMReason, "rejected") {
			t.Fatalf("info %+v, %v; want pin-required with 2 tries left", in, err)
		}
		_, err = m.Messages(ctx)
		var pe *PINError
		if !errors.Is(err, ErrSIMNotReady) || !errors.As(err, &pe) || pe.AttemptsLeft != 2 {
			t.Errorf("Messages: %v; want ErrSIMNotReady with 2 tries left", err)
		}
		if err := m.Recover(ctx); err != nil {
			t.Errorf("Recover: %v", err)
		}
		m.Info(ctx)
		if st := s.Status(); st.PINLeft != 2 {
			t.Errorf("PIN tries left %d, want 2: the wrong PIN was sent again", st.PINLeft)
		}
	})
	t.Run("no PIN file", func(t *testing.T) {
		s := newSimulator(t, modemsim.WithPIN("1234"))
		m := openSimulated(t, s)
		in, err := m.Info(testCtx(t))
		if err != nil || in.SIM != SIMPIN || in.PINAttempts != 3 || !strings.Contains(in.SIMReason, "no PIN file") {
			t.Errorf("info %+v, %v", in, err)
		}
	})
}

func TestStorageFullAndDelete(t *testing.T) {
	s := newSimulator(t, modemsim.WithCapacity(3))
	m := openSimulated(t, s)
	ctx := testCtx(t)
	for i := 0; i < 4; i++ {
		s.Deliver("+46701234567", "msg "+string(rune('a'+i)))
	}
	in, err := m.Info(ctx)
	if err != nil || in.StorageUsed != 3 || in.StorageTotal != 3 {
		t.Fatalf("info %+v, %v; want storage 3/3", in, err)
	}
	msgs, err := m.Messages(ctx)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("messages %+v, %v; want 3", msgs, err)
	}
	first := msgs[0].Indexes[0]
	if err := m.Delete(ctx, first); err != nil {
		t.Fatal(err)
	}
	for _, i := range s.Stored() {
		if i == first {
			t.Errorf("slot %d still stored after Delete", first)
		}
	}
	if err := m.Delete(ctx, first); err != nil {
		t.Errorf("deleting an empty slot: %v", err)
	}
	if err := m.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stored(); len(st) != 0 {
		t.Errorf("stored after DeleteAll: %v", st)
	}
}

func TestIndications(t *testing.T) {
	s := newSimulator(t)
	s.SetNoise(true)
	m := openSimulated(t, s, WithIndications(true))
	select {
	case <-m.Arrivals():
		t.Fatal("an arrival signalled before any text came")
	default:
	}
	if _, err := s.Deliver("+46701234567", "ping"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Arrivals():
	case <-time.After(10 * time.Second):
		t.Fatal("no +CMTI indication")
	}
	// A pending signal stands for many: the reader is never blocked.
	for i := 0; i < 20; i++ {
		s.Deliver("+46701234567", "flood")
	}
	if err := m.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping with a full indication channel: %v", err)
	}
}

func TestSend(t *testing.T) {
	s := newSimulator(t)
	s.SetNoise(true)
	m := openSimulated(t, s)
	ctx := testCtx(t)
	long := strings.Repeat("Длинное сообщение ✓ ", 10) // 200 UCS-2 characters: 3 parts
	if err := m.Send(ctx, "+46701234567", long); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, "0701234567", "link down after 30m, 1.2 MB [ok] €"); err != nil {
		t.Fatal(err)
	}
	sent, err := s.WaitSent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].To != "+46701234567" || sent[0].Text != long || sent[0].Parts != 3 {
		t.Errorf("sent[0] = to %s, %d parts, text %q", sent[0].To, sent[0].Parts, sent[0].Text)
	}
	if sent[1].To != "0701234567" || sent[1].Text != "link down after 30m, 1.2 MB [ok] €" || sent[1].Parts != 1 {
		t.Errorf("sent[1] = %+v", sent[1])
	}
	if err := m.Send(ctx, "not a number", "x"); err == nil {
		t.Error("sending to a bad number succeeded")
	}
}

func TestPortGone(t *testing.T) {
	s := newSimulator(t)
	// Stands in for USB re-enumeration: the open port fails under the
	// session, and the path is gone when Recover looks for it again.
	var port io.ReadWriteCloser
	var gone atomic.Bool
	m := openSimulated(t, s, func(o *options) {
		o.openPort = func(path string, baud int) (io.ReadWriteCloser, error) {
			if gone.Load() {
				return nil, fmt.Errorf("serialport: %s: no such device: %w", path, fs.ErrNotExist)
			}
			p, err := serialport.Open(path, baud)
			port = p
			return p, err
		}
	})
	ctx := testCtx(t)
	gone.Store(true)
	port.Close()
	if err := m.Ping(ctx); !errors.Is(err, ErrPortClosed) {
		t.Fatalf("Ping after the port went: %v, want ErrPortClosed", err)
	}
	if err := m.Recover(ctx); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Recover without a port: %v, want the open error", err)
	}
	gone.Store(false)
	if err := m.Recover(ctx); err != nil {
		t.Fatalf("Recover once the port is back: %v", err)
	}
	if err := m.Ping(ctx); err != nil {
		t.Errorf("Ping after Recover: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := m.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close: %v", err)
	}
}

func TestOpenMissingPort(t *testing.T) {
	_, err := Open(testCtx(t), "/dev/does-not-exist-oobd")
	if err == nil || !strings.Contains(err.Error(), "/dev/does-not-exist-oobd") || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("Open of a missing port: %v", err)
	}
}

func TestModemErrorsNameTheirMeaning(t *testing.T) {
	s := newSimulator(t)
	m := openSimulated(t, s)
	ctx := testCtx(t)
	err := m.do(ctx, func(*atConn) error {
		_, err := m.command(ctx, "+CMGR=250", m.o.cmdTimeout)
		return err
	})
	var ae *ATError
	if !errors.As(err, &ae) || ae.Kind == "" || ae.Meaning == "" || ae.Meaning == "error" {
		t.Fatalf("reading an empty slot: %v, want a +CMS/+CME error with its meaning", err)
	}
	t.Logf("modem said: %v", err)
	// The session is still in step afterwards.
	if in, err := m.Info(ctx); err != nil || in.IMEI == "" {
		t.Errorf("Info after an error: %+v, %v", in, err)
	}
}
