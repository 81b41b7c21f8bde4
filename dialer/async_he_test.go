//go:build linux

package dialer

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigdial/sigdial/internal/faults"
)

// synSentTo counts the TCP sockets of this network namespace that are in
// SYN_SENT towards ap, from /proc/thread-self/net/tcp6 (tcp for IPv4): not /proc/self, which
// shows the namespace of the main thread, and NetNS.Do may have left the
// main thread in another one (the runtime wedges it rather than end it).
func synSentTo(ap netip.AddrPort) (int, error) {
	file := "/proc/thread-self/net/tcp"
	if ap.Addr().Is6() {
		file += "6"
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "02" { // TCP_SYN_SENT
			continue
		}
		rem, err := procAddrPort(fields[2])
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %v", file, sc.Text(), err)
		}
		if rem == ap {
			n++
		}
	}
	return n, sc.Err()
}

// procAddrPort parses an address of /proc/net/tcp{,6}: the address as
// 32-bit words in host order (little-endian here), a colon, the port.
func procAddrPort(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, errors.New("no port")
	}
	b, err := hex.DecodeString(a)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", a)
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// TestAsyncHappyEyeballs dials a name with an IPv6 and an IPv4 address in a
// private namespace where IPv6 is silently dropped and IPv4 answers (recipe
// R7). The IPv6 connect starts first and stays pending; the IPv4 one starts
// when FallbackDelay has passed, on a loop timer, and wins; the pending
// IPv6 socket is then closed. Both attempts are seen on the attempt
// signals, before the outcome.
func TestAsyncHappyEyeballs(t *testing.T) {
	if !faults.InFreshNetNS(t, syscall.CLONE_NEWNS) {
		return
	}
	faults.RequireIsolated(t)
	p := faults.NewPeer(t)
	v6, v4, _ := p.BrokenIPv6(t) // the listener is never accepted from
	faults.HostsFile(t, fmt.Sprintf("%v dual.test\n%v dual.test\n", v6.Addr(), v4.Addr()))
	res, _ := hookResolver(errors.New("no DNS in this test: /etc/hosts has the name"))
	r := outcomeReactor(t, 1)
	const delay = 100 * time.Millisecond
	const slack = 900 * time.Millisecond // a serial dial would wait for the kernel's timeout
	addr := net.JoinHostPort("dual.test", strconv.Itoa(int(v4.Port())))

	d := &Dialer{Reactor: r, Resolver: res, FallbackDelay: delay, Signals: new(Signals)}
	before := faults.FDCount(t)
	x := d.NewAsyncDial("tcp", addr)
	own := logSignals(t, &x.Signals, true)
	wide := logSignals(t, d.Signals, false)
	var fallbackAt time.Duration
	var pendingV6 int
	var procErr error
	start := time.Now()
	x.AttemptStarted.Connect(func(a *Attempt) {
		if !a.Primary {
			fallbackAt = time.Since(start)
			pendingV6, procErr = synSentTo(v6)
		}
	})
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	// The loser's socket is closed before the outcome is emitted.
	if n, err := synSentTo(v6); err != nil || n != 0 {
		t.Errorf("%d sockets still in SYN_SENT to %v after the dial (%v)", n, v6, err)
	}
	// Let the loop run whatever the dial left queued, so that a late
	// attempt signal shows up in the logs (and fails check).
	drainExecutor(t, r.Loop(0))
	drainExecutor(t, r.Loop(0))

	own.check(t, "dial's signals", OutcomeConnected, "tcp", addr)
	wide.check(t, "Dialer's signals", OutcomeConnected, "tcp", addr)
	c := own.conns[0]
	if got := c.Conn.RemoteAddr().(*net.TCPAddr).AddrPort(); got != v4 {
		t.Errorf("connected to %v, want the IPv4 address %v", got, v4)
	}
	if c.Attempts != 2 {
		t.Errorf("Attempts %d, want 2", c.Attempts)
	}
	if fallbackAt < delay || c.Elapsed < delay || c.Elapsed > delay+slack {
		t.Errorf("IPv4 attempt started at %v, connected at %v; want both in [%v, %v]", fallbackAt, c.Elapsed, delay, delay+slack)
	}
	t.Logf("FallbackDelay %v: IPv4 attempt started at %v, connected at %v", delay, fallbackAt, c.Elapsed)
	if procErr != nil {
		t.Fatal(procErr)
	}
	if pendingV6 != 1 {
		t.Errorf("%d IPv6 sockets in SYN_SENT when the fallback started, want 1", pendingV6)
	}
	for who, l := range map[string]*signalLog{"dial's": own, "Dialer's": wide} {
		l.mu.Lock()
		if len(l.started) != 2 ||
			l.started[0].Addr.String() != net.TCPAddrFromAddrPort(v6).String() || !l.started[0].Primary || l.started[0].Err != nil ||
			l.started[1].Addr.String() != net.TCPAddrFromAddrPort(v4).String() || l.started[1].Primary {
			t.Errorf("%s AttemptStarted: %+v, want the IPv6 primary then the IPv4 fallback", who, l.started)
		}
		if len(l.failed) != 1 || l.failed[0].Addr.String() != net.TCPAddrFromAddrPort(v6).String() ||
			!errors.Is(l.failed[0].Err, context.Canceled) {
			t.Errorf("%s AttemptFailed: %+v, want the IPv6 attempt, canceled", who, l.failed)
		} else if want := "dial tcp " + net.TCPAddrFromAddrPort(v6).String() + ": operation was canceled"; l.failed[0].Err.Error() != want {
			t.Errorf("%s AttemptFailed error %q, want %q", who, l.failed[0].Err, want)
		}
		l.mu.Unlock()
	}
	c.Conn.Close()
	if after := faults.FDCount(t); after > before {
		t.Errorf("%d fds before the dial, %d after closing its conn", before, after)
	}

	// DialContext makes the same choice.
	sc, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if got := sc.RemoteAddr().(*net.TCPAddr).AddrPort(); got != v4 {
		t.Errorf("DialContext connected to %v, want %v", got, v4)
	}
}
