// Package secretfile reads the files that hold secrets (the trigger secret,
// the TOTP key, the Pushover token, the SIM PIN, the tunnel's identity key)
// and refuses one that others could read or replace: it must be a regular
// file owned by root or by the user oobd runs as, with no permission bits
// for group or others (0600 or 0400). The check is made on the opened
// file, not the path, on every read, so a file swapped or loosened after
// start-up is caught when it is next needed.
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrUnsafe is wrapped by every error about a file's owner or mode.
var ErrUnsafe = errors.New("unsafe secret file")

// maxSize bounds what is read: secrets and keys are small.
const maxSize = 1 << 20

// Read returns the contents of the secret file at path, after checking
// the opened file's type, owner and mode.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := check(fi, os.Geteuid()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a secret file", path, maxSize)
	}
	return b, nil
}

// check tells why fi cannot hold a secret for a process running as euid.
func check(fi os.FileInfo, euid int) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file", ErrUnsafe)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: accessible by group or others (mode %04o): chmod 600 it", ErrUnsafe, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := int(st.Uid); uid != 0 && uid != euid {
			return fmt.Errorf("%w: owned by uid %d, not root or the user oobd runs as: chown root it", ErrUnsafe, uid)
		}
	}
	return nil
}
