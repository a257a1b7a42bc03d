package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/oobd/oobd/modem"
	"github.com/oobd/oobd/oob/link"
)

// FileName is the state file's name in the state directory.
const FileName = "state.json"

const tempPrefix = ".state.json.tmp-"

// DefaultReadingsEvery is how often a change of readings alone (signal,
// bytes, last poll and answer) is written to state.json: an SD card is
// not written every second for a byte count, and a crash loses at most
// this much of them.
const DefaultReadingsEvery = 10 * time.Minute

// Store is the state of one running oobd, in memory and on disk. It is safe
// for concurrent use. An Update that changes more than readings is written
// through before it returns; one that changes readings alone is written
// when the last write is older than the readings interval, by the next
// write, or by Flush.
type Store struct {
	dir           string
	now           func() time.Time
	logger        *slog.Logger
	readingsEvery time.Duration

	mu sync.Mutex // guards the fields below, and orders the writes of state.json
	st State
	// written is when state.json was last written, and durable what it
	// held apart from readings; dirty is set while st has readings the
	// file lacks.
	written time.Time
	durable []byte
	dirty   bool
	// Recovered is set when state.json could not be read and was moved
	// aside; it names the copy.
	recovered string
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock for UpdatedAt (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithReadingsEvery sets how often a change of readings alone is written
// (DefaultReadingsEvery); 0 writes every change.
func WithReadingsEvery(d time.Duration) Option { return func(s *Store) { s.readingsEvery = d } }

// WithLogger sets where the store reports a damaged file.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// Open loads state_dir/state.json, or starts empty when there is none.
// A file that does not parse (a crash mid-write on a filesystem that does
// not order renames, a full disk, a hand edit) is moved aside as
// state.json.corrupt-TIME and oobd starts clean, saying so. Temporary files
// left by a crash mid-write are removed.
func Open(dir string, opts ...Option) (*Store, error) {
	s := &Store{dir: dir, now: time.Now, logger: slog.New(slog.DiscardHandler), readingsEvery: DefaultReadingsEvery}
	for _, o := range opts {
		o(s)
	}
	if leftovers, err := filepath.Glob(filepath.Join(dir, tempPrefix+"*")); err == nil {
		for _, f := range leftovers {
			os.Remove(f)
		}
	}
	st, err := Read(dir)
	switch {
	case err == nil:
		s.st = st
	case errors.Is(err, fs.ErrNotExist):
		s.st = State{Version: Version}
	case errors.As(err, new(*CorruptError)):
		aside := filepath.Join(dir, fmt.Sprintf("%s.corrupt-%s", FileName, s.now().UTC().Format("20060102T150405Z")))
		if rerr := os.Rename(filepath.Join(dir, FileName), aside); rerr != nil {
			return nil, fmt.Errorf("state: moving damaged %s aside: %w", FileName, rerr)
		}
		s.recovered = aside
		s.logger.Warn("state file damaged: starting with a clean state", "kept", aside, "err", err)
		s.st = State{Version: Version}
		s.st.AddEvent(s.now(), "state", "state file was damaged; kept as "+filepath.Base(aside)+", started clean")
	default:
		return nil, err
	}
	return s, nil
}

// Recovered names the damaged state file that Open moved aside, if any.
func (s *Store) Recovered() string { return s.recovered }

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// Snapshot returns a deep copy of the state.
func (s *Store) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.st)
}

// Update applies fn to a copy of the state and writes it (a change of
// readings alone maybe later: see Store). fn runs under the store's lock:
// keep it short and do no I/O in it. When the write fails the change is
// kept in memory (the agent goes on working) and the error is returned.
func (s *Store) Update(fn func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.st)
	fn(&next)
	next.Version = Version
	now := s.now()
	next.UpdatedAt = now
	s.st = next
	durable := durableJSON(next)
	if bytes.Equal(durable, s.durable) && now.Sub(s.written) < s.readingsEvery {
		s.dirty = true
		return nil
	}
	return s.writeLocked(now, durable)
}

// Flush writes readings that Update held back. The agent calls it when it
// stops.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty {
		return nil
	}
	return s.writeLocked(s.now(), durableJSON(s.st))
}

func (s *Store) writeLocked(now time.Time, durable []byte) error {
	if err := write(s.dir, s.st); err != nil {
		return err
	}
	s.written, s.durable, s.dirty = now, durable, false
	return nil
}

// durableJSON is the state without its readings: what must reach the
// disk at once when it changes.
func durableJSON(st State) []byte {
	st.UpdatedAt, st.LastPoll = time.Time{}, time.Time{}
	st.Modem.LastAnswer = time.Time{}
	st.Modem.SignalDBm, st.Modem.SignalKnown = 0, false
	st.Session.Bytes = 0
	b, _ := json.Marshal(st)
	return b
}

// CorruptError is a state file that exists but does not parse.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string { return fmt.Sprintf("state: %s is damaged: %v", e.Path, e.Err) }
func (e *CorruptError) Unwrap() error { return e.Err }

// Read reads the state file without taking it over (for `oobd status`).
func Read(dir string) (State, error) {
	path := filepath.Join(dir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, fmt.Errorf("state: %w", err)
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&st); err != nil {
		return State{}, &CorruptError{Path: path, Err: err}
	}
	if dec.More() {
		return State{}, &CorruptError{Path: path, Err: errors.New("trailing data")}
	}
	return st, nil
}

// write replaces state.json atomically: a temporary file in the same
// directory, fsync, rename over the old file, fsync the directory so the
// rename itself survives a power cut.
func write(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("state: encode: %w", err)
	}
	b = append(b, '\n')
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", FileName, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("state: write %s: %w", FileName, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, FileName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil && !strings.Contains(err.Error(), "invalid argument") {
			return fmt.Errorf("state: sync %s: %w", dir, err)
		}
	}
	return nil
}

// clone deep-copies a state through its JSON form, which is what it is
// defined by anyway.
func clone(st State) State {
	b, err := json.Marshal(st)
	if err != nil {
		return st // cannot happen: State has only marshalable fields
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		return st
	}
	return c
}

// ModemMemory is the modem's Memory kept in the state file: its recovery
// step and counters, and the digest of a PIN the SIM rejected.
func (s *Store) ModemMemory() modem.Memory { return modemMemory{s} }

type modemMemory struct{ s *Store }

func (m modemMemory) Recall() modem.Remembered {
	st := m.s.Snapshot().Modem
	return modem.Remembered{Recovery: st.Recovery, RejectedPIN: st.RejectedPIN}
}

func (m modemMemory) Remember(r modem.Remembered) error {
	return m.s.Update(func(st *State) {
		st.Modem.Recovery, st.Modem.RejectedPIN = r.Recovery, r.RejectedPIN
	})
}

// LinkJournal is the link's Journal kept in the state file: what the link
// has up (so that a crashed run's successor tears it down) and a clean-up
// that failed.
func (s *Store) LinkJournal() link.Journal { return linkJournal{s} }

type linkJournal struct{ s *Store }

func (j linkJournal) Leftovers() (link.Leftovers, error) {
	return j.s.Snapshot().Session.Leftovers, nil
}

func (j linkJournal) Record(lo link.Leftovers) error {
	return j.s.Update(func(st *State) { st.Session.Leftovers = lo })
}

func (j linkJournal) RecordCleanup(f *link.CleanupFailure) error {
	return j.s.Update(func(st *State) {
		if f != nil && st.Cleanup == nil {
			st.AddEvent(f.FailedAt, "cleanup", "failed: "+f.Error)
		}
		st.Cleanup = f
	})
}
