package faults

import (
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// outcome is what one nonblocking connect(2) led to, as a reactor sees it.
type outcome struct {
	stage   string        // "socket", "setup", "bind", "connect" (sync result), "so_error" (after poll), "deadline"
	err     syscall.Errno // 0 = connected; ETIMEDOUT with stage "deadline" = still pending
	revents int16         // poll events that ended the wait
	elapsed time.Duration // from the connect(2) call to the outcome
	fd      int           // the connected socket when probe was asked to keep it, else -1
}

// probe makes one nonblocking connect to dst and waits for its outcome with
// poll(2) and SO_ERROR, the way a reactor does, for at most timeout. setup,
// if not nil, runs on the socket before connect (socket options, bind). The
// socket is closed unless keep is set and the connect succeeded; then the
// caller owns outcome.fd.
func probe(dst netip.AddrPort, timeout time.Duration, keep bool, setup func(fd int) error) (o outcome) {
	o.fd = -1
	fd, err := unix.Socket(family(dst.Addr()), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		o.stage, o.err = "socket", errno(err)
		return o
	}
	defer func() {
		if keep && o.err == 0 {
			o.fd = fd
		} else {
			unix.Close(fd)
		}
	}()
	if setup != nil {
		if err := setup(fd); err != nil {
			o.stage, o.err = "setup", errno(err)
			return o
		}
	}
	start := time.Now()
	defer func() { o.elapsed = time.Since(start) }()
	switch err := unix.Connect(fd, sockaddr(dst)); err {
	case nil:
		o.stage = "connect"
		return o
	case unix.EINPROGRESS:
	default:
		o.stage, o.err = "connect", errno(err)
		return o
	}
	deadline := start.Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			o.stage, o.err = "deadline", unix.ETIMEDOUT
			return o
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		n, err := unix.Poll(pfd, int((left+time.Millisecond-1)/time.Millisecond))
		if err == unix.EINTR {
			continue // the Go runtime's preemption signals interrupt poll
		}
		if err != nil {
			o.stage, o.err = "poll", errno(err)
			return o
		}
		if n == 0 {
			continue // re-check the deadline
		}
		o.revents = pfd[0].Revents
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			o.stage, o.err = "so_error", errno(err)
			return o
		}
		o.stage, o.err = "so_error", syscall.Errno(v)
		return o
	}
}

func errno(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO // not expected from x/sys/unix; keeps the outcome non-zero
}

func family(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
