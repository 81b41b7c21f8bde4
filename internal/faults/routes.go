package faults

import (
	"net/netip"
	"testing"
)

// testPrefixes are the only destinations outside loopback that this package
// sends to, and only from a private namespace (DESIGN §5). 192.0.2.0/24 is
// deliberately absent: the development machines' own interface is in it.
var testPrefixes = []netip.Prefix{
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// testPrefix parses s and fails the test unless it lies inside one of
// testPrefixes.
func testPrefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	p = p.Masked()
	for _, ok := range testPrefixes {
		if ok.Contains(p.Addr()) && p.Bits() >= ok.Bits() {
			return p
		}
	}
	t.Fatalf("faults: %v is outside the test prefixes %v", p, testPrefixes)
	return netip.Prefix{}
}

// RouteUnreachable adds an "unreachable" route for prefix (recipe R3): every
// connect(2) to an address in it fails synchronously with EHOSTUNREACH, for
// IPv4 and IPv6 alike (Linux 6.18), and no packet is sent. prefix must lie in
// 198.51.100.0/24, 203.0.113.0/24 or 2001:db8::/32. The route is removed
// when the test ends. Needs isolation (RequireIsolated) and iproute2.
func RouteUnreachable(t testing.TB, prefix string) {
	t.Helper()
	addRoute(t, "unreachable", prefix)
}

// RouteProhibit adds a "prohibit" route for prefix (recipe R3): connect(2)
// fails synchronously with EACCES, IPv4 and IPv6. Otherwise as
// RouteUnreachable.
func RouteProhibit(t testing.TB, prefix string) {
	t.Helper()
	addRoute(t, "prohibit", prefix)
}

// RouteBlackhole adds a "blackhole" route for prefix (recipe R3): connect(2)
// fails synchronously with EINVAL, IPv4 and IPv6. It is not a silent drop on
// the client; for that use Peer.Blackhole or FullBacklog. Otherwise as
// RouteUnreachable.
func RouteBlackhole(t testing.TB, prefix string) {
	t.Helper()
	addRoute(t, "blackhole", prefix)
}

// NoRoute checks that nothing routes prefix in the test's namespace, so
// that connect(2) to its addresses fails synchronously with ENETUNREACH
// (recipe R3). A fresh namespace has no route but loopback, so this only
// asserts the case; it fails the test if prefix's first address is routed.
// It sends nothing (the check is a UDP connect) and needs no tools.
func NoRoute(t testing.TB, prefix string) {
	t.Helper()
	noRoute(t, testPrefix(t, prefix))
}

// SetPortRange sets the namespace's ephemeral port range
// (net.ipv4.ip_local_port_range, which IPv6 uses too) to lo..hi inclusive,
// and restores it when the test ends (recipe R6). Listeners that bind port
// 0 draw from the same range, so create them first. Needs isolation.
func SetPortRange(t testing.TB, lo, hi uint16) {
	t.Helper()
	setPortRange(t, lo, hi)
}

// ExhaustedPorts returns a loopback listener address ("tcp"/"tcp4":
// 127.0.0.1, "tcp6": [::1]) to which no further connect can get a source
// port (recipe R6): the namespace's ephemeral range is narrowed to a single
// port, which one held connection to the address already uses. connect(2)
// to it then fails synchronously with EADDRNOTAVAIL; connects to other
// addresses still work, since ports are unique per 4-tuple, and an explicit
// bind to port 0 fails with EADDRINUSE. Create any other listener that binds
// port 0 before calling it. Needs isolation; restored when the test ends.
func ExhaustedPorts(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	return exhaustedPorts(t, loopbackFor(t, network))
}

// NonLocalAddr returns an address that no interface has ("tcp"/"tcp4":
// 198.51.100.7, "tcp6": 2001:db8::7), after checking that this is so and
// that non-local binds are off: binding a socket to it fails with
// EADDRNOTAVAIL before any packet is sent (recipe R6). Sockets with
// IP_FREEBIND or IP_TRANSPARENT would bind. No namespace needed.
func NonLocalAddr(t testing.TB, network string) netip.Addr {
	t.Helper()
	a := netip.AddrFrom4([4]byte{198, 51, 100, 7})
	if loopbackFor(t, network).Is6() {
		a = netip.MustParseAddr("2001:db8::7")
	}
	nonLocalCheck(t, a)
	return a
}
