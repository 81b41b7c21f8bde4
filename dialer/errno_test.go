//go:build linux

package dialer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/internal/hook"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// The tests of this file are the errno matrix of the package documentation
// ("Errors of connect(2)" in doc.go): for every errno that connect(2), and the
// socket(2) and bind(2) calls around it, can fail with, they make a dial fail
// with it and check which outcome signal it lands on (on Dialer.Signals for
// a blocking dial, and on an AsyncDial's own Signals and its Dialer's), and
// the blocking API's error, against net.Dialer's for the same setup whenever
// net can be driven to the same errno.
//
// The kernel produces the errno wherever it can be made to: loopback
// fixtures, routes and peers inside a private network namespace, a cgroup
// BPF program, descriptors swapped under the dialer by Control. What only a
// syscall seam can produce (EINTR, EALREADY and EISCONN on a connect that
// goes on, ENFILE, ENOBUFS) goes through internal/hook; those tests are not
// parallel, and restore the hooks when they end.

// errnoWait bounds every wait of these tests.
const errnoWait = 20 * time.Second

// errnoReactor returns a one-loop reactor, closed when the test ends.
func errnoReactor(t testing.TB) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// errnoSink records the emissions of a Signals: which outcome signal fired,
// with what error, and the Finished that followed.
type errnoSink struct {
	mu       sync.Mutex
	outcomes []Outcome // named after the signal that fired, not its payload
	errs     []error
	finished []Outcome
	started  int // AttemptStarted signals
	attempts int // Finished.Attempts
}

// errnoWatch connects direct slots to every outcome signal of s and to
// Finished. owner says that the slots own a Connected conn (an AsyncDial's
// own Signals), which they then close.
func errnoWatch(t testing.TB, s *Signals, owner bool) *errnoSink {
	t.Helper()
	k := &errnoSink{}
	record := func(o Outcome, err error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.outcomes = append(k.outcomes, o)
		k.errs = append(k.errs, err)
	}
	must := func(_ signals.Connection, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Connected.Connect(func(c *Connected) {
		record(OutcomeConnected, nil)
		if owner {
			c.Conn.Close()
		}
	}))
	for _, e := range []struct {
		o   Outcome
		sig *signals.Signal[*DialError]
	}{
		{OutcomeRefused, &s.Refused}, {OutcomeUnreachable, &s.Unreachable}, {OutcomeTimedOut, &s.TimedOut},
		{OutcomeCanceled, &s.Canceled}, {OutcomeFailed, &s.Failed},
	} {
		must(e.sig.Connect(func(d *DialError) { record(e.o, d.Err) }))
	}
	must(s.Finished.Connect(func(f *Finished) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.finished = append(k.finished, f.Outcome)
		k.attempts = f.Attempts
	}))
	must(s.AttemptStarted.Connect(func(*Attempt) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.started++
	}))
	return k
}

// one returns the single outcome recorded and its error, after checking
// that exactly one outcome signal fired, followed by one Finished with the
// same outcome.
func (k *errnoSink) one(t testing.TB, what string) (Outcome, error) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.outcomes) != 1 || len(k.finished) != 1 || k.finished[0] != k.outcomes[0] {
		t.Errorf("%s: outcome signals %v, then Finished %v; want one outcome, then Finished with it", what, k.outcomes, k.finished)
	}

	if len(k.outcomes) == 0 {
		return 0, nil
	}
	return k.outcomes[0], k.errs[0]
}

// errnoSetup is one dial into an errno, made the same way through
// DialContext, an AsyncDial and net.Dialer.
type errnoSetup struct {
	network, address string
	laddr            net.Addr
	control          func(network, address string, c syscall.RawConn) error
	timeout          time.Duration // Dialer.Timeout; 0: no user deadline
	noNet            bool          // net.Dialer cannot be driven to the same errno
}

// errnoResult is what each API reported for one errnoSetup.
type errnoResult struct {
	sync, async, net             error
	syncSig, asyncOwn, asyncWide Outcome
	syncAt, asyncAt, netAt       time.Duration // time to the outcome
}

// errnoDial makes the dial of s three times at once, through
// Dialer.DialContext, through an AsyncDial and through net.Dialer (unless
// s.noNet), each with a context that has no deadline, and waits at most
// errnoWait for all three.
func errnoDial(t testing.TB, r *reactor.Reactor, s errnoSetup) errnoResult {
	t.Helper()
	var res errnoResult
	newDialer := func() *Dialer {
		return &Dialer{Reactor: r, Signals: new(Signals), LocalAddr: s.laddr, Control: s.control, Timeout: s.timeout}
	}
	sd := newDialer()
	syncSink := errnoWatch(t, sd.Signals, false)
	ad := newDialer()
	x := ad.NewAsyncDial(s.network, s.address)
	own := errnoWatch(t, &x.Signals, true)
	wide := errnoWatch(t, ad.Signals, false)

	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		c, err := sd.DialContext(context.Background(), s.network, s.address)
		res.syncAt, res.sync = time.Since(start), err
		if c != nil {
			c.Close()
		}
	})
	wg.Go(func() {
		start := time.Now()
		if err := x.Start(context.Background()); err != nil {
			t.Errorf("AsyncDial.Start: %v", err)
			return
		}
		<-x.Done()
		res.asyncAt, res.async = time.Since(start), x.Err()
	})
	if !s.noNet {
		wg.Go(func() {
			nd := &net.Dialer{LocalAddr: s.laddr, Control: s.control, Timeout: s.timeout}
			start := time.Now()
			c, err := nd.DialContext(context.Background(), s.network, s.address)
			res.netAt, res.net = time.Since(start), err
			if c != nil {
				c.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(errnoWait):
		t.Fatalf("dial of %s %s did not end within %v", s.network, s.address, errnoWait)
	}
	var perr error
	res.syncSig, _ = syncSink.one(t, "Dialer.Signals of DialContext")
	res.asyncOwn, perr = own.one(t, "AsyncDial.Signals")
	if errText(perr) != errText(res.async) {
		t.Errorf("AsyncDial's signal carried %q, its Err is %q", errText(perr), errText(res.async))
	}
	res.asyncWide, _ = wide.one(t, "Dialer.Signals of AsyncDial")
	for _, k := range []struct {
		what string
		sink *errnoSink
	}{{"DialContext", syncSink}, {"AsyncDial", own}, {"Dialer.Signals of AsyncDial", wide}} {
		k.sink.oneAttempt(t, k.what)
	}
	return res
}

// oneAttempt checks that the sink saw one attempt, as every dial of the
// matrix is of one address, however many connect(2) calls net's retries
// of spurious failures make in it.
func (k *errnoSink) oneAttempt(t testing.TB, what string) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.started != 1 || k.attempts != 1 {
		t.Errorf("%s: %d AttemptStarted signals, Finished.Attempts %d; want 1 and 1", what, k.started, k.attempts)
	}
}

// errnoWant is what a dial of the matrix must report.
type errnoWant struct {
	outcome Outcome
	errno   syscall.Errno // errors.Is target; 0: none
	text    string        // the blocking API's Error(); "": only compared with net's
}

// check compares res with w, and the three APIs with one another.
func (res errnoResult) check(t testing.TB, s errnoSetup, w errnoWant) {
	t.Helper()
	for _, g := range []struct {
		what string
		got  Outcome
	}{
		{"signal on Dialer.Signals (DialContext)", res.syncSig},
		{"signal on AsyncDial.Signals", res.asyncOwn},
		{"signal on Dialer.Signals (AsyncDial)", res.asyncWide},
		{"Classify(DialContext's error)", Classify(res.sync)},
		{"Classify(AsyncDial.Err)", Classify(res.async)},
	} {
		if g.got != w.outcome {
			t.Errorf("%s: %v, want %v (error %v)", g.what, g.got, w.outcome, res.sync)
		}
	}
	errs := []struct {
		api string
		err error
	}{{"DialContext", res.sync}, {"AsyncDial", res.async}}
	if !s.noNet {
		errs = append(errs, struct {
			api string
			err error
		}{"net.Dialer", res.net})
	}
	for _, e := range errs {
		switch {
		case w.outcome == OutcomeConnected && e.err != nil:
			t.Errorf("%s: %v, want a connection", e.api, e.err)
		case w.outcome != OutcomeConnected && e.err == nil:
			t.Errorf("%s connected, want %v", e.api, w.errno)
		case w.errno != 0 && e.err != nil && !errors.Is(e.err, w.errno):
			t.Errorf("%s: %v, want errors.Is(err, %s)", e.api, e.err, errnoName(w.errno))
		}
	}
	if w.text != "" && errText(res.sync) != w.text {
		t.Errorf("DialContext: %q, want %q", errText(res.sync), w.text)
	}
	if errText(res.async) != errText(res.sync) {
		t.Errorf("AsyncDial: %q, DialContext: %q", errText(res.async), errText(res.sync))
	}
	if !s.noNet {
		if errText(res.net) != errText(res.sync) {
			t.Errorf("Error():\n\tours %q\n\tnet  %q", errText(res.sync), errText(res.net))
		}
		if isNetTimeout(res.net) != isNetTimeout(res.sync) {
			t.Errorf("Timeout(): ours %v, net's %v", isNetTimeout(res.sync), isNetTimeout(res.net))
		}
	}
	t.Logf("%s %s: %v, %q (DialContext %v, AsyncDial %v, net %v)", s.network, s.address, res.syncSig, errText(res.sync),
		res.syncAt.Round(time.Millisecond), res.asyncAt.Round(time.Millisecond), res.netAt.Round(time.Millisecond))
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errnoName returns the errno's symbol (ECONNREFUSED), for messages.
func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return strconv.Itoa(int(e))
}

// dialText is the Error() of net's *net.OpError for a dial of network from
// laddr (nil: none) to raddr that failed in the stage system call with e:
// "dial tcp 127.0.0.1:1->127.0.0.1:2: bind: address already in use".
func dialText(network string, laddr net.Addr, raddr, stage string, e syscall.Errno) string {
	src := ""
	if laddr != nil {
		src = laddr.String() + "->"
	}
	return fmt.Sprintf("dial %s %s%s: %s: %s", network, src, raddr, stage, e.Error())
}

// swapFD returns a Control function that replaces the dialer's socket, under
// the same descriptor number, with the descriptor open returns (dup3), so
// that the dialer's own bind and connect run on something else: a socket of
// the other family (EAFNOSUPPORT), /dev/null (ENOTSOCK), an O_PATH
// descriptor, which socket calls do not accept (EBADF). The dialer closes
// the replacement as it would have closed its socket; nothing is sent.
func swapFD(open func() (int, error)) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			n, err := open()
			if err != nil {
				serr = err
				return
			}
			serr = unix.Dup3(n, int(fd), unix.O_CLOEXEC)
			unix.Close(n)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// setsockoptControl returns a Control function that sets an integer socket
// option.
func setsockoptControl(level, opt, value int) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, value) }); err != nil {
			return err
		}
		return serr
	}
}

// listen4 returns a loopback TCP listener that nobody accepts from (the
// kernel completes handshakes into its queue), closed when the test ends.
func listen4(t testing.TB, network, address string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// fullUnixListener returns the path of a unix stream listener with a full
// backlog: listen(fd, 0) and one connection queued, never accepted. A
// nonblocking connect to it fails with EAGAIN at once (unix_stream_connect
// finds the queue longer than the backlog), which is what net.Dialer
// reports too.
func fullUnixListener(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "full.sock")
	sock := func() int {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	ln := sock()
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(sock(), &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatalf("fill the backlog of %s: %v", path, err)
	}
	return path
}

// TestErrnoLoopback makes the errnos that need nothing but loopback: no
// namespace, no privilege, no hook.
func TestErrnoLoopback(t *testing.T) {
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0")
	lnAddr := ln.Addr().String()

	t.Run("ECONNREFUSED", func(t *testing.T) {
		// A port bound but not listening: the SYN gets an RST (recipe R1).
		a := faults.RefusedAddr(t).String()
		s := errnoSetup{network: "tcp", address: a}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeRefused, unix.ECONNREFUSED,
			dialText("tcp", nil, a, "connect", unix.ECONNREFUSED)})
	})
	t.Run("EADDRINUSE", func(t *testing.T) {
		// LocalAddr is the listener's own address: bind(2) fails.
		s := errnoSetup{network: "tcp", address: lnAddr, laddr: ln.Addr()}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EADDRINUSE,
			dialText("tcp", ln.Addr(), lnAddr, "bind", unix.EADDRINUSE)})
	})
	t.Run("EAGAIN", func(t *testing.T) {
		path := fullUnixListener(t)
		s := errnoSetup{network: "unix", address: path}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EAGAIN,
			dialText("unix", nil, path, "connect", unix.EAGAIN)})
	})
	t.Run("EAFNOSUPPORT", func(t *testing.T) {
		// An AF_INET socket in place of the tcp6 one: connect(2) with a
		// sockaddr_in6 fails in tcp_v4_connect.
		ln6, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer ln6.Close()
		a := ln6.Addr().String()
		s := errnoSetup{network: "tcp6", address: a, control: swapFD(func() (int, error) {
			return unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		})}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EAFNOSUPPORT,
			dialText("tcp6", nil, a, "connect", unix.EAFNOSUPPORT)})
	})
	t.Run("ENOTSOCK", func(t *testing.T) {
		s := errnoSetup{network: "tcp", address: lnAddr, control: swapFD(func() (int, error) {
			return unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		})}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.ENOTSOCK,
			dialText("tcp", nil, lnAddr, "connect", unix.ENOTSOCK)})
	})
	t.Run("EBADF", func(t *testing.T) {
		s := errnoSetup{network: "tcp", address: lnAddr, control: swapFD(func() (int, error) {
			return unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
		})}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EBADF,
			dialText("tcp", nil, lnAddr, "connect", unix.EBADF)})
	})
}

// TestErrnoRoutes makes the synchronous route errors of recipe R3 in a
// private namespace: connect(2) itself fails, and no packet is sent.
func TestErrnoRoutes(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	faults.RequireCmd(t, "ip", "iproute2")
	r := errnoReactor(t)
	faults.NoRoute(t, "198.51.100.0/26")
	faults.RouteUnreachable(t, "198.51.100.64/26")
	faults.RouteProhibit(t, "198.51.100.128/26")
	faults.NoRoute(t, "2001:db8:1::/48")
	faults.RouteUnreachable(t, "2001:db8:2::/48")
	faults.RouteProhibit(t, "2001:db8:3::/48")
	for _, c := range []struct {
		name, network, address string
		want                   Outcome
		errno                  syscall.Errno
	}{
		{"ENETUNREACH no route v4", "tcp", "198.51.100.10:80", OutcomeUnreachable, unix.ENETUNREACH},
		{"EHOSTUNREACH unreachable route v4", "tcp", "198.51.100.70:80", OutcomeUnreachable, unix.EHOSTUNREACH},
		{"EACCES prohibit route v4", "tcp", "198.51.100.130:80", OutcomeFailed, unix.EACCES},
		{"ENETUNREACH no route v6", "tcp6", "[2001:db8:1::10]:80", OutcomeUnreachable, unix.ENETUNREACH},
		{"EHOSTUNREACH unreachable route v6", "tcp", "[2001:db8:2::10]:80", OutcomeUnreachable, unix.EHOSTUNREACH},
		{"EACCES prohibit route v6", "tcp", "[2001:db8:3::10]:80", OutcomeFailed, unix.EACCES},
		{"ENETUNREACH no route udp", "udp", "198.51.100.10:53", OutcomeUnreachable, unix.ENETUNREACH},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := errnoSetup{network: c.network, address: c.address}
			errnoDial(t, r, s).check(t, s, errnoWant{c.want, c.errno, dialText(c.network, nil, c.address, "connect", c.errno)})
		})
	}
}

// TestErrnoPorts makes EADDRNOTAVAIL and EADDRINUSE from the local side
// (recipe R6), in a private namespace whose ephemeral port range is
// exhausted.
func TestErrnoPorts(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0") // before the range is narrowed
	lnAddr := ln.Addr().String()
	nonLocal := &net.TCPAddr{IP: faults.NonLocalAddr(t, "tcp4").AsSlice()}
	full := faults.ExhaustedPorts(t, "tcp4").String()

	t.Run("EADDRNOTAVAIL connect", func(t *testing.T) {
		// No source port left for this destination: connect(2) fails
		// synchronously (and net's two retries fail the same way).
		s := errnoSetup{network: "tcp", address: full}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EADDRNOTAVAIL,
			dialText("tcp", nil, full, "connect", unix.EADDRNOTAVAIL)})
	})
	t.Run("EADDRNOTAVAIL bind", func(t *testing.T) {
		s := errnoSetup{network: "tcp", address: lnAddr, laddr: nonLocal}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EADDRNOTAVAIL,
			dialText("tcp", nonLocal, lnAddr, "bind", unix.EADDRNOTAVAIL)})
	})
	t.Run("EADDRINUSE bind port 0", func(t *testing.T) {
		// An explicit bind to port 0 finds no free port in the range.
		la := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
		s := errnoSetup{network: "tcp", address: lnAddr, laddr: la}
		errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EADDRINUSE,
			dialText("tcp", la, lnAddr, "bind", unix.EADDRINUSE)})
	})
}

// TestErrnoKernelTimeout lets the kernel give up on a SYN that is silently
// dropped (recipe R5: a peer namespace with a blackhole route), with no
// user deadline at all: TCP_USER_TIMEOUT or TCP_SYNCNT, set through Control,
// make it seconds instead of 134 s. The dial must end in TimedOut with
// ETIMEDOUT from the kernel ("connection timed out"), not with the "i/o
// timeout" of a deadline, and net.Dialer must return the same error.
func TestErrnoKernelTimeout(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	p := faults.NewPeer(t)
	r := errnoReactor(t)
	for _, c := range []struct {
		name, network  string
		opt, value     int
		atLeast, below time.Duration
	}{
		// The first SYN retransmission is at 1 s: TCP_USER_TIMEOUT cannot
		// end a connect before it (1.02 s measured); TCP_SYNCNT=1 gives up
		// after the second retransmission (3.06 s).
		{"TCP_USER_TIMEOUT v4", "tcp4", unix.TCP_USER_TIMEOUT, 1000, 900 * time.Millisecond, 10 * time.Second},
		{"TCP_USER_TIMEOUT v6", "tcp6", unix.TCP_USER_TIMEOUT, 1000, 900 * time.Millisecond, 10 * time.Second},
		{"TCP_SYNCNT v4", "tcp4", unix.TCP_SYNCNT, 1, 2500 * time.Millisecond, 15 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := p.Blackhole(t, c.network).String()
			s := errnoSetup{network: c.network, address: a, control: setsockoptControl(unix.IPPROTO_TCP, c.opt, c.value)}
			res := errnoDial(t, r, s)
			res.check(t, s, errnoWant{OutcomeTimedOut, unix.ETIMEDOUT, dialText(c.network, nil, a, "connect", unix.ETIMEDOUT)})
			for _, e := range []struct {
				api string
				err error
				at  time.Duration
			}{{"DialContext", res.sync, res.syncAt}, {"AsyncDial", res.async, res.asyncAt}, {"net.Dialer", res.net, res.netAt}} {
				if !isNetTimeout(e.err) {
					t.Errorf("%s: %v: Timeout() false", e.api, e.err)
				}
				if errors.Is(e.err, os.ErrDeadlineExceeded) || errors.Is(e.err, context.DeadlineExceeded) {
					t.Errorf("%s: %v is a deadline error; no deadline was set", e.api, e.err)
				}
				if e.at < c.atLeast || e.at >= c.below {
					t.Errorf("%s: ended after %v, want [%v, %v)", e.api, e.at, c.atLeast, c.below)
				}
			}
		})
	}
}

// TestErrnoICMPSoftError checks the "soft error" of the seeds: a SYN that
// draws an ICMP destination-unreachable from a router after a delay.
//
// The delay is what makes it realistic: the ICMP arrives after connect(2)
// returned, as on a real network, and Linux then aborts the connect in
// SYN_SENT at once (tcp_v4_err, tcp_v6_err) instead of waiting for the
// retransmissions as 4.4BSD did. When the ICMP instead arrives while
// connect(2) still holds the socket lock (an nft reject on a local link
// answers inside the call), the kernel only records it as a soft error and
// the connect goes on: on IPv6 the ICMP answering the first SYN
// retransmission, 1 s later, ends it. The last case shows that path.
//
// ICMP rate limits cannot make these cases flaky. The kernel's limits
// (icmp_ratelimit and icmpv6 ratelimit: a token bucket per destination,
// burst 6, then one a second; icmp_msgs_per_sec for the whole namespace)
// apply to the ICMP errors the kernel generates itself. DelayedReject's
// errors are crafted by a userspace responder on a raw socket, which no
// limiter sees; only the nft case has the kernel generate them, and NewPeer
// turns the limits off in the peer namespace. Each test also runs in a
// namespace of its own, and sends a bounded number of SYNs: three dials per
// case, at most two SYNs each.
func TestErrnoICMPSoftError(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	p := faults.NewPeer(t)
	r := errnoReactor(t)
	const delay = 100 * time.Millisecond
	for _, c := range []struct {
		name, network string
		u             faults.Unreach
		want          Outcome
	}{
		{"EHOSTUNREACH v4", "tcp4", faults.HostUnreachable, OutcomeUnreachable},
		{"ENETUNREACH v4", "tcp4", faults.NetUnreachable, OutcomeUnreachable},
		{"EHOSTUNREACH v6", "tcp6", faults.HostUnreachable, OutcomeUnreachable},
		{"ENETUNREACH v6", "tcp6", faults.NetUnreachable, OutcomeUnreachable},
		{"EACCES v6 admin-prohibited", "tcp6", faults.AdminProhibited, OutcomeFailed},
		{"ECONNREFUSED v4 port-unreachable", "tcp4", faults.PortUnreachable, OutcomeRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := p.DelayedReject(t, c.network, c.u, delay).String()
			errno := c.u.Errno(c.network)
			s := errnoSetup{network: c.network, address: a}
			res := errnoDial(t, r, s)
			res.check(t, s, errnoWant{c.want, errno, dialText(c.network, nil, a, "connect", errno)})
			for _, at := range []time.Duration{res.syncAt, res.asyncAt, res.netAt} {
				if at < delay {
					t.Errorf("ended after %v, before the ICMP was sent (%v)", at, delay)
				}
			}
		})
	}
	t.Run("EHOSTUNREACH v6 soft, then hard", func(t *testing.T) {
		t.Parallel()
		if !faults.HaveCmd("nft") {
			t.Skip("nft is not installed (Debian package nftables): no kernel-generated reject")
		}
		a := p.Reject(t, "tcp6", faults.HostUnreachable).String()
		s := errnoSetup{network: "tcp6", address: a}
		res := errnoDial(t, r, s)
		res.check(t, s, errnoWant{OutcomeUnreachable, unix.EHOSTUNREACH, dialText("tcp6", nil, a, "connect", unix.EHOSTUNREACH)})
	})
}

// TestErrnoEPERM makes connect(2) fail with EPERM the way a local firewall
// does: a cgroup BPF program (BPF_CGROUP_INET4_CONNECT and
// INET6_CONNECT) that refuses one port. The dials run in a child process
// of the test binary, started inside a cgroup of its own that carries the
// programs; nothing else is affected, and no SYN is sent. (nft and iptables
// cannot do it: a dropped or rejected SYN does not fail connect(2), recipe
// R4e.) Needs root and cgroup v2; skipped otherwise, the seam test covers
// EPERM then.
func TestErrnoEPERM(t *testing.T) {
	const env = "SIGDIAL_ERRNO_EPERM_PORT"
	if port := os.Getenv(env); port != "" {
		r := errnoReactor(t)
		for _, c := range []struct{ network, address string }{
			{"tcp", "127.0.0.1:" + port},
			{"tcp6", "[::1]:" + port},
			{"udp", "127.0.0.1:" + port},
		} {
			t.Run(c.network, func(t *testing.T) {
				if strings.HasPrefix(c.address, "[") && !haveIPv6Loopback() {
					t.Skip("no IPv6 loopback")
				}
				s := errnoSetup{network: c.network, address: c.address}
				errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, unix.EPERM,
					dialText(c.network, nil, c.address, "connect", unix.EPERM)})
			})
		}
		return
	}
	a := faults.RefusedAddr(t) // the port is reserved: connects to it are refused without the program
	cg := bpfConnectDeny(t, a.Port())
	out := runChild(t, []string{env + "=" + strconv.Itoa(int(a.Port()))}, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cg})
	t.Logf("child:\n%s", out)
}

func haveIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// bpfConnectDeny makes a cgroup v2 group for the test, attaches to it two
// BPF_PROG_TYPE_CGROUP_SOCK_ADDR programs that fail connect(2) to port with
// EPERM (a program returning 0 denies), for IPv4 and IPv6, and returns the
// group's descriptor for SysProcAttr.CgroupFD. The group is removed, and
// the programs with it, when the test ends. It skips the test if cgroup v2
// or BPF is not available.
func bpfConnectDeny(t *testing.T, port uint16) int {
	t.Helper()
	root := cgroup2Root()
	if root == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	dir, err := os.MkdirTemp(root, "sigdial-errno-")
	if err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		// The child has been reaped by now; the kernel frees its cgroup
		// link asynchronously, so rmdir may see EBUSY for a moment.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := unix.Rmdir(dir)
			if err == nil || err == unix.ENOENT {
				return
			}
			if err != unix.EBUSY || time.Now().After(deadline) {
				t.Errorf("remove cgroup %s: %v", dir, err)
				return
			}
			runtime.Gosched()
		}
	})
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(cg) })

	// r2 = ctx->user_port (offset 24 of struct bpf_sock_addr, network byte
	// order in the low 16 bits); r0 = 1 (allow); if r2 == port { r0 = 0 }.
	var nbo [4]byte
	binary.BigEndian.PutUint16(nbo[:2], port)
	insn := func(code, regs uint8, off int16, imm int32) uint64 {
		return uint64(code) | uint64(regs)<<8 | uint64(uint16(off))<<16 | uint64(uint32(imm))<<32
	}
	prog := []uint64{
		insn(unix.BPF_LDX|unix.BPF_MEM|unix.BPF_W, 2|1<<4, 24, 0),                                   // r2 = *(u32 *)(r1 + 24)
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, 0, 0, 1),                                       // r0 = 1
		insn(unix.BPF_JMP|unix.BPF_JNE|unix.BPF_K, 2, 1, int32(binary.NativeEndian.Uint32(nbo[:]))), // if r2 != port goto +1
		insn(unix.BPF_ALU64|unix.BPF_MOV|unix.BPF_K, 0, 0, 0),                                       // r0 = 0
		insn(unix.BPF_JMP|unix.BPF_EXIT, 0, 0, 0),                                                   // return r0
	}
	license := []byte("GPL\x00")
	for _, at := range []uint32{unix.BPF_CGROUP_INET4_CONNECT, unix.BPF_CGROUP_INET6_CONNECT} {
		load := struct {
			progType, insnCnt      uint32
			insns, license         uint64
			logLevel, logSize      uint32
			logBuf                 uint64
			kernVersion, progFlags uint32
			progName               [16]byte
			progIfindex, attachTyp uint32
		}{
			progType: unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, insnCnt: uint32(len(prog)),
			insns:     uint64(uintptr(unsafe.Pointer(&prog[0]))),
			license:   uint64(uintptr(unsafe.Pointer(&license[0]))),
			attachTyp: at,
		}
		pfd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&load)), unsafe.Sizeof(load))
		runtime.KeepAlive(prog)
		runtime.KeepAlive(license)
		if errno != 0 {
			t.Skipf("cannot load a BPF program: %v", errno)
		}
		attach := struct{ targetFD, attachBPFFD, attachType, flags uint32 }{uint32(cg), uint32(pfd), at, 0}
		_, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attach)), unsafe.Sizeof(attach))
		unix.Close(int(pfd)) // the attachment holds the program
		if errno != 0 {
			t.Skipf("cannot attach a BPF program to %s: %v", dir, errno)
		}
	}
	return cg
}

// cgroup2Root returns where the cgroup v2 hierarchy is mounted, or "".
func cgroup2Root() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		// ... mount-point ... - fstype source options
		pre, post, ok := strings.Cut(line, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			return f[4]
		}
	}
	return ""
}

// runChild runs the calling test again in a child process of the test
// binary, with env added to its environment and attr (may be nil), and
// returns its output. The child's failure fails the test, its skip skips
// it. The child is killed if it runs longer than two minutes, or if this
// process dies.
func runChild(t *testing.T, env []string, attr *syscall.SysProcAttr) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	gorace := os.Getenv("GORACE")
	if !strings.Contains(gorace, "atexit_sleep_ms") {
		// The race detector waits a second before exiting by default.
		gorace = strings.TrimSpace(gorace + " atexit_sleep_ms=0")
	}
	cmd.Env = append(append(os.Environ(), "GORACE="+gorace), env...)
	if attr == nil {
		attr = new(syscall.SysProcAttr)
	}
	attr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr = attr
	// Pdeathsig fires when the thread that forked the child exits (Go
	// issue 27505): keep this goroutine on its thread until the child is
	// reaped.
	runtime.LockOSThread()
	outb, err := cmd.CombinedOutput()
	runtime.UnlockOSThread()
	out := string(outb)
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit) && attr.UseCgroupFD:
		// clone3 with CLONE_INTO_CGROUP needs Linux 5.7.
		t.Skipf("cannot start a child in a cgroup: %v", err)
	case strings.Contains(out, "--- SKIP: "+t.Name()):
		t.Skipf("child skipped:\n%s", out)
	case err != nil:
		t.Fatalf("child %v: %v\n%s", cmd.Args, err, out)
	case !strings.Contains(out, "--- PASS: "+t.Name()):
		t.Fatalf("child %v ran no test:\n%s", cmd.Args, out)
	}
	return out
}

// errnoSeam replaces the reactor's system calls (internal/hook) for the
// sockets that connect to one address, and restores them when the test
// ends. Tests that use it must not be parallel: the hooks are process-wide.
type errnoSeam struct {
	target netip.AddrPort
	// poller fails the first getpeername of each target socket, the one
	// the reactor's fast path makes right after connect(2), so that the
	// connect goes through the poller and SO_ERROR.
	poller bool
	// connect does the target's connects; realConnect is the real call.
	connect func(s *errnoSeam, fd int, sa unix.Sockaddr) error
	// soError, if set, replaces SO_ERROR for target sockets.
	soError func() (int, error)

	mu    sync.Mutex
	fresh map[int]bool // target sockets before their first getpeername
	fds   map[int]bool // target sockets
	calls int          // target connects
	real  []error      // what the real connect(2) returned, in order
	peers int          // getpeername calls failed for the poller
}

func (s *errnoSeam) install(t *testing.T) {
	t.Helper()
	s.fresh, s.fds = map[int]bool{}, map[int]bool{}
	origConnect, origPeer, origSockopt := hook.Connect, hook.Getpeername, hook.GetsockoptInt
	t.Cleanup(func() { hook.Connect, hook.Getpeername, hook.GetsockoptInt = origConnect, origPeer, origSockopt })
	hook.Connect = func(fd int, sa unix.Sockaddr) error {
		if !sockaddrIs(sa, s.target) {
			return origConnect(fd, sa)
		}
		s.mu.Lock()
		s.calls++
		s.fresh[fd], s.fds[fd] = true, true
		s.mu.Unlock()
		if s.connect == nil {
			return s.realConnect(fd, sa)
		}
		return s.connect(s, fd, sa)
	}
	hook.Getpeername = func(fd int) error {
		s.mu.Lock()
		fail := s.poller && s.fresh[fd]
		delete(s.fresh, fd)
		if fail {
			s.peers++
		}
		s.mu.Unlock()
		if fail {
			return unix.ENOTCONN
		}
		return origPeer(fd)
	}
	hook.GetsockoptInt = func(fd, level, opt int) (int, error) {
		s.mu.Lock()
		mine := s.fds[fd]
		s.mu.Unlock()
		if mine && s.soError != nil && level == unix.SOL_SOCKET && opt == unix.SO_ERROR {
			return s.soError()
		}
		return origSockopt(fd, level, opt)
	}
}

// realConnect calls connect(2) and records what it returned.
func (s *errnoSeam) realConnect(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	s.mu.Lock()
	s.real = append(s.real, err)
	s.mu.Unlock()
	return err
}

func (s *errnoSeam) stats() (calls, peers int, real []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.peers, append([]error(nil), s.real...)
}

func sockaddrIs(sa unix.Sockaddr, ap netip.AddrPort) bool {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return ap.Addr().Is4() && sa.Addr == ap.Addr().As4() && sa.Port == int(ap.Port())
	case *unix.SockaddrInet6:
		return ap.Addr().Is6() && sa.Addr == ap.Addr().As16() && sa.Port == int(ap.Port())
	}
	return false
}

// waitWritable waits, at most errnoWait, until fd is writable: its
// connect has finished.
func waitWritable(fd int) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	deadline := time.Now().Add(errnoWait)
	for {
		n, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds()))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.ETIMEDOUT
		}
		return nil
	}
}

// TestErrnoSeam covers what the kernel cannot be made to produce on demand
// through the reactor's syscall seam (internal/hook): connect(2) returning
// EINTR, EALREADY or EISCONN for a connect that goes on or has finished, the
// SO_ERROR path for errnos that are otherwise synchronous, and socket(2)
// and connect(2) failures with ENFILE, ENOBUFS and others. Where a real
// connect(2) can give the errno (EINPROGRESS, a second connect that gets
// EALREADY or EISCONN), the hook makes the real call and checks what the
// kernel answered. Not parallel: the hooks are process-wide.
func TestErrnoSeam(t *testing.T) {
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0")
	target := ln.Addr().(*net.TCPAddr).AddrPort()
	addr := target.String()

	// in-progress results that the reactor must wait on, not fail with.
	waitOn := func(e syscall.Errno) func(s *errnoSeam, fd int, sa unix.Sockaddr) error {
		return func(s *errnoSeam, fd int, sa unix.Sockaddr) error {
			if err := s.realConnect(fd, sa); err != nil && err != unix.EINPROGRESS {
				return err
			}
			return e
		}
	}
	fail := func(e syscall.Errno) func(*errnoSeam, int, unix.Sockaddr) error {
		return func(*errnoSeam, int, unix.Sockaddr) error { return e }
	}
	for _, c := range []struct {
		name    string
		poller  bool
		connect func(s *errnoSeam, fd int, sa unix.Sockaddr) error
		soError func() (int, error)
		address string // default: the listener
		timeout time.Duration
		want    errnoWant
		real    syscall.Errno // the real connect(2) must have returned it
		calls   int           // connect(2) calls to the target, 0: 2 (one per dial)
	}{
		// EINPROGRESS: the real answer of every nonblocking connect that
		// does not finish inside the call; waited on through the poller.
		{name: "EINPROGRESS poller", poller: true, want: errnoWant{outcome: OutcomeConnected}, real: unix.EINPROGRESS},
		{name: "EINPROGRESS fast path", want: errnoWant{outcome: OutcomeConnected}, real: unix.EINPROGRESS},
		// EINTR: POSIX says the connect goes on asynchronously; calling
		// connect again would be wrong, so exactly one call per dial.
		{name: "EINTR poller", poller: true, connect: waitOn(unix.EINTR), want: errnoWant{outcome: OutcomeConnected}},
		{name: "EINTR fast path", connect: waitOn(unix.EINTR), want: errnoWant{outcome: OutcomeConnected}},
		{name: "EALREADY poller", poller: true, connect: waitOn(unix.EALREADY), want: errnoWant{outcome: OutcomeConnected}},
		// A real EALREADY: the second connect(2) on a socket whose SYN
		// went unanswered (full accept queue). The reactor waits on it
		// like EINPROGRESS, until the deadline: TimedOut, not Failed.
		{name: "EALREADY real", address: "backlog", timeout: 300 * time.Millisecond, real: unix.EALREADY, calls: 4,
			connect: func(s *errnoSeam, fd int, sa unix.Sockaddr) error {
				if err := s.realConnect(fd, sa); err != unix.EINPROGRESS {
					return err
				}
				s.mu.Lock()
				s.calls++
				s.mu.Unlock()
				return s.realConnect(fd, sa)
			},
			want: errnoWant{outcome: OutcomeTimedOut}},
		// A real EISCONN. Once the handshake is done, Linux answers the
		// next connect(2) on a socket that was left connecting with 0
		// (and marks it connected), and the one after with EISCONN.
		{name: "EISCONN real", real: unix.EISCONN, calls: 6,
			connect: func(s *errnoSeam, fd int, sa unix.Sockaddr) error {
				if err := s.realConnect(fd, sa); err != nil && err != unix.EINPROGRESS {
					return err
				}
				if err := waitWritable(fd); err != nil {
					return err
				}
				s.mu.Lock()
				s.calls += 2
				s.mu.Unlock()
				if err := s.realConnect(fd, sa); err != nil {
					return err
				}
				return s.realConnect(fd, sa)
			},
			want: errnoWant{outcome: OutcomeConnected}},
		{name: "SO_ERROR EISCONN", poller: true, soError: func() (int, error) { return int(unix.EISCONN), nil },
			want: errnoWant{outcome: OutcomeConnected}},
		// Failures of connect(2) itself.
		{name: "EAGAIN", connect: fail(unix.EAGAIN), want: errnoWant{OutcomeFailed, unix.EAGAIN, dialText("tcp", nil, addr, "connect", unix.EAGAIN)}},
		{name: "ENOBUFS", connect: fail(unix.ENOBUFS), want: errnoWant{OutcomeFailed, unix.ENOBUFS, dialText("tcp", nil, addr, "connect", unix.ENOBUFS)}},
		{name: "EPERM", connect: fail(unix.EPERM), want: errnoWant{OutcomeFailed, unix.EPERM, dialText("tcp", nil, addr, "connect", unix.EPERM)}},
		{name: "EACCES", connect: fail(unix.EACCES), want: errnoWant{OutcomeFailed, unix.EACCES, dialText("tcp", nil, addr, "connect", unix.EACCES)}},
		{name: "EADDRINUSE", connect: fail(unix.EADDRINUSE), want: errnoWant{OutcomeFailed, unix.EADDRINUSE, dialText("tcp", nil, addr, "connect", unix.EADDRINUSE)}},
		{name: "EBADF", connect: fail(unix.EBADF), want: errnoWant{OutcomeFailed, unix.EBADF, dialText("tcp", nil, addr, "connect", unix.EBADF)}},
		{name: "ENOTSOCK", connect: fail(unix.ENOTSOCK), want: errnoWant{OutcomeFailed, unix.ENOTSOCK, dialText("tcp", nil, addr, "connect", unix.ENOTSOCK)}},
		{name: "ETIMEDOUT", connect: fail(unix.ETIMEDOUT), want: errnoWant{OutcomeTimedOut, unix.ETIMEDOUT, dialText("tcp", nil, addr, "connect", unix.ETIMEDOUT)}},
		{name: "EADDRNOTAVAIL retried", connect: fail(unix.EADDRNOTAVAIL), calls: 6, // net's two retries per dial
			want: errnoWant{OutcomeFailed, unix.EADDRNOTAVAIL, dialText("tcp", nil, addr, "connect", unix.EADDRNOTAVAIL)}},
		// The same errors, reported by SO_ERROR after the poller woke.
		{name: "SO_ERROR ETIMEDOUT", poller: true, soError: func() (int, error) { return int(unix.ETIMEDOUT), nil },
			want: errnoWant{OutcomeTimedOut, unix.ETIMEDOUT, dialText("tcp", nil, addr, "connect", unix.ETIMEDOUT)}},
		{name: "SO_ERROR EHOSTUNREACH", poller: true, soError: func() (int, error) { return int(unix.EHOSTUNREACH), nil },
			want: errnoWant{OutcomeUnreachable, unix.EHOSTUNREACH, dialText("tcp", nil, addr, "connect", unix.EHOSTUNREACH)}},
		{name: "SO_ERROR ENOBUFS", poller: true, soError: func() (int, error) { return int(unix.ENOBUFS), nil },
			want: errnoWant{OutcomeFailed, unix.ENOBUFS, dialText("tcp", nil, addr, "connect", unix.ENOBUFS)}},
		{name: "getsockopt EBADF", poller: true, soError: func() (int, error) { return 0, unix.EBADF },
			want: errnoWant{OutcomeFailed, unix.EBADF, dialText("tcp", nil, addr, "getsockopt", unix.EBADF)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			target, addr := target, addr
			if c.address == "backlog" {
				target = faults.FullBacklog(t, "tcp4")
				addr = target.String()
			}
			s := &errnoSeam{target: target, poller: c.poller, connect: c.connect, soError: c.soError}
			s.install(t)
			es := errnoSetup{network: "tcp", address: addr, timeout: c.timeout, noNet: c.want.outcome != OutcomeConnected}
			if c.address == "backlog" {
				es.noNet = false // net.Dialer times out on the same pending connect
			}
			errnoDial(t, r, es).check(t, es, c.want)
			calls, peers, real := s.stats()
			want := c.calls
			if want == 0 {
				want = 2
			}
			if calls != want {
				t.Errorf("%d connect(2) calls to the target, want %d", calls, want)
			}
			if c.poller && c.soError == nil && c.connect == nil && peers != 2 {
				t.Errorf("%d fast-path getpeername calls failed, want 2", peers)
			}
			if c.real != 0 {
				saw := false
				for _, e := range real {
					saw = saw || e == c.real
				}
				if !saw {
					t.Errorf("the real connect(2) calls returned %v, never %s", real, errnoName(c.real))
				}
			}
		})
	}
}

// TestErrnoSocketSeam fails socket(2) through the seam with the errnos of
// resource exhaustion and of unsupported families: EMFILE, ENFILE and
// ENOBUFS (EMFILE for real: TestEMFILE), EAFNOSUPPORT (IPv6 disabled),
// EACCES and EPERM (raw sockets without privilege). Not parallel.
func TestErrnoSocketSeam(t *testing.T) {
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0")
	addr := ln.Addr().String()
	for _, e := range []syscall.Errno{unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.EAFNOSUPPORT, unix.EACCES, unix.EPERM} {
		t.Run(errnoName(e), func(t *testing.T) {
			orig := hook.Socket
			t.Cleanup(func() { hook.Socket = orig })
			hook.Socket = func(domain, typ, proto int) (int, error) {
				if domain == unix.AF_INET && typ&0xf == unix.SOCK_STREAM {
					return -1, e
				}
				return orig(domain, typ, proto)
			}
			s := errnoSetup{network: "tcp", address: addr, noNet: true}
			errnoDial(t, r, s).check(t, s, errnoWant{OutcomeFailed, e, dialText("tcp", nil, addr, "socket", e)})
		})
	}
}
