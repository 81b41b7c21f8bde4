//go:build linux

package dialer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/internal/hook"
)

// The tests of this file check the SSRF guard of the package documentation
// ("Guarding destinations"): a Control function that refuses loopback
// destinations stops the dial after socket(2) and before connect(2), so no
// SYN is ever sent, for this package and for net.Dialer alike, with the
// same function.

var errGuardDenied = errors.New("destination denied")

// guardLoopback is the guard of the package documentation. It fails
// closed: an address that is not "ip:port" is refused too.
func guardLoopback(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errGuardDenied, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Unmap().IsLoopback() {
		return fmt.Errorf("%w: %s", errGuardDenied, host)
	}
	return nil
}

// guardDial is one guarded dial of guardDials.
type guardDial struct {
	name    string
	ours    bool // through this package (counts socket and connect calls)
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	outcome func() Outcome // the outcome signal that fired, for ours
}

// guardDials returns the ways to dial through the guard: DialContext, an
// AsyncDial, ControlContext instead of Control, and net.Dialer with the
// same two functions. Each resolves names with a resolver that never asks
// a DNS server.
func guardDials(t *testing.T, d0 *Dialer) []guardDial {
	t.Helper()
	res := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("sigdial test: no DNS")
	}}
	guardCtx := func(_ context.Context, network, address string, c syscall.RawConn) error {
		return guardLoopback(network, address, c)
	}
	var dials []guardDial
	for _, ctxFn := range []bool{false, true} {
		sfx := ""
		d := &Dialer{Reactor: d0.Reactor, Resolver: res, Control: guardLoopback, Signals: new(Signals)}
		if ctxFn {
			sfx = " ControlContext"
			d.Control, d.ControlContext = nil, guardCtx
		}
		sink := errnoWatch(t, d.Signals, false)
		var last Outcome
		dials = append(dials, guardDial{name: "DialContext" + sfx, ours: true,
			dial: func(ctx context.Context, network, address string) (net.Conn, error) {
				sink.mu.Lock()
				sink.outcomes, sink.errs, sink.finished = nil, nil, nil
				sink.mu.Unlock()
				c, err := d.DialContext(ctx, network, address)
				last, _ = sink.one(t, "Dialer.Signals")
				return c, err
			},
			outcome: func() Outcome { return last },
		})
		var lastAsync Outcome
		dials = append(dials, guardDial{name: "AsyncDial" + sfx, ours: true,
			dial: func(ctx context.Context, network, address string) (net.Conn, error) {
				x := d.NewAsyncDial(network, address)
				own := errnoWatch(t, &x.Signals, true)
				sink.mu.Lock()
				sink.outcomes, sink.errs, sink.finished = nil, nil, nil
				sink.mu.Unlock()
				if err := x.Start(ctx); err != nil {
					return nil, err
				}
				<-x.Done() // bounded by ctx
				lastAsync, _ = own.one(t, "AsyncDial.Signals")
				if o, _ := sink.one(t, "Dialer.Signals of AsyncDial"); o != lastAsync {
					t.Errorf("AsyncDial: %v on its own signals, %v on the Dialer's", lastAsync, o)
				}
				return nil, x.Err()
			},
			outcome: func() Outcome { return lastAsync },
		})
		nd := &net.Dialer{Resolver: res, Control: guardLoopback}
		if ctxFn {
			nd.Control, nd.ControlContext = nil, guardCtx
		}
		dials = append(dials, guardDial{name: "net.Dialer" + sfx, dial: nd.DialContext})
	}
	return dials
}

// acceptQueue returns the number of connections waiting in a listener's
// accept queue. For a listening socket TCP_INFO's tcpi_unacked is the
// queue's length (sk_ack_backlog; ss shows it as Recv-Q).
func acceptQueue(t *testing.T, ln net.Listener) int {
	t.Helper()
	sc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	if err := sc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatalf("TCP_INFO: %v", gerr)
	}
	return int(info.Unacked)
}

// TestGuardBlocksBeforeConnect dials a loopback listener, directly and
// through a name, with the guard in Control and in ControlContext, through
// DialContext, an AsyncDial and net.Dialer. Every dial must fail with the
// guard's error (net's text, the Failed signal), connect(2) must never have
// been called (the reactor's connect hook counts), and the listener's
// accept queue must stay empty: a loopback handshake completes inside
// connect(2), so a connect that ran would already have queued a
// connection. An unguarded dial at the end shows that both checks see a
// connect when there is one. Not parallel: it counts the hooks'
// process-wide calls.
func TestGuardBlocksBeforeConnect(t *testing.T) {
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0")
	target := ln.Addr().(*net.TCPAddr).AddrPort()

	var mu sync.Mutex
	sockets, connects := 0, 0
	origSocket, origConnect := hook.Socket, hook.Connect
	t.Cleanup(func() { hook.Socket, hook.Connect = origSocket, origConnect })
	hook.Socket = func(domain, typ, proto int) (int, error) {
		mu.Lock()
		sockets++
		mu.Unlock()
		return origSocket(domain, typ, proto)
	}
	hook.Connect = func(fd int, sa unix.Sockaddr) error {
		if sockaddrIs(sa, target) {
			mu.Lock()
			connects++
			mu.Unlock()
		}
		return origConnect(fd, sa)
	}
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return sockets, connects
	}

	ctx, cancel := context.WithTimeout(context.Background(), errnoWait)
	defer cancel()
	port := strconv.Itoa(int(target.Port()))
	for _, address := range []string{target.String(), "localhost:" + port, "[::ffff:127.0.0.1]:" + port} {
		var texts []string
		netText := ""
		for _, g := range guardDials(t, &Dialer{Reactor: r}) {
			s0, _ := counts()
			c, err := g.dial(ctx, "tcp", address)
			if c != nil {
				c.Close()
			}
			s1, conns := counts()
			switch {
			case !errors.Is(err, errGuardDenied):
				t.Errorf("%s %s: %v, want the guard's error", g.name, address, err)
			case g.ours && g.outcome() != OutcomeFailed:
				t.Errorf("%s %s: outcome %v, want failed", g.name, address, g.outcome())
			case g.ours && s1 == s0:
				t.Errorf("%s %s: no socket was made: Control cannot have run", g.name, address)
			}
			if conns != 0 {
				t.Fatalf("%s %s: connect(2) was called %d times", g.name, address, conns)
			}
			if q := acceptQueue(t, ln); q != 0 {
				t.Fatalf("%s %s: the listener has %d connections queued", g.name, address, q)
			}
			texts = append(texts, g.name+": "+errText(err))
			if !g.ours && netText == "" {
				netText = errText(err)
			}
		}
		// All six fail with net.Dialer's text.
		for _, tx := range texts {
			if _, got, _ := strings.Cut(tx, ": "); got != netText {
				t.Errorf("%s %s, net.Dialer: %q", address, tx, netText)
			}
		}
		t.Logf("%s: %s", address, netText)
	}

	// The unguarded control: both checks see the connect.
	c, err := (&Dialer{Reactor: r}).DialContext(ctx, "tcp", target.String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, conns := counts(); conns != 1 {
		t.Errorf("unguarded dial: %d connect(2) calls counted, want 1", conns)
	}
	if q := acceptQueue(t, ln); q != 1 {
		t.Errorf("unguarded dial: %d connections queued, want 1", q)
	}
}

// guardSNMP reads the namespace's TCP counters (/proc/net/snmp):
// ActiveOpens counts the sockets that sent a SYN (tcp_connect), OutSegs
// every segment sent.
func guardSNMP(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		t.Skipf("no TCP counters: %v", err)
	}
	defer f.Close()
	var names []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 || fields[0] != "Tcp:" {
			continue
		}
		if names == nil {
			names = fields[1:]
			continue
		}
		m := map[string]int{}
		for i, v := range fields[1:] {
			n, _ := strconv.Atoi(v)
			m[names[i]] = n
		}
		return m
	}
	t.Fatalf("no Tcp: lines in /proc/net/snmp (%v)", s.Err())
	return nil
}

// TestGuardNoSYN proves "no SYN" with the kernel's own counters: in a
// namespace of its own, where nothing else sends, the guarded dials of
// every kind leave ActiveOpens, PassiveOpens and OutSegs unchanged, and
// one unguarded dial moves them.
func TestGuardNoSYN(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0")
	addr := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), errnoWait)
	defer cancel()
	before := guardSNMP(t)
	for _, g := range guardDials(t, &Dialer{Reactor: r}) {
		for _, a := range []string{addr, "localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)} {
			if c, err := g.dial(ctx, "tcp", a); !errors.Is(err, errGuardDenied) {
				if c != nil {
					c.Close()
				}
				t.Errorf("%s %s: %v, want the guard's error", g.name, a, err)
			}
		}
	}
	after := guardSNMP(t)
	for _, k := range []string{"ActiveOpens", "PassiveOpens", "OutSegs"} {
		if after[k] != before[k] {
			t.Errorf("%s went from %d to %d: a guarded dial sent something", k, before[k], after[k])
		}
	}
	c, err := (&Dialer{Reactor: r}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	moved := guardSNMP(t)
	if moved["ActiveOpens"] != after["ActiveOpens"]+1 || moved["PassiveOpens"] != after["PassiveOpens"]+1 {
		t.Errorf("unguarded dial: ActiveOpens %d -> %d, PassiveOpens %d -> %d; want one each",
			after["ActiveOpens"], moved["ActiveOpens"], after["PassiveOpens"], moved["PassiveOpens"])
	}
	t.Logf("TCP counters: %v before the guarded dials, %v after, %v after one unguarded dial",
		guardCounters(before), guardCounters(after), guardCounters(moved))
}

func guardCounters(m map[string]int) string {
	return fmt.Sprintf("ActiveOpens=%d PassiveOpens=%d OutSegs=%d", m["ActiveOpens"], m["PassiveOpens"], m["OutSegs"])
}
