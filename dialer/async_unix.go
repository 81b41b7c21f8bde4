//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"
	"net"
	"net/http/httptrace"
	"net/netip"
	"time"

	"github.com/sigdial/sigdial/reactor"
)

// Start starts the dial and returns at once. ctx bounds it as it bounds
// DialContext (with the Dialer's Timeout and Deadline); once connected, the
// context no longer matters.
//
// Start returns an error, and emits nothing, only when the dial cannot be
// started: a second Start (ErrStarted), or no usable reactor (the
// Dialer's reactor was closed: an error that wraps net.ErrClosed). Every
// other failure, bad addresses included, arrives as an outcome signal.
func (x *AsyncDial) Start(ctx context.Context) error {
	if ctx == nil {
		panic("nil context")
	}
	if !x.started.CompareAndSwap(false, true) {
		return ErrStarted
	}
	d := x.d
	r, err := d.reactorFor()
	if err == nil && r.Closed() {
		err = reactor.ErrClosed
	}
	if err != nil {
		return opError(x.network, nil, nil, err)
	}
	start := time.Now()
	dl := &dial{
		d: d, network: x.network, address: x.address,
		laddr: d.LocalAddr, deadline: d.deadline(ctx, start), start: start,
		trace: httptrace.ContextClientTrace(ctx), mptcp: d.MultipathTCP(),
		wrap: wrapAttempt, async: x, loop: r.Next(),
	}
	x.loop.Store(dl.loop)
	ctx, dl.release = d.cancelCtx(ctx)
	dl.ctx = ctx
	resolving := needsResolver(x.network, x.address)
	rctx, stopResolve := ctx, context.CancelFunc(nil)
	if resolving {
		// Cancel must reach the resolver too, as canceling DialContext's
		// context does: a name server that does not answer would
		// otherwise hold the dial until the resolver gives up.
		rctx, stopResolve = context.WithCancel(ctx)
	}
	x.state.Store(&dialRef{cancel: func() {
		if stopResolve != nil {
			stopResolve()
		}
		_ = dl.loop.Post(func() { dl.abort(errCanceled) })
	}})
	if !resolving {
		addrs, err := d.resolveAddrList(ctx, "dial", x.network, x.address, d.LocalAddr)
		if perr := dl.loop.Post(func() { dl.begin(addrs, err) }); perr != nil {
			dl.release()
			return opError(x.network, nil, nil, perr)
		}
		return nil
	}
	if x.canceled.Load() {
		stopResolve() // Cancel came before the ref was stored
	}
	go func() {
		addrs, err := d.resolve(rctx, dl.deadline, x.network, x.address)
		stopResolve()
		if perr := dl.loop.Post(func() { dl.begin(addrs, err) }); perr != nil {
			// The reactor closed while the name resolved: end the dial
			// here, the only place left to report from.
			dl.release()
			err := opError(x.network, nil, nil, perr)
			emitOutcome(emitter{}, &x.Signals, x.network, x.address, time.Since(start), 0, nil, err)
			d.report(emitter{}, x.network, x.address, start, 0, nil, err)
			x.finishDial(err)
		}
	}()
	return nil
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
		dl.finish(nil, -1, opError(dl.network, nil, nil, err))
		return
	}
	dl.split(addrs)
	if x.canceled.Load() {
		dl.abortErr = errCanceled
	}
	if done := dl.ctx.Done(); done != nil {
		dl.stopCtx = context.AfterFunc(dl.ctx, func() {
			_ = dl.loop.Post(func() { dl.abort(mapErr(dl.ctx.Err())) })
		})
	}
	dl.racers[0].step()
	dl.armFallback()
}

// complete converts the winning fd and emits the outcome: the Dial's
// signals first (they own the conn), then the Dialer's. Loop only.
func (x *AsyncDial) complete(dl *dial) {
	if dl.release != nil {
		dl.release()
	}
	err := dl.err
	c := dl.conn
	if err == nil && c == nil {
		if c, err = newConn(dl.fd, dl.family, dl.sotype, dl.d.KeepAlive, dl.d.KeepAliveConfig); err != nil {
			err = dl.wrap(dl, dl.winnerAddr(), err)
		}
	}
	e := emitter{loop: dl.loop}
	elapsed := time.Since(dl.start)
	emitOutcome(e, &x.Signals, dl.network, dl.address, elapsed, dl.attempts, c, err)
	dl.d.report(e, dl.network, dl.address, dl.start, dl.attempts, c, err)
	x.finishDial(err)
}
