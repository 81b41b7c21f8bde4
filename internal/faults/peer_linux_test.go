package faults

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// slowV6 bounds kernel-generated ICMPv6 errors over veth: the first one is
// processed inside connect(2) and only records a soft error; the answer to
// the SYN retransmitted after the 1 s initial RTO aborts the connect (R4).
const slowV6 = 1500 * time.Millisecond

// TestPeer checks every Peer fixture in one namespace. The cases run
// concurrently: most of them wait on timers in the kernel.
func TestPeer(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	p := NewPeer(t)
	if !HaveCmd("nft") {
		t.Log("nft not installed: the nft-only Reject cases skip")
	}

	t.Run("Listen", func(t *testing.T) {
		for _, network := range []string{"tcp4", "tcp6"} {
			ln := p.Listen(t, network)
			dst := ln.Addr().(*net.TCPAddr).AddrPort()
			if dst.Addr() != p.Addr(network) {
				t.Errorf("listener on %v, want %v", dst, p.Addr(network))
			}
			expect(t, network+" listener", dial(dst, dialOpts{}), 0, "so_error", 0, 100*time.Millisecond)
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(time.Second))
			c, err := ln.Accept()
			if err != nil {
				t.Fatalf("accept: %v", err)
			}
			c.Close()
		}
	})

	t.Run("Refused", func(t *testing.T) {
		for _, network := range []string{"tcp4", "tcp6"} {
			dst := p.Refused(t, network)
			expect(t, network+" refused", dial(dst, dialOpts{}), unix.ECONNREFUSED, "so_error", 0, 100*time.Millisecond)
		}
	})

	// One table, run concurrently: the IPv6 Reject cases take a second each.
	type kase struct {
		name    string
		dst     netip.AddrPort
		opts    dialOpts
		err     syscall.Errno
		stage   string
		lo, hi  time.Duration
		revents int16 // must all be set
	}
	run := func(t *testing.T, cases []kase) {
		t.Helper()
		res := make([]outcome, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			wg.Go(func() { res[i] = dial(c.dst, c.opts) })
		}
		wg.Wait()
		for i, c := range cases {
			expect(t, c.name, res[i], c.err, c.stage, c.lo, c.hi)
			if res[i].revents&c.revents != c.revents {
				t.Errorf("%s: events %s, want %s set", c.name, pollNames(res[i].revents), pollNames(c.revents))
			}
		}
	}

	t.Run("Reject", func(t *testing.T) {
		var cases []kase
		for _, network := range []string{"tcp4", "tcp6"} {
			for _, u := range []Unreach{NetUnreachable, HostUnreachable, PortUnreachable, AdminProhibited} {
				name := network + " " + u.String()
				nftOnly := u == PortUnreachable || (network == "tcp6" && u == HostUnreachable)
				if nftOnly && !HaveCmd("nft") {
					t.Logf("%s: skipped, needs nft", name)
					continue
				}
				dst := p.Reject(t, network, u)
				// IPv4: the error comes at once, as POLLERR (R4). IPv6:
				// after the first retransmission, or at once with
				// IPV6_RECVERR.
				hi := 100 * time.Millisecond
				if network == "tcp6" {
					hi = slowV6
				}
				cases = append(cases,
					kase{name: name + " " + dst.String(), dst: dst, err: u.Errno(network), stage: "so_error", hi: hi, revents: unix.POLLERR},
					kase{name: name + " RECVERR", dst: dst, opts: dialOpts{recvErr: true}, err: u.Errno(network), stage: "so_error", hi: 100 * time.Millisecond, revents: unix.POLLERR})
			}
		}
		run(t, cases)
	})

	t.Run("DelayedReject", func(t *testing.T) {
		var cases []kase
		for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
			for _, network := range []string{"tcp4", "tcp6"} {
				for _, u := range []Unreach{NetUnreachable, HostUnreachable, PortUnreachable, AdminProhibited} {
					dst := p.DelayedReject(t, network, u, delay)
					cases = append(cases, kase{
						name: fmt.Sprintf("%s %v delay=%v %v", network, u, delay, dst),
						dst:  dst, err: u.Errno(network), stage: "so_error",
						lo: delay, hi: delay + 200*time.Millisecond,
						revents: unix.POLLOUT | unix.POLLERR | unix.POLLHUP,
					})
				}
			}
		}
		run(t, cases)
	})

	t.Run("Blackhole", func(t *testing.T) {
		var cases []kase
		for _, network := range []string{"tcp4", "tcp6"} {
			dst := p.Blackhole(t, network)
			cases = append(cases,
				kase{name: network + " user deadline", dst: dst, opts: dialOpts{timeout: 300 * time.Millisecond},
					err: unix.ETIMEDOUT, stage: "deadline", lo: 300 * time.Millisecond, hi: time.Second},
				kase{name: network + " TCP_USER_TIMEOUT=1s", dst: dst, opts: dialOpts{timeout: 10 * time.Second, userTimeout: time.Second},
					err: unix.ETIMEDOUT, stage: "so_error", lo: time.Second, hi: 2 * time.Second, revents: unix.POLLERR})
		}
		run(t, cases)
	})

	t.Run("NoNeighbor", func(t *testing.T) {
		var cases []kase
		for _, network := range []string{"tcp4", "tcp6"} {
			dst := p.NoNeighbor(t, network)
			cases = append(cases, kase{name: network + " " + dst.String(), dst: dst, err: unix.EHOSTUNREACH, stage: "so_error",
				lo: 50 * time.Millisecond, hi: time.Second, revents: unix.POLLERR})
		}
		run(t, cases)
	})

	t.Run("BrokenIPv6", func(t *testing.T) {
		v6, v4, _ := p.BrokenIPv6(t)
		if v6.Port() != v4.Port() || !v6.Addr().Is6() || !v4.Addr().Is4() {
			t.Fatalf("BrokenIPv6: v6=%v v4=%v", v6, v4)
		}
		run(t, []kase{
			{name: "v6 silent", dst: v6, opts: dialOpts{timeout: 300 * time.Millisecond}, err: unix.ETIMEDOUT, stage: "deadline",
				lo: 300 * time.Millisecond, hi: time.Second},
			{name: "v4 answers", dst: v4, stage: "so_error", hi: 100 * time.Millisecond, revents: unix.POLLOUT},
		})
	})

	t.Run("Nft", func(t *testing.T) {
		RequireCmd(t, "nft", "nftables")
		p.Nft(t, "add table inet custom\n"+
			"add chain inet custom input { type filter hook input priority -10; policy accept; }\n"+
			"add rule inet custom input tcp dport 9 reject with tcp reset\n")
		dst := netip.AddrPortFrom(p.Addr("tcp4"), 9)
		expect(t, "nft tcp reset", dial(dst, dialOpts{}), unix.ECONNREFUSED, "so_error", 0, 100*time.Millisecond)
	})
}

// TestBrokenIPv6HappyEyeballs runs Go's own net.Dialer against the R7
// fixture by name, through a private /etc/hosts: IPv6 is tried first and
// hangs, IPv4 wins once FallbackDelay expires.
func TestBrokenIPv6HappyEyeballs(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t, syscall.CLONE_NEWNS) {
		return
	}
	p := NewPeer(t)
	v6, v4, ln := p.BrokenIPv6(t)
	HostsFile(t, fmt.Sprintf("127.0.0.1 localhost\n%v dual.test\n%v dual.test\n", v6.Addr(), v4.Addr()))
	d := net.Dialer{FallbackDelay: 100 * time.Millisecond, Resolver: &net.Resolver{PreferGo: true}}
	start := time.Now()
	c, err := d.Dial("tcp", net.JoinHostPort("dual.test", strconv.Itoa(int(v4.Port()))))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("connected to %v after %v", c.RemoteAddr(), elapsed)
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort(); got != v4 {
		t.Errorf("connected to %v, want %v", got, v4)
	}
	if elapsed < 100*time.Millisecond || elapsed > time.Second {
		t.Errorf("connected after %v, want just after the 100ms fallback delay", elapsed)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sc.Close()
}

func TestUnreach(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		u          Unreach
		name       string
		err4, err6 syscall.Errno
		icmp4      [2]uint8
		icmp6      [2]uint8
	}{
		{NetUnreachable, "NetUnreachable", unix.ENETUNREACH, unix.ENETUNREACH, [2]uint8{3, 0}, [2]uint8{1, 0}},
		{HostUnreachable, "HostUnreachable", unix.EHOSTUNREACH, unix.EHOSTUNREACH, [2]uint8{3, 1}, [2]uint8{1, 3}},
		{PortUnreachable, "PortUnreachable", unix.ECONNREFUSED, unix.ECONNREFUSED, [2]uint8{3, 3}, [2]uint8{1, 4}},
		{AdminProhibited, "AdminProhibited", unix.EHOSTUNREACH, unix.EACCES, [2]uint8{3, 13}, [2]uint8{1, 1}},
		{Unreach(9), "Unreach(9)", 0, 0, [2]uint8{3, 0}, [2]uint8{1, 0}},
	} {
		if got := tc.u.String(); got != tc.name {
			t.Errorf("String() = %q, want %q", got, tc.name)
		}
		if got := tc.u.Errno("tcp4"); got != tc.err4 {
			t.Errorf("%v.Errno(tcp4) = %v, want %v", tc.u, got, tc.err4)
		}
		if got := tc.u.Errno("tcp6"); got != tc.err6 {
			t.Errorf("%v.Errno(tcp6) = %v, want %v", tc.u, got, tc.err6)
		}
		if typ, code := tc.u.icmp(false); tc.u <= AdminProhibited && [2]uint8{typ, code} != tc.icmp4 {
			t.Errorf("%v ICMP = %d/%d, want %v", tc.u, typ, code, tc.icmp4)
		}
		if typ, code := tc.u.icmp(true); tc.u <= AdminProhibited && [2]uint8{typ, code} != tc.icmp6 {
			t.Errorf("%v ICMPv6 = %d/%d, want %v", tc.u, typ, code, tc.icmp6)
		}
	}
}
