package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSimulate(t *testing.T) {
	link := filepath.Join(t.TempDir(), "modem")
	var out, errOut syncBuffer
	env := &cmdEnv{stdout: &out, stderr: &errOut}
	in := strings.NewReader("help\nsms +46701234567 hello world\nstored\nnoise maybe\nstatus\n")
	if err := simulate(context.Background(), env, in, []string{"--link", link, "--capacity", "5"}); err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"modem simulator on /dev/pts/", "(link " + link + ")", "try: oobd modem info --port " + link,
		"stored at [0]", `"hello world"`, "error: usage: on|off", "storage=1/5",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link left behind: %v", err)
	}
}

func TestSimulateStopsOnCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- simulate(ctx, &cmdEnv{stdout: &out, stderr: io.Discard}, r, nil) }()
	if _, err := io.WriteString(w, "signal 3\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("simulate did not stop on cancel")
	}
}

func TestSimulateUsage(t *testing.T) {
	for _, args := range [][]string{{"--capacity", "0"}, {"--pin", "12"}, {"extra"}, {"--delay", "-1s"}} {
		err := simulate(context.Background(), &cmdEnv{stdout: io.Discard, stderr: io.Discard}, strings.NewReader(""), args)
		var ue usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	notLink := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notLink, nil, 0o600)
	if err := simulate(context.Background(), &cmdEnv{stdout: io.Discard, stderr: io.Discard}, strings.NewReader(""), []string{"--link", notLink}); err == nil {
		t.Error("--link replaced a regular file")
	}
}
