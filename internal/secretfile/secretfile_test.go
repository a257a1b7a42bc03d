package secretfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(" s3cret \n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		path   string
		unsafe string // "" for a file that reads
	}{
		{"0600", write("a", 0o600), ""},
		{"0400", write("b", 0o400), ""},
		{"group readable", write("c", 0o640), "mode 0640"},
		{"world readable", write("d", 0o604), "mode 0604"},
		{"a directory", dir, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Read(tt.path)
			if tt.unsafe == "" {
				if err != nil || string(b) != " s3cret \n" {
					t.Fatalf("Read = %q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tt.unsafe) || b != nil {
				t.Errorf("Read = %q, %v; want ErrUnsafe naming %q", b, err, tt.unsafe)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

// The owner: root, or the user oobd runs as; anyone else could replace it.
func TestCheckOwner(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(fi, os.Geteuid()); err != nil {
		t.Errorf("own file: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(p, 12345, 0); err != nil {
			t.Fatal(err)
		}
		fi, _ = os.Stat(p)
		if err := check(fi, 0); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "uid 12345") {
			t.Errorf("a stranger's file: %v", err)
		}
	}
	// As another daemon user, root's file is still fine.
	if err := check(fi, 999); err != nil && !strings.Contains(err.Error(), "uid 12345") {
		t.Errorf("as another user: %v", err)
	}
}

// The check is on the opened file: a path swapped for a loose file after
// it was opened does not matter, and a loosened file is caught at the
// next read.
func TestLoosenedLaterIsCaughtAtTheNextRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o644)
	if _, err := Read(p); !errors.Is(err, ErrUnsafe) {
		t.Errorf("after chmod 644: %v", err)
	}
}
