package modem

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func readAll(t *testing.T, w *wire) string {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 5)
	for {
		n, err := w.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestWireDropsAbandonedAnswers(t *testing.T) {
	tests := []struct {
		name, in, want string
		abandon        []bool // per command written, in order
	}{
		{"nothing abandoned", "\r\nOK\r\n\r\n+CSQ: 1,2\r\n\r\nOK\r\n", "\r\nOK\r\n\r\n+CSQ: 1,2\r\n\r\nOK\r\n", []bool{false, false}},
		{"late OK dropped", "\r\nOK\r\n\r\n+CSQ: 1,2\r\n\r\nOK\r\n", "\r\n\r\n\r\n+CSQ: 1,2\r\n\r\nOK\r\n", []bool{true, false}},
		{"late error dropped", "\r\n+CMS ERROR: 500\r\nOK\r\n", "\r\n\r\nOK\r\n", []bool{true, false}},
		{"URCs pass", "^RSSI:5\r\n+CMTI: \"SM\",1\r\nOK\r\n", "^RSSI:5\r\n+CMTI: \"SM\",1\r\n\r\n", []bool{true}},
		{"noise before OK", "\x00\xffOK\r\nOK\r\n", "\r\nOK\r\n", []bool{true, false}},
		{"prompt passes at once", "> ", "> ", []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := 0
			w := newWire(&scriptPort{r: bytes.NewReader([]byte(tt.in))}, time.Now, func(time.Time) { answers++ })
			for _, a := range tt.abandon {
				w.Write([]byte("AT+X\r\n"))
				if a {
					w.abandon()
				}
			}
			if got := readAll(t, w); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWireWaitIdle(t *testing.T) {
	pr, pw := io.Pipe()
	w := newWire(struct {
		io.Reader
		io.Writer
		io.Closer
	}{pr, io.Discard, pr}, time.Now, nil)
	w.Write([]byte("AT\r\n"))
	w.abandon()
	if w.idle() {
		t.Fatal("idle with a command outstanding")
	}
	go func() { pw.Write([]byte("\r\nOK\r\n")); pw.Close() }()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, w); close(done) }()
	defer func() { <-done }()
	if !w.waitIdle(10 * time.Second) {
		t.Fatal("not idle after the late answer came")
	}
	w.Write([]byte("AT\r\n"))
	if w.waitIdle(10 * time.Millisecond) {
		t.Error("idle with an unanswered command (the port closed)")
	}
	w.forget()
	if !w.idle() {
		t.Error("not idle after forget")
	}
}
