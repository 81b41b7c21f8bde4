package faults

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRoutes(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	ap := netip.MustParseAddrPort
	sync := func(t *testing.T, what string, dst netip.AddrPort, want unix.Errno) {
		t.Helper()
		expect(t, what+" "+dst.String(), dial(dst, dialOpts{}), want, "connect", 0, 10*time.Millisecond)
	}

	// A fresh namespace routes nothing but loopback.
	NoRoute(t, "198.51.100.0/24")
	NoRoute(t, "2001:db8::/32")
	sync(t, "no route", ap("198.51.100.1:80"), unix.ENETUNREACH)
	sync(t, "no route", ap("[2001:db8::1]:80"), unix.ENETUNREACH)

	RequireCmd(t, "ip", "iproute2")
	for _, tc := range []struct {
		name   string
		add    func(testing.TB, string)
		prefix string
		dst    string
		want   unix.Errno
	}{
		{"unreachable", RouteUnreachable, "198.51.100.0/26", "198.51.100.1:80", unix.EHOSTUNREACH},
		{"unreachable", RouteUnreachable, "2001:db8:1::/48", "[2001:db8:1::1]:80", unix.EHOSTUNREACH},
		{"prohibit", RouteProhibit, "198.51.100.64/26", "198.51.100.65:80", unix.EACCES},
		{"prohibit", RouteProhibit, "2001:db8:2::/48", "[2001:db8:2::1]:80", unix.EACCES},
		{"blackhole", RouteBlackhole, "198.51.100.128/26", "198.51.100.129:80", unix.EINVAL},
		{"blackhole", RouteBlackhole, "2001:db8:3::/48", "[2001:db8:3::1]:80", unix.EINVAL},
	} {
		t.Run(tc.name+"/"+tc.prefix, func(t *testing.T) {
			tc.add(t, tc.prefix)
			sync(t, tc.name, ap(tc.dst), tc.want)

			// A routed prefix is not "no route".
			f := newFake(t)
			f.run(func(tb testing.TB) { NoRoute(tb, tc.prefix) })
			if !f.failed || !strings.Contains(f.output(), "is routed") {
				t.Errorf("NoRoute(%s) with a route: failed=%v %q", tc.prefix, f.failed, f.output())
			}
		})
		// The route went with the subtest.
		sync(t, "after cleanup", ap(tc.dst), unix.ENETUNREACH)
	}
}

func TestTestPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"198.51.100.0/24", true},
		{"198.51.100.7/32", true},
		{"203.0.113.64/26", true},
		{"2001:db8:1::/48", true},
		{"2001:db8::/32", true},
		{"192.0.2.0/24", false}, // the development machines' own network
		{"198.51.100.0/23", false},
		{"10.0.0.0/8", false},
		{"0.0.0.0/0", false},
		{"2001:db8::/31", false},
		{"fd00::/64", false},
		{"not a prefix", false},
	} {
		f := newFake(t)
		f.run(func(tb testing.TB) { testPrefix(tb, tc.prefix) })
		if f.failed == tc.ok {
			t.Errorf("testPrefix(%q): failed=%v, want ok=%v: %s", tc.prefix, f.failed, tc.ok, f.output())
		}
	}
}

// TestNotIsolated checks that in the test binary's own namespace the helpers
// that change or send to the network refuse before doing anything.
func TestNotIsolated(t *testing.T) {
	t.Parallel()
	if processIsolated() {
		t.Skip("running inside a private namespace already")
	}
	if Isolated() {
		t.Error("Isolated() in the starting namespace")
	}
	for name, fn := range map[string]func(testing.TB){
		"RequireIsolated":  RequireIsolated,
		"RouteUnreachable": func(tb testing.TB) { RouteUnreachable(tb, "198.51.100.0/24") },
		"RouteProhibit":    func(tb testing.TB) { RouteProhibit(tb, "198.51.100.0/24") },
		"RouteBlackhole":   func(tb testing.TB) { RouteBlackhole(tb, "198.51.100.0/24") },
		"NoRoute":          func(tb testing.TB) { NoRoute(tb, "198.51.100.0/24") },
		"SetSysctl":        func(tb testing.TB) { SetSysctl(tb, "net.ipv4.tcp_syn_retries", "1") },
		"SetPortRange":     func(tb testing.TB) { SetPortRange(tb, 40000, 40001) },
		"ExhaustedPorts":   func(tb testing.TB) { ExhaustedPorts(tb, "tcp4") },
		"NewPeer":          func(tb testing.TB) { NewPeer(tb) },
		"HostsFile":        func(tb testing.TB) { HostsFile(tb, "") },
	} {
		f := newFake(t)
		f.run(fn)
		f.finish()
		if !f.failed || !strings.Contains(f.output(), "not provably in a private network namespace") {
			t.Errorf("%s outside a private namespace: failed=%v %q", name, f.failed, f.output())
		}
	}
}

func TestExhaustedPorts(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	orig, err := Sysctl("net.ipv4.ip_local_port_range")
	if err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			lo := loopbackFor(t, network)
			_, other := listenRaw(t, netip.AddrPortFrom(lo, 0), 16) // before narrowing the range
			dst := ExhaustedPorts(t, network)
			expect(t, "connect", dial(dst, dialOpts{}), unix.EADDRNOTAVAIL, "connect", 0, 10*time.Millisecond)
			// Source ports are unique per 4-tuple: another destination works.
			expect(t, "other destination", dial(other, dialOpts{}), 0, "so_error", 0, 100*time.Millisecond)
			// bind(port 0) finds nothing either.
			expect(t, "bind port 0", dial(dst, dialOpts{bind: netip.AddrPortFrom(lo, 0)}), unix.EADDRINUSE, "setup", 0, 0)
		})
		if got, _ := Sysctl("net.ipv4.ip_local_port_range"); got != orig {
			t.Errorf("ip_local_port_range after the test: %q, want %q", got, orig)
		}
	}
}

func TestNonLocalAddr(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp4", "tcp6"} {
		a := NonLocalAddr(t, network)
		if !testPrefixes[0].Contains(a) && !testPrefixes[2].Contains(a) {
			t.Errorf("NonLocalAddr(%s) = %v, outside the test prefixes", network, a)
		}
		// bind fails before anything is sent; the destination is loopback.
		dst := RefusedAddr(t)
		if a.Is6() {
			dst = RefusedAddr6(t)
		}
		expect(t, "bind "+a.String(), dial(dst, dialOpts{bind: netip.AddrPortFrom(a, 0)}), unix.EADDRNOTAVAIL, "setup", 0, 0)
	}
}

func TestSetSysctl(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	const name = "net.ipv4.tcp_syn_retries"
	orig, err := Sysctl(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("set", func(t *testing.T) {
		SetSysctl(t, name, "2")
		if got, _ := Sysctl(name); got != "2" {
			t.Errorf("%s = %q after SetSysctl, want 2", name, got)
		}
	})
	if got, _ := Sysctl(name); got != orig {
		t.Errorf("%s = %q after the subtest, want it restored to %q", name, got, orig)
	}
	f := newFake(t)
	f.run(func(tb testing.TB) { SetSysctl(tb, "kernel.hostname", "x") })
	if !f.failed || !strings.Contains(f.output(), "only per-namespace net.* sysctls") {
		t.Errorf("SetSysctl(kernel.hostname): failed=%v %q", f.failed, f.output())
	}
}
