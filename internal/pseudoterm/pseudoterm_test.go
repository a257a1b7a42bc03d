package pseudoterm

import (
	"os"
	"testing"
	"time"
)

// The slave is raw (a CR stays a CR, nothing is echoed), and Close on the
// master wakes a Read blocked on it.
func TestOpenIsRawAndClosable(t *testing.T) {
	master, slave, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if _, err := os.Stat(slave.Name()); err != nil {
		t.Fatalf("slave path %s: %v", slave.Name(), err)
	}
	if _, err := slave.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, err := master.Read(buf)
	if err != nil || string(buf[:n]) != "AT\r" {
		t.Fatalf("master read %q, %v; want the bytes as written", buf[:n], err)
	}
	if _, err := master.Write([]byte("OK\r\n")); err != nil {
		t.Fatal(err)
	}
	slave.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = slave.Read(buf)
	if err != nil || string(buf[:n]) != "OK\r\n" {
		t.Fatalf("slave read %q, %v", buf[:n], err)
	}
	master.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := master.Read(buf); done <- err }()
	time.Sleep(10 * time.Millisecond) // let the read block; Close must wake it either way
	master.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a blocked Read")
	}
}
