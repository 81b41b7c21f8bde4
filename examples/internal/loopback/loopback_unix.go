//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package loopback

import (
	"errors"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// BoundSocket returns a TCP socket bound to a free port of 127.0.0.1, and
// that address. The socket is close-on-exec and does not listen; the caller
// owns it and closes it with unix.Close. net.Listen cannot be used: it
// always listens, and with a backlog of somaxconn.
func BoundSocket() (int, netip.AddrPort, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, os.NewSyscallError("bind", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, netip.AddrPort{}, os.NewSyscallError("getsockname", err)
	}
	sa4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		unix.Close(fd)
		return -1, netip.AddrPort{}, errors.New("getsockname: not an IPv4 address")
	}
	return fd, netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(sa4.Port)), nil
}

// RefusedPort returns an address where nothing listens: a port held by a
// socket that is bound but does not listen, so no other program can take
// it while the example runs, and the kernel answers every SYN with RST
// (ECONNREFUSED). close releases the port.
func RefusedPort() (addr netip.AddrPort, close func(), err error) {
	fd, addr, err := BoundSocket()
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	return addr, func() { unix.Close(fd) }, nil
}
