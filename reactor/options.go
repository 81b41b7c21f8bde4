package reactor

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

// An Option configures a Reactor made by New.
type Option interface {
	apply(*config)
}

type config struct {
	loops        int
	panicHandler func(recovered any, stack []byte)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLoops sets the number of event loops. It must be at least 1. The
// default is GOMAXPROCS, at most 8: one loop per P is what it takes for
// connect throughput to scale past one core.
func WithLoops(n int) Option {
	return optionFunc(func(c *config) { c.loops = n })
}

// WithPanicHandler sets the function that receives a panic recovered from a
// function running on a loop (a posted function, a timer, a connect's
// completion). The loop goes on running. The default handler writes the
// value and the stack to standard error.
func WithPanicHandler(h func(recovered any, stack []byte)) Option {
	return optionFunc(func(c *config) { c.panicHandler = h })
}

// defaultLoops is the loop count when WithLoops is not given.
func defaultLoops() int {
	return min(max(runtime.GOMAXPROCS(0), 1), 8)
}

func defaultPanicHandler(recovered any, stack []byte) {
	fmt.Fprintf(os.Stderr, "sigdial/reactor: panic on a loop: %v\n%s", recovered, stack)
}

// report calls h, or the default handler, with a recovered panic.
func report(h func(any, []byte), recovered any) {
	if h == nil {
		h = defaultPanicHandler
	}
	h(recovered, debug.Stack())
}
