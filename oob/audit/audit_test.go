package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func readLines(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rs []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestWriteAppends(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)
	l, err := Open(dir, WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Sender: "+46701234567", Verdict: "accepted", Verb: "up", SCTS: at.Add(-time.Minute), Text: "<secret> up"})
	l.Close()
	l.Close() // idempotent
	// Reopening appends.
	l, _ = Open(dir)
	l.Write(Record{Time: at, Sender: "+1555", Verdict: "unknown-sender"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rs := readLines(t, filepath.Join(dir, FileName))
	if len(rs) != 2 || rs[0].Verdict != "accepted" || !rs[0].Time.Equal(at) || rs[1].Verdict != "unknown-sender" {
		t.Fatalf("records = %+v", rs)
	}
	fi, _ := os.Stat(filepath.Join(dir, FileName))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if err := l.Write(Record{}); err == nil {
		t.Error("write after Close succeeded")
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, WithMaxSize(400), WithKeep(2))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 30 {
		if err := l.Write(Record{Sender: fmt.Sprintf("+4670%07d", i), Verdict: "bad-secret"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{FileName, FileName + ".1", FileName + ".2"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi.Size() > 400 {
			t.Errorf("%s is %d bytes, over the bound", name, fi.Size())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+".3")); !os.IsNotExist(err) {
		t.Errorf("more than keep files: %v", err)
	}
	// The newest record is last in audit.log, and the files are in order.
	cur := readLines(t, filepath.Join(dir, FileName))
	prev := readLines(t, filepath.Join(dir, FileName+".1"))
	if cur[len(cur)-1].Sender != "+46700000029" || prev[len(prev)-1].Sender >= cur[0].Sender {
		t.Errorf("rotation order wrong: %v … %v", prev[len(prev)-1].Sender, cur[0].Sender)
	}
}

func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, WithMaxSize(1<<20))
	defer l.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Write(Record{Sender: fmt.Sprint(i), Verdict: "malformed", Reason: strings.Repeat("x", 100)})
		}()
	}
	wg.Wait()
	if n := len(readLines(t, filepath.Join(dir, FileName))); n != 20 {
		t.Errorf("%d records, want 20", n)
	}
}
