//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package main

import (
	"net"
	"net/netip"
)

// refusedPort returns an address where nothing listens: a port that was
// just listened on and closed. Unlike the Unix version, which holds the
// port with a bound socket, another program could take it meanwhile.
func refusedPort() (addr netip.AddrPort, close func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	addr = ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return addr, func() {}, nil
}
