package modem

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fakeProc builds a /proc-shaped tree: pid → fd number → link target,
// and pid → comm.
func fakeProc(t *testing.T, fds map[string]map[string]string, comm map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, links := range fds {
		dir := filepath.Join(root, pid, "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for fd, target := range links {
			if err := os.Symlink(target, filepath.Join(dir, fd)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for pid, name := range comm {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "comm"), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestProcHolders(t *testing.T) {
	root := fakeProc(t, map[string]map[string]string{
		"612":  {"0": "/dev/null", "7": "/dev/ttyUSB2", "8": "/dev/ttyUSB2", "9": "socket:[4711]"},
		"900":  {"3": "/dev/ttyUSB0", "4": "/dev/ttyUSB2"},
		"4242": {"5": "/dev/ttyUSB1"}, // this process: not a holder of its own ports
		"77":   {"1": "/dev/ttyACM0"}, // no comm: name unknown
	}, map[string]string{"612": "ModemManager", "900": "pppd", "4242": "oobd"})
	// Non-process entries are ignored.
	os.WriteFile(filepath.Join(root, "uptime"), []byte("1 1\n"), 0o644)
	os.Symlink("4242", filepath.Join(root, "self"))

	held, complete, err := ProcHolders{Proc: os.DirFS(root), Self: 4242}.Holders()
	if err != nil || !complete {
		t.Fatalf("Holders: complete %v, %v", complete, err)
	}
	want := map[string][]Holder{
		"/dev/null":    {{612, "ModemManager"}},
		"/dev/ttyUSB2": {{612, "ModemManager"}, {900, "pppd"}},
		"/dev/ttyUSB0": {{900, "pppd"}},
		"/dev/ttyACM0": {{77, "?"}},
	}
	if !reflect.DeepEqual(held, want) {
		t.Errorf("held = %v\nwant %v", held, want)
	}
}

func TestProcHoldersIncomplete(t *testing.T) {
	root := fakeProc(t, map[string]map[string]string{"10": {"3": "/dev/ttyUSB2"}}, nil)
	// A process whose fd directory cannot be read (as another user's
	// without root): here a file where the directory should be.
	os.MkdirAll(filepath.Join(root, "20"), 0o755)
	os.WriteFile(filepath.Join(root, "20", "fd"), nil, 0o644)
	// A process that ended between the listing and the look: no blind spot.
	os.MkdirAll(filepath.Join(root, "30"), 0o755)

	held, complete, err := ProcHolders{Proc: os.DirFS(root)}.Holders()
	if err != nil || complete || len(held["/dev/ttyUSB2"]) != 1 {
		t.Errorf("Holders = %v, complete %v, %v; want the readable one and complete false", held, complete, err)
	}
	if _, _, err := (ProcHolders{Proc: os.DirFS(filepath.Join(root, "missing"))}).Holders(); err == nil {
		t.Error("no /proc: no error")
	}
}
