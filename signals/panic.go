package signals

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// PanicReporter is an optional interface for an Executor. A queued slot that
// panics on an executor implementing it, on a signal without its own panic
// handler (Signal.SetPanicHandler), is reported to ReportPanic. Loop
// implements it.
type PanicReporter interface {
	ReportPanic(recovered any, stack []byte)
}

// panicOutput is where the default panic handler writes; tests replace it.
var panicOutput struct {
	sync.Mutex
	w io.Writer
}

func init() { panicOutput.w = os.Stderr }

// defaultPanicHandler writes the recovered value and the stack to stderr.
func defaultPanicHandler(recovered any, stack []byte) {
	panicOutput.Lock()
	defer panicOutput.Unlock()
	fmt.Fprintf(panicOutput.w, "signals: recovered panic in slot: %v\n%s\n", recovered, stack)
}
