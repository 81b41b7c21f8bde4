//go:build linux

package dialer

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/internal/hook"
	"github.com/sigdial/sigdial/reactor"
)

// TestDroppedAddrsSpuriousRetry: an AsyncDial of a literal address whose
// connect went to the poller has let go of its address list (dropAddrs).
// When that connect then fails with EADDRNOTAVAIL (from SO_ERROR), the
// racer must retry the same address, as net does, not fail with "missing
// address" for want of the list. Found in review. Not parallel: it
// replaces hook.GetsockoptInt.
func TestDroppedAddrsSpuriousRetry(t *testing.T) {
	target := faults.RefusedAddr(t) // connects pend, then fail with ECONNREFUSED
	orig := hook.GetsockoptInt
	t.Cleanup(func() { hook.GetsockoptInt = orig })
	var mu sync.Mutex
	first := true
	hook.GetsockoptInt = func(fd, level, opt int) (int, error) {
		v, err := orig(fd, level, opt)
		if level == unix.SOL_SOCKET && opt == unix.SO_ERROR && err == nil && v != 0 {
			mu.Lock()
			defer mu.Unlock()
			if first {
				first = false
				return int(unix.EADDRNOTAVAIL), nil // a spurious failure, once
			}
		}
		return v, err
	}
	r := errnoReactor(t)
	d := &Dialer{Reactor: r}
	x := d.NewAsyncDial("tcp4", target.String())
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	// net retries EADDRNOTAVAIL; the retry is refused.
	if !errors.Is(x.Err(), syscall.ECONNREFUSED) {
		t.Errorf("Err() = %v (outcome %v), want the retry's ECONNREFUSED", x.Err(), x.Outcome())
	}
}

// TestDroppedAddrsMPTCPFallback: the same for MPTCP's fallback to plain
// TCP, with no hook: the MPTCP connect to a refusing loopback port goes to
// the poller and fails, and the fallback on the same address must be made
// and refused, as net.Dialer's is.
func TestDroppedAddrsMPTCPFallback(t *testing.T) {
	if !mptcpAvailable() {
		t.Skip("no MPTCP")
	}
	target := faults.RefusedAddr(t).String()
	var nd net.Dialer
	nd.SetMultipathTCP(true)
	_, nerr := nd.Dial("tcp4", target)
	if !errors.Is(nerr, syscall.ECONNREFUSED) {
		t.Skipf("net.Dialer: %v", nerr)
	}
	r := errnoReactor(t)
	d := &Dialer{Reactor: r, Timeout: 5 * time.Second}
	d.SetMultipathTCP(true)
	x := d.NewAsyncDial("tcp4", target)
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	if x.Err() == nil || x.Err().Error() != nerr.Error() {
		t.Errorf("Err() = %v (outcome %v), net.Dialer's %v", x.Err(), x.Outcome(), nerr)
	}
}

// TestControlPanicOnLoop: a Control that panics while the dial runs on a
// loop (every attempt of an AsyncDial) must not leave the dial unfinished
// and its socket open: the panic goes to the reactor's panic handler and
// the dial ends Failed. Found in review.
func TestControlPanicOnLoop(t *testing.T) {
	faults.CheckFDs(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	panics := make(chan any, 1)
	r, err := reactor.New(reactor.WithLoops(1), reactor.WithPanicHandler(func(v any, _ []byte) { panics <- v }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := &Dialer{Reactor: r, Control: func(string, string, syscall.RawConn) error { panic("boom") }}
	x := d.NewAsyncDial("tcp4", ln.Addr().String())
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	if x.Outcome() != OutcomeFailed || x.Err() == nil || !strings.Contains(x.Err().Error(), "Control panicked: boom") {
		t.Errorf("outcome %v, err %v; want Failed with the panic", x.Outcome(), x.Err())
	}
	if v := await(t, panics, "the panic report"); v != "boom" {
		t.Errorf("reported %v, want boom", v)
	}
}
