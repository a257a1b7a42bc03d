// Package inbox is the SMS poller: on a cron schedule, and at once when the
// modem announces a new message (+CMTI), it reads every stored message,
// has the trigger decide it, audits the verdict, deletes it from the SIM,
// answers where the decision says, and hands accepted requests to the
// session lifecycle. Each poll also records the modem's health and what it
// reports (signal, registration, SIM, storage) in the state, and alerts the
// owner to a SIM change, a locked SIM and storage near full. It is the only
// reader of texts, and lends a single-port modem's port to the dialer for a
// session (it implements the session's Port).
package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/audit"
	"github.com/oobd/oobd/oob/notify"
	"github.com/oobd/oobd/oob/schedule"
	"github.com/oobd/oobd/oob/state"
	"github.com/oobd/oobd/oob/trigger"
)

// Modem is what the poller needs of the modem; *modem.Modem satisfies it.
type Modem interface {
	Messages(ctx context.Context) ([]modem.Message, error)
	Delete(ctx context.Context, index int) error
	Send(ctx context.Context, number, text string) error
	Info(ctx context.Context) (modem.Info, error)
	Cached() modem.Info
	Stats() modem.Stats
	Release(ctx context.Context) error
	Reacquire(ctx context.Context) error
	Arrivals() <-chan struct{}
}

// Decider decides messages; *trigger.Trigger satisfies it. Now is the
// time it trusts, on the scale of the texts' timestamps.
type Decider interface {
	Decide(msg modem.Message, c trigger.Context) trigger.Decision
	Now() time.Time
}

// Auditor records verdicts; *audit.Log satisfies it.
type Auditor interface {
	Write(r audit.Record) error
}

// Store keeps the poller's view of the modem; *state.Store satisfies it.
type Store interface {
	Update(func(*state.State)) error
}

// Alerter tells the owner what needs them (a push, when pushes are
// configured); it must not block for long.
type Alerter func(ctx context.Context, m notify.Message)

// Handler carries out accepted requests. Handle must not wait for a
// session to come up (the inbox must stay free to read a `down`); a
// non-empty Reply goes back to the requester by SMS (the status text, an
// up refused at once). It may call Release and Reacquire.
type Handler interface {
	Handle(ctx context.Context, req trigger.Request) Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req trigger.Request) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req trigger.Request) Reply { return f(ctx, req) }

// Reply is what goes back to the requester; "" for nothing.
type Reply struct {
	Text string
	// Started, for an up, is closed once its session has started the
	// dialer: on a two-port modem the replies owed to other texts of the
	// same listing go out after it, so that the up never waits for them.
	// Nil: nothing to wait for.
	Started <-chan struct{}
}

// startWait bounds how long replies wait for an up's dialer to start.
const startWait = 10 * time.Second

// ErrPaused is returned by Poll while the dialer holds the modem.
var ErrPaused = errors.New("inbox: paused while the link holds the modem")

// Poller reads the inbox. Start it, and Close it when done.
type Poller struct {
	decider Decider
	audit   Auditor
	store   Store
	handler Handler
	opts    options

	runMu sync.Mutex // one run (read, then dispatch) at a time

	modem Modem
	// lent is set as soon as a session asks for a single-port modem's
	// port: no poll starts another round on it.
	lent atomic.Bool

	modemMu      sync.Mutex // who may talk to the modem; guards what follows
	paused       bool
	pending      []outgoing // replies held while paused, or for a session
	sessionEnded time.Time
	firstSeen    map[int]time.Time // storage slot → first seen in an incomplete set
	undeleted    map[string]bool   // processed messages whose delete failed
	polled       bool              // the first poll of this run is done

	kick chan struct{}

	lifeMu  sync.Mutex // guards started, closed, cancel and sched
	started bool
	closed  bool
	cancel  context.CancelFunc
	sched   *schedule.Schedule
	wg      sync.WaitGroup
}

type outgoing struct{ to, text string }

type options struct {
	schedule       string
	indications    bool
	handOver       bool
	beat           Beat
	beatWindow     time.Duration
	counter        Counter
	alert          Alerter
	loopback       func(modem.Message) bool
	incompleteWait time.Duration
	storageWarn    int // percent
	logger         *slog.Logger
	now            func() time.Time
}

// Option configures a Poller.
type Option func(*options)

// WithSchedule sets the cron schedule of the poll (default "@every 1m").
func WithSchedule(spec string) Option { return func(o *options) { o.schedule = spec } }

// WithIndications makes the modem's Arrivals (a +CMTI, a modem back from
// recovery) run the reader at once.
func WithIndications(on bool) Option { return func(o *options) { o.indications = on } }

// WithHandOver says the modem has a single port, which the poller lends
// to the dialer for each session: replies owed when an up comes wait for
// the session's end, so the dialer never waits for them.
func WithHandOver(on bool) Option { return func(o *options) { o.handOver = on } }

// Beat is where the poller says it is alive (*liveness.Loop): after each
// round it must finish the next within its window, or by the next
// scheduled round when that is later; while a single-port modem is lent
// to the dialer it waits on purpose.
type Beat interface {
	Alive()
	Busy(deadline time.Time) (done func())
	Idle()
}

// Counter counts polls by result ("ok", "error", "skipped": the modem
// lent to the dialer or recovering) and texts by verdict; *metrics.Metrics
// satisfies it.
type Counter interface {
	Poll(result string)
	Text(verdict string)
}

// WithCounter counts polls and texts in c.
func WithCounter(c Counter) Option { return func(o *options) { o.counter = c } }

// WithBeat reports the poller's liveness to b, whose window is window.
func WithBeat(b Beat, window time.Duration) Option {
	return func(o *options) { o.beat, o.beatWindow = b, window }
}

// WithLoopback hands every text to f before any other check: a drill's
// text to the SIM's own number, carrying its one-time token, is taken
// (f returns true), deleted and audited as drill-loop, never decided.
func WithLoopback(f func(modem.Message) bool) Option { return func(o *options) { o.loopback = f } }

// WithAlerts sends the alerts about the modem (SIM changed or locked,
// storage near full) to a.
func WithAlerts(a Alerter) Option { return func(o *options) { o.alert = a } }

// WithIncompleteWait sets how long a multipart message missing parts is
// left on the SIM before it is deleted and audited as incomplete
// (default 30m).
func WithIncompleteWait(d time.Duration) Option { return func(o *options) { o.incompleteWait = d } }

// WithStorageWarning sets the storage use, in percent, from which a warning
// is logged and shown in the status (default 80).
func WithStorageWarning(percent int) Option { return func(o *options) { o.storageWarn = percent } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New makes a poller over m.
func New(m Modem, d Decider, a Auditor, st Store, h Handler, opts ...Option) (*Poller, error) {
	o := options{
		schedule:       "@every 1m",
		incompleteWait: 30 * time.Minute,
		storageWarn:    80,
		logger:         slog.New(slog.DiscardHandler),
		now:            time.Now,
		alert:          func(context.Context, notify.Message) {},
	}
	for _, f := range opts {
		f(&o)
	}
	if m == nil || d == nil || a == nil || st == nil || h == nil {
		return nil, errors.New("inbox: modem, decider, auditor, store and handler are all needed")
	}
	return &Poller{
		modem: m, decider: d, audit: a, store: st, handler: h, opts: o,
		firstSeen: map[int]time.Time{},
		undeleted: map[string]bool{},
		kick:      make(chan struct{}, 1),
	}, nil
}

// Start starts the schedule and, with indications, the watcher. The first
// scheduled poll comes one interval after Start; call Poll for one now.
func (p *Poller) Start(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	if p.started || p.closed {
		return errors.New("inbox: already started or closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	sch, err := schedule.Start(p.opts.schedule, func() { p.pollAndLog(ctx, "schedule") }, p.opts.logger)
	if err != nil {
		cancel()
		return fmt.Errorf("inbox: %w", err)
	}
	p.sched, p.cancel, p.started = sch, cancel, true
	p.alive()
	p.wg.Add(1)
	go p.watch(ctx)
	return nil
}

// Close stops the schedule and the watcher and waits for a running poll
// (whose context is cancelled) to finish. It is idempotent.
func (p *Poller) Close() error {
	p.lifeMu.Lock()
	if p.closed {
		p.lifeMu.Unlock()
		return nil
	}
	p.closed = true
	started := p.started
	p.lifeMu.Unlock()
	if !started {
		return nil
	}
	p.cancel()
	p.sched.Stop()
	p.wg.Wait()
	return nil
}

// Release lends a single-port modem's port to the dialer for a session
// (session.Port): the poller stays off the modem, holding its replies,
// until Reacquire. It waits for a read in progress to finish.
func (p *Poller) Release(ctx context.Context) error {
	p.lent.Store(true)
	if p.opts.beat != nil {
		p.opts.beat.Idle()
	}
	p.modemMu.Lock()
	p.paused = true
	p.modemMu.Unlock()
	p.opts.logger.Info("inbox paused: the dialer holds the modem")
	return p.modem.Release(ctx)
}

// Reacquire takes the port back after the session. With supersedes, up,
// extend and down texts stamped before now (the decider's trusted time,
// never the local clock) are superseded: the session they were meant for
// is over. After a drill they are not: an up sent while a drill held the
// port starts its own session. However the re-open goes, the poller
// resumes: its next polls retry the modem, and held replies go out once
// it answers.
func (p *Poller) Reacquire(ctx context.Context, supersedes bool) error {
	err := p.modem.Reacquire(ctx)
	p.lent.Store(false)
	p.alive()
	var ended time.Time
	if supersedes {
		ended = p.decider.Now()
	}
	p.resume(ctx, ended)
	return err
}

func (p *Poller) resume(ctx context.Context, sessionEnded time.Time) {
	p.modemMu.Lock()
	if sessionEnded.After(p.sessionEnded) {
		p.sessionEnded = sessionEnded
	}
	p.paused = false
	pending := p.pending
	p.pending = nil
	for _, o := range pending {
		p.sendLocked(ctx, o.to, o.text)
	}
	p.modemMu.Unlock()
	p.opts.logger.Info("inbox resumed")
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Send sends an SMS through the poller's hold on the modem (held until
// Reacquire while the port is lent). The lifecycle uses it for its
// notices.
func (p *Poller) Send(ctx context.Context, to, text string) {
	p.modemMu.Lock()
	defer p.modemMu.Unlock()
	if p.paused {
		p.pending = append(p.pending, outgoing{to, text})
		return
	}
	p.sendLocked(ctx, to, text)
}

func (p *Poller) sendLocked(ctx context.Context, to, text string) {
	if err := p.modem.Send(ctx, to, text); err != nil {
		p.opts.logger.Error("inbox: reply not sent", "to", to, "err", err)
	}
}

// watch runs the reader on the modem's arrivals and after the port is
// taken back.
func (p *Poller) watch(ctx context.Context) {
	defer p.wg.Done()
	var ind <-chan struct{}
	if p.opts.indications {
		ind = p.modem.Arrivals()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ind:
			if !ok {
				ind = nil
				continue
			}
			// At once: a signal that comes during the read is kept and
			// reads again, so the parts of a long text still missing wake
			// the reader when they come.
			p.pollAndLog(ctx, "indication")
		case <-p.kick:
			p.pollAndLog(ctx, "port taken back")
		}
	}
}

// pollAndLog is one run from the schedule or the watcher; a panic is
// logged, not fatal.
func (p *Poller) pollAndLog(ctx context.Context, why string) {
	defer func() {
		if r := recover(); r != nil {
			p.opts.logger.Error("inbox: poll panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	defer p.alive()
	// A new-message indication reads the inbox and nothing else: the
	// modem's readings wait for the schedule's next round.
	err := p.poll(ctx, why != "indication")
	if c := p.opts.counter; c != nil {
		switch {
		case err == nil:
			c.Poll("ok")
		case errors.Is(err, ErrPaused) || errors.Is(err, modem.ErrRecovering):
			c.Poll("skipped")
		default:
			c.Poll("error")
		}
	}
	switch {
	case err == nil || errors.Is(err, ErrPaused) || ctx.Err() != nil:
	case errors.Is(err, modem.ErrRecovering):
		// The modem said so once, with its step; one line a poll adds nothing.
		p.opts.logger.Debug("inbox: poll skipped: the modem is recovering", "trigger", why)
	default:
		p.opts.logger.Error("inbox: poll failed", "trigger", why, "err", err)
	}
}

// alive tells the beat that a round ended: the next is due by the next
// scheduled round (a schedule may be longer than the beat's window).
func (p *Poller) alive() {
	if p.opts.beat == nil || p.lent.Load() {
		return
	}
	p.opts.beat.Alive()
	if s, err := schedule.Parse(p.opts.schedule); err == nil {
		// A schedule longer than the window: due by the next round.
		if due := s.Next(p.opts.now()).Add(time.Minute); due.After(p.opts.now().Add(p.opts.beatWindow)) {
			p.opts.beat.Busy(due)
		}
	}
}

// Poll reads the inbox once and dispatches what it found: exactly one run
// at a time, whoever asks.
//
// Nothing stands between an up and the dialer: every text of the listing
// is decided and deleted first, then the ups are handed on before
// anything else, and the replies owed to the other texts wait. With a
// single-port modem they wait for the session (the dialer has the port);
// with two ports they go out once the ups are on their way.
func (p *Poller) Poll(ctx context.Context) error { return p.poll(ctx, true) }

// poll is Poll; with readings it also asks the modem's state (signal,
// registration, SIM, storage) before listing.
func (p *Poller) poll(ctx context.Context, readings bool) error {
	p.runMu.Lock()
	defer p.runMu.Unlock()
	reqs, replies, err := p.read(ctx, readings)
	isUp := func(r trigger.Request) int {
		if r.Verb == trigger.VerbUp {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(reqs, func(a, b trigger.Request) int { return isUp(a) - isUp(b) })
	ups := false
	var started []<-chan struct{}
	for _, r := range reqs {
		if ctx.Err() != nil {
			break
		}
		ups = ups || r.Verb == trigger.VerbUp
		reply := p.handler.Handle(ctx, r)
		if reply.Text != "" {
			replies = append(replies, outgoing{r.Sender, reply.Text})
		}
		if reply.Started != nil {
			started = append(started, reply.Started)
		}
	}
	if ups && p.opts.handOver {
		p.hold(replies)
		return err
	}
	if len(replies) > 0 {
		waitStarted(ctx, started)
	}
	for _, o := range replies {
		p.Send(ctx, o.to, o.text)
	}
	return err
}

// waitStarted waits, at most startWait, until every up's dialer started.
func waitStarted(ctx context.Context, started []<-chan struct{}) {
	if len(started) == 0 {
		return
	}
	t := time.NewTimer(startWait)
	defer t.Stop()
	for _, c := range started {
		select {
		case <-c:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// hold keeps replies for after the session.
func (p *Poller) hold(replies []outgoing) {
	p.modemMu.Lock()
	p.pending = append(p.pending, replies...)
	p.modemMu.Unlock()
}

// read lists, decides, audits and deletes every stored message (asking
// the modem's readings first, with readings). It returns the accepted
// requests and the replies the decisions carry.
func (p *Poller) read(ctx context.Context, readings bool) ([]trigger.Request, []outgoing, error) {
	if p.lent.Load() {
		return nil, nil, ErrPaused // a session is taking the port: not one more round
	}
	p.modemMu.Lock()
	defer p.modemMu.Unlock()
	if p.paused {
		return nil, nil, ErrPaused
	}
	now := p.opts.now()
	// Replies held for a session that did not take the port after all.
	held := p.pending
	p.pending = nil
	info, infoErr := p.modem.Cached(), error(nil)
	if readings || info.SIM == "" { // "": never read in this run
		info, infoErr = p.modem.Info(ctx)
	}
	msgs, err := p.modem.Messages(ctx)
	if err != nil {
		p.observe(ctx, observation{now: now, info: info, infoErr: infoErr, listErr: err})
		return nil, held, fmt.Errorf("inbox: %w", err)
	}

	var (
		reqs    []trigger.Request
		replies = held
		events  []state.Event
		present = map[int]bool{}
		waiting []modem.Message // the owner's incomplete sets, waiting for their parts
	)
	settle := func(m modem.Message, d trigger.Decision) {
		events = append(events, p.settle(ctx, m, d, now))
		if d.Reply != "" {
			replies = append(replies, outgoing{d.Sender, d.Reply})
		}
		if d.Verdict == trigger.Accepted {
			reqs = append(reqs, d.Request)
		}
	}
	for _, m := range msgs {
		for _, i := range m.Indexes {
			present[i] = true
		}
		fp := fingerprint(m)
		if p.undeleted[fp] {
			// Decided before; only the delete failed. Never decide twice.
			if p.deleteAll(ctx, m) {
				delete(p.undeleted, fp)
			}
			continue
		}
		if p.opts.loopback != nil && m.Complete && m.Encoding != modem.EncodingBinary && p.opts.loopback(m) {
			settle(m, trigger.Decision{Verdict: trigger.DrillLoop, Sender: m.Sender, SCTS: m.SCTS, Reason: "the drill's text came back"})
			continue
		}
		// A stranger's part is decided (and deleted) at once; only the
		// owner's waits for the rest of its text.
		d := p.decider.Decide(m, trigger.Context{SessionEnded: p.sessionEnded})
		if d.Verdict == trigger.Incomplete && !p.waitedEnough(m, now) {
			waiting = append(waiting, m)
			continue
		}
		settle(m, d)
	}
	for i := range p.firstSeen {
		if !present[i] {
			delete(p.firstSeen, i)
		}
	}
	// Incomplete sets may hold at most half the storage: a text that never
	// completes must not keep the owner's next one out.
	if total := p.modem.Cached().StorageTotal; total > 0 {
		for _, m := range p.evict(waiting, total/2) {
			settle(m, trigger.Decision{Verdict: trigger.Evicted, Sender: m.Sender, SCTS: m.SCTS,
				Reason: fmt.Sprintf("incomplete sets held more than half of the %d slots; the oldest (%d of %d parts) made room", total, m.Have, m.Parts)})
		}
	}

	if infoErr == nil {
		info = p.modem.Cached() // the storage as the listing and deletions left it
	}
	p.observe(ctx, observation{now: now, info: info, infoErr: infoErr, events: events})
	return reqs, replies, nil
}

// settle audits, logs and deletes one decided message, and returns the
// event for the state file.
func (p *Poller) settle(ctx context.Context, m modem.Message, d trigger.Decision, now time.Time) state.Event {
	log := p.opts.logger
	if c := p.opts.counter; c != nil {
		c.Text(string(d.Verdict))
	}
	rec := audit.Record{Time: p.opts.now(), SCTS: d.SCTS, Sender: d.Sender, Verdict: string(d.Verdict),
		Verb: string(d.Request.Verb), Reason: d.Reason, Text: d.Text, Indexes: m.Indexes}
	if err := p.audit.Write(rec); err != nil {
		log.Error("inbox: audit record not written", "err", err)
	}
	log.Info("sms decided", "verdict", d.Verdict, "sender", d.Sender, "verb", d.Request.Verb,
		"reason", d.Reason, "scts", d.SCTS, "indexes", m.Indexes)
	if !p.deleteAll(ctx, m) {
		p.undeleted[fingerprint(m)] = true
	}
	for _, i := range m.Indexes {
		delete(p.firstSeen, i)
	}
	return state.Event{Time: now, Kind: "sms", Message: describe(d)}
}

// evict returns the oldest incomplete sets to delete so that the rest
// hold at most limit slots.
func (p *Poller) evict(sets []modem.Message, limit int) []modem.Message {
	held := 0
	for _, m := range sets {
		held += len(m.Indexes)
	}
	if held <= limit {
		return nil
	}
	sorted := slices.Clone(sets)
	slices.SortStableFunc(sorted, func(a, b modem.Message) int {
		return cmp.Or(p.firstSeenOf(a).Compare(p.firstSeenOf(b)), a.SCTS.Compare(b.SCTS))
	})
	var out []modem.Message
	for _, m := range sorted {
		if held <= limit {
			break
		}
		out = append(out, m)
		held -= len(m.Indexes)
	}
	return out
}

// firstSeenOf is when the poller first saw a part of m.
func (p *Poller) firstSeenOf(m modem.Message) time.Time {
	var first time.Time
	for _, i := range m.Indexes {
		if t, ok := p.firstSeen[i]; ok && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

// waitedEnough reports whether an incomplete set has waited its limit for
// the missing parts; it starts the clock for slots seen the first time.
func (p *Poller) waitedEnough(m modem.Message, now time.Time) bool {
	first := now
	for _, i := range m.Indexes {
		t, ok := p.firstSeen[i]
		if !ok {
			p.firstSeen[i] = now
			t = now
		}
		if t.Before(first) {
			first = t
		}
	}
	return now.Sub(first) >= p.opts.incompleteWait
}

// deleteAll deletes every part of m; it reports whether all went.
func (p *Poller) deleteAll(ctx context.Context, m modem.Message) bool {
	ok := true
	for _, i := range m.Indexes {
		if err := p.modem.Delete(ctx, i); err != nil {
			p.opts.logger.Error("inbox: delete failed; will retry", "index", i, "err", err)
			ok = false
		}
	}
	return ok
}

// observation is what one poll learnt of the modem.
type observation struct {
	now     time.Time
	info    modem.Info
	infoErr error
	listErr error // nil: the inbox was read
	events  []state.Event
}

// observe records what a poll learnt of the modem in the state, and
// alerts the owner to what needs them: a SIM change, a SIM that locked,
// storage that has become near full.
func (p *Poller) observe(ctx context.Context, o observation) {
	log := p.opts.logger
	stats := p.modem.Stats()
	info := o.info
	switch {
	case errors.Is(o.infoErr, modem.ErrRecovering):
		// The modem said so once, with its step.
	case o.infoErr != nil:
		log.Warn("inbox: modem info failed", "err", o.infoErr)
	}
	var alerts []notify.Message
	err := p.store.Update(func(st *state.State) {
		m := &st.Modem
		if o.listErr == nil {
			st.LastPoll = o.now
		}
		m.OK, m.LastAnswer, m.LastError = stats.Answering, stats.LastAnswer, ""
		switch {
		case errors.Is(o.listErr, modem.ErrRecovering):
			m.LastError = "recovering"
			if step := stats.Recovery.Step; step != "" {
				m.LastError += ": " + step
			}
		case o.listErr != nil:
			m.LastError = o.listErr.Error()
		case o.infoErr != nil:
			m.LastError = o.infoErr.Error()
		}
		if o.infoErr != nil {
			return
		}
		if c := simChange(*m, info); c != nil {
			log.Warn("SIM changed", "old_iccid", c.OldICCID, "new_iccid", c.NewICCID)
			st.AddEvent(o.now, "modem", "SIM changed")
			alerts = append(alerts, notify.SIMChangedMessage(*c))
		}
		locked := info.SIM == modem.SIMPIN || info.SIM == modem.SIMPUK
		if locked && (m.SIM != string(info.SIM) || !p.polled) {
			log.Error("SIM locked", "sim", info.SIM, "attempts_left", info.PINAttempts, "reason", info.SIMReason)
			alerts = append(alerts, notify.WrongPINMessage(info.PINAttempts))
		}
		m.SetInfo(info)
		warning := ""
		if info.StorageTotal > 0 && info.StorageUsed*100 >= info.StorageTotal*p.opts.storageWarn {
			warning = fmt.Sprintf("SMS storage near full: %d of %d slots used", info.StorageUsed, info.StorageTotal)
			log.Warn("inbox: "+warning, "used", info.StorageUsed, "total", info.StorageTotal)
			if m.StorageWarning == "" {
				alerts = append(alerts, notify.StorageMessage(info.StorageUsed, info.StorageTotal))
			}
		}
		m.StorageWarning = warning
		for _, e := range o.events {
			st.AddEvent(e.Time, e.Kind, e.Message)
		}
	})
	if err != nil {
		log.Error("inbox: state not saved", "err", err)
	}
	p.polled = true
	if len(alerts) > 0 {
		// A push over a dead default route must not hold up the inbox.
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for _, a := range alerts {
				p.opts.alert(ctx, a)
			}
		}()
	}
}

// simChange reports a SIM whose ICCID or IMSI differs from the one the
// state remembers (nil when it is the same, or either is not known).
func simChange(was state.Modem, now modem.Info) *notify.SIMChange {
	if (was.ICCID != "" && now.ICCID != "" && was.ICCID != now.ICCID) || (was.IMSI != "" && now.IMSI != "" && was.IMSI != now.IMSI) {
		return &notify.SIMChange{OldICCID: was.ICCID, NewICCID: now.ICCID, OldIMSI: was.IMSI, NewIMSI: now.IMSI}
	}
	return nil
}

func fingerprint(m modem.Message) string {
	idx := append([]int(nil), m.Indexes...)
	sort.Ints(idx)
	parts := make([]string, len(idx))
	for i, x := range idx {
		parts[i] = strconv.Itoa(x)
	}
	return m.Sender + "|" + m.SCTS.UTC().Format(time.RFC3339) + "|" + strings.Join(parts, ",")
}

func describe(d trigger.Decision) string {
	s := fmt.Sprintf("from %s: %s", d.Sender, d.Verdict)
	if d.Request.Verb != "" {
		s += " " + string(d.Request.Verb)
	}
	if d.Reason != "" {
		s += " (" + d.Reason + ")"
	}
	return s
}
