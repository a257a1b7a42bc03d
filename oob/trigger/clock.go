package trigger

import "time"

// Clock is the local clock, and whether the kernel says it is synchronised
// (a Raspberry Pi has no real-time clock, and no NTP while the internet is
// down, so its time cannot always be trusted).
type Clock interface {
	Now() time.Time
	Synchronized() bool
}

// SystemClock is the real clock; Synchronized asks the kernel (Linux:
// adjtimex STA_UNSYNC; elsewhere: not known, so not trusted).
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// Synchronized reports whether the kernel says NTP keeps the clock right.
func (SystemClock) Synchronized() bool { return kernelSynchronized() }
