package console

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"go.uber.org/goleak"

	"github.com/oobd/oobd/modem/serialport"
)

// router is the far end of a pseudo-terminal: what the router's console
// port would be. The bridge opens the other end as a serial port.
func router(t *testing.T) (*os.File, io.ReadWriteCloser) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	port, err := serialport.Open(slave.Name(), 57600)
	if err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() { master.Close() })
	return master, port
}

// readUntil reads from r until want has been seen.
func readUntil(t *testing.T, c net.Conn, want string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got strings.Builder
	buf := make([]byte, 512)
	for !strings.Contains(got.String(), want) {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading for %q: %v (have %q)", want, err, got.String())
		}
	}
	return got.String()
}

func TestBridge(t *testing.T) {
	defer goleak.VerifyNone(t)
	master, port := router(t)
	logFile := filepath.Join(t.TempDir(), "console.log")
	b, err := New(port, Config{Listen: "127.0.0.1:0", History: 16, LogFile: logFile}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// Printed while nobody watched: the last 16 bytes are kept.
	if _, err := master.Write([]byte("U-Boot 2024.01 ... kernel panic: VFS\n")); err != nil {
		t.Fatal(err)
	}
	// The bridge must have read it before the client connects; the log
	// file is the signal that it has.
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(logFile)
		if strings.Contains(string(data), "VFS") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console output never reached the log: %q", data)
		}
		time.Sleep(10 * time.Millisecond)
	}

	first, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	got := readUntil(t, first, "panic: VFS\n")
	if !strings.Contains(got, "you have the keyboard") || !strings.Contains(got, "16 bytes printed while nobody watched") {
		t.Fatalf("first client saw %q", got)
	}
	if strings.Contains(got, "U-Boot") {
		t.Fatalf("history kept more than its size: %q", got)
	}

	second, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	readUntil(t, second, "watching only")

	// Only the first client's keystrokes reach the router.
	second.Write([]byte("reload\r"))
	first.Write([]byte("show version\r"))
	r := bufio.NewReader(master)
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := r.ReadString('\r')
	if err != nil || line != "show version\r" {
		t.Fatalf("router read %q, %v; want only the keyboard holder's input", line, err)
	}

	// Both see what the router prints.
	master.Write([]byte("Cisco IOS 15.2\n"))
	readUntil(t, first, "Cisco IOS")
	readUntil(t, second, "Cisco IOS")

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.Close() // idempotent
	data, _ := os.ReadFile(logFile)
	if !strings.Contains(string(data), "U-Boot") || !strings.Contains(string(data), "Cisco IOS") {
		t.Fatalf("log lacks output: %q", data)
	}
}

func TestLogRotates(t *testing.T) {
	master, port := router(t)
	logFile := filepath.Join(t.TempDir(), "console.log")
	b, err := New(port, Config{Listen: "127.0.0.1:0", LogFile: logFile, LogMax: 10}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	master.Write([]byte("0123456789"))
	c, _ := net.Dial("tcp", b.Addr().String())
	defer c.Close()
	readUntil(t, c, "keyboard")
	master.Write([]byte("abcdef"))
	readUntil(t, c, "abcdef")
	b.Close()
	old, _ := os.ReadFile(logFile + ".1")
	cur, _ := os.ReadFile(logFile)
	if string(old) != "0123456789" || string(cur) != "abcdef" {
		t.Fatalf("rotated %q, current %q", old, cur)
	}
}
