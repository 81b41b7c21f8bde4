//go:build linux

package reactor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/internal/hook"
)

// These tests dial documentation addresses, so each runs in a network
// namespace of its own (faults.InFreshNetNS: the test binary re-runs the test
// in a child process that has nothing but lo) and only ever uses
// 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32 there (DESIGN §5). The
// errnos asserted are those that fault-recipes.md measured on this kernel:
// R3 for route errors, R4 for ICMP errors, R5 for silent drops.

// sysTrace records what the reactor's connect(2) calls and SO_ERROR reads
// returned, per destination, through the internal/hook seam. It is what lets
// a test tell a synchronous failure (connect(2) returned the errno and
// SO_ERROR was never read, so the poller never woke for it) from an
// asynchronous one (connect(2) returned EINPROGRESS and a poller wake-up read
// the errno from SO_ERROR).
type sysTrace struct {
	mu      sync.Mutex
	fdDst   map[int]netip.AddrPort             // fd -> remote of the last connect made on it
	connect map[netip.AddrPort][]error         // what each connect(2) returned
	soError map[netip.AddrPort][]syscall.Errno // SO_ERROR values read after wake-ups
}

// traceSyscalls installs the trace for the rest of the test. Call it before
// newReactor, so that the reactor is closed before the hooks are restored.
// The test must not run in parallel with other tests in its process; the
// namespaced tests below run alone in their child process.
func traceSyscalls(t *testing.T) *sysTrace {
	tr := &sysTrace{
		fdDst:   map[int]netip.AddrPort{},
		connect: map[netip.AddrPort][]error{},
		soError: map[netip.AddrPort][]syscall.Errno{},
	}
	realConnect, realGetsockopt := hook.Connect, hook.GetsockoptInt
	withHook(t, &hook.Connect, func(fd int, sa unix.Sockaddr) error {
		err := realConnect(fd, sa)
		dst := sockaddrAddrPort(sa)
		tr.mu.Lock()
		tr.fdDst[fd] = dst
		tr.connect[dst] = append(tr.connect[dst], err)
		tr.mu.Unlock()
		return err
	})
	withHook(t, &hook.GetsockoptInt, func(fd, level, opt int) (int, error) {
		v, err := realGetsockopt(fd, level, opt)
		if level == unix.SOL_SOCKET && opt == unix.SO_ERROR && err == nil {
			// The fd is open (it is being read), so the last connect
			// made on this fd number is this socket's.
			tr.mu.Lock()
			dst := tr.fdDst[fd]
			tr.soError[dst] = append(tr.soError[dst], syscall.Errno(v))
			tr.mu.Unlock()
		}
		return v, err
	})
	return tr
}

func (tr *sysTrace) get(dst netip.AddrPort) (connect []error, soError []syscall.Errno) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]error(nil), tr.connect[dst]...), append([]syscall.Errno(nil), tr.soError[dst]...)
}

// checkSync asserts that every connect to dst failed inside connect(2) with
// want and that no wake-up ever read SO_ERROR for it.
func (tr *sysTrace) checkSync(t *testing.T, dst netip.AddrPort, n int, want syscall.Errno) {
	t.Helper()
	cs, so := tr.get(dst)
	if len(cs) != n {
		t.Errorf("%v: %d connect(2) calls, want %d", dst, len(cs), n)
	}
	for _, err := range cs {
		if err != want {
			t.Errorf("%v: connect(2) returned %v, want %v (synchronous)", dst, errnoName(err), errnoName(want))
		}
	}
	if len(so) != 0 {
		t.Errorf("%v: SO_ERROR read %d times (%v): the connect reached the poller, want a synchronous failure", dst, len(so), so)
	}
}

// checkAsync asserts that each of n connects to dst returned EINPROGRESS from
// connect(2) and then got want from SO_ERROR after a poller wake-up (or, for
// want == 0, that no wake-up happened at all: a silent drop).
func (tr *sysTrace) checkAsync(t *testing.T, dst netip.AddrPort, n int, want syscall.Errno) {
	t.Helper()
	cs, so := tr.get(dst)
	if len(cs) != n {
		t.Errorf("%v: %d connect(2) calls, want %d", dst, len(cs), n)
	}
	for _, err := range cs {
		if err != unix.EINPROGRESS {
			t.Errorf("%v: connect(2) returned %v, want EINPROGRESS", dst, errnoName(err))
		}
	}
	got := 0
	for _, e := range so {
		switch e {
		case want:
			got++
		case 0: // a wake-up that getpeername then judged (spurious or success)
		default:
			t.Errorf("%v: SO_ERROR = %v, want %v", dst, errnoName(e), errnoName(want))
		}
	}
	if want != 0 && got != n {
		t.Errorf("%v: SO_ERROR gave %v %d times for %d connects (reads: %v)", dst, errnoName(want), got, n, so)
	}
	if want == 0 && len(so) != 0 {
		t.Errorf("%v: %d wake-ups (SO_ERROR %v), want none: the peer drops silently", dst, len(so), so)
	}
}

func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if e == 0 {
			return "0"
		}
		return unix.ErrnoName(e)
	}
	return fmt.Sprint(err)
}

func sockaddrAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// wantConnectErr checks that err is os.NewSyscallError("connect", want), as
// Connect documents, with the fd -1.
func wantConnectErr(t *testing.T, what string, fd int, err error, want syscall.Errno) {
	t.Helper()
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "connect" || !errors.Is(err, want) {
		t.Errorf("%s: err = %v (%T), want connect: %v", what, err, err, errnoName(want))
	} else if txt := "connect: " + want.Error(); err.Error() != txt {
		t.Errorf("%s: err = %q, want %q", what, err, txt)
	}
	if fd != -1 {
		t.Errorf("%s: fd = %d with an error, want -1", what, fd)
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// TestNetNSRouteErrors dials prefixes whose route lookup fails (recipe R3):
// connect(2) fails synchronously, so the reactor must finish the connect
// without ever registering it with the poller — through Start (a nil Op and
// the error), Connect (done is still posted to the loop, never called
// inline) and ConnectOnLoop, with and without the getpeername fast path.
func TestNetNSRouteErrors(t *testing.T) {
	t.Parallel()
	if !faults.InFreshNetNS(t) {
		return // the child process ran the test in its own namespace
	}
	faults.RequireIsolated(t)

	// The address plan of fault-recipes.md R3, in a namespace with only lo.
	faults.NoRoute(t, "203.0.113.0/24")
	faults.NoRoute(t, "2001:db8:ff::/48")
	faults.RouteUnreachable(t, "198.51.100.0/26")
	faults.RouteUnreachable(t, "2001:db8:1::/48")
	faults.RouteProhibit(t, "198.51.100.64/26")
	faults.RouteProhibit(t, "2001:db8:2::/48")
	faults.RouteBlackhole(t, "198.51.100.128/26")
	faults.RouteBlackhole(t, "2001:db8:3::/48")

	tr := traceSyscalls(t)
	r := newReactor(t, WithLoops(1))
	l := r.Loop(0)

	// Every attempt gets its own destination port, so that the trace of
	// each is separate. Nothing listens anywhere: no packet leaves.
	var port atomic.Uint32
	port.Store(1000)
	next := func(ip string) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port.Add(1)))
	}

	for _, tc := range []struct {
		name string
		ip   string
		want syscall.Errno
		text string // the error's exact text
	}{
		// Fresh namespace, no route at all.
		{"no-route/v4", "203.0.113.7", unix.ENETUNREACH, "connect: network is unreachable"},
		{"no-route/v6", "2001:db8:ff::7", unix.ENETUNREACH, "connect: network is unreachable"},
		// "ip route add unreachable": EHOSTUNREACH for v6 too on 6.18.
		{"unreachable/v4", "198.51.100.7", unix.EHOSTUNREACH, "connect: no route to host"},
		{"unreachable/v6", "2001:db8:1::7", unix.EHOSTUNREACH, "connect: no route to host"},
		{"prohibit/v4", "198.51.100.70", unix.EACCES, "connect: permission denied"},
		{"prohibit/v6", "2001:db8:2::7", unix.EACCES, "connect: permission denied"},
		// A blackhole route on the dialing host is not a silent drop: the
		// route lookup fails with EINVAL (R3). The silent drop, which needs
		// a deadline, is in TestNetNSPeer.
		{"blackhole-route/v4", "198.51.100.130", unix.EINVAL, "connect: invalid argument"},
		{"blackhole-route/v6", "2001:db8:3::7", unix.EINVAL, "connect: invalid argument"},
	} {
		for _, fast := range []bool{true, false} {
			name := tc.name + map[bool]string{true: "/fastpath", false: "/nofastpath"}[fast]
			t.Run(name, func(t *testing.T) {
				req := func(dst netip.AddrPort) *ConnectRequest {
					rq := tcpRequest(dst)
					rq.NoFastPath = !fast
					// A deadline must not matter: nothing is pending.
					rq.Deadline = time.Now().Add(10 * time.Second)
					return rq
				}

				// Start: the error comes back from the call itself, with no
				// Op, hence nothing for the poller to watch.
				dst := next(tc.ip)
				op, fd, err := l.Start(req(dst))
				if op != nil {
					op.Abort()
					t.Fatalf("Start returned a pending Op, want a synchronous %v", errnoName(tc.want))
				}
				wantConnectErr(t, "Start", fd, err, tc.want)
				if err != nil && err.Error() != tc.text {
					t.Errorf("Start: err = %q, want %q", err, tc.text)
				}
				tr.checkSync(t, dst, 1, tc.want)

				// Connect: the Op is complete before Connect returns; done
				// runs once, on the loop.
				dst = next(tc.ip)
				var calls atomic.Int32
				ch := make(chan result, 1)
				var returned atomic.Bool
				// Hold the loop until Connect has returned, so that a done
				// that ran early could only have run inside Connect.
				release := make(chan struct{})
				if err := l.Post(func() {
					select {
					case <-release:
					case <-time.After(10 * time.Second):
					}
				}); err != nil {
					t.Fatal(err)
				}
				op, err = l.Connect(req(dst), func(fd int, err error) {
					if !returned.Load() {
						t.Error("Connect: done ran inside Connect")
					}
					calls.Add(1)
					ch <- result{fd, err}
				})
				returned.Store(true)
				close(release)
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				// Nothing on the loop writes the state of an Op that
				// Connect completed itself, so this read does not race.
				if op.state != opDone {
					t.Errorf("Connect: Op state %d when it returned, want done (%d): it was handed to the poller", op.state, opDone)
				}
				var res result
				select {
				case res = <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("Connect: done not called in 10s")
				}
				wantConnectErr(t, "Connect", res.fd, res.err, tc.want)
				tr.checkSync(t, dst, 1, tc.want)

				// ConnectOnLoop: complete when it returns, done deferred
				// until the calling function is back on the loop.
				dst = next(tc.ip)
				ch2 := make(chan result, 1)
				var inside bool
				var state uint8
				var pendingOnLoop int
				onLoop(t, l, func() {
					var ran atomic.Bool
					op := l.ConnectOnLoop(req(dst), func(fd int, err error) {
						ran.Store(true)
						calls.Add(1)
						ch2 <- result{fd, err}
					})
					inside, state, pendingOnLoop = ran.Load(), op.state, l.pending
				})
				if inside {
					t.Error("ConnectOnLoop: done ran inside ConnectOnLoop")
				}
				if state != opDone || pendingOnLoop != 0 {
					t.Errorf("ConnectOnLoop: state %d, %d pending on the loop; want done, 0", state, pendingOnLoop)
				}
				select {
				case res = <-ch2:
				case <-time.After(10 * time.Second):
					t.Fatal("ConnectOnLoop: done not called in 10s")
				}
				wantConnectErr(t, "ConnectOnLoop", res.fd, res.err, tc.want)
				tr.checkSync(t, dst, 1, tc.want)

				// Exactly one completion each, and the loop holds nothing.
				var pending int
				onLoop(t, l, func() { pending = l.pending })
				if n := calls.Load(); n != 2 {
					t.Errorf("done called %d times for 2 connects", n)
				}
				if pending != 0 {
					t.Errorf("%d connects pending on the loop, want 0", pending)
				}
			})
		}
	}
}

// TestNetNSPeer dials a second namespace joined by a veth pair
// (faults.NewPeer), where errors arrive as packets after connect(2) has
// returned EINPROGRESS, so the reactor must learn them from SO_ERROR on a
// poller wake-up:
//
//   - ICMP destination-unreachable from an nftables reject rule (R4a). IPv4
//     reports at once (a few ms through the loop here) as EPOLLERR alone, with the socket still
//     in SYN_SENT; a reactor that waited for EPOLLOUT or EPOLLHUP would only
//     see the error after the SYN retransmission at 1 s (checked: with wake-ups
//     lacking EPOLLOUT ignored, these connects took 1.03 s). IPv6 reports
//     nothing until that retransmission (about 1.02 s), unless the socket has
//     IPV6_RECVERR, set here through Control.
//   - the same ICMP messages sent by a responder 30 ms after the SYN (R4f):
//     the realistic case, with the connect registered and waiting.
//   - a silent drop (the peer's blackhole route, R5): no wake-up at all; the
//     Deadline ends the connect with os.ErrDeadlineExceeded, and a connect
//     without one stays pending until it is canceled.
//
// A listener and a refusing port on the peer are the controls.
func TestNetNSPeer(t *testing.T) {
	t.Parallel()
	if !faults.InFreshNetNS(t) {
		return
	}
	faults.RequireIsolated(t)
	faults.RequireCmd(t, "ip", "iproute2")
	p := faults.NewPeer(t)

	tr := traceSyscalls(t)
	r := newReactor(t, WithLoops(2))

	recvErr := func(fd int) error {
		// IPV6_RECVERR makes the kernel report the ICMPv6 error that it
		// handles inside connect(2) at once instead of at the retransmit.
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
	}
	const delay = 30 * time.Millisecond
	kinds := []faults.Unreach{faults.NetUnreachable, faults.HostUnreachable, faults.PortUnreachable, faults.AdminProhibited}
	// The errnos of fault-recipes.md R4, written out here rather than taken
	// from faults.Unreach.Errno, so that the helper cannot vouch for itself.
	wantErrno := map[string]map[faults.Unreach]syscall.Errno{
		"tcp4": { // ICMP 3/0, 3/1, 3/3, 3/13
			faults.NetUnreachable: unix.ENETUNREACH, faults.HostUnreachable: unix.EHOSTUNREACH,
			faults.PortUnreachable: unix.ECONNREFUSED, faults.AdminProhibited: unix.EHOSTUNREACH,
		},
		"tcp6": { // ICMPv6 1/0, 1/3, 1/4, 1/1
			faults.NetUnreachable: unix.ENETUNREACH, faults.HostUnreachable: unix.EHOSTUNREACH,
			faults.PortUnreachable: unix.ECONNREFUSED, faults.AdminProhibited: unix.EACCES,
		},
	}

	type kase struct {
		name      string
		dst       netip.AddrPort
		control   func(int) error
		deadline  time.Duration // Deadline, relative to the start
		mayFinish bool          // connect(2) may finish the handshake itself
		want      syscall.Errno // from SO_ERROR; 0 with deadline: no wake-up at all
		lo, hi    time.Duration // bounds of the time to completion
	}
	var cases []kase
	haveNft := faults.HaveCmd("nft")
	if !haveNft {
		t.Log("nft is not installed (Debian package nftables): the Reject cases use the delayed responder instead and are skipped here")
	}
	for _, network := range []string{"tcp4", "tcp6"} {
		ln := p.Listen(t, network)
		cases = append(cases,
			// veth, like lo, usually completes the handshake inside
			// connect(2): the fast path then finishes it in Start.
			kase{name: network + "/listener", dst: ln.Addr().(*net.TCPAddr).AddrPort(), hi: time.Second, mayFinish: true},
			kase{name: network + "/refused", dst: p.Refused(t, network), want: unix.ECONNREFUSED, hi: time.Second},
			kase{name: network + "/blackhole+deadline", dst: p.Blackhole(t, network), deadline: 150 * time.Millisecond,
				lo: 150 * time.Millisecond, hi: 3 * time.Second})
		for _, u := range kinds {
			if got := u.Errno(network); got != wantErrno[network][u] {
				t.Errorf("faults: %v.Errno(%q) = %v, recipe R4 says %v", u, network, errnoName(got), errnoName(wantErrno[network][u]))
			}
			if haveNft {
				// R4 table: the kernel's ICMP over veth.
				c := kase{name: fmt.Sprintf("%s/reject/%v", network, u), dst: p.Reject(t, network, u), want: wantErrno[network][u]}
				if network == "tcp4" {
					// Before the first SYN retransmission: the EPOLLERR
					// of the first ICMP was acted on.
					c.hi = 700 * time.Millisecond
					cases = append(cases, c)
				} else {
					c.hi = 5 * time.Second // ≈1.02 s: the retransmission's ICMP
					cases = append(cases, c)
					c.name += "/RECVERR"
					c.dst = p.Reject(t, network, u)
					c.control = recvErr
					c.hi = 700 * time.Millisecond
					cases = append(cases, c)
				}
			}
			cases = append(cases, kase{
				name: fmt.Sprintf("%s/delayed-reject/%v", network, u),
				dst:  p.DelayedReject(t, network, u, delay),
				want: wantErrno[network][u],
				lo:   delay, hi: delay + 2*time.Second,
			})
		}
	}

	// Every case is dialed four times at once: Connect and Start+Watch,
	// each with and without the fast path.
	type attempt struct {
		c     kase
		fast  bool
		start bool // Start then Watch, instead of Connect
		res   result
		el    time.Duration
		calls atomic.Int32
		done  chan struct{}
	}
	var attempts []*attempt
	for _, c := range cases {
		for _, fast := range []bool{true, false} {
			for _, start := range []bool{false, true} {
				attempts = append(attempts, &attempt{c: c, fast: fast, start: start, done: make(chan struct{})})
			}
		}
	}
	errStop := errors.New("stop: canceled by the test")
	var silent []*Op // connects to a blackhole without a deadline
	for _, a := range attempts {
		req := tcpRequest(a.c.dst)
		req.NoFastPath = !a.fast
		req.Control = a.c.control
		t0 := time.Now()
		if a.c.deadline > 0 {
			req.Deadline = t0.Add(a.c.deadline)
		}
		done := func(fd int, err error) {
			if a.calls.Add(1) != 1 {
				t.Errorf("%s: done called twice", a.c.name)
				return
			}
			a.el = time.Since(t0)
			a.res = result{fd, err}
			close(a.done)
		}
		l := r.Next()
		if a.start {
			op, fd, err := l.Start(req)
			if op == nil {
				if !a.c.mayFinish || !a.fast {
					t.Errorf("%s: Start completed at once (fd %d, %v), want a connect in progress", a.c.name, fd, err)
				}
				done(fd, err)
				continue
			}
			if err := l.Post(func() { op.Watch(done) }); err != nil {
				op.Abort()
				t.Fatal(err)
			}
		} else if _, err := l.Connect(req, done); err != nil {
			t.Fatal(err)
		}
		if a.c.deadline > 0 && !a.start {
			// The same silent destination without a deadline: still
			// pending when the deadlines have passed.
			op, err := l.Connect(tcpRequest(a.c.dst), func(fd int, err error) {
				if fd >= 0 {
					unix.Close(fd)
				}
				if err != errStop {
					t.Errorf("%s without deadline: got %v, want only the test's cancel", a.c.name, err)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			silent = append(silent, op)
		}
	}

	for _, a := range attempts {
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no completion in 10s", a.c.name)
		}
	}
	// The silent connects without a deadline are still pending now; after
	// the cancel, the loops hold nothing.
	var pending int
	for i := range r.Len() {
		onLoop(t, r.Loop(i), func() { pending += r.Loop(i).pending })
	}
	if pending != len(silent) {
		t.Errorf("%d connects pending after every deadline passed, want the %d without a deadline", pending, len(silent))
	}
	for _, op := range silent {
		op.Cancel(errStop)
	}
	for i := range r.Len() {
		var left int
		onLoop(t, r.Loop(i), func() { left = r.Loop(i).pending })
		if left != 0 {
			t.Errorf("loop %d: %d connects still pending after the cancels", i, left)
		}
	}

	n := map[netip.AddrPort]int{}
	for _, a := range attempts {
		n[a.c.dst]++
	}
	for _, c := range cases {
		if c.deadline > 0 {
			n[c.dst] += 2 // the two Connects without a deadline
		}
	}
	checked := map[netip.AddrPort]bool{}
	for _, a := range attempts {
		name := fmt.Sprintf("%s/%s/%s", a.c.name,
			map[bool]string{true: "fastpath", false: "nofastpath"}[a.fast],
			map[bool]string{true: "Start+Watch", false: "Connect"}[a.start])
		t.Logf("%-45s %v after %v", name, errnoName(a.res.err), a.el.Round(10*time.Microsecond))
		switch {
		case a.c.deadline > 0:
			if !errors.Is(a.res.err, os.ErrDeadlineExceeded) || a.res.fd != -1 {
				t.Errorf("%s: (%d, %v), want (-1, os.ErrDeadlineExceeded)", name, a.res.fd, a.res.err)
			}
		case a.c.want == 0:
			if a.res.err != nil {
				t.Errorf("%s: %v, want connected", name, a.res.err)
			} else {
				if got := peer(t, a.res.fd); got != a.c.dst {
					t.Errorf("%s: peer %v, want %v", name, got, a.c.dst)
				}
				unix.Close(a.res.fd)
			}
		default:
			wantConnectErr(t, name, a.res.fd, a.res.err, a.c.want)
		}
		if a.el < a.c.lo || a.el > a.c.hi {
			t.Errorf("%s: completed after %v, want %v to %v", name, a.el, a.c.lo, a.c.hi)
		}
		if checked[a.c.dst] {
			continue
		}
		checked[a.c.dst] = true
		if a.c.want == 0 && a.c.deadline == 0 {
			// The controls' connects may finish inside connect(2) over
			// veth (fast path) or on the poller: only count them.
			if cs, _ := tr.get(a.c.dst); len(cs) != n[a.c.dst] {
				t.Errorf("%s: %d connect(2) calls, want %d", name, len(cs), n[a.c.dst])
			}
			continue
		}
		tr.checkAsync(t, a.c.dst, n[a.c.dst], a.c.want)
	}
}
