// sigdial-helper-tests

package dialer

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(faults.CheckFDsMain(closeDefaultReactor{m}))
}

// closeDefaultReactor closes the shared reactor that zero Dialers start, so
// that neither its goroutines nor its file descriptors count as leaks.
type closeDefaultReactor struct{ m faults.TestingM }

func (c closeDefaultReactor) Run() int {
	code := c.m.Run()
	if err := reactor.CloseDefault(); err != nil && code == 0 {
		println("closing the default reactor:", err.Error())
		code = 1
	}
	return code
}
