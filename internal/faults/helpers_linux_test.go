package faults

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dialOpts configures one probe connect in the tests.
type dialOpts struct {
	timeout     time.Duration // the caller's deadline; 0 means 3 s
	userTimeout time.Duration // TCP_USER_TIMEOUT
	synCnt      int           // TCP_SYNCNT
	recvErr     bool          // IP_RECVERR / IPV6_RECVERR
	bind        netip.AddrPort
}

// dial makes one nonblocking connect the way a reactor does (probe) and
// reports what happened.
func dial(dst netip.AddrPort, o dialOpts) outcome {
	if o.timeout == 0 {
		o.timeout = 3 * time.Second
	}
	return probe(dst, o.timeout, false, func(fd int) error {
		if o.userTimeout > 0 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(o.userTimeout/time.Millisecond)); err != nil {
				return err
			}
		}
		if o.synCnt > 0 {
			if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_SYNCNT, o.synCnt); err != nil {
				return err
			}
		}
		if o.recvErr {
			lvl, opt := unix.IPPROTO_IP, unix.IP_RECVERR
			if dst.Addr().Is6() {
				lvl, opt = unix.IPPROTO_IPV6, unix.IPV6_RECVERR
			}
			if err := unix.SetsockoptInt(fd, lvl, opt, 1); err != nil {
				return err
			}
		}
		if o.bind.IsValid() {
			return unix.Bind(fd, sockaddr(o.bind))
		}
		return nil
	})
}

func (o outcome) String() string {
	return fmt.Sprintf("stage=%s err=%s revents=%s elapsed=%v", o.stage, errName(o.err), pollNames(o.revents), o.elapsed.Round(10*time.Microsecond))
}

func errName(e syscall.Errno) string {
	if e == 0 {
		return "0"
	}
	return unix.ErrnoName(e)
}

func pollNames(ev int16) string {
	var s []string
	for _, p := range []struct {
		bit  int16
		name string
	}{{unix.POLLIN, "IN"}, {unix.POLLOUT, "OUT"}, {unix.POLLERR, "ERR"}, {unix.POLLHUP, "HUP"}} {
		if ev&p.bit != 0 {
			s = append(s, p.name)
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "|")
}

// expect checks an outcome's errno, stage and latency bounds (hi 0 = none).
func expect(t testing.TB, what string, o outcome, err syscall.Errno, stage string, lo, hi time.Duration) {
	t.Helper()
	t.Logf("%s: %v", what, o)
	if o.err != err || o.stage != stage {
		t.Errorf("%s: got %v; want err=%s at stage %s", what, o, errName(err), stage)
	}
	if o.elapsed < lo || (hi > 0 && o.elapsed > hi) {
		t.Errorf("%s: took %v; want between %v and %v", what, o.elapsed, lo, hi)
	}
}

// fakeTB records what a helper reports instead of ending the real test, so
// that the helpers' own failures can be tested. Fatal and Skip end the
// calling goroutine, as testing does: run the helper with (*fakeTB).run.
type fakeTB struct {
	testing.TB // the real test, for what is not overridden

	mu       sync.Mutex
	failed   bool
	skipped  bool
	msgs     []string
	cleanups []func()
}

func newFake(t testing.TB) *fakeTB { return &fakeTB{TB: t} }

func (f *fakeTB) Helper() {}

func (f *fakeTB) log(failed, skipped bool, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = f.failed || failed
	f.skipped = f.skipped || skipped
	f.msgs = append(f.msgs, msg)
}

func (f *fakeTB) Log(args ...any)                 { f.log(false, false, fmt.Sprint(args...)) }
func (f *fakeTB) Logf(format string, args ...any) { f.log(false, false, fmt.Sprintf(format, args...)) }
func (f *fakeTB) Error(args ...any)               { f.log(true, false, fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.log(true, false, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatal(args ...any) { f.log(true, false, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.log(true, false, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any) { f.log(false, true, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.log(false, true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Cleanup(fn func()) { f.mu.Lock(); f.cleanups = append(f.cleanups, fn); f.mu.Unlock() }

// run calls fn(f) on its own goroutine, so that Fatal and Skip can end it.
func (f *fakeTB) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
}

// finish runs the registered cleanups, last first, as testing does.
func (f *fakeTB) finish() {
	f.run(func(testing.TB) {
		for i := len(f.cleanups) - 1; i >= 0; i-- {
			f.cleanups[i]()
		}
	})
}

func (f *fakeTB) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.msgs, "\n")
}

// threads returns the number of threads of the process.
func threads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(ln, "Threads:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// netstat reads a TcpExt counter of the calling thread's namespace.
func netstat(t testing.TB, name string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		h, v := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := range h {
			if h[j] == name && j < len(v) {
				var n int64
				fmt.Sscan(v[j], &n)
				return n
			}
		}
	}
	t.Fatalf("no counter %s in /proc/net/netstat", name)
	return 0
}
