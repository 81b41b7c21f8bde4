//go:build linux

package reactor

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/hook"
)

// connect runs one connect through Connect and waits for its result.
func connect(t testing.TB, l *Loop, req *ConnectRequest) result {
	t.Helper()
	ch := make(chan result, 1)
	if _, err := l.Connect(req, func(fd int, err error) { ch <- result{fd, err} }); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("connect did not complete in 10s")
		return result{}
	}
}

func peer(t testing.TB, fd int) netip.AddrPort {
	t.Helper()
	sa, err := unix.Getpeername(fd)
	if err != nil {
		t.Fatalf("getpeername: %v", err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	t.Fatalf("unexpected peer %T", sa)
	return netip.AddrPort{}
}

func TestConnectLoopback(t *testing.T) {
	r := newReactor(t, WithLoops(2))
	for _, tc := range []struct{ name, network, addr string }{
		{"tcp4", "tcp4", "127.0.0.1:0"},
		{"tcp6", "tcp6", "[::1]:0"},
	} {
		for _, fast := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: "/fastpath", false: "/poller"}[fast], func(t *testing.T) {
				ln := listener(t, tc.network, tc.addr)
				ap := ln.Addr().(*net.TCPAddr).AddrPort()
				req := tcpRequest(ap)
				req.NoFastPath = !fast
				res := connect(t, r.Next(), req)
				if res.err != nil {
					t.Fatalf("connect: %v", res.err)
				}
				defer unix.Close(res.fd)
				if got := peer(t, res.fd); got != ap {
					t.Errorf("peer = %v, want %v", got, ap)
				}
				fl, _ := unix.FcntlInt(uintptr(res.fd), unix.F_GETFD, 0)
				if fl&unix.FD_CLOEXEC == 0 {
					t.Error("socket is not close-on-exec")
				}
				fl, _ = unix.FcntlInt(uintptr(res.fd), unix.F_GETFL, 0)
				if fl&unix.O_NONBLOCK == 0 {
					t.Error("socket is not nonblocking")
				}
			})
		}
	}
}

func TestConnectRefused(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := refusedAddr(t)
	for _, fast := range []bool{true, false} {
		req := tcpRequest(ap)
		req.NoFastPath = !fast
		res := connect(t, r.Loop(0), req)
		var se *os.SyscallError
		if !errors.As(res.err, &se) || se.Syscall != "connect" || !errors.Is(res.err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %#v, want connect: ECONNREFUSED", res.err)
		}
		if res.fd != -1 {
			t.Errorf("fd = %d on failure, want -1", res.fd)
		}
	}
}

// TestConnectNeverInline checks that done is not called inside Connect even
// when the connect finished inside connect(2) (loopback fast path, refusal).
func TestConnectNeverInline(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ok := listener(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort()
	for _, ap := range []netip.AddrPort{ok, refusedAddr(t)} {
		ch := make(chan struct{})
		l := r.Loop(0)
		// Hold the loop: a completion made inside Connect would be seen
		// before the loop is released; one posted to the loop is not.
		release := make(chan struct{})
		l.Post(func() { <-release })
		if _, err := l.Connect(tcpRequest(ap), func(fd int, err error) {
			if fd >= 0 {
				unix.Close(fd)
			}
			close(ch)
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			t.Errorf("%v: done ran inside Connect", ap)
		default:
		}
		close(release)
		wait(t, ch)
	}
	// ConnectOnLoop: done must run after the calling function returns.
	var inCall bool
	ch := make(chan bool, 1)
	onLoop(t, l0(r), func() {
		inCall = true
		r.Loop(0).ConnectOnLoop(tcpRequest(ok), func(fd int, err error) {
			if fd >= 0 {
				unix.Close(fd)
			}
			ch <- inCall
		})
		inCall = false
	})
	select {
	case in := <-ch:
		if in {
			t.Error("ConnectOnLoop called done inside the calling function")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no completion")
	}
}

func l0(r *Reactor) *Loop { return r.Loop(0) }

func TestConnectDeadline(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := fullBacklog(t)
	req := tcpRequest(ap)
	req.Deadline = time.Now().Add(100 * time.Millisecond)
	start := time.Now()
	res := connect(t, r.Loop(0), req)
	el := time.Since(start)
	if !errors.Is(res.err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", res.err)
	}
	if el < 90*time.Millisecond || el > 2*time.Second {
		t.Errorf("timed out after %v, want about 100ms", el)
	}
	// A deadline already past fails without waiting.
	req = tcpRequest(ap)
	req.Deadline = time.Now().Add(-time.Second)
	if res := connect(t, r.Loop(0), req); !errors.Is(res.err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: err = %v", res.err)
	}
}

func TestConnectCancel(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := fullBacklog(t)
	errStop := errors.New("stop")
	ch := make(chan result, 1)
	op, err := r.Loop(0).Connect(tcpRequest(ap), func(fd int, err error) { ch <- result{fd, err} })
	if err != nil {
		t.Fatal(err)
	}
	op.Cancel(errStop)
	op.Cancel(errStop) // idempotent
	select {
	case res := <-ch:
		if res.err != errStop || res.fd != -1 {
			t.Fatalf("got (%d, %v), want (-1, stop)", res.fd, res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not complete the connect")
	}
	select {
	case res := <-ch:
		t.Fatalf("second completion %v", res)
	default:
	}
}

// TestCancelRace races Cancel against completion: each connect completes
// exactly once, with a connected fd or the cancel error, never both.
func TestCancelRace(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	r := newReactor(t, WithLoops(2))
	ap := listener(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort()
	errStop := errors.New("stop")
	var completions, connected, canceled atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		var calls atomic.Int32
		req := tcpRequest(ap)
		req.NoFastPath = i%2 == 0 // half of them race on the poller path
		op, err := r.Next().Connect(req, func(fd int, err error) {
			if calls.Add(1) != 1 {
				t.Error("done called twice")
			}
			completions.Add(1)
			switch {
			case err == nil:
				connected.Add(1)
				unix.Close(fd)
			case err == errStop:
				canceled.Add(1)
			default:
				t.Errorf("unexpected error %v", err)
			}
			<-sem
			wg.Done()
		})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			go op.Cancel(errStop)
		} else {
			op.Cancel(errStop)
		}
	}
	wg.Wait()
	if completions.Load() != int64(n) {
		t.Fatalf("%d completions for %d connects", completions.Load(), n)
	}
	t.Logf("%d connected, %d canceled", connected.Load(), canceled.Load())
}

// TestClosePending closes a reactor with many connects pending: each
// completes once, with ErrClosed, and quickly.
func TestClosePending(t *testing.T) {
	n := 15000
	if testing.Short() {
		n = 2000
	}
	r, err := New(WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	ap := fullBacklog(t)
	var done, closed atomic.Int64
	all := make(chan struct{})
	for range n {
		req := tcpRequest(ap)
		req.NoFastPath = true
		_, err := r.Next().Connect(req, func(fd int, err error) {
			if errors.Is(err, net.ErrClosed) && errors.Is(err, ErrClosed) && fd == -1 {
				closed.Add(1)
			}
			if done.Add(1) == int64(n) {
				close(all)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d completed", done.Load(), n)
	}
	if closed.Load() != int64(n) {
		t.Errorf("%d of %d completed with ErrClosed", closed.Load(), n)
	}
	if el > time.Second {
		t.Errorf("Close took %v with %d pending, want under 1s", el, n)
	}
	t.Logf("Close with %d pending took %v", n, el)
	if _, err := r.Loop(0).Connect(tcpRequest(ap), func(int, error) { t.Error("done after Close") }); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close: %v, want ErrClosed", err)
	}
	if err := r.Loop(0).Post(func() {}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Post after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// withHook replaces a hook variable for the duration of the test.
func withHook[F any](t *testing.T, p *F, f F) {
	old := *p
	*p = f
	t.Cleanup(func() { *p = old })
}

// TestConnectErrnos forces connect(2) results the kernel won't produce on
// demand and checks how each one ends.
func TestConnectErrnos(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := listener(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort()
	realConnect := hook.Connect
	for _, tc := range []struct {
		name    string
		connect func(int, unix.Sockaddr) error
		socket  func(int, int, int) (int, error)
		want    error // nil: connected
		syscall string
	}{
		// The connect really starts, but the call reports EINTR/EALREADY:
		// the reactor must wait for writability, not connect again.
		{name: "EINTR", connect: func(fd int, sa unix.Sockaddr) error { realConnect(fd, sa); return unix.EINTR }},
		{name: "EALREADY", connect: func(fd int, sa unix.Sockaddr) error { realConnect(fd, sa); return unix.EALREADY }},
		{name: "EISCONN", connect: func(fd int, sa unix.Sockaddr) error { realConnect(fd, sa); return unix.EISCONN }},
		{name: "EAGAIN", connect: func(int, unix.Sockaddr) error { return unix.EAGAIN }, want: unix.EAGAIN, syscall: "connect"},
		{name: "ENOBUFS", connect: func(int, unix.Sockaddr) error { return unix.ENOBUFS }, want: unix.ENOBUFS, syscall: "connect"},
		{name: "ENETUNREACH", connect: func(int, unix.Sockaddr) error { return unix.ENETUNREACH }, want: unix.ENETUNREACH, syscall: "connect"},
		{name: "EMFILE", socket: func(int, int, int) (int, error) { return -1, unix.EMFILE }, want: unix.EMFILE, syscall: "socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var connects atomic.Int32
			if tc.connect != nil {
				f := tc.connect
				withHook(t, &hook.Connect, func(fd int, sa unix.Sockaddr) error { connects.Add(1); return f(fd, sa) })
			}
			if tc.socket != nil {
				withHook(t, &hook.Socket, tc.socket)
			}
			for _, fast := range []bool{true, false} {
				connects.Store(0)
				req := tcpRequest(ap)
				req.NoFastPath = !fast
				res := connect(t, r.Loop(0), req)
				if tc.want == nil {
					if res.err != nil {
						t.Fatalf("err = %v, want connected", res.err)
					}
					unix.Close(res.fd)
					if n := connects.Load(); n != 1 {
						t.Errorf("connect called %d times, want 1", n)
					}
					continue
				}
				var se *os.SyscallError
				if !errors.Is(res.err, tc.want) || !errors.As(res.err, &se) || se.Syscall != tc.syscall {
					t.Fatalf("err = %v, want %s: %v", res.err, tc.syscall, tc.want)
				}
			}
		})
	}
}

// TestConnectRetrySpurious checks net's self-connect and EADDRNOTAVAIL
// retries: at most two more attempts, only when asked for.
func TestConnectRetrySpurious(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := listener(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort()
	var sockets atomic.Int32
	realSocket := hook.Socket
	withHook(t, &hook.Socket, func(d, ty, p int) (int, error) { sockets.Add(1); return realSocket(d, ty, p) })

	t.Run("EADDRNOTAVAIL", func(t *testing.T) {
		var fails atomic.Int32
		fails.Store(2)
		realConnect := hook.Connect
		withHook(t, &hook.Connect, func(fd int, sa unix.Sockaddr) error {
			if fails.Add(-1) >= 0 {
				return unix.EADDRNOTAVAIL
			}
			return realConnect(fd, sa)
		})
		for _, retry := range []bool{false, true} {
			sockets.Store(0)
			fails.Store(2)
			req := tcpRequest(ap)
			req.RetrySpurious = retry
			res := connect(t, r.Loop(0), req)
			if retry {
				if res.err != nil || sockets.Load() != 3 {
					t.Fatalf("retry: err %v after %d sockets, want success after 3", res.err, sockets.Load())
				}
				unix.Close(res.fd)
			} else if !errors.Is(res.err, unix.EADDRNOTAVAIL) || sockets.Load() != 1 {
				t.Fatalf("no retry: err %v after %d sockets", res.err, sockets.Load())
			}
		}
	})
	t.Run("self-connect", func(t *testing.T) {
		var selfs atomic.Int32
		realGetsockname := hook.Getsockname
		withHook(t, &hook.Getsockname, func(fd int) (unix.Sockaddr, error) {
			if selfs.Add(-1) >= 0 {
				return sockaddr(ap), nil // looks connected to itself
			}
			return realGetsockname(fd)
		})
		for _, fast := range []bool{true, false} {
			sockets.Store(0)
			selfs.Store(1)
			req := tcpRequest(ap)
			req.RetrySpurious = true
			req.NoFastPath = !fast
			res := connect(t, r.Loop(0), req)
			if res.err != nil || sockets.Load() != 2 {
				t.Fatalf("err %v after %d sockets, want success after 2", res.err, sockets.Load())
			}
			unix.Close(res.fd)
		}
	})
}

// TestSpuriousWakeup delivers wake-ups to a connect that is still in
// progress: it must keep waiting, whatever the event says.
func TestSpuriousWakeup(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := fullBacklog(t)
	l := r.Loop(0)
	ch := make(chan result, 1)
	req := tcpRequest(ap)
	req.NoFastPath = true
	op, err := l.Connect(req, func(fd int, err error) { ch <- result{fd, err} })
	if err != nil {
		t.Fatal(err)
	}
	onLoop(t, l, func() {
		if op.state != opPending {
			t.Fatalf("state %d, want pending", op.state)
		}
		l.onEvent(int(op.fd), unix.EPOLLOUT|unix.EPOLLERR, 0) // SO_ERROR is 0, getpeername fails
		l.onEvent(int(op.fd)+1000, unix.EPOLLOUT, 0)          // no such op
		l.onEvent(-1, unix.EPOLLOUT, 0)
	})
	select {
	case res := <-ch:
		t.Fatalf("completed on a spurious wake-up: %v", res)
	default:
	}
	// SO_ERROR 0 with getpeername failing: also spurious.
	withHook(t, &hook.Getpeername, func(int) error { return unix.ENOTCONN })
	onLoop(t, l, func() { l.check(op) })
	select {
	case res := <-ch:
		t.Fatalf("completed on a spurious wake-up: %v", res)
	default:
	}
	// shutdown(2) on the SYN_SENT socket wakes epoll with OUT|ERR|HUP and
	// SO_ERROR ECONNRESET (recipe R9): that must complete the connect.
	onLoop(t, l, func() { unix.Shutdown(int(op.fd), unix.SHUT_RDWR) })
	select {
	case res := <-ch:
		if !errors.Is(res.err, unix.ECONNRESET) {
			t.Fatalf("err = %v, want ECONNRESET", res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("EPOLLERR wake-up did not complete the connect")
	}
}

func TestControlHook(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ap := listener(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort()
	errDeny := errors.New("denied")
	var seen int
	req := tcpRequest(ap)
	req.Control = func(fd int) error {
		seen = fd
		if _, err := unix.Getpeername(fd); err == nil {
			t.Error("Control ran after connect")
		}
		return errDeny
	}
	res := connect(t, r.Loop(0), req)
	if res.err != errDeny || seen <= 0 {
		t.Fatalf("err = %v (Control saw fd %d), want the Control error itself", res.err, seen)
	}
	// Local bind before connect.
	req = tcpRequest(ap)
	req.Local = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 2}}
	res = connect(t, r.Loop(0), req)
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer unix.Close(res.fd)
	sa, _ := unix.Getsockname(res.fd)
	if got := sa.(*unix.SockaddrInet4).Addr; got != [4]byte{127, 0, 0, 2} {
		t.Errorf("local address %v, want 127.0.0.2", got)
	}
}
