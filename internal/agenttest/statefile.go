//go:build linux

package agenttest

import (
	"bytes"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/oobd/oobd/oob/state"
	"golang.org/x/sys/unix"
)

// StateWrites counts how often oobd replaces its state file (each write
// is a temporary file, an fsync and a rename onto state.json: on a
// Raspberry Pi, a write to its SD card), by inotify on the state dir.
type StateWrites struct {
	n    atomic.Int64
	f    *os.File
	done chan struct{}
	once sync.Once
}

// WatchStateFile starts counting the agent's state file writes; the count
// stops when the test ends.
func (a *Agent) WatchStateFile(tb testing.TB) *StateWrites {
	tb.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		tb.Fatalf("agenttest: inotify: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, a.StateDir, unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		tb.Fatalf("agenttest: inotify %s: %v", a.StateDir, err)
	}
	// Non-blocking, so on the runtime poller: Close ends the Read.
	w := &StateWrites{f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{})}
	go w.read()
	tb.Cleanup(w.close)
	return w
}

// Count is the writes so far.
func (w *StateWrites) Count() int64 { return w.n.Load() }

func (w *StateWrites) read() {
	defer close(w.done)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if string(bytes.TrimRight(name, "\x00")) == state.FileName {
				w.n.Add(1)
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

func (w *StateWrites) close() {
	w.once.Do(func() {
		w.f.Close()
		<-w.done
	})
}
