package trigger

import "golang.org/x/sys/unix"

// kernelSynchronized asks adjtimex(2) (modes 0: read only) whether the clock
// is synchronised: not TIME_ERROR and STA_UNSYNC clear.
func kernelSynchronized() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return err == nil && state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}
