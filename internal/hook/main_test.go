//go:build linux

package hook

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sigdial/sigdial/internal/faults"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(faults.CheckFDsMain(m)) }
