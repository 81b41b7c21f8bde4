//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package dialer

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/sigdial/sigdial/reactor"
)

// asyncState is what an AsyncDial keeps while it runs.
type asyncState struct {
	d          *Dialer
	cancel     context.CancelFunc
	netw, addr string
	err        error // the result, published by asyncFinished
	flagBits   atomic.Uint32
}

func (st *asyncState) flags() *atomic.Uint32 { return &st.flagBits }

func (st *asyncState) setResult(err error) { st.err = err }
func (st *asyncState) result() error       { return st.err }

func (st *asyncState) init(d *Dialer, network, address string) {
	st.d, st.netw, st.addr = d, network, address
}
func (st *asyncState) network() string     { return st.netw }
func (st *asyncState) address() string     { return st.addr }
func (st *asyncState) loop() *reactor.Loop { return placeholderLoop }

// placeholderLoop is what Loop returns once a dial has started: there are
// no reactor loops on this system.
var placeholderLoop = &reactor.Loop{}

// Start starts the dial and returns at once. On this system there is no
// reactor: the dial runs on a goroutine of its own through net.Dialer, and
// its signals are emitted from that goroutine. See the Unix version for the
// contract, which is otherwise the same.
func (x *AsyncDial) Start(ctx context.Context) error {
	if ctx == nil {
		panic("nil context")
	}
	if x.state.flags().Or(asyncStarted)&asyncStarted != 0 {
		return ErrStarted
	}
	ctx, cancel := context.WithCancel(ctx)
	x.state.cancel = cancel
	x.publish()
	d := x.state.d
	go func() {
		defer cancel()
		start := time.Now()
		c, err := d.netDialer().DialContext(ctx, x.state.netw, x.state.addr)
		emitOutcome(emitter{detached: true}, &x.Signals, x, true, x.state.netw, x.state.addr, time.Since(start), 1, c, err)
		d.report(emitter{detached: true}, x, x.state.netw, x.state.addr, start, 1, c, err)
		x.finishDial(err)
	}()
	return nil
}

// cancelStarted cancels a started dial.
func (x *AsyncDial) cancelStarted() { x.state.cancel() }
