package inbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	owner  = "+46701234567"
	secret = "Tr1gger-s3cret"
)

var t0 = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)

// fakeModem is an in-memory SIM.
type fakeModem struct {
	mu      sync.Mutex
	stored  map[int]modem.Message // by first index
	sent    []outgoing
	deleted []int
	failDel map[int]int // index → failures left
	calls   int
	total   int
	listErr error
	// infos counts readings asked; infosAtList is infos at each listing.
	infos       int
	infosAtList []int

	released, reacquired int
	arrivals             chan struct{}
}

func newFakeModem() *fakeModem {
	return &fakeModem{stored: map[int]modem.Message{}, failDel: map[int]int{}, total: 10, arrivals: make(chan struct{}, 1)}
}

func (f *fakeModem) put(m modem.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored[m.Indexes[0]] = m
}

func (f *fakeModem) Messages(ctx context.Context) ([]modem.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.infosAtList = append(f.infosAtList, f.infos)
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []modem.Message
	for _, m := range f.stored {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Indexes[0] < out[j].Indexes[0] })
	return out, nil
}

func (f *fakeModem) Delete(ctx context.Context, index int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDel[index] > 0 {
		f.failDel[index]--
		return errors.New("+CMS ERROR: 500")
	}
	f.deleted = append(f.deleted, index)
	for k, m := range f.stored {
		for _, i := range m.Indexes {
			if i == index {
				delete(f.stored, k)
			}
		}
	}
	return nil
}

func (f *fakeModem) Send(ctx context.Context, number, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, outgoing{number, text})
	return nil
}

func (f *fakeModem) Info(ctx context.Context) (modem.Info, error) {
	f.mu.Lock()
	f.infos++
	f.mu.Unlock()
	return f.Cached(), nil
}

func (f *fakeModem) Cached() modem.Info {
	f.mu.Lock()
	defer f.mu.Unlock()
	used := 0
	for _, m := range f.stored {
		used += len(m.Indexes)
	}
	return modem.Info{SIM: modem.SIMReady, Registration: modem.RegHome, SignalDBm: -71, SignalKnown: true, StorageUsed: used, StorageTotal: f.total}
}

func (f *fakeModem) Stats() modem.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return modem.Stats{Answering: f.listErr == nil}
}

func (f *fakeModem) Release(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released++
	return nil
}

func (f *fakeModem) Reacquire(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reacquired++
	return nil
}

func (f *fakeModem) Arrivals() <-chan struct{} { return f.arrivals }

func (f *fakeModem) snapshot() (sent []outgoing, deleted []int, stored int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]outgoing(nil), f.sent...), append([]int(nil), f.deleted...), len(f.stored)
}

func sms(idx int, from string, scts time.Time, text string) modem.Message {
	return modem.Message{Indexes: []int{idx}, Sender: from, SenderTON: modem.TONInternational, SCTS: scts,
		Text: text, Encoding: modem.EncodingGSM7, Parts: 1, Have: 1, Complete: true}
}

// recorder is a Handler that records requests.
type recorder struct {
	mu    sync.Mutex
	reqs  []trigger.Request
	reply string
	got   chan trigger.Request
	fn    func(trigger.Request)
	// started is what an up's reply says of its dialer (nil: nothing).
	started <-chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan trigger.Request, 16)} }

func (r *recorder) Handle(ctx context.Context, req trigger.Request) Reply {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	fn := r.fn
	r.mu.Unlock()
	if fn != nil {
		fn(req)
	}
	r.got <- req
	switch req.Verb {
	case trigger.VerbStatus:
		return Reply{Text: r.reply}
	case trigger.VerbUp:
		return Reply{Started: r.started}
	}
	return Reply{}
}

type rig struct {
	dir   string
	m     *fakeModem
	store *state.Store
	log   *audit.Log
	trig  *trigger.Trigger
	h     *recorder
	p     *Poller
	now   time.Time
	mu    sync.Mutex
}

func newRig(t *testing.T, opts ...Option) *rig {
	t.Helper()
	r := &rig{dir: t.TempDir(), m: newFakeModem(), h: newRecorder(), now: t0.Add(time.Minute)}
	var err error
	if r.store, err = state.Open(r.dir); err != nil {
		t.Fatal(err)
	}
	if r.log, err = audit.Open(r.dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.log.Close() })
	r.trig, err = trigger.New(trigger.Settings{
		Secret: []byte(secret), Allowlist: []string{owner}, MaxFailures: 5, Lockout: time.Hour,
		MaxAge: 15 * time.Minute, DefaultDuration: 30 * time.Minute, MaxDuration: 4 * time.Hour,
	}, r.store, trigger.WithClock(fixedClock{r}))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]Option{WithClock(r.clock)}, opts...)
	if r.p, err = New(r.m, r.trig, r.log, r.store, r.h, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.p.Close() })
	return r
}

func (r *rig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

type fixedClock struct{ r *rig }

func (c fixedClock) Now() time.Time     { return c.r.clock() }
func (c fixedClock) Synchronized() bool { return false }

func auditLines(t *testing.T, dir string) []audit.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec audit.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func TestPollDecidesAuditsDeletesReplies(t *testing.T) {
	r := newRig(t)
	r.h.reply = "oobd: no session; signal -71 dBm"
	r.m.put(sms(1, owner, t0, secret+" up 45m"))
	r.m.put(sms(2, "+15550001111", t0, secret))
	r.m.put(sms(3, owner, t0, "wrong"))
	r.m.put(sms(4, owner, t0, secret+" reboot"))
	r.m.put(sms(5, owner, t0, secret+" status"))
	bin := sms(6, owner, t0, "")
	bin.Encoding, bin.Data = modem.EncodingBinary, []byte{1, 2, 3}
	r.m.put(bin)

	if err := r.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.h.reqs) != 2 || r.h.reqs[0].Verb != trigger.VerbUp || r.h.reqs[0].Duration != 45*time.Minute || r.h.reqs[1].Verb != trigger.VerbStatus {
		t.Errorf("handled %+v", r.h.reqs)
	}
	sent, deleted, stored := r.m.snapshot()
	if stored != 0 || len(deleted) != 6 {
		t.Errorf("stored %d, deleted %v", stored, deleted)
	}
	// The bad request gets the grammar; status gets the handler's text;
	// nobody else hears anything.
	if len(sent) != 2 || sent[0].to != owner || sent[1].text != r.h.reply {
		t.Errorf("sent %+v", sent)
	}
	var verdicts []string
	for _, rec := range auditLines(t, r.dir) {
		verdicts = append(verdicts, rec.Verdict)
	}
	want := []string{"accepted", "unknown-sender", "bad-secret", "bad-request", "accepted", "binary"}
	if len(verdicts) != len(want) {
		t.Fatalf("audit verdicts %v, want %v", verdicts, want)
	}
	for i := range want {
		if verdicts[i] != want[i] {
			t.Errorf("audit verdicts %v, want %v", verdicts, want)
			break
		}
	}
	st := r.store.Snapshot()
	if !st.LastPoll.Equal(r.clock()) || !st.Modem.OK || st.Modem.SignalDBm != -71 || len(st.Events) != 6 {
		t.Errorf("state: poll %v modem %+v events %d", st.LastPoll, st.Modem, len(st.Events))
	}
}

func TestIncompleteWaits(t *testing.T) {
	r := newRig(t, WithIncompleteWait(10*time.Minute))
	part := sms(1, owner, t0, secret+" u")
	part.Indexes, part.Parts, part.Have, part.Complete = []int{1, 2}, 3, 2, false
	r.m.put(part)
	r.p.Poll(context.Background())
	r.advance(9 * time.Minute)
	r.p.Poll(context.Background())
	if _, deleted, _ := r.m.snapshot(); len(deleted) != 0 {
		t.Fatalf("incomplete set deleted early: %v", deleted)
	}
	r.advance(time.Minute)
	r.p.Poll(context.Background())
	_, deleted, stored := r.m.snapshot()
	if stored != 0 || len(deleted) != 2 {
		t.Errorf("after the wait: stored %d deleted %v", stored, deleted)
	}
	recs := auditLines(t, r.dir)
	if len(recs) != 1 || recs[0].Verdict != "incomplete" || len(r.h.reqs) != 0 {
		t.Errorf("audit %+v, handled %v", recs, r.h.reqs)
	}
}

func TestDeleteFailureNeverDecidesTwice(t *testing.T) {
	r := newRig(t)
	r.m.put(sms(1, owner, t0, secret))
	r.m.failDel[1] = 1
	r.p.Poll(context.Background())
	r.p.Poll(context.Background())
	if len(r.h.reqs) != 1 {
		t.Errorf("handled %d times", len(r.h.reqs))
	}
	if _, _, stored := r.m.snapshot(); stored != 0 {
		t.Error("message not deleted on the retry")
	}
	if n := len(auditLines(t, r.dir)); n != 1 {
		t.Errorf("%d audit records", n)
	}
}

func TestReleaseAndReacquire(t *testing.T) {
	r := newRig(t, WithSchedule("@every 1h"))
	if err := r.p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.m.put(sms(1, owner, t0, secret+" status"))
	if err := r.p.Poll(context.Background()); !errors.Is(err, ErrPaused) {
		t.Fatalf("Poll while paused: %v", err)
	}
	r.p.Send(context.Background(), owner, "link down")
	sent, _, _ := r.m.snapshot()
	r.m.mu.Lock()
	calls := r.m.calls
	r.m.mu.Unlock()
	if calls != 0 || len(sent) != 0 {
		t.Fatalf("modem used while paused: %d lists, sent %v", calls, sent)
	}
	// Reacquire sends what was held and reads the inbox at once.
	r.advance(30 * time.Minute)
	if err := r.p.Reacquire(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-r.h.got:
		if req.Verb != trigger.VerbStatus {
			t.Errorf("handled %+v", req)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no read after Reacquire")
	}
	if sent, _, _ := r.m.snapshot(); len(sent) == 0 || sent[0].text != "link down" {
		t.Errorf("held reply not sent first: %v", sent)
	}
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.m.released != 1 || r.m.reacquired != 1 {
		t.Errorf("modem released %d times, reacquired %d times; want once each", r.m.released, r.m.reacquired)
	}
}

func TestSupersededAfterResume(t *testing.T) {
	r := newRig(t)
	r.p.Release(context.Background())
	r.advance(30 * time.Minute)
	r.p.Reacquire(context.Background(), true)
	r.m.put(sms(1, owner, t0.Add(10*time.Minute), secret+" up"))
	r.advance(1 * time.Minute)
	r.p.Poll(context.Background())
	if len(r.h.reqs) != 0 {
		t.Errorf("superseded up handled: %v", r.h.reqs)
	}
	if recs := auditLines(t, r.dir); len(recs) != 1 || recs[0].Verdict != "superseded" {
		t.Errorf("audit %+v", recs)
	}
}

// After a drill the port comes back without superseding: an up the owner
// sent while the drill held the port starts its own session.
func TestUpDuringDrillIsNotSuperseded(t *testing.T) {
	r := newRig(t)
	r.p.Release(context.Background())
	r.advance(30 * time.Minute)
	r.p.Reacquire(context.Background(), false)
	r.m.put(sms(1, owner, t0.Add(10*time.Minute), secret+" up"))
	r.advance(1 * time.Minute)
	r.p.Poll(context.Background())
	if len(r.h.reqs) != 1 || r.h.reqs[0].Verb != trigger.VerbUp {
		t.Errorf("up sent during a drill: handled %v, want it handled", r.h.reqs)
	}
	if recs := auditLines(t, r.dir); len(recs) != 1 || recs[0].Verdict == "superseded" {
		t.Errorf("audit %+v", recs)
	}
}

func TestStorageWarning(t *testing.T) {
	r := newRig(t)
	r.m.total = 4
	for i := 1; i <= 4; i++ {
		// Texts the SIM refuses to delete: the slots stay taken.
		r.m.put(sms(i, "+15550001111", t0, "spam"))
		r.m.failDel[i] = 100
	}
	r.p.Poll(context.Background())
	st := r.store.Snapshot()
	if st.Modem.StorageWarning == "" || st.Modem.StorageUsed != 4 {
		t.Errorf("no warning: %+v", st.Modem)
	}
	r.m.mu.Lock()
	r.m.failDel = map[int]int{}
	r.m.mu.Unlock()
	r.p.Poll(context.Background())
	if w := r.store.Snapshot().Modem.StorageWarning; w != "" {
		t.Errorf("warning kept: %q", w)
	}
}

func TestListFailureMarksModem(t *testing.T) {
	r := newRig(t)
	r.m.listErr = errors.New("modem: +CMGL: timeout after 10s")
	if err := r.p.Poll(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if st := r.store.Snapshot(); st.Modem.OK || st.Modem.LastError == "" {
		t.Errorf("modem state %+v", st.Modem)
	}
}

// A new-message indication lists the inbox at once, with no readings
// asked first (only the run's very first read asks them); the schedule's
// rounds ask them.
func TestIndicationReadsOnlyTheInbox(t *testing.T) {
	r := newRig(t, WithSchedule("@every 1h"), WithIndications(true))
	if err := r.p.Poll(context.Background()); err != nil { // the first round
		t.Fatal(err)
	}
	if err := r.p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.m.put(sms(3, owner, t0, secret+" status"))
	r.m.arrivals <- struct{}{}
	select {
	case <-r.h.got:
	case <-time.After(10 * time.Second):
		t.Fatal("indication did not run the reader")
	}
	r.p.Close()
	r.p.Close() // idempotent
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if want := []int{1, 1}; !slices.Equal(r.m.infosAtList, want) {
		t.Errorf("readings asked before each listing: %v, want %v (the first round's, none for the indication)", r.m.infosAtList, want)
	}
}

// A panic in one run is recovered and the schedule goes on (the cron chain
// order): the decider panics once, the next scheduled run works.
func TestScheduleSurvivesPanic(t *testing.T) {
	r := newRig(t, WithSchedule("@every 1s"))
	var once sync.Once
	r.p.decider = deciderFunc(func(m modem.Message, c trigger.Context) trigger.Decision {
		panicked := false
		once.Do(func() { panicked = true })
		if panicked {
			panic("boom")
		}
		return r.trig.Decide(m, c)
	})
	r.m.put(sms(1, owner, t0, secret+" status"))
	if err := r.p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.h.got:
	case <-time.After(20 * time.Second):
		t.Fatal("the schedule stopped after a panic")
	}
}

type deciderFunc func(modem.Message, trigger.Context) trigger.Decision

func (f deciderFunc) Decide(m modem.Message, c trigger.Context) trigger.Decision { return f(m, c) }
func (f deciderFunc) Now() time.Time                                             { return t0 }

// Nothing stands between an up and the dialer: the up is handed on first,
// and on a single-port modem the status asked in the same listing is
// answered after the session.
func TestUpGoesFirstAndRepliesWait(t *testing.T) {
	for _, handOver := range []bool{true, false} {
		r := newRig(t, WithHandOver(handOver))
		r.m.put(sms(1, owner, t0, secret+" status"))
		r.m.put(sms(2, owner, t0, secret+" up"))
		r.h.reply = "oobd: idle"
		if err := r.p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(r.h.reqs) != 2 || r.h.reqs[0].Verb != trigger.VerbUp {
			t.Fatalf("hand-over %v: handled %v, want the up first", handOver, r.h.reqs)
		}
		sent, _, stored := r.m.snapshot()
		if stored != 0 {
			t.Errorf("hand-over %v: %d texts left on the SIM, want every one deleted before the up is handed on", handOver, stored)
		}
		if handOver {
			if len(sent) != 0 {
				t.Errorf("single port: sent %v before the session", sent)
			}
			r.p.Release(context.Background())
			r.p.Reacquire(context.Background(), true)
			if sent, _, _ := r.m.snapshot(); len(sent) != 1 || sent[0].text != "oobd: idle" {
				t.Errorf("single port: after the session sent %v, want the status reply", sent)
			}
		} else if len(sent) != 1 || sent[0].text != "oobd: idle" {
			t.Errorf("two ports: sent %v, want the status reply at once", sent)
		}
	}
}

// On a two-port modem the replies owed to other texts go out once the
// up's dialer has started, not before.
func TestRepliesWaitForTheDialer(t *testing.T) {
	r := newRig(t, WithHandOver(false))
	started := make(chan struct{})
	r.h.started = started
	r.h.reply = "oobd: idle"
	r.m.put(sms(1, owner, t0, secret+" status"))
	r.m.put(sms(2, owner, t0, secret+" up"))
	done := make(chan error, 1)
	go func() { done <- r.p.Poll(context.Background()) }()
	for range 2 {
		<-r.h.got
	}
	if sent, _, _ := r.m.snapshot(); len(sent) != 0 {
		t.Fatalf("sent %v before the up's dialer started", sent)
	}
	close(started)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sent, _, _ := r.m.snapshot(); len(sent) != 1 || sent[0].text != "oobd: idle" {
		t.Fatalf("after the dialer started: sent %v, want the status reply", sent)
	}
}

func part(idx int, from string, at time.Time, have, parts int) modem.Message {
	m := sms(idx, from, at, "part")
	m.Parts, m.Have, m.Complete = parts, have, false
	return m
}

// No stranger can block the inbox: a stranger's part goes at once, and the
// owner's incomplete sets hold at most half the storage, the oldest
// evicted first.
func TestIncompleteSets(t *testing.T) {
	r := newRig(t, WithIncompleteWait(time.Hour))
	r.m.total = 10
	r.m.put(part(1, "+15550001111", t0, 1, 2)) // a stranger's
	for i := 2; i <= 7; i++ {                  // six of the owner's, one slot each
		r.m.put(part(i, owner, t0.Add(time.Duration(i)*time.Second), 1, 3))
	}
	r.p.Poll(context.Background())
	_, deleted, stored := r.m.snapshot()
	slices.Sort(deleted)
	if !slices.Equal(deleted, []int{1, 2}) || stored != 5 {
		t.Errorf("deleted %v, %d left; want the stranger's part and the owner's oldest set gone, 5 left", deleted, stored)
	}
	var verdicts []string
	for _, rec := range auditLines(t, r.dir) {
		verdicts = append(verdicts, rec.Verdict)
	}
	if !slices.Equal(verdicts, []string{"unknown-sender", "evicted"}) {
		t.Errorf("audit verdicts %v", verdicts)
	}
	// Within the cap, the owner's sets wait for their parts.
	r.p.Poll(context.Background())
	if _, deleted, _ := r.m.snapshot(); len(deleted) != 2 {
		t.Errorf("deleted %v on the next poll, want nothing more", deleted)
	}
}
