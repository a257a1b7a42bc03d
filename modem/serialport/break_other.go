//go:build !linux && !freebsd

package serialport

import (
	"errors"
	"os"
)

// fileBreak is not needed here: Open returns go.bug.st/serial's port,
// which has its own Break.
func fileBreak(*os.File) error { return errors.ErrUnsupported }
