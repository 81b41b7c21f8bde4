//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// Dial connects to the address on the named network. It is DialContext with
// context.Background.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to the address on the named network using the
// provided context, as net.Dialer.DialContext does: same networks, same
// address forms, same resolution, time limits, Happy Eyeballs and errors.
//
// The connects run on the Dialer's reactor. The calling goroutine makes the
// socket, bind and connect system calls itself; a connect that the kernel
// finished inside connect(2) (loopback, usually) returns without involving
// a loop, and one still in progress is handed to a loop while the caller
// waits.
//
// The provided Context must be non-nil. If the context expires before the
// connection is complete, an error is returned. Once successfully
// connected, any expiration of the context will not affect the connection.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if ctx == nil {
		panic("nil context")
	}
	start := time.Now()
	deadline := d.deadline(ctx, start)
	ctx, cancel := d.cancelCtx(ctx)
	defer cancel()

	addrs, err := d.resolve(ctx, deadline, network, address)
	if err != nil {
		err = opError(network, nil, nil, err)
		d.report(emitter{}, nil, network, address, start, 0, nil, err)
		return nil, err
	}
	dl, c, err := dialSync(addrs, func() *dial {
		return &dial{
			d: d, ctx: ctx, network: network, address: address,
			deadline: monoDeadline(deadline), started: mono(start),
		}
	})
	d.reportReturn(network, address, start, int(dl.attempts), c, err)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return c, nil
}

// dialSync runs the blocking dials that newDial makes until one is not a
// self-connect that net would retry: net dials again, up to twice, when
// the socket connected to itself (both ends on the same ephemeral port of
// a local address; go.dev/issue/2690). The check needs the local address,
// which newConn learns anyway, so it costs no getsockname.
func dialSync(addrs addrList, newDial func() *dial) (dl *dial, c net.Conn, err error) {
	for try := 0; ; try++ {
		dl = newDial()
		if err := dl.setup(addrs); err != nil {
			return dl, nil, err
		}
		c, err = dl.runSync()
		if err != nil || try == 2 || !dl.winnerRacer().retry || !selfConnected(c) {
			return dl, c, err
		}
		c.Close()
	}
}

// selfConnected reports whether c is connected to itself (net's
// selfConnect, go.dev/issue/2690).
func selfConnected(c net.Conn) bool {
	l, ok1 := c.LocalAddr().(*net.TCPAddr)
	r, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	return l.Port == r.Port && l.IP.Equal(r.IP)
}

// cancelCtx bridges the deprecated Cancel channel into the context, as net
// does, with a goroutine for the life of the dial.
func (d *Dialer) cancelCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	old := d.Cancel
	if old == nil {
		return ctx, func() {}
	}
	sub, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-old:
			cancel()
		case <-sub.Done():
		}
	}()
	return sub, cancel
}

// resolve turns address into the list of addresses to try. The deadline
// bounds name resolution through a derived context, made only when the
// resolver will be asked: literal addresses need none.
func (d *Dialer) resolve(ctx context.Context, deadline time.Time, network, address string) (addrList, error) {
	if !deadline.IsZero() && needsResolver(network, address) {
		if dd, ok := ctx.Deadline(); !ok || deadline.Before(dd) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	return d.resolveAddrList(ctx, "dial", network, address, d.LocalAddr)
}

// reactorFor returns the reactor dials run on.
func (d *Dialer) reactorFor() (*reactor.Reactor, error) {
	if d.Reactor != nil {
		return d.Reactor, nil
	}
	return reactor.Default()
}

// dial is one dial in progress: one blocking call or one AsyncDial.
// Until it is handed to its loop (onLoop), it is touched only by the
// goroutine that started it; after, only by the loop.
//
// An AsyncDial keeps its dial inline, and thousands of them may be
// pending, so the fields are what a pending dial of one literal address
// needs; what only some dials need is in cold, allocated when needed.
type dial struct {
	d                *Dialer
	ctx              context.Context
	network, address string
	loop             *reactor.Loop
	async            *AsyncDial // nil for a blocking dial
	cold             *dialCold  // nil unless the dial needs one of its fields

	// err is, in turn: an AsyncDial's resolver error, waiting for begin;
	// the primary racer's first error (net's dialSerial firstErr); the
	// dial's result, which stays here for AsyncDial.Err.
	err error

	deadline monoTime // 0: none
	started  monoTime // when the dial started
	primary  racer

	fd       int32  // the result: a connected fd of the winner's family and type
	attempts uint16 // connect attempts made (retries of an address not counted)
	aborted  uint8  // why the dial was ended as a whole (abortNone, ...)
	fbStart  bool
	onLoop   bool
	finished bool
	literal  bool // an AsyncDial of an address that needs no resolver (see dropAddrs)
	watched  bool // in its loop's context watcher (see watchCtx)
	// asyncFlags are AsyncDial.flags, kept here where they fill what
	// would be padding.
	asyncFlags atomic.Uint32
}

// dial.aborted.
const (
	abortNone     uint8 = iota
	abortCanceled       // errCanceled: Cancel, or a lost race
	abortCtx            // the context is done: mapErr(ctx.Err())
	abortErr            // cold.abortErr (the reactor closed)
)

// dialCold holds what few dials need: typed methods, Happy Eyeballs, a
// blocking caller waiting on the loop, the deprecated Cancel channel, name
// resolution, raw IP.
type dialCold struct {
	typed       bool     // a typed method (DialTCP, ...): laddr and raddr are set
	laddr       net.Addr // the typed method's addresses: its errors name them
	raddr       net.Addr // (net's dialTCP, ...)
	fallback    *racer   // Happy Eyeballs' other family; nil if none
	fbTimer     *reactor.Timer
	wait        chan struct{}      // closed at finish, for a blocking dial on the loop
	release     func()             // ends the Cancel-channel bridge of an async dial
	stopResolve context.CancelFunc // ends an async dial's name resolution
	conn        net.Conn           // a blocking dial's conn made by net (raw IP)
	fbErr       error              // the fallback racer's first error
	abortErr    error              // see abortErr
}

// coldState returns dl.cold, allocating it on first use.
func (dl *dial) coldState() *dialCold {
	if dl.cold == nil {
		dl.cold = new(dialCold)
	}
	return dl.cold
}

// fallbackRacer returns the Happy Eyeballs fallback racer, or nil.
func (dl *dial) fallbackRacer() *racer {
	if dl.cold == nil {
		return nil
	}
	return dl.cold.fallback
}

// racer dials a list of addresses one after the other (net's dialSerial).
// Its reactor Op is embedded and it is its own Completer: an attempt costs
// no allocation for them.
type racer struct {
	dl       *dial
	addrs    addrList
	op       reactor.Op
	next     int32 // index of the next address; the current one is next-1
	family   uint8
	sotype   uint8
	primary  bool
	mptcp    bool
	done     bool
	inFlight bool  // op holds a connect in progress
	won      bool  // the dial's result is this racer's connection
	lost     bool  // finish canceled the connect and reported it; ignore its done
	retry    bool  // the attempt may be retried on a spurious failure (net's doDialTCPProto)
	again    bool  // the next attempt retries the current address: not a new attempt
	dropped  bool  // addrs was let go of while the connect is pending (dropAddrs)
	retries  uint8 // spurious failures retried for the current address
}

// firstErr returns the racer's first error: the primary's is kept in the
// dial's err, the fallback's in cold.
func (r *racer) firstErr() error {
	if r.primary {
		return r.dl.err
	}
	return r.dl.cold.fbErr
}

func (r *racer) setFirstErr(err error) {
	if r.primary {
		r.dl.err = err
	} else {
		r.dl.cold.fbErr = err
	}
}

// winnerRacer returns the racer that connected, or nil.
func (dl *dial) winnerRacer() *racer {
	for i := range dl.nracers() {
		if r := dl.racer(i); r.won {
			return r
		}
	}
	return nil
}

// abortError returns the error that ended the dial as a whole, or nil.
func (dl *dial) abortError() error {
	switch dl.aborted {
	case abortCanceled:
		return errCanceled
	case abortCtx:
		return mapErr(dl.ctx.Err())
	case abortErr:
		return dl.cold.abortErr
	}
	return nil
}

// ra returns the address being dialed (or last dialed).
func (r *racer) ra() net.Addr {
	if r.next == 0 {
		return nil
	}
	r.restoreAddrs()
	return r.addrs[r.next-1]
}

// dropAddrs lets go of the address list of an AsyncDial whose one address
// needs no resolver, once its connect is in progress: nothing reads the
// list again unless the connect fails (or a hook wants the address), and
// then restoreAddrs derives it again from the address string, with the
// same result. A pending dial so keeps no net.Addr (80 bytes for TCP).
// Loop only.
func (r *racer) dropAddrs() {
	if r.dl.literal && r.primary && len(r.addrs) == 1 && r.next == 1 && r.dl.fallbackRacer() == nil {
		r.addrs, r.dropped = nil, true
	}
}

// restoreAddrs undoes dropAddrs. It is called before anything reads the
// list or moves the index (ra, step, retrySpurious, the MPTCP fallback).
func (r *racer) restoreAddrs() {
	if !r.dropped {
		return
	}
	r.dropped = false
	dl := r.dl
	addrs, err := dl.d.resolveAddrList(dl.ctx, "dial", dl.network, dl.address, dl.d.LocalAddr)
	if err != nil || len(addrs) != 1 {
		// Cannot happen: the same call made the list that was dropped.
		panic("sigdial/dialer: address " + dl.address + " no longer resolves as it did")
	}
	r.addrs = addrs
}

// monoTime is a point in time as monotonic nanoseconds since the package
// started: 8 bytes where a time.Time takes 24, which matters in the state of
// a pending dial.
type monoTime int64

var monoEpoch = time.Now()

func mono(t time.Time) monoTime { return monoTime(t.Sub(monoEpoch)) }

// time returns t as a time.Time with a monotonic reading.
func (t monoTime) time() time.Time { return monoEpoch.Add(time.Duration(t)) }

// monoDeadline returns a deadline as a monoTime, 0 for none.
func monoDeadline(t time.Time) monoTime {
	if t.IsZero() {
		return 0
	}
	if m := mono(t); m != 0 {
		return m
	}
	return -1 // the epoch itself: long past, and not "none"
}

// deadlineTime returns the dial's deadline, zero for none.
func (dl *dial) deadlineTime() time.Time {
	if dl.deadline == 0 {
		return time.Time{}
	}
	return dl.deadline.time()
}

// since returns the time elapsed since t.
func (t monoTime) since() time.Duration { return time.Duration(mono(time.Now()) - t) }

// trace returns the httptrace hooks of the dial's context; the typed
// methods have none, as in net. It is looked up when needed rather than
// kept: a pending dial's state is kept small.
func (dl *dial) trace() *httptrace.ClientTrace {
	if dl.typed() {
		return nil
	}
	return httptrace.ContextClientTrace(dl.ctx)
}

// localAddr returns the address to bind: the typed method's, or the
// Dialer's LocalAddr.
func (dl *dial) localAddr() net.Addr {
	if dl.typed() {
		return dl.cold.laddr
	}
	return dl.d.LocalAddr
}

// wrap returns an attempt's error as the dial reports it: an OpError
// naming the Dialer's LocalAddr and the address tried (net's dialSingle),
// or, for a typed method, the addresses it was given.
func (dl *dial) wrap(ra net.Addr, err error) error {
	if dl.typed() {
		return opError(dl.network, dl.cold.laddr, dl.cold.raddr, err)
	}
	return opError(dl.network, dl.d.LocalAddr, ra, err)
}

// typed reports whether the dial is one of the typed methods' (DialTCP, ...).
func (dl *dial) typed() bool { return dl.cold != nil && dl.cold.typed }

// nracers returns the number of racers: 2 with a Happy Eyeballs fallback.
func (dl *dial) nracers() int {
	if dl.fallbackRacer() != nil {
		return 2
	}
	return 1
}

// racer returns racer i: 0 is the primary, 1 the fallback.
func (dl *dial) racer(i int) *racer {
	if i == 0 {
		return &dl.primary
	}
	return dl.cold.fallback
}

// setup picks a loop and splits the addresses between the racers.
func (dl *dial) setup(addrs addrList) error {
	r, err := dl.d.reactorFor()
	if err != nil {
		return opError(dl.network, nil, nil, err)
	}
	if r.Closed() {
		return opError(dl.network, nil, nil, reactor.ErrClosed)
	}
	dl.loop = r.Next()
	dl.split(addrs)
	return nil
}

// split divides the addresses between the primary racer and, for "tcp"
// with Happy Eyeballs on, the fallback racer of the other family.
func (dl *dial) split(addrs addrList) {
	primaries, fallbacks := addrs, addrList(nil)
	if dl.d.dualStack() && dl.network == "tcp" {
		primaries, fallbacks = addrs.partition(isIPv4)
	}
	mptcp := dl.d.MultipathTCP() && mptcpAvailable()
	dl.primary = racer{dl: dl, primary: true, addrs: primaries, mptcp: mptcp}
	if len(fallbacks) > 0 {
		dl.coldState().fallback = &racer{dl: dl, addrs: fallbacks, mptcp: mptcp}
	}
}

// runSync runs a blocking dial: on the calling goroutine as long as every
// connect completes inside its system call, then on the loop while the
// caller waits.
func (dl *dial) runSync() (net.Conn, error) {
	dl.primary.step()
	if !dl.finished {
		wait := make(chan struct{})
		dl.coldState().wait = wait
		if err := dl.loop.Post(dl.handoff); err != nil {
			// The reactor closed under us: nothing will watch the
			// pending connect. Close it and fail as Close would have.
			for i := range dl.nracers() {
				if r := dl.racer(i); r.inFlight {
					r.op.Abort()
					r.inFlight = false
				}
			}
			return nil, opError(dl.network, dl.localAddr(), dl.primary.ra(), reactor.ErrClosed)
		}
		// From here on the dial belongs to the loop, which may finish it
		// at any moment: dl is not touched again until wait is closed.
		<-wait
	}
	if dl.err != nil {
		return nil, dl.err
	}
	if dl.cold != nil && dl.cold.conn != nil {
		return dl.cold.conn, nil
	}
	w := dl.winnerRacer()
	c, err := newConn(int(dl.fd), int(w.family), int(w.sotype), dl.d.KeepAlive, dl.d.KeepAliveConfig)
	if err != nil {
		return nil, dl.wrap(w.ra(), err)
	}
	return c, nil
}

// handoff moves the dial onto its loop: the pending connect is watched, and
// the fallback racer's head start is timed by a loop timer.
func (dl *dial) handoff() {
	dl.onLoop = true
	if dl.ctx.Done() != nil {
		// Registered here, on the loop, because finish reads stopCtx:
		// set by the waiting caller after the post, it raced with a
		// dial that the loop finished first.
		dl.watchCtx()
	}
	for i := range dl.nracers() {
		if r := dl.racer(i); r.inFlight {
			r.op.WatchWith(r)
		}
	}
	dl.armFallback()
}

// armFallback times the fallback racer's head start on the loop. Loop only.
func (dl *dial) armFallback() {
	if dl.fallbackRacer() != nil && !dl.fbStart && !dl.finished && dl.cold.fbTimer == nil {
		wait := dl.d.fallbackDelay() - dl.started.since()
		dl.cold.fbTimer = dl.loop.AfterFunc(max(wait, 0), dl.startFallback)
	}
}

// startFallback starts the fallback racer: its head start is over, or the
// primary failed.
func (dl *dial) startFallback() {
	if dl.fbStart || dl.finished {
		return
	}
	dl.fbStart = true
	if dl.cold.fbTimer != nil {
		dl.cold.fbTimer.Stop()
	}
	dl.cold.fallback.step()
}

// ctxErr returns the error a new attempt must not start under.
func (dl *dial) ctxErr() error {
	if err := dl.abortError(); err != nil {
		return err
	}
	if err := dl.ctx.Err(); err != nil {
		return mapErr(err)
	}
	if dl.deadline != 0 && dl.deadline.since() >= 0 {
		return errTimeout
	}
	return nil
}

// abort ends the dial as a whole, for the reason given by a code of
// dial.aborted: the context is done (abortCtx), or the dial was canceled
// (abortCanceled). Loop only.
func (dl *dial) abort(why uint8) {
	if dl.finished || dl.aborted != abortNone {
		return
	}
	dl.aborted = why
	err := dl.abortError()
	fb := dl.fallbackRacer()
	if fb != nil && dl.cold.fbTimer != nil && !dl.fbStart {
		dl.cold.fbTimer.Stop()
	}
	for i := range dl.nracers() {
		if r := dl.racer(i); r.inFlight {
			r.op.CancelOnLoop(err)
		}
	}
	if fb != nil && !dl.fbStart {
		// As net: the fallback starts at once when the primary fails, sees
		// the context done, and fails; the primary's error is returned.
		dl.fbStart = true
		fb.step()
	}
}

// step starts connects to the racer's remaining addresses until one is in
// progress or the list is done (net's dialSerial).
func (r *racer) step() {
	dl := r.dl
	r.restoreAddrs()
	for int(r.next) < len(r.addrs) && !dl.finished {
		i := r.next
		ra := r.addrs[i]
		r.next++
		if err := dl.ctxErr(); err != nil {
			// net returns the context's error for this address, not the
			// first error.
			r.fail(dl.wrap(ra, err))
			return
		}
		attemptDeadline := dl.deadlineTime()
		if !attemptDeadline.IsZero() {
			pd, err := partialDeadline(time.Now(), attemptDeadline, len(r.addrs)-int(i))
			if err != nil {
				if r.firstErr() == nil {
					r.setFirstErr(dl.wrap(ra, err))
				}
				break
			}
			attemptDeadline = pd
		}
		if r.begin(ra, attemptDeadline) {
			return // in progress
		}
		if r.done {
			return
		}
	}
	if r.done || dl.finished {
		return
	}
	if r.firstErr() == nil {
		r.setFirstErr(opError(dl.network, nil, nil, errMissingAddress))
	}
	r.fail(r.firstErr())
}

// begin starts one connect to ra. It reports whether the connect is in
// progress; otherwise its outcome has been handled.
func (r *racer) begin(ra net.Addr, deadline time.Time) (pending bool) {
	dl := r.dl
	if r.again {
		// A retry of the same address (a spurious failure, or MPTCP
		// falling back to TCP) is part of the same attempt, as in net.
		r.again = false
	} else {
		dl.attempts++
		r.retries = 0
		if t := dl.trace(); t != nil && t.ConnectStart != nil {
			t.ConnectStart(dl.network, ra.String())
		}
		dl.emitAttempt(true, r, nil)
	}
	// The request lives for this call only: the reactor reads it while
	// starting the connect and keeps nothing of it (RetrySpurious is
	// never set: the racer retries spurious failures itself).
	var req reactor.ConnectRequest
	if err := r.prepare(&req, ra, deadline); err != nil {
		r.attemptDone(-1, err)
		return false
	}
	if r.sotype == unix.SOCK_RAW {
		r.dialRaw(ra, deadline)
		return false
	}
	if dl.onLoop {
		r.inFlight = true
		dl.loop.ConnectOnLoopOp(&r.op, &req, r)
		if r.op.Pending() {
			r.dropAddrs()
		}
		return true
	}
	pending, fd, err := dl.loop.StartOp(&r.op, &req)
	if pending {
		r.inFlight = true
		return true
	}
	r.attemptDone(fd, err)
	return false
}

// dialRaw makes a raw IP attempt through net (dialIPNet explains why): a
// raw socket's connect never waits, so nothing is lost by not using the
// loop.
func (r *racer) dialRaw(ra net.Addr, deadline time.Time) {
	dl := r.dl
	ctx := dl.ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	laddr, raddr := dialAddrs(dl.network, dl.localAddr(), ra)
	la, _ := laddr.(*net.IPAddr)
	rip, _ := raddr.(*net.IPAddr)
	c, err := dl.d.dialIPNet(ctx, dl.network, la, rip)
	if err != nil {
		r.attemptDone(-1, err)
		return
	}
	if dl.finished {
		c.Close()
		return
	}
	r.done = true
	if t := dl.trace(); t != nil && t.ConnectDone != nil {
		t.ConnectDone(dl.network, ra.String(), nil)
	}
	dl.finish(r, -1, c, nil)
}

// prepare fills in the connect request for ra.
func (r *racer) prepare(req *reactor.ConnectRequest, ra net.Addr, deadline time.Time) error {
	dl := r.dl
	laddr, raddr := dialAddrs(dl.network, dl.localAddr(), ra)
	family, sotype, proto, ipv6only, err := socketParams(dl.network, laddr, raddr)
	if err != nil {
		return err
	}
	rsa, err := sockaddr(raddr, family)
	if err != nil {
		return err
	}
	var lsa unix.Sockaddr
	if laddr != nil {
		if lsa, err = sockaddr(laddr, family); err != nil {
			return err
		}
	}
	tcp := sotype == unix.SOCK_STREAM && family != unix.AF_UNIX
	if !tcp {
		r.mptcp = false // MPTCP, and its fallback to TCP, are for TCP only
	}
	if r.mptcp {
		proto = ipprotoMPTCP
	}
	r.family, r.sotype = uint8(family), uint8(sotype)
	// net retries self-connects and EADDRNOTAVAIL only for TCP with no
	// fixed local port.
	r.retry = tcp && (lsa == nil || localPort(laddr) == 0)
	*req = reactor.ConnectRequest{
		Family: family, Type: sotype, Protocol: proto,
		Remote: rsa, Local: lsa, Deadline: deadline,
	}
	d := dl.d
	if d.ControlContext == nil && d.Control == nil && !needsDefaultSockopts(family, sotype) {
		// Nothing to do between socket(2) and connect(2): no closure,
		// and no address strings to format.
		return nil
	}
	// socketParams has validated the network; its address-family part is
	// what comes before any ":proto" (parseNetwork's afnet), without
	// looking the protocol up a second time.
	afnet, _, _ := strings.Cut(dl.network, ":")
	ctrlNet := ctrlNetwork(afnet, family)
	ctrlAddr := ctrlAddress(laddr, raddr)
	rawNet := afnet
	onLoop := dl.onLoop
	req.Control = func(fd int) (err error) {
		if onLoop {
			// On a loop there is no caller for a panic of the user's
			// Control to reach (net's would reach DialContext's caller):
			// it would end the loop's task with the dial unfinished and
			// the socket open. Report it as the loop reports panics, and
			// fail the attempt, which closes the socket.
			defer func() {
				if r := recover(); r != nil {
					reportPanic(dl.loop, r, debug.Stack())
					err = fmt.Errorf("sigdial/dialer: Control panicked: %v", r)
				}
			}()
		}
		if err := setDefaultSockopts(fd, family, sotype, ipv6only); err != nil {
			return err
		}
		if d.ControlContext == nil && d.Control == nil {
			return nil
		}
		c := newRawConn(fd, rawNet)
		defer c.invalidate()
		if d.ControlContext != nil {
			ctx := dl.ctx
			if !deadline.IsZero() {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, deadline)
				defer cancel()
			}
			return d.ControlContext(ctx, ctrlNet, ctrlAddr, c)
		}
		return d.Control(ctrlNet, ctrlAddr, c)
	}
	return nil
}

// needsDefaultSockopts reports whether setDefaultSockopts may set anything
// on a socket of family and sotype (a superset of its conditions).
func needsDefaultSockopts(family, sotype int) bool {
	return runtime.GOOS == "dragonfly" || family == unix.AF_INET6 ||
		(sotype == unix.SOCK_DGRAM || sotype == unix.SOCK_RAW) && family != unix.AF_UNIX
}

func localPort(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	}
	return 0
}

// ConnectDone is the reactor's completion callback for the racer's
// connect. Loop only.
func (r *racer) ConnectDone(fd int, err error) {
	r.inFlight = false
	if r.lost {
		// The dial is over and this attempt was reported as canceled;
		// a connect that completed in the meantime is not used.
		r.lost = false
		if err == nil {
			closeFD(fd)
		}
		return
	}
	r.attemptDone(fd, err)
	dl := r.dl
	if !r.done && !dl.finished && !r.inFlight && dl.onLoop {
		r.step()
	}
}

// attemptDone handles the outcome of one connect.
func (r *racer) attemptDone(fd int, err error) {
	dl := r.dl
	if err == nil {
		if dl.finished {
			closeFD(fd) // lost the race
			return
		}
		var c net.Conn
		if dl.async != nil {
			// An asynchronous dial converts on the loop, here, so that it
			// can check for a self-connect on the conn's own addresses
			// (newConn reads them anyway) and retry the address as net
			// does, instead of paying the reactor's getsockname.
			var cerr error
			c, cerr = newConn(fd, int(r.family), int(r.sotype), dl.d.KeepAlive, dl.d.KeepAliveConfig)
			if cerr != nil {
				r.done = true
				dl.finish(nil, -1, nil, dl.wrap(r.ra(), cerr))
				return
			}
			if selfConnected(c) && r.retrySpurious() {
				c.Close()
				return
			}
			fd = -1
		}
		r.done = true
		if t := dl.trace(); t != nil && t.ConnectDone != nil {
			t.ConnectDone(dl.network, r.ra().String(), nil)
		}
		dl.finish(r, fd, c, nil)
		return
	}
	if errors.Is(err, net.ErrClosed) && dl.aborted == abortNone {
		// The reactor closed: no point trying more.
		dl.aborted, dl.coldState().abortErr = abortErr, err
	}
	if !dl.finished && dl.aborted == abortNone {
		if errors.Is(err, unix.EADDRNOTAVAIL) && r.retrySpurious() {
			return
		}
		if r.mptcp {
			// net's dialMPTCP falls back to plain TCP on any error.
			r.restoreAddrs()
			r.mptcp = false
			r.retries = 0
			r.next--
			r.again = true
			return
		}
	}
	if isDeadline(err) {
		err = errTimeout
	}
	oerr := dl.wrap(r.ra(), err)
	if t := dl.trace(); t != nil && t.ConnectDone != nil {
		t.ConnectDone(dl.network, r.ra().String(), oerr)
	}
	dl.emitAttempt(false, r, oerr)
	if r.firstErr() == nil {
		r.setFirstErr(oerr)
	}
}

// retrySpurious arranges for the current address to be dialed again after
// a spurious failure (a self-connect, or EADDRNOTAVAIL), as net's
// doDialTCPProto does: up to twice, for TCP with no fixed local port. It
// reports whether it did.
func (r *racer) retrySpurious() bool {
	if !r.retry || r.retries >= 2 {
		return false
	}
	r.restoreAddrs()
	r.retries++
	r.next--
	r.again = true
	return true
}

// isDeadline reports whether err is a timeout: the reactor's
// os.ErrDeadlineExceeded for a connect past its deadline, or errTimeout.
func isDeadline(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// fail ends a racer with err (net's dialParallel bookkeeping).
func (r *racer) fail(err error) {
	r.done = true
	dl := r.dl
	r.setFirstErr(err)
	if dl.finished {
		return
	}
	if fb := dl.fallbackRacer(); r.primary && fb != nil && !dl.fbStart {
		if dl.onLoop {
			dl.startFallback()
		} else {
			dl.fbStart = true
			fb.step()
		}
		return
	}
	for i := range dl.nracers() {
		if !dl.racer(i).done {
			return // the other racer is still going
		}
	}
	dl.finish(nil, -1, nil, dl.primary.firstErr())
}

// finish records the dial's result and stops everything else. The result
// is a connected fd, a conn (made on the loop for an asynchronous dial, or
// by net for raw IP), or an error.
func (dl *dial) finish(winner *racer, fd int, c net.Conn, err error) {
	dl.finished = true
	if dl.fallbackRacer() != nil && dl.cold.fbTimer != nil {
		dl.cold.fbTimer.Stop()
	}
	for i := range dl.nracers() {
		if r := dl.racer(i); r.inFlight && r != winner {
			// As net cancels the loser's context. The reactor calls its
			// done later, after the outcome has been emitted: report the
			// attempt now, so that every attempt signal comes before the
			// outcome; ConnectDone then only closes a late success.
			r.op.CancelOnLoop(errCanceled)
			r.lost = true
			r.attemptDone(-1, errCanceled)
		}
	}
	dl.unwatchCtx()
	if err == nil && dl.ctx.Err() != nil {
		// The context is done: fail the dial rather than return a
		// connection whose caller has given up, as net does when the
		// context ends while it connects (go.dev/issue/16523). This
		// also covers a connect that completed inside connect(2).
		closeFD(fd)
		if c != nil {
			c.Close()
			c = nil
		}
		fd = -1
		err = dl.wrap(winner.ra(), mapErr(dl.ctx.Err()))
	}
	dl.fd, dl.err = int32(fd), err
	if winner != nil && err == nil {
		winner.won = true
	}
	if dl.async != nil {
		dl.async.complete(dl, c)
		return
	}
	if c != nil {
		dl.coldState().conn = c
	}
	if dl.cold != nil && dl.cold.wait != nil {
		close(dl.cold.wait) // the waiting caller owns dl from here
	}
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}

// DialTCP acts like Dial for TCP networks using the provided context, as
// net.Dialer.DialTCP does: no name resolution, no Happy Eyeballs, no
// httptrace hooks; Control, ControlContext, keep-alive and MPTCP apply.
func (d *Dialer) DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error) {
	la, ra := net.TCPAddrFromAddrPort(laddr), net.TCPAddrFromAddrPort(raddr)
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, opError(network, opAddr(la), opAddr(ra), net.UnknownNetworkError(network))
	}
	return typedConn[*net.TCPConn](d.dialTyped(ctx, network, la, ra))
}

// DialUDP acts like Dial for UDP networks using the provided context, as
// net.Dialer.DialUDP does.
func (d *Dialer) DialUDP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.UDPConn, error) {
	la, ra := net.UDPAddrFromAddrPort(laddr), net.UDPAddrFromAddrPort(raddr)
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, opError(network, opAddr(la), opAddr(ra), net.UnknownNetworkError(network))
	}
	return typedConn[*net.UDPConn](d.dialTyped(ctx, network, la, ra))
}

// DialIP acts like Dial for IP networks using the provided context, as
// net.Dialer.DialIP does.
func (d *Dialer) DialIP(ctx context.Context, network string, laddr, raddr netip.Addr) (*net.IPConn, error) {
	return typedConn[*net.IPConn](d.dialTyped(ctx, network, ipAddrFromAddr(laddr), ipAddrFromAddr(raddr)))
}

// DialUnix acts like Dial for Unix networks using the provided context, as
// net.Dialer.DialUnix does.
func (d *Dialer) DialUnix(ctx context.Context, network string, laddr, raddr *net.UnixAddr) (*net.UnixConn, error) {
	switch network {
	case "unix", "unixgram", "unixpacket":
	default:
		return nil, opError(network, opAddr(laddr), opAddr(raddr), net.UnknownNetworkError(network))
	}
	return typedConn[*net.UnixConn](d.dialTyped(ctx, network, laddr, raddr))
}

// ipAddrFromAddr is net's: an invalid netip.Addr becomes a nil *IPAddr.
func ipAddrFromAddr(a netip.Addr) *net.IPAddr {
	if !a.IsValid() {
		return nil
	}
	return &net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()}
}

// dialTyped is the common path of the typed methods: one address, errors
// wrapped as net's dialTCP, dialUDP, dialIP and dialUnix wrap them.
func (d *Dialer) dialTyped(ctx context.Context, network string, laddr, raddr net.Addr) (net.Conn, error) {
	if ctx == nil {
		panic("nil context")
	}
	la, ra := opAddr(laddr), opAddr(raddr)
	if ra == nil && network != "unixgram" {
		return nil, opError(network, la, nil, errMissingAddress)
	}
	start := time.Now()
	deadline := d.deadline(ctx, start)
	ctx, cancel := d.cancelCtx(ctx)
	defer cancel()
	address := addrString(ra)
	dl, c, err := dialSync(addrList{ra}, func() *dial {
		return &dial{
			d: d, ctx: ctx, network: network, address: address,
			deadline: monoDeadline(deadline), started: mono(start),
			cold: &dialCold{typed: true, laddr: la, raddr: ra},
		}
	})
	d.reportReturn(network, address, start, int(dl.attempts), c, err)
	return c, err
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// emitAttempt emits AttemptStarted (started) or AttemptFailed for r's
// current address: on the asynchronous dial's own Signals, then on the
// Dialer's.
func (dl *dial) emitAttempt(started bool, r *racer, err error) {
	pick := func(s *Signals) *signals.Signal[*Attempt] {
		if s == nil {
			return nil
		}
		if started {
			return &s.AttemptStarted
		}
		return &s.AttemptFailed
	}
	var own, wide *signals.Signal[*Attempt]
	if dl.async != nil {
		own = pick(&dl.async.Signals)
	}
	wide = pick(dl.d.Signals)
	if (own == nil || own.Idle()) && (wide == nil || wide.Idle()) {
		return // nobody listens: no payload
	}
	a := &Attempt{Network: dl.network, Addr: r.ra(), Primary: r.primary, Err: err, Dial: dl.async}
	e := dl.emitter()
	if own != nil {
		emitTo(e, own, a)
	}
	if wide != nil {
		emitTo(e, wide, a)
	}
}

// emitter returns where the dial emits from now.
func (dl *dial) emitter() emitter {
	if dl.onLoop {
		return emitter{loop: dl.loop}
	}
	return emitter{}
}
