//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// Start starts the dial and returns at once. ctx bounds it as it bounds
// DialContext (with the Dialer's Timeout and Deadline); once connected, the
// context no longer matters.
//
// The dial runs on one of the reactor's loops, taken in turn, unless ctx
// names one with signals.WithExecutor: code running on a loop (a slot of
// an earlier dial, say) can keep the new dial on that loop, which saves
// waking another thread to hand it over.
//
// Start returns an error, and emits nothing, only when the dial cannot be
// started: a second Start (ErrStarted), or no usable reactor (the
// Dialer's reactor was closed: an error that wraps net.ErrClosed). Every
// other failure, bad addresses included, arrives as an outcome signal.
func (x *AsyncDial) Start(ctx context.Context) error {
	if ctx == nil {
		panic("nil context")
	}
	if x.state.flags().Or(asyncStarted)&asyncStarted != 0 {
		return ErrStarted
	}
	dl := &x.state.dl
	d, network, address := dl.d, dl.network, dl.address
	r, err := d.reactorFor()
	if err == nil && r.Closed() {
		err = reactor.ErrClosed
	}
	if err != nil {
		return opError(network, nil, nil, err)
	}
	// dl is still as NewAsyncDial made it: only these fields are set
	// (not the whole struct, whose asyncFlags Cancel may be changing).
	start := time.Now()
	dl.deadline, dl.started = monoDeadline(d.deadline(ctx, start)), mono(start)
	dl.async, dl.loop = x, pickLoop(ctx, r)
	ctx, release := d.cancelCtx(ctx)
	if d.Cancel != nil {
		dl.coldState().release = release
	}
	dl.ctx = ctx
	resolving := needsResolver(network, address)
	dl.literal = !resolving
	rctx := ctx
	if resolving {
		// Cancel must reach the resolver too, as canceling DialContext's
		// context does: a name server that does not answer would
		// otherwise hold the dial until the resolver gives up. cold is
		// made here, before publish, so that Cancel can read it.
		rctx, dl.coldState().stopResolve = context.WithCancel(ctx)
	}
	x.publish()
	if !resolving {
		dl.primary.addrs, dl.err = d.resolveAddrList(ctx, "dial", network, address, d.LocalAddr)
		if perr := dl.loop.Post(x.begin); perr != nil {
			release()
			return opError(network, nil, nil, perr)
		}
		return nil
	}
	go func() {
		addrs, err := d.resolve(rctx, dl.deadlineTime(), network, address)
		dl.cold.stopResolve()
		dl.primary.addrs, dl.err = addrs, err
		if perr := dl.loop.Post(x.begin); perr != nil {
			// The reactor closed while the name resolved: end the dial
			// here, the only place left to report from.
			release()
			err := opError(network, nil, nil, perr)
			e := emitter{detached: true}
			emitOutcome(e, &x.Signals, x, true, network, address, time.Since(start), 0, nil, err)
			d.report(e, x, network, address, start, 0, nil, err)
			x.finishDial(err)
		}
	}()
	return nil
}

// asyncState is what an AsyncDial keeps while it runs, inline in the
// AsyncDial so that a dial costs one allocation.
type asyncState struct {
	dl dial
}

func (st *asyncState) init(d *Dialer, network, address string) {
	st.dl.d, st.dl.network, st.dl.address = d, network, address
}
func (st *asyncState) network() string     { return st.dl.network }
func (st *asyncState) address() string     { return st.dl.address }
func (st *asyncState) loop() *reactor.Loop { return st.dl.loop }

// flags returns the AsyncDial's flags, kept in the dial.
func (st *asyncState) flags() *atomic.Uint32 { return &st.dl.asyncFlags }

// setResult and result keep the finished dial's error in the dial state,
// which is done with it by then. The asyncFinished flag orders them.
func (st *asyncState) setResult(err error) { st.dl.err = err }
func (st *asyncState) result() error       { return st.dl.err }

// cancelStarted cancels a published dial: name resolution now, the rest
// on the loop.
func (x *AsyncDial) cancelStarted() {
	dl := &x.state.dl
	if !dl.literal {
		// Start made cold, and set stopResolve, before publishing the
		// dial, and the loop never replaces cold once made. (A literal
		// dial's cold may be made on the loop at any time: not read here.)
		dl.cold.stopResolve()
	}
	_ = dl.loop.Post(x.abortCanceled)
}

// abortCanceled is Cancel's work on the loop.
func (x *AsyncDial) abortCanceled() { x.state.dl.abort(abortCanceled) }

// begin hands the resolved addresses to the dial on its loop. Start
// leaves them, or the resolver's error, in the primary racer and the
// result (no fields of their own: a pending dial's size matters).
func (x *AsyncDial) begin() {
	dl := &x.state.dl
	addrs, err := dl.primary.addrs, dl.err
	dl.primary.addrs, dl.err = nil, nil
	dl.begin(addrs, err)
}

// pickLoop returns the loop a dial runs on: the loop ctx declares with
// signals.WithExecutor, if it is one of r's, else the next one in turn. A
// slot that starts a dial from the loop it runs on can so keep the dial
// there, and hand it over without waking another thread.
func pickLoop(ctx context.Context, r *reactor.Reactor) *reactor.Loop {
	if l, ok := signals.ExecutorFrom(ctx).(*reactor.Loop); ok && l != nil && l.Reactor() == r {
		return l
	}
	return r.Next()
}

// needsResolver reports whether resolving address for network may ask the
// resolver (and so may block): not for unix networks, nor for literal IP
// addresses with numeric ports.
func needsResolver(network, address string) bool {
	switch network {
	case "unix", "unixgram", "unixpacket":
		return false
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return false // fails without the resolver
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return true // a service name
		}
	}
	if host == "" {
		return false
	}
	_, err = netip.ParseAddr(host)
	return err != nil
}

// begin runs an asynchronous dial on its loop, once its addresses are
// known. Loop only.
func (dl *dial) begin(addrs addrList, err error) {
	dl.onLoop = true
	x := dl.async
	if err != nil {
		dl.finish(nil, -1, nil, opError(dl.network, nil, nil, err))
		return
	}
	dl.split(addrs)
	if x.canceled() {
		dl.aborted = abortCanceled
	}
	if done := dl.ctx.Done(); done != nil {
		dl.watchCtx()
	}
	dl.primary.step()
	dl.armFallback()
}

// complete converts the winning fd and emits the outcome: the Dial's
// signals first (they own the conn), then the Dialer's. Loop only.
func (x *AsyncDial) complete(dl *dial, c net.Conn) {
	if dl.cold != nil && dl.cold.release != nil {
		dl.cold.release()
	}
	err := dl.err // c is the conn when err is nil: attemptDone converted the fd
	e := emitter{loop: dl.loop}
	elapsed := dl.started.since()
	emitOutcome(e, &x.Signals, x, true, dl.network, dl.address, elapsed, int(dl.attempts), c, err)
	dl.d.report(e, x, dl.network, dl.address, dl.started.time(), int(dl.attempts), c, err)
	x.finishDial(err)
}
