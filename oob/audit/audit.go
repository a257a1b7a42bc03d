// Package audit keeps the audit log of every SMS verdict: append-only JSON
// lines in state_dir/audit.log, bounded in size by rotation
// (audit.log → audit.log.1 → …). Records carry what happened and to whom,
// never the secret or a code: callers pass a redacted text.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileName is the audit log's name in the state directory.
const FileName = "audit.log"

// Record is one audit line.
type Record struct {
	Time    time.Time `json:"time"`
	SCTS    time.Time `json:"scts,omitzero"`
	Sender  string    `json:"sender"`
	Verdict string    `json:"verdict"`
	Verb    string    `json:"verb,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Text is the message with everything that could be a secret or a
	// code replaced; see trigger.Redact.
	Text    string `json:"text,omitempty"`
	Indexes []int  `json:"indexes,omitempty"` // SIM slots it was read from
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	path    string
	maxSize int64
	keep    int
	now     func() time.Time

	mu   sync.Mutex // guards f and size: one write or rotation at a time
	f    *os.File
	size int64
}

// Option configures a Log.
type Option func(*Log)

// WithMaxSize sets the size at which the log is rotated (default 1 MiB).
func WithMaxSize(n int64) Option { return func(l *Log) { l.maxSize = n } }

// WithKeep sets how many rotated files are kept (default 3).
func WithKeep(n int) Option { return func(l *Log) { l.keep = n } }

// WithClock sets the clock for records without a time (tests).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// Open opens (creating, mode 0600) dir/audit.log for appending.
func Open(dir string, opts ...Option) (*Log, error) {
	l := &Log{path: filepath.Join(dir, FileName), maxSize: 1 << 20, keep: 3, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	if l.keep < 1 {
		l.keep = 1
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends r as one line and syncs it to disk: audit records are rare
// (one per SMS) and are what an owner reads after an incident, so each
// one is made durable before the message it describes is deleted.
func (l *Log) Write(r Record) error {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<secret>" reads better than "\u003csecret\u003e"
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("audit: encode: %w", err)
	}
	b := buf.Bytes()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("audit: log closed")
	}
	if l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	return nil
}

// rotate shifts audit.log.N-1 → audit.log.N … audit.log → audit.log.1 and
// starts a new audit.log; the oldest beyond keep is dropped.
func (l *Log) rotate() error {
	l.f.Close()
	l.f = nil
	os.Remove(fmt.Sprintf("%s.%d", l.path, l.keep))
	for i := l.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1))
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		// Keep logging into the old file rather than lose records.
		if oerr := l.open(); oerr != nil {
			return fmt.Errorf("audit: rotate: %w", err)
		}
		return nil
	}
	return l.open()
}

// Close closes the log; it is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
