package faults

import (
	"testing"
	"time"
)

// FDCount returns the number of file descriptors open in the test process
// (read from /proc/self/fd, not counting the one used to read it). It skips
// the test where that cannot be read.
func FDCount(t testing.TB) int {
	t.Helper()
	return fdCount(t)
}

// CheckFDs records the file descriptors open now and, when the test ends,
// fails the test if any opened since is still open, listing each with what
// it refers to (e.g. "socket:[31337]"). Descriptors closed up to a second
// after the test's other cleanups have run are not counted as leaks.
//
// Call it first in the test, so that its check runs after the cleanups that
// the test registers later. The count is process-wide, so it cannot tell one
// test's descriptors from another's: CheckFDs calls t.Setenv, which makes
// testing panic if the test is (or later becomes) parallel. For packages of
// parallel tests use CheckFDsMain. It is a no-op on systems without
// /proc/self/fd.
func CheckFDs(t testing.TB) {
	t.Helper()
	checkFDs(t)
}

// CheckFDsMain wraps m so that Run fails (returns 1) when the tests as a
// whole leave file descriptors open, listing them on stderr. It composes with
// goleak:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(faults.CheckFDsMain(m)) }
//
// Descriptors that the Go runtime opens once for its network poller are
// opened before the first count, so they do not show up as leaks. On systems
// without /proc/self/fd it returns m unchanged.
func CheckFDsMain(m TestingM) TestingM {
	return checkFDsMain(m)
}

// fdGrace is how long a check waits for descriptors to be closed after the
// code under test returned: closes handed to another goroutine (a reactor
// loop, a responder, an in-process server) finish shortly afterwards. A
// variable for this package's tests.
var fdGrace = time.Second

// FDCountAtMost returns the number of open file descriptors once it is at
// most n, or after the same grace CheckFDs gives (a second) if it never
// is. A test whose in-process server closes accepted connections on its
// own goroutine uses it: that close may come just after the client side is
// done.
func FDCountAtMost(t testing.TB, n int) int {
	t.Helper()
	deadline := time.Now().Add(fdGrace)
	for {
		c := fdCount(t)
		if c <= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
}
