package inbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/modem/modemsim"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/drill"
	"github.com/oobd/oobd/oob/inbox"
	"github.com/oobd/oobd/oob/trigger"
)

// texterFunc adapts a function to notify.Texter.
type texterFunc func(ctx context.Context, to, text string)

func (f texterFunc) Send(ctx context.Context, to, text string) { f(ctx, to, text) }

// A drill's SMS loop end to end over the simulator, whose SIM stores its
// own number (+CNUM) and gets back what is sent to it. The own number is
// not in trigger.senders: only the text carrying the pending drill's token
// is taken by the loopback (before the allowlist), deleted and audited as
// drill-loop; every other text from the own number is a stranger's.
func TestDrillLoopHandOff(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	own := modemsim.DefaultIdentity.Number
	const stranger = "+15550001111"

	sim, err := modemsim.New(modemsim.WithBootQuiet(10 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	m, err := modem.Open(ctx, sim.Path(), modem.WithCommandTimeout(3*time.Second), modem.WithIndications(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	_, store, alog, trig := ownerParts(t)
	// The agent's wiring: the loop asks the SIM for its number.
	loop := &drill.Loop{AskSIM: m.OwnNumber, Wait: time.Minute, Now: time.Now}
	rec := &notifyingAudit{log: alog, recs: make(chan audit.Record, 32)}
	h := &handler{got: make(chan trigger.Request, 8)}
	p, err := inbox.New(m, trig, rec, store, h, inbox.WithSchedule("@every 1h"), inbox.WithIndications(true),
		inbox.WithLoopback(loop.Match), inbox.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	deliver := func(from, text string) {
		t.Helper()
		if _, err := sim.Deliver(from, text); err != nil {
			t.Fatal(err)
		}
	}
	// next waits for the next audit record (the +CMTI runs the reader).
	next := func() audit.Record {
		t.Helper()
		select {
		case r := <-rec.recs:
			return r
		case <-ctx.Done():
			t.Fatal("no audit record")
		}
		return audit.Record{}
	}
	type out struct{ to, text string }
	// strangers waits for the records of these texts, each audited as a
	// stranger's, in any order (a listing goes by slot, and slots are
	// reused).
	strangers := func(texts ...out) {
		t.Helper()
		type line struct{ Sender, Verdict, Verb, Reason, Text string }
		want := map[line]int{}
		for _, x := range texts {
			want[line{Sender: x.to, Verdict: string(trigger.UnknownSender), Reason: "not in trigger.senders",
				Text: fmt.Sprintf("<%d words, %d characters>", len(strings.Fields(x.text)), len(x.text))}]++
		}
		for range texts {
			r := next()
			key := line{Sender: r.Sender, Verdict: r.Verdict, Verb: r.Verb, Reason: r.Reason, Text: r.Text}
			if want[key] == 0 {
				t.Errorf("audit %+v, want one of %+v", r, want)
				continue
			}
			want[key]--
		}
	}

	// No drill pending: a text from the own number, shaped as a drill's,
	// is a stranger's.
	early := "oobd drill 00112233445566ff"
	deliver(own, early)
	strangers(out{own, early})

	// A drill: its text is captured on the way out.
	texts := make(chan out, 1)
	done := make(chan error, 1)
	go func() {
		_, err := loop.Run(ctx, texterFunc(func(_ context.Context, to, text string) { texts <- out{to, text} }))
		done <- err
	}()
	var o out
	select {
	case o = <-texts:
	case <-ctx.Done():
		t.Fatal("the drill sent no text")
	}
	token := strings.TrimPrefix(o.text, "oobd drill ")
	if o.to != own || len(token) != 16 || token == o.text {
		t.Fatalf("drill text %+v, want \"oobd drill <16 hex digits>\" to %s", o, own)
	}
	wrong := token[:15] + map[bool]string{true: "1", false: "0"}[token[15] == '0']

	// While it waits: the own number without the token, with a wrong
	// token, and a stranger with the right token are all strangers'.
	pending := []out{{own, "hello from the SIM"}, {own, "oobd drill " + wrong}, {stranger, o.text}}
	for _, x := range pending {
		deliver(x.to, x.text)
	}
	strangers(pending...)
	select {
	case err := <-done:
		t.Fatalf("the drill ended (%v) on a text without its token from its own number", err)
	default:
	}

	// The drill's text through the poller: the SIM gets it back.
	p.Send(ctx, o.to, o.text)
	r := next()
	if r.Sender != own || r.Verdict != string(trigger.DrillLoop) || r.Reason != "the drill's text came back" ||
		r.Text != "" || r.Verb != "" || len(r.Indexes) != 1 {
		t.Fatalf("the drill's text audited %+v, want drill-loop from %s, one slot, no text", r, own)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("drill loop: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the drill did not see its text come back")
	}

	// Its token is spent: the same text again is a stranger's.
	deliver(own, o.text)
	strangers(o)
	// A text is audited before it is deleted: a poll of its own waits for
	// the run that reads it to end.
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}

	if s := sim.Stored(); len(s) != 0 {
		t.Errorf("still stored on the SIM: %v", s)
	}
	if sent := sim.Sent(); len(sent) != 1 || sent[0].To != own || sent[0].Text != o.text {
		t.Errorf("sent %+v, want only the drill's text to %s", sent, own)
	}
	cmds := sim.Commands()
	count := func(c string) int {
		n := 0
		for _, x := range cmds {
			if x == c {
				n++
			}
		}
		return n
	}
	if n := count("AT+CMGD="); n != 6 {
		t.Errorf("%d deletes (+CMGD), want 6: every text deleted once; commands %v", n, cmds)
	}
	if n := count("AT+CNUM"); n != 1 {
		t.Errorf("the own number asked %d times, want once (by the drill); commands %v", n, cmds)
	}
	select {
	case req := <-h.got:
		t.Errorf("handled %+v: nothing from the own number reaches the handler", req)
	default:
	}
	// A stranger's text never counts towards the lockout.
	if tr := store.Snapshot().Trigger; len(tr.Failures) != 0 || !tr.LockoutUntil.IsZero() {
		t.Errorf("trigger ledger %+v, want no failures and no lockout", tr)
	}
	if recs := drain(rec.recs); len(recs) != 0 {
		t.Errorf("more audit records: %+v", recs)
	}
}
