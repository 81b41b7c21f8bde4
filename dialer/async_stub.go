//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package dialer

import (
	"context"
	"time"
)

// Start starts the dial and returns at once. On this system there is no
// reactor: the dial runs on a goroutine of its own through net.Dialer, and
// its signals are emitted from that goroutine. See the Unix version for the
// contract, which is otherwise the same.
func (x *AsyncDial) Start(ctx context.Context) error {
	if ctx == nil {
		panic("nil context")
	}
	if !x.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	ctx, cancel := context.WithCancel(ctx)
	x.state.Store(&dialRef{cancel: cancel})
	if x.canceled.Load() {
		cancel()
	}
	go func() {
		defer cancel()
		start := time.Now()
		c, err := x.d.netDialer().DialContext(ctx, x.network, x.address)
		emitOutcome(emitter{}, &x.Signals, x.network, x.address, time.Since(start), 1, c, err)
		x.d.report(emitter{}, x.network, x.address, start, 1, c, err)
		x.finishDial(err)
	}()
	return nil
}
