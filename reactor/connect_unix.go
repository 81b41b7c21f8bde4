//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package reactor

import (
	"errors"
	"os"
	"time"

	"github.com/panjf2000/gnet/v2/pkg/netpoll"
	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/hook"
)

// A ConnectRequest describes one nonblocking connect: one socket, one remote
// address. The reactor reads it until the connect completes; the caller must
// not change it meanwhile.
type ConnectRequest struct {
	// Family, Type and Protocol are socket(2)'s arguments, for example
	// unix.AF_INET, unix.SOCK_STREAM, 0. SOCK_NONBLOCK and SOCK_CLOEXEC are
	// added by the reactor.
	Family, Type, Protocol int

	// Remote is the address to connect to. Remote and Local must not be
	// used by another connect at the same time: x/sys/unix writes into a
	// Sockaddr while converting it. A nil Remote makes (and binds) the
	// socket without connecting it, and completes at once: net does so for
	// a unixgram dial with no remote address.
	Remote unix.Sockaddr

	// Local, if not nil, is bound before the connect.
	Local unix.Sockaddr

	// Control, if not nil, is called with the new socket after it is made
	// and before it is bound or connected, as net.Dialer calls its Control
	// hook. An error from it ends the connect with that error.
	Control func(fd int) error

	// Deadline, if not zero, ends a connect still pending at that time
	// with os.ErrDeadlineExceeded.
	Deadline time.Time

	// RetrySpurious retries, up to twice, a TCP connect that connected the
	// socket to itself or failed with EADDRNOTAVAIL, as net does when the
	// local port is not fixed (net/tcpsock_posix.go, go.dev/issue/2690).
	RetrySpurious bool

	// NoSelfConnectCheck leaves the self-connect half of RetrySpurious to
	// the caller, which saves a getsockname per connect: a caller that
	// learns the local address anyway (net.FileConn does) can compare it
	// with the remote one itself.
	NoSelfConnectCheck bool

	// NoFastPath skips the getpeername check right after EINPROGRESS. The
	// check finds loopback connects that the kernel finished inside
	// connect(2) and completes them without a trip through the poller; a
	// remote connect pays one failed getpeername for it. Benchmarks turn it
	// off to measure the poller path, which real networks always take.
	NoFastPath bool
}

// A Completer is told how a connect ended: ConnectDone gets a connected
// socket (which it then owns) or an error. It is the allocation-free form of
// a done function: a type that embeds an Op can be its own Completer, where a
// method value would cost an allocation per connect.
type Completer interface {
	ConnectDone(fd int, err error)
}

// CompleterFunc adapts a done function to a Completer.
type CompleterFunc func(fd int, err error)

// ConnectDone calls f(fd, err).
func (f CompleterFunc) ConnectDone(fd int, err error) { f(fd, err) }

// An Op is one connect in progress on a loop. The reactor makes one per
// connect for Connect, Start, StartConnect and ConnectOnLoop. A caller that
// keeps many connects pending can instead embed an Op in its own state and
// use StartOp and ConnectOnLoopOp: the zero Op is ready for use, and an Op
// may be used again once its Completer has been called. An Op must not be
// copied once used.
type Op struct {
	timer Timer     // the deadline, if any; timer.l is the op's loop
	done  Completer // a *retrier while the connect may be retried
	fd    int32
	state uint8
	tries uint8 // spurious-failure retries made on the loop
	dl    bool  // timer.when holds a deadline, not yet scheduled
}

const (
	opIdle    uint8 = iota // not started: a zero Op, or one being set up
	opStarted              // Start or StartOp left it in progress; not watched yet
	opQueued               // on its way to the poller, or between retries
	opPending              // registered with the poller
	opDone                 // completed; done called or about to be
)

// A retrier is the Completer of an Op whose request asks for retries
// (RetrySpurious): it keeps the copy of the request that a retry needs, so
// that other Ops carry no request at all.
type retrier struct {
	req  ConnectRequest
	done Completer // the caller's, once known
}

func (r *retrier) ConnectDone(fd int, err error) { r.done.ConnectDone(fd, err) }

// init readies op for a connect of req on l. The request is read now and,
// only when it asks for retries, copied: a caller may reuse or discard its
// ConnectRequest once the call that started the connect has returned.
func (op *Op) init(l *Loop, req *ConnectRequest) {
	op.timer = Timer{l: l, op: op}
	op.done = nil
	if req.RetrySpurious {
		op.done = &retrier{req: *req}
	}
	op.setDeadline(req.Deadline)
	op.fd, op.state, op.tries = -1, opIdle, 0
}

// setDeadline keeps d, if not zero, in the op's timer until register
// schedules it.
func (op *Op) setDeadline(d time.Time) {
	op.dl = !d.IsZero()
	if op.dl {
		op.timer.when = int64(d.Sub(op.loop().epoch))
	}
}

// setDone sets the Completer the connect's outcome goes to.
func (op *Op) setDone(c Completer) {
	if r, ok := op.done.(*retrier); ok {
		r.done = c
		return
	}
	op.done = c
}

// retryRequest returns the request to retry with, or nil.
func (op *Op) retryRequest() *ConnectRequest {
	if r, ok := op.done.(*retrier); ok {
		return &r.req
	}
	return nil
}

// inProgress reports whether the op holds a connect that Cancel may end:
// started and handed to the loop, and not completed.
func (op *Op) inProgress() bool { return op.state == opQueued || op.state == opPending }

func (op *Op) loop() *Loop { return op.timer.l }

// Pending reports whether the connect is registered with the loop's poller,
// waiting for the kernel: not completed inside the call that started it.
// Loop only.
func (op *Op) Pending() bool { return op.state == opPending }

// Connect starts a nonblocking connect and calls done exactly once, on the
// loop, with a connected socket (which done then owns) or an error. done is
// never called from inside Connect, even when the connect finished at once:
// that completion is posted to the loop.
//
// The socket, Control, bind and connect system calls run on the calling
// goroutine; only a connect still in progress is handed to the loop's
// poller. Connect may be called from any goroutine. If the loop is closed it
// returns ErrClosed and done is never called.
//
// Errors passed to done are those of the system calls, wrapped by
// os.NewSyscallError ("socket", "bind", "connect", "getsockopt",
// "epoll_ctl add"); an error from Control as it was returned;
// os.ErrDeadlineExceeded when Deadline passed; the error given to Cancel;
// ErrClosed when the reactor closed first.
//
// The reactor reads req during the call that starts the connect, and
// afterwards only a copy of it, which it keeps when RetrySpurious is set.
// The same holds for Start, StartOp, StartConnect, ConnectOnLoop and
// ConnectOnLoopOp.
func (l *Loop) Connect(req *ConnectRequest, done func(fd int, err error)) (*Op, error) {
	op, fd, err := l.StartConnect(req, done)
	if op != nil {
		return op, nil
	}
	if err == ErrClosed {
		return nil, err
	}
	op = &Op{}
	op.init(l, req)
	op.setDone(CompleterFunc(done))
	op.fd, op.state = int32(fd), opDone
	if perr := l.Post(func() { l.callDone(completion{op, fd, err}) }); perr != nil {
		if fd >= 0 {
			closeFD(fd)
		}
		return nil, perr
	}
	return op, nil
}

// Start is the first half of Connect, for a caller that can use a result at
// once, such as a blocking Dial. It makes the system calls on the calling
// goroutine. If the connect succeeded or failed before Start returns, it
// returns a nil Op with the final fd and error. Otherwise it returns an Op
// that nothing watches yet: the caller must then either call Watch on the
// loop (a posted function), or Abort. If the loop is closed, Start returns
// ErrClosed before making any system call.
func (l *Loop) Start(req *ConnectRequest) (op *Op, fd int, err error) {
	op = new(Op)
	pending, fd, err := l.StartOp(op, req)
	if !pending {
		return nil, fd, err
	}
	return op, -1, nil
}

// StartOp is Start with an Op the caller provides (see Op). It reports
// pending, and leaves the connect in op for Watch or Abort, when the
// connect is in progress; otherwise it returns the final fd and error.
func (l *Loop) StartOp(op *Op, req *ConnectRequest) (pending bool, fd int, err error) {
	if l.closed.Load() {
		return false, -1, ErrClosed
	}
	fd, err, pending = connectRetry(req)
	if !pending {
		return false, fd, err
	}
	op.init(l, req)
	op.fd, op.state = int32(fd), opStarted
	return true, -1, nil
}

// StartConnect is Start followed by a posted Watch: done is called on the
// loop if the returned Op is not nil. It returns ErrClosed, and closes the
// socket, if the loop closed in between.
func (l *Loop) StartConnect(req *ConnectRequest, done func(fd int, err error)) (op *Op, fd int, err error) {
	op, fd, err = l.Start(req)
	if op == nil {
		return nil, fd, err
	}
	if perr := l.Post(func() { op.Watch(done) }); perr != nil {
		op.Abort()
		return nil, -1, perr
	}
	return op, -1, nil
}

// Watch hands an Op returned by Start to the loop's poller; done is then
// called exactly once, on the loop, never inside Watch. Loop only.
func (op *Op) Watch(done func(fd int, err error)) {
	op.WatchWith(CompleterFunc(done))
}

// WatchWith is Watch with a Completer in place of a done function. Loop
// only.
func (op *Op) WatchWith(c Completer) {
	op.setDone(c)
	op.state = opQueued
	op.loop().register(op)
}

// Abort closes the socket of an Op that Start returned and that was not
// handed to Watch. It may be called from any goroutine.
func (op *Op) Abort() {
	if op.state == opStarted {
		closeFD(int(op.fd))
		op.fd = -1
		op.state = opDone
	}
}

// CancelOnLoop is Cancel for code running on the loop: the connect ends now
// (done is still called after the calling function returns). Loop only.
func (op *Op) CancelOnLoop(err error) {
	if err == nil {
		panic("sigdial/reactor: Cancel with a nil error")
	}
	if op.inProgress() {
		op.loop().complete(op, err)
	}
}

// ConnectOnLoop is Connect for code already running on the loop: a connect
// in progress is registered at once, with no post. done is called after the
// function that called ConnectOnLoop returns to the loop, never inside it.
// Loop only.
func (l *Loop) ConnectOnLoop(req *ConnectRequest, done func(fd int, err error)) *Op {
	op := new(Op)
	l.ConnectOnLoopOp(op, req, CompleterFunc(done))
	return op
}

// ConnectOnLoopOp is ConnectOnLoop with an Op the caller provides (see Op)
// and a Completer. Loop only.
func (l *Loop) ConnectOnLoopOp(op *Op, req *ConnectRequest, c Completer) {
	op.init(l, req)
	op.setDone(c)
	op.state = opQueued
	if l.closed.Load() {
		l.complete(op, ErrClosed)
		return
	}
	// One attempt only: complete makes net's two retries of a spurious
	// failure, counting them in op.tries (connectRetry here would make
	// them twice over, five connects instead of three).
	fd, err, pending := connectOnce(req)
	op.fd = int32(fd)
	if pending {
		l.register(op)
	} else {
		l.complete(op, err)
	}
}

// Cancel ends the connect with err if it is still pending; done then
// receives err. It may be called from any goroutine, any number of times;
// calls after completion do nothing. Cancellation is asynchronous: it is
// posted to the loop, so a connect that completes first completes normally.
func (op *Op) Cancel(err error) {
	if err == nil {
		panic("sigdial/reactor: Cancel with a nil error")
	}
	l := op.loop()
	_ = l.Post(func() {
		if op.inProgress() {
			l.complete(op, err)
		}
	})
}

// register hands a connect in progress to the poller. Loop only.
func (l *Loop) register(op *Op) {
	switch {
	case l.closed.Load():
		l.complete(op, ErrClosed)
		return
	case op.dl && l.now() >= op.timer.when:
		l.complete(op, os.ErrDeadlineExceeded)
		return
	}
	// Edge-triggered: a spurious wake-up that finds the connect still in
	// progress waits for the next edge instead of spinning.
	fd := int(op.fd)
	if err := l.poller.AddWrite(&netpoll.PollAttachment{FD: fd}, true); err != nil {
		l.complete(op, err)
		return
	}
	for fd >= len(l.ops) {
		l.ops = append(l.ops, nil)
		l.ops = l.ops[:cap(l.ops)]
	}
	l.ops[fd] = op
	l.pending++
	op.state = opPending
	if op.dl {
		op.dl = false
		l.schedule(&op.timer, op.timer.when)
	}
}

// check reads the outcome of a connect after the poller woke it, as
// net/fd_unix.go does: SO_ERROR first (go.dev/issue/7474: never connect
// again), then getpeername to tell a real completion from a spurious
// wake-up (go.dev/issue/14548, go.dev/issue/19289). Loop only.
func (l *Loop) check(op *Op) {
	getsockoptInt := hook.GetsockoptInt
	fd := int(op.fd)
	nerr, err := getsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		l.complete(op, os.NewSyscallError("getsockopt", err))
		return
	}
	switch e := unix.Errno(nerr); e {
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return // still in progress: wait for the next edge
	case unix.EISCONN:
		l.complete(op, nil)
	case 0:
		getpeername := hook.Getpeername
		if err := getpeername(fd); err == nil {
			l.complete(op, nil)
		}
		// Otherwise the wake-up was spurious: keep waiting.
	default:
		l.complete(op, os.NewSyscallError("connect", e))
	}
}

// expire ends a connect whose deadline has passed. Loop only.
func (l *Loop) expire(op *Op) {
	if op.state != opDone {
		l.complete(op, os.ErrDeadlineExceeded)
	}
}

// complete ends op with err (nil: op.fd is connected). It takes the fd out
// of the poller before anything else happens to it: an epoll registration
// lives as long as the open file description, and the socket is about to be
// closed or handed to code that may dup it. A spurious failure is retried
// when the request asks for it. done runs from runDeferred. Loop only.
func (l *Loop) complete(op *Op, err error) {
	if op.state == opPending {
		_ = l.poller.Delete(int(op.fd))
		l.ops[op.fd] = nil
		l.pending--
		op.timer.Stop()
		op.state = opQueued
	}
	op.dl = false // a pending deadline was scheduled and stopped above
	if req := op.retryRequest(); req != nil && op.tries < 2 && !l.closed.Load() && spurious(int(op.fd), req, err) {
		op.tries++
		if err == nil {
			closeFD(int(op.fd))
		}
		fd, err, pending := connectOnce(req)
		op.fd = int32(fd)
		if pending {
			op.setDeadline(req.Deadline)
			l.register(op)
		} else {
			l.complete(op, err)
		}
		return
	}
	if err != nil && op.fd >= 0 {
		closeFD(int(op.fd))
		op.fd = -1
	}
	op.state = opDone
	l.deferred = append(l.deferred, completion{op, int(op.fd), err})
}

// A completion is an Op's outcome waiting for its Completer to be called.
type completion struct {
	op  *Op
	fd  int
	err error
}

// runDeferred calls done for every completed op. It runs after each event,
// task and timer, so done never runs inside the call that completed it.
func (l *Loop) runDeferred() {
	for len(l.deferred) > 0 {
		// Two buffers in turn, as Post's tasks: a Completer that starts a
		// connect which completes at once appends to the other one, and
		// no completion allocates once the buffers have grown.
		cs := l.deferred
		l.deferred, l.spareDeferred = l.spareDeferred[:0], nil
		for i, c := range cs {
			cs[i] = completion{}
			l.callDone(c)
		}
		l.spareDeferred = cs[:0]
	}
}

// callDone calls op.done, reporting a panic instead of letting it end the
// loop. A panicking done still owns the fd it was given.
func (l *Loop) callDone(c completion) {
	defer func() {
		if v := recover(); v != nil {
			report(l.onPanic, v)
		}
	}()
	c.op.done.ConnectDone(c.fd, c.err)
}

// failAll ends every pending connect with err, on the loop goroutine, after
// the poller has stopped. The poller is about to be closed, so the fds are
// closed without an EPOLL_CTL_DEL: closing the last reference removes them.
func (l *Loop) failAll(err error) {
	for fd, op := range l.ops {
		if op == nil {
			continue
		}
		l.ops[fd] = nil
		l.pending--
		op.timer.Stop()
		closeFD(int(op.fd))
		op.fd = -1
		op.state = opDone
		l.deferred = append(l.deferred, completion{op, -1, err})
	}
	l.runDeferred()
}

// connectRetry runs connectOnce, retrying spurious failures as
// net's doDialTCPProto does.
func connectRetry(req *ConnectRequest) (fd int, err error, pending bool) {
	for i := 0; ; i++ {
		fd, err, pending = connectOnce(req)
		if pending || !req.RetrySpurious || i == 2 || !spurious(fd, req, err) {
			return fd, err, pending
		}
		if err == nil {
			closeFD(fd)
		}
	}
}

// connectOnce makes the socket, calls Control, binds and starts the connect.
// It returns pending when the connect is in progress, and closes the socket
// on every failure: a half-open socket in SYN_SENT keeps retransmitting.
func connectOnce(req *ConnectRequest) (fd int, err error, pending bool) {
	fd, err = sysSocket(req.Family, req.Type, req.Protocol)
	if err != nil {
		return -1, err, false
	}
	if req.Control != nil {
		if err = req.Control(fd); err != nil {
			closeFD(fd)
			return -1, err, false
		}
	}
	if req.Local != nil {
		bind := hook.Bind
		if err = bind(fd, req.Local); err != nil {
			closeFD(fd)
			return -1, os.NewSyscallError("bind", err), false
		}
	}
	if req.Remote == nil {
		return fd, nil, false
	}
	connect := hook.Connect
	switch err = connect(fd, req.Remote); err {
	case unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		// EINTR: POSIX says the connect goes on asynchronously; calling
		// connect again would fail with EALREADY. Wait like EINPROGRESS.
		if !req.NoFastPath {
			getpeername := hook.Getpeername
			if perr := getpeername(fd); perr == nil {
				return fd, nil, false
			}
		}
		return fd, nil, true
	case nil, unix.EISCONN:
		return fd, nil, false
	default:
		closeFD(fd)
		return -1, os.NewSyscallError("connect", err), false
	}
}

// spurious reports whether a finished connect should be retried: the socket
// connected to itself (both ends share an ephemeral port on a local
// address), or the kernel briefly had no port (EADDRNOTAVAIL).
func spurious(fd int, req *ConnectRequest, err error) bool {
	if err != nil {
		return errors.Is(err, unix.EADDRNOTAVAIL)
	}
	if req.Type&0xf != unix.SOCK_STREAM || req.NoSelfConnectCheck {
		return false
	}
	getsockname := hook.Getsockname
	lsa, gerr := getsockname(fd)
	if gerr != nil {
		// net treats an unknown local address as a self-connect.
		return true
	}
	switch r := req.Remote.(type) {
	case *unix.SockaddrInet4:
		l, ok := lsa.(*unix.SockaddrInet4)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	case *unix.SockaddrInet6:
		l, ok := lsa.(*unix.SockaddrInet6)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	}
	return false
}

func closeFD(fd int) {
	closeFn := hook.Close
	_ = closeFn(fd)
}
