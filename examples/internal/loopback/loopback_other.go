//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// BoundSocket is not available on this system: it returns an error
// wrapping errors.ErrUnsupported. Where it is, it returns a TCP socket
// bound to a free port of 127.0.0.1 that does not listen, and that address.
func BoundSocket() (int, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, fmt.Errorf("loopback: a bound, non-listening socket: %w", errors.ErrUnsupported)
}

// RefusedPort returns an address where nothing listens: a port that was
// just listened on and closed. Unlike the Unix version, which holds the
// port with a bound socket, another program could take it meanwhile.
// close does nothing.
func RefusedPort() (addr netip.AddrPort, close func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	addr = ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return addr, func() {}, nil
}
