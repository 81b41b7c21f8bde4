//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

// Parts of this file are adapted from Go's net package (src/net/ipsock_posix.go,
// sock_posix.go, rawconn.go, interface.go, tcpsock_posix.go, udpsock_posix.go,
// iprawsock_posix.go and unixsock_posix.go, Go 1.26). Copyright 2009 The Go
// Authors. All rights reserved. Use of that source code is governed by a
// BSD-style license that can be found in Go's LICENSE file
// (https://go.dev/LICENSE).

package dialer

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// sockaddr converts a to the socket address of the given family (AF_INET,
// AF_INET6 or AF_UNIX), as the sockaddr methods of net's address types do.
// It is the one converter from net.Addr to unix.Sockaddr in this package.
//
// A nil a, or a nil *net.TCPAddr, *net.UDPAddr, *net.IPAddr or
// *net.UnixAddr, yields (nil, nil): nothing to bind. A nil or empty IP is the
// family's wildcard; for AF_INET6, 0.0.0.0 becomes ::. An IPv4 address (or
// IPv4-mapped IPv6 address) for AF_INET6 becomes the IPv4-mapped IPv6
// address. An IPv6 zone becomes the scope id: the index of the interface of
// that name, or the zone read as a decimal number, or 0.
//
// Errors are *net.AddrError values, returned raw, as net returns them:
// "non-IPv4 address" (an IPv6 address for AF_INET), "non-IPv6 address",
// "invalid address family", and "unexpected address type" for an address
// type net does not know.
func sockaddr(a net.Addr, family int) (unix.Sockaddr, error) {
	switch a := a.(type) {
	case nil:
		return nil, nil
	case *net.TCPAddr:
		if a == nil {
			return nil, nil
		}
		return ipToSockaddr(family, a.IP, a.Port, a.Zone)
	case *net.UDPAddr:
		if a == nil {
			return nil, nil
		}
		return ipToSockaddr(family, a.IP, a.Port, a.Zone)
	case *net.IPAddr:
		if a == nil {
			return nil, nil
		}
		return ipToSockaddr(family, a.IP, 0, a.Zone)
	case *net.UnixAddr:
		if a == nil {
			return nil, nil
		}
		return &unix.SockaddrUnix{Name: a.Name}, nil
	}
	return nil, &net.AddrError{Err: "unexpected address type", Addr: a.String()}
}

// ipToSockaddr is net's ipToSockaddr.
func ipToSockaddr(family int, ip net.IP, port int, zone string) (unix.Sockaddr, error) {
	switch family {
	case unix.AF_INET:
		if len(ip) == 0 {
			ip = net.IPv4zero
		}
		ip4 := ip.To4()
		if ip4 == nil {
			return nil, &net.AddrError{Err: "non-IPv4 address", Addr: ip.String()}
		}
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	case unix.AF_INET6:
		// In general, an IP wildcard address, which is either
		// "0.0.0.0" or "::", means the entire IP addressing
		// space. For some historical reason, it is used to
		// specify "any available address" on some operations
		// of IP node.
		//
		// When the IP node supports IPv4-mapped IPv6 address,
		// we allow a listener to listen to the wildcard
		// address of both IP addressing spaces by specifying
		// IPv6 wildcard address.
		if len(ip) == 0 || ip.Equal(net.IPv4zero) {
			ip = net.IPv6zero
		}
		// We accept any IPv6 address including IPv4-mapped
		// IPv6 address.
		ip6 := ip.To16()
		if ip6 == nil {
			return nil, &net.AddrError{Err: "non-IPv6 address", Addr: ip.String()}
		}
		sa := &unix.SockaddrInet6{Port: port, ZoneId: uint32(zoneCache.index(zone))}
		copy(sa.Addr[:], ip6)
		return sa, nil
	}
	return nil, &net.AddrError{Err: "invalid address family", Addr: ip.String()}
}

// sockaddrToAddr converts a socket address, as returned by getsockname,
// getpeername or accept for a socket of type sotype, to the net.Addr net
// would report: *net.TCPAddr for SOCK_STREAM, *net.UDPAddr for SOCK_DGRAM and
// *net.IPAddr for SOCK_RAW (AF_INET, AF_INET6; a scope id becomes the zone,
// by interface name, else as a decimal number), *net.UnixAddr with Net
// "unix", "unixgram" or "unixpacket" for SOCK_STREAM, SOCK_DGRAM and
// SOCK_SEQPACKET (AF_UNIX). It is the inverse of sockaddr.
//
// Anything else, a nil sa included, yields a nil net.Addr (never a nil
// pointer in a non-nil interface). IPv4 addresses are 4 bytes long and IPv6
// ones 16, as in net; the IP slices sa's array, as net's do.
func sockaddrToAddr(sotype int, sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		switch sotype {
		case unix.SOCK_STREAM:
			return &net.TCPAddr{IP: sa.Addr[0:], Port: sa.Port}
		case unix.SOCK_DGRAM:
			return &net.UDPAddr{IP: sa.Addr[0:], Port: sa.Port}
		case unix.SOCK_RAW:
			return &net.IPAddr{IP: sa.Addr[0:]}
		}
	case *unix.SockaddrInet6:
		switch sotype {
		case unix.SOCK_STREAM:
			return &net.TCPAddr{IP: sa.Addr[0:], Port: sa.Port, Zone: zoneCache.name(int(sa.ZoneId))}
		case unix.SOCK_DGRAM:
			return &net.UDPAddr{IP: sa.Addr[0:], Port: sa.Port, Zone: zoneCache.name(int(sa.ZoneId))}
		case unix.SOCK_RAW:
			return &net.IPAddr{IP: sa.Addr[0:], Zone: zoneCache.name(int(sa.ZoneId))}
		}
	case *unix.SockaddrUnix:
		switch sotype {
		case unix.SOCK_STREAM:
			return &net.UnixAddr{Name: sa.Name, Net: "unix"}
		case unix.SOCK_DGRAM:
			return &net.UnixAddr{Name: sa.Name, Net: "unixgram"}
		case unix.SOCK_SEQPACKET:
			return &net.UnixAddr{Name: sa.Name, Net: "unixpacket"}
		}
	}
	return nil
}

// dialAddrs returns the local and remote addresses a dial on network really
// uses for the resolved laddr and raddr, as net's socket code rewrites them:
//   - a nil *net.TCPAddr, *net.UDPAddr, *net.IPAddr or *net.UnixAddr becomes
//     a nil net.Addr (net treats both alike when it makes a socket);
//   - for unix networks, a wildcard (empty-named) address becomes nil
//     (net's unixSocket);
//   - on OpenBSD, a wildcard IP remote address becomes the loopback address
//     of the network's family with the same port and zone (net's
//     internetSocket; Linux and the other BSDs connect a wildcard to the
//     local host themselves).
//
// The results feed socketParams, ctrlAddress, the bind and the connect.
// Errors keep reporting the addresses as resolved (in net, dialSingle's
// OpError names the resolved address, not the rewritten one).
func dialAddrs(network string, laddr, raddr net.Addr) (net.Addr, net.Addr) {
	laddr, raddr = opAddr(laddr), opAddr(raddr)
	switch network {
	case "unix", "unixgram", "unixpacket":
		if isWildcard(laddr) {
			laddr = nil
		}
		if isWildcard(raddr) {
			raddr = nil
		}
		return laddr, raddr
	}
	if runtime.GOOS == "openbsd" && raddr != nil && isWildcard(raddr) {
		switch a := raddr.(type) {
		case *net.TCPAddr:
			raddr = &net.TCPAddr{IP: loopbackIP(network), Port: a.Port, Zone: a.Zone}
		case *net.UDPAddr:
			raddr = &net.UDPAddr{IP: loopbackIP(network), Port: a.Port, Zone: a.Zone}
		case *net.IPAddr:
			raddr = &net.IPAddr{IP: loopbackIP(network), Zone: a.Zone}
		}
	}
	return laddr, raddr
}

// loopbackIP returns ::1 for networks ending in 6, else 127.0.0.1 (net's
// loopbackIP).
func loopbackIP(network string) net.IP {
	if network != "" && network[len(network)-1] == '6' {
		return net.IPv6loopback
	}
	return net.IP{127, 0, 0, 1}
}

// socketParams returns socket(2)'s arguments for a dial on network (as given
// to Dial: "tcp", "udp6", "ip4:icmp", "unixgram", ...) from laddr to raddr,
// both as returned by dialAddrs, and whether IPV6_V6ONLY is to be set
// (setDefaultSockopts): net's favoriteAddrFamily in "dial" mode. A network
// ending in 4 or 6 picks the family; otherwise the socket is AF_INET when
// both addresses are IPv4 (or absent), else AF_INET6 with IPV6_V6ONLY off,
// so that an IPv6 socket can still reach an IPv4-mapped peer.
//
// The type is SOCK_STREAM for tcp and unix, SOCK_DGRAM for udp and
// unixgram, SOCK_RAW for ip, SOCK_SEQPACKET for unixpacket. proto is the IP
// protocol of an ip network, else 0; the core replaces it with
// ipprotoMPTCP for a Multipath TCP attempt.
//
// Errors, returned raw for the caller to wrap in a *net.OpError: those of
// parseNetwork, and errMissingAddress for a unix dial without a remote
// address (unless it is a unixgram socket with a local address, which net
// binds and leaves unconnected).
func socketParams(network string, laddr, raddr net.Addr) (family, sotype, proto int, ipv6only bool, err error) {
	afnet, proto, err := parseNetwork(network, true)
	if err != nil {
		return 0, 0, 0, false, err
	}
	switch afnet {
	case "tcp", "tcp4", "tcp6":
		sotype = unix.SOCK_STREAM
	case "udp", "udp4", "udp6":
		sotype = unix.SOCK_DGRAM
	case "ip", "ip4", "ip6":
		sotype = unix.SOCK_RAW
	case "unix", "unixgram", "unixpacket":
		switch afnet {
		case "unix":
			sotype = unix.SOCK_STREAM
		case "unixgram":
			sotype = unix.SOCK_DGRAM
		default:
			sotype = unix.SOCK_SEQPACKET
		}
		if raddr == nil && (sotype != unix.SOCK_DGRAM || laddr == nil) {
			return 0, 0, 0, false, errMissingAddress
		}
		return unix.AF_UNIX, sotype, 0, false, nil
	}
	family, ipv6only = favoriteAddrFamily(afnet, laddr, raddr)
	return family, sotype, proto, ipv6only, nil
}

// favoriteAddrFamily is net's favoriteAddrFamily for mode "dial".
func favoriteAddrFamily(network string, laddr, raddr net.Addr) (family int, ipv6only bool) {
	switch network[len(network)-1] {
	case '4':
		return unix.AF_INET, false
	case '6':
		return unix.AF_INET6, true
	}
	if (laddr == nil || addrFamily(laddr) == unix.AF_INET) &&
		(raddr == nil || addrFamily(raddr) == unix.AF_INET) {
		return unix.AF_INET, false
	}
	return unix.AF_INET6, false
}

// addrFamily is the family method of net's IP address types: AF_INET for a
// nil address, a short IP or an IPv4 (or IPv4-mapped) address, else
// AF_INET6. Unix addresses are AF_UNIX.
func addrFamily(a net.Addr) int {
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		if a == nil {
			return unix.AF_INET
		}
		ip = a.IP
	case *net.UDPAddr:
		if a == nil {
			return unix.AF_INET
		}
		ip = a.IP
	case *net.IPAddr:
		if a == nil {
			return unix.AF_INET
		}
		ip = a.IP
	case *net.UnixAddr:
		return unix.AF_UNIX
	default:
		return unix.AF_INET
	}
	if len(ip) <= net.IPv4len || ip.To4() != nil {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// ctrlNetwork returns the network name Control and ControlContext receive
// for a socket of family made for afnet (parseNetwork's first result:
// "tcp", "udp4", "ip", "unix", ...): unix networks and networks ending in 4
// or 6 as they are, others with "4" or "6" appended for the family. net
// passes its netFD.net, which for ip networks is the name without the
// protocol.
func ctrlNetwork(afnet string, family int) string {
	switch afnet {
	case "unix", "unixgram", "unixpacket":
		return afnet
	}
	switch afnet[len(afnet)-1] {
	case '4', '6':
		return afnet
	}
	if family == unix.AF_INET {
		return afnet + "4"
	}
	return afnet + "6"
}

// ctrlAddress returns the address string Control and ControlContext
// receive: the remote address (as dialAddrs returned it), or the local one
// if there is no remote address, or "".
func ctrlAddress(laddr, raddr net.Addr) string {
	if raddr != nil {
		return raddr.String()
	}
	if laddr != nil {
		return laddr.String()
	}
	return ""
}

// rawConn is the syscall.RawConn handed to Control and ControlContext. It
// wraps the reactor's socket, which it does not own, while the hook runs.
//
// Control calls f with the socket. Read and Write call f once and succeed if
// it returns true; net's RawConn at that point cannot wait either (the socket
// is not yet in the runtime poller), and fails the same way, with the same
// *net.OpError ("raw-read"/"raw-write": "waiting for unsupported file
// type"). After invalidate, which the core calls when the hook returns, every
// method fails with net.ErrClosed (in a *net.OpError, as net's do for a
// closed socket) instead of touching an fd number that may have been reused.
type rawConn struct {
	fd  int
	net string // the network, for errors; net's netFD.net

	mu     sync.RWMutex // held for reading while f runs
	closed bool
}

var errWaitUnsupported = errors.New("waiting for unsupported file type")

// newRawConn returns a rawConn for fd. network is what net stores as the
// socket's network: the network passed to Dial, or for ip networks the
// name without the protocol.
func newRawConn(fd int, network string) *rawConn {
	return &rawConn{fd: fd, net: network}
}

// Control calls f with the socket.
func (c *rawConn) Control(f func(fd uintptr)) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return &net.OpError{Op: "raw-control", Net: c.net, Err: net.ErrClosed}
	}
	f(uintptr(c.fd))
	return nil
}

// Read calls f once with the socket; it cannot wait for readability.
func (c *rawConn) Read(f func(fd uintptr) (done bool)) error {
	return c.rw("raw-read", f)
}

// Write calls f once with the socket; it cannot wait for writability.
func (c *rawConn) Write(f func(fd uintptr) (done bool)) error {
	return c.rw("raw-write", f)
}

func (c *rawConn) rw(op string, f func(uintptr) bool) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return &net.OpError{Op: op, Net: c.net, Err: net.ErrClosed}
	}
	if f(uintptr(c.fd)) {
		return nil
	}
	return &net.OpError{Op: op, Net: c.net, Err: errWaitUnsupported}
}

// invalidate ends c's use of the socket; it waits for calls in progress.
func (c *rawConn) invalidate() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// zoneCache maps IPv6 zone names to interface indexes and back, refreshed at
// most once a minute unless a name or index is missing, as net's zone cache.
var zoneCache ipv6ZoneCache

type ipv6ZoneCache struct {
	sync.RWMutex                // guards the following
	lastFetched  time.Time      // last time routing information was fetched
	toIndex      map[string]int // interface name to its index
	toName       map[int]string // interface index to its name
}

// update refreshes the cache if it is older than a minute, or if force is
// set. It reports whether it refreshed.
func (zc *ipv6ZoneCache) update(force bool) (updated bool) {
	zc.Lock()
	defer zc.Unlock()
	now := time.Now()
	if !force && zc.lastFetched.After(now.Add(-60*time.Second)) {
		return false
	}
	zc.lastFetched = now
	ift, err := net.Interfaces()
	if err != nil {
		return false
	}
	zc.toIndex = make(map[string]int, len(ift))
	zc.toName = make(map[int]string, len(ift))
	for _, ifi := range ift {
		if ifi.Name != "" {
			zc.toIndex[ifi.Name] = ifi.Index
			if _, ok := zc.toName[ifi.Index]; !ok {
				zc.toName[ifi.Index] = ifi.Name
			}
		}
	}
	return true
}

// name returns the interface name for a scope id, or the id in decimal.
func (zc *ipv6ZoneCache) name(index int) string {
	if index == 0 {
		return ""
	}
	updated := zc.update(false)
	zc.RLock()
	name, ok := zc.toName[index]
	zc.RUnlock()
	if !ok && !updated {
		zc.update(true)
		zc.RLock()
		name, ok = zc.toName[index]
		zc.RUnlock()
	}
	if !ok { // last resort
		name = strconv.Itoa(index)
	}
	return name
}

// index returns the scope id for a zone: the index of the interface of
// that name, else the zone's leading decimal digits, else 0.
func (zc *ipv6ZoneCache) index(name string) int {
	if name == "" {
		return 0
	}
	updated := zc.update(false)
	zc.RLock()
	index, ok := zc.toIndex[name]
	zc.RUnlock()
	if !ok && !updated {
		zc.update(true)
		zc.RLock()
		index, ok = zc.toIndex[name]
		zc.RUnlock()
	}
	if !ok { // last resort
		index, _, _ = dtoi(name)
	}
	return index
}
