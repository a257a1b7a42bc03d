package link

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestFileJournal(t *testing.T) {
	j := FileJournal{Path: filepath.Join(t.TempDir(), "journal.json")}
	if lo, err := j.Load(); err != nil || !lo.Empty() {
		t.Fatalf("Load of a missing journal = %+v, %v", lo, err)
	}
	want := Leftovers{
		Interface: "ppp0",
		Dialer:    &Process{PID: 4242, StartTime: "987654", Cmdline: []string{"pppd", "call", "oob", "nodetach"}},
		Routes:    []HostRoute{{Dst: "203.0.113.10", Interface: "ppp0"}},
	}
	if err := j.Record(want); err != nil {
		t.Fatal(err)
	}
	got, err := j.Load()
	if err != nil || !reflect.DeepEqual(got, want) || got.Empty() {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if err := j.Record(Leftovers{Interface: "ppp0"}); err != nil {
		t.Fatal(err)
	}
	if got, err := j.Load(); err != nil || !got.Empty() {
		t.Errorf("after clearing: %+v, %v", got, err)
	}
}

func TestLoggableArgv(t *testing.T) {
	in := []string{"pppd", "call", "oob", "password", "s3cret", "nodetach"}
	got := loggableArgv(in)
	want := []string{"pppd", "call", "oob", "password", "***", "nodetach"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loggableArgv = %q, want %q", got, want)
	}
	if in[4] != "s3cret" {
		t.Error("loggableArgv changed its input")
	}
}
