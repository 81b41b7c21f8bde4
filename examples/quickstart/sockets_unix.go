//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// boundSocket returns a TCP socket bound to a free port of 127.0.0.1, and
// that address. net.Listen cannot be used: it always listens, and with a
// backlog of somaxconn.
func boundSocket() (int, netip.AddrPort, error) {
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

// refusedPort returns an address where nothing listens: a port held by a
// socket that is bound but does not listen, so no other program can take
// it while the demo runs, and the kernel answers every SYN with RST
// (ECONNREFUSED). close releases the port.
func refusedPort() (addr netip.AddrPort, close func(), err error) {
	fd, addr, err := boundSocket()
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	return addr, func() { unix.Close(fd) }, nil
}

// fullQueue returns the address of a listener whose accept queue is full:
// listen(fd, 0) queues one connection, the queue is filled by connecting,
// and the listener never accepts. From then on the kernel drops every SYN
// to it, so a connect stays pending until its deadline (fault recipe R2).
// close closes the filling connections and the listener.
func fullQueue() (addr netip.AddrPort, close func(), err error) {
	fd, addr, err := boundSocket()
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	if err := unix.Listen(fd, 0); err != nil {
		unix.Close(fd)
		return netip.AddrPort{}, nil, os.NewSyscallError("listen", err)
	}
	var fill []net.Conn
	close = func() {
		for _, c := range fill {
			c.Close()
		}
		unix.Close(fd)
	}
	// Fill one connect at a time: a burst could be admitted while the
	// queue still had room.
	for range 8 {
		queued, full, known := acceptQueue(fd)
		if full {
			return addr, close, nil
		}
		// Where the queue cannot be read (not Linux), a loopback SYN that
		// gets no answer within 100ms was dropped: the queue is full.
		c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond)
		var ne net.Error
		if !known && errors.As(err, &ne) && ne.Timeout() {
			return addr, close, nil
		}
		if err != nil {
			close()
			return netip.AddrPort{}, nil, err
		}
		fill = append(fill, c)
		if known {
			// The server side joins the queue when the kernel handles
			// the final ACK, which may come just after connect returned.
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if q, _, _ := acceptQueue(fd); q > queued {
					break
				}
			}
		}
	}
	close()
	return netip.AddrPort{}, nil, errors.New("the accept queue of a listen(fd, 0) socket did not fill after 8 connects")
}
