// Package mainns tests faults.MainInFreshNetNS, which can only be used from a
// TestMain, so it needs a test binary of its own.
package mainns

import (
	"testing"

	"github.com/sigdial/sigdial/internal/faults"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(faults.CheckFDsMain(faults.MainInFreshNetNS(m)))
}
