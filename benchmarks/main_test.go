// Package benchmarks compares sigdial with the standard library and the
// other anchors, in one `go test -bench` run. See README.md for the
// commands and the latest table.
package benchmarks

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(stopServer{m})
}

// stopServer runs the tests and benchmarks, then stops the dial
// benchmarks' server process, so goleak sees no goroutine of it.
type stopServer struct{ m *testing.M }

func (s stopServer) Run() int {
	code := s.m.Run()
	if serverStop != nil {
		serverStop()
	}
	return code
}
