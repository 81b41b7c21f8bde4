//go:build linux

package reactor

import (
	"fmt"
	"net"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(fdCheck{m})
}

// fdCheck fails the run if it ends with more open file descriptors than it
// started with.
type fdCheck struct{ m *testing.M }

func (c fdCheck) Run() int {
	// Start Go's own netpoller (its epoll fd and eventfd live for the whole
	// process) before counting, so they are not taken for a leak.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	before := countFDs()
	code := c.m.Run()
	if after := countFDs(); code == 0 && after > before {
		fmt.Fprintf(os.Stderr, "FAIL: %d file descriptors leaked (%d before the tests, %d after)\n", after-before, before, after)
		code = 1
	}
	return code
}

// countFDs counts this process's open file descriptors.
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		panic(err)
	}
	return len(ents) - 1 // ReadDir's own fd
}
