package faults

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Unreach names an ICMP destination-unreachable message, as a family-neutral
// kind. Errno says what a connect(2) that receives it fails with.
type Unreach int

// The kinds of destination-unreachable that Peer.Reject and
// Peer.DelayedReject can send. The messages and errnos are those of recipe
// R4 (icmp_err_convert and icmpv6_err_convert in Linux):
//
//	kind             IPv4 type/code  errno          IPv6 type/code  errno
//	NetUnreachable   3/0             ENETUNREACH    1/0 no route    ENETUNREACH
//	HostUnreachable  3/1             EHOSTUNREACH   1/3 address     EHOSTUNREACH
//	PortUnreachable  3/3             ECONNREFUSED   1/4             ECONNREFUSED
//	AdminProhibited  3/13 filtered   EHOSTUNREACH   1/1             EACCES
const (
	NetUnreachable Unreach = iota + 1
	HostUnreachable
	PortUnreachable
	AdminProhibited
)

var unreachNames = map[Unreach]string{
	NetUnreachable:  "NetUnreachable",
	HostUnreachable: "HostUnreachable",
	PortUnreachable: "PortUnreachable",
	AdminProhibited: "AdminProhibited",
}

// String returns the constant's name.
func (u Unreach) String() string {
	if s, ok := unreachNames[u]; ok {
		return s
	}
	return "Unreach(" + strconv.Itoa(int(u)) + ")"
}

// Errno returns the error a TCP connect gets from u over network ("tcp",
// "tcp4" or "tcp6"), or 0 for an unknown kind.
func (u Unreach) Errno(network string) syscall.Errno {
	switch u {
	case NetUnreachable:
		return syscall.ENETUNREACH
	case HostUnreachable:
		return syscall.EHOSTUNREACH
	case PortUnreachable:
		return syscall.ECONNREFUSED
	case AdminProhibited:
		if network == "tcp6" {
			return syscall.EACCES
		}
		return syscall.EHOSTUNREACH
	}
	return 0
}

// icmp returns the ICMP (v6: ICMPv6) type and code of u.
func (u Unreach) icmp(v6 bool) (typ, code uint8) {
	v4codes := map[Unreach]uint8{NetUnreachable: 0, HostUnreachable: 1, PortUnreachable: 3, AdminProhibited: 13}
	v6codes := map[Unreach]uint8{NetUnreachable: 0, HostUnreachable: 3, PortUnreachable: 4, AdminProhibited: 1}
	if v6 {
		return 1, v6codes[u]
	}
	return 3, v4codes[u]
}

// Peer is a second network namespace joined to the test's own by a veth
// pair, acting as the host and router at the other end of a link: the
// fixture for ICMP errors (R4), silent drops (R5) and a broken IPv6 path
// (R7). The package documentation shows its address plan. Its methods are
// safe for concurrent use.
type Peer struct {
	ns     *NetNS
	linked bool // the veth pair was created; set before the Peer is shared

	mu         sync.Mutex // guards the fields below
	port       uint16     // last port handed out
	host       uint16     // last NoNeighbor host handed out
	nftReady   bool       // the nft table and chain exist
	neighTuned bool       // fast neighbour failure is configured on vc
	resp       *responder // started by the first DelayedReject
}

// NewPeer creates the peer namespace and the veth link, routes
// 203.0.113.0/24 and 2001:db8:2::/48 through the peer (which drops them),
// turns ICMP rate limiting off in the peer (otherwise only the first six
// rejected SYNs of a burst get an ICMP error, recipe R4g), and warms the
// neighbour caches, so that the first measured connect does not wait for ARP
// or ND. Everything is removed when the test ends.
//
// It requires isolation (InFreshNetNS) and iproute2. A namespace holds one
// Peer at a time.
func NewPeer(t testing.TB) *Peer {
	t.Helper()
	return newPeer(t)
}

// NS returns the peer's namespace, for setups the methods do not cover
// (NS().Run("ip", ...), NS().Do to create sockets there).
func (p *Peer) NS() *NetNS { return p.ns }

// Addr returns the peer's address on the link: 198.51.100.2 for "tcp" and
// "tcp4", 2001:db8:1::2 for "tcp6".
func (p *Peer) Addr(network string) netip.Addr {
	if network == "tcp6" {
		return peerAddr6
	}
	return peerAddr4
}

// Listen returns a listener in the peer namespace on Addr(network) and a
// port chosen by the kernel; connects to it succeed. The test accepts from
// it as from any net.Listener; it is closed when the test ends.
func (p *Peer) Listen(t testing.TB, network string) net.Listener {
	t.Helper()
	return p.listen(t, network)
}

// Refused returns an address on the peer where connects are refused with a
// TCP RST: ECONNREFUSED via SO_ERROR within a millisecond, for IPv4 and IPv6.
// The port is reserved by a bound, non-listening socket (as RefusedAddr).
func (p *Peer) Refused(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	return p.refused(t, network)
}

// Reject returns an address on the peer whose kernel answers each SYN with
// the ICMP message u, from an nftables reject rule (recipe R4a):
// connect(2) returns EINPROGRESS and SO_ERROR then reports
// u.Errno(network).
//
// Timing, verified and important for reactors: the ICMP is generated and
// processed inside the connect(2) call, while it holds the socket lock, so
// the kernel records only a soft error. IPv4 still reports at once (under
// 1 ms), but as POLLERR (EPOLLERR) alone while the socket is still in
// SYN_SENT: a reactor must read SO_ERROR on any wake-up, and close the
// socket. IPv6 reports nothing until the ICMP that answers the first SYN
// retransmission, about 1.02 s later, unless the socket has IPV6_RECVERR set
// (then under 1 ms, also as POLLERR alone). For an ICMP error that arrives
// after connect(2) returned, as on a real network, use DelayedReject.
//
// Without nft, Reject logs so and returns DelayedReject(t, network, u, 0)
// (recipe R4f): the same errno, delivered at once with
// POLLOUT|POLLERR|POLLHUP for both families. (A router's reject routes,
// recipe R4c, are no substitute: Linux limits the ICMP errors it sends for
// forwarded packets to a burst of 5, then one a second, per source, and that
// limit is host-wide, not per namespace.)
func (p *Peer) Reject(t testing.TB, network string, u Unreach) netip.AddrPort {
	t.Helper()
	return p.reject(t, network, u)
}

// DelayedReject returns an address whose SYNs the peer drops silently and
// answers, delay later, with the ICMP message u, crafted by a small
// responder in the peer (recipe R4f: an AF_PACKET socket sees the SYN, a raw
// ICMP socket answers). Because the error arrives after connect(2) returned,
// Linux aborts the connect as soon as it arrives, for IPv4 and IPv6 alike:
// SO_ERROR is u.Errno(network) after delay plus 50-500 µs, with
// POLLOUT|POLLERR|POLLHUP. Every SYN to the address is answered, including
// retransmissions. No firewall needed.
func (p *Peer) DelayedReject(t testing.TB, network string, u Unreach, delay time.Duration) netip.AddrPort {
	t.Helper()
	return p.delayedReject(t, network, u, delay)
}

// Blackhole returns an address whose SYNs the peer drops silently with a
// blackhole route (recipe R5, no firewall): the connect stays pending with
// no event until the caller's deadline, or ETIMEDOUT from the kernel: about
// 134 s by default; 1.02 s with TCP_USER_TIMEOUT=1000ms and 3.06 s with
// TCP_SYNCNT=1 on the socket; 3.08 s for every socket of the namespace after
// SetSysctl(t, "net.ipv4.tcp_syn_retries", "1").
func (p *Peer) Blackhole(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	return p.blackhole(t, network)
}

// NoNeighbor returns an address on the link that nobody owns, after making
// neighbour resolution on the test's end give up after one probe of 100 ms
// (recipe R4d). connect(2) then fails, via SO_ERROR, with EHOSTUNREACH after
// about 110 ms, for IPv4 (ARP) and IPv6 (ND) alike. Each call returns a new
// address; at most 63 per family.
func (p *Peer) NoNeighbor(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	return p.noNeighbor(t, network)
}

// BrokenIPv6 sets up the Happy Eyeballs fixture of recipe R7: v4 is a
// listener on the peer (ln, which the test accepts from) and v6 an IPv6
// address with the same port that drops every SYN silently, as a broken IPv6
// path does. A dialer that tries v6 first connects over v4 once its fallback
// delay expires. To dial by name, map both addresses to one name with
// HostsFile.
func (p *Peer) BrokenIPv6(t testing.TB) (v6, v4 netip.AddrPort, ln net.Listener) {
	t.Helper()
	ln = p.Listen(t, "tcp4")
	v4 = ln.Addr().(*net.TCPAddr).AddrPort()
	v6 = netip.AddrPortFrom(blackhole6, v4.Port())
	return v6, v4, ln
}

// Nft loads an nftables script (nft -f syntax) into the peer namespace, for
// rules the other methods do not cover, e.g. "tcp dport 7 drop" in a chain
// of your own. It skips the test if nft is not installed. Rules vanish with
// the namespace.
func (p *Peer) Nft(t testing.TB, script string) {
	t.Helper()
	RequireCmd(t, "nft", "nftables")
	if _, err := p.ns.run(script, "nft", "-f", "-"); err != nil {
		t.Fatalf("faults: %v", err)
	}
}

// The fixed part of the address plan (see the package documentation).
var (
	clientAddr4 = netip.MustParseAddr("198.51.100.1")
	clientAddr6 = netip.MustParseAddr("2001:db8:1::1")
	peerAddr4   = netip.MustParseAddr("198.51.100.2")
	peerAddr6   = netip.MustParseAddr("2001:db8:1::2")

	routed4    = netip.MustParsePrefix("203.0.113.0/24") // via the peer, blackholed there
	routed6    = netip.MustParsePrefix("2001:db8:2::/48")
	blackhole4 = netip.MustParseAddr("203.0.113.1") // Blackhole, BrokenIPv6
	blackhole6 = netip.MustParseAddr("2001:db8:2::1")
	responder4 = netip.MustParseAddr("203.0.113.2") // DelayedReject
	responder6 = netip.MustParseAddr("2001:db8:2::2")
)
