//go:build !linux

package trigger

// kernelSynchronized is "not known" here (FreeBSD's ntp_adjtime(2) is not
// wrapped by x/sys): the newest SCTS seen is the trusted time.
func kernelSynchronized() bool { return false }
