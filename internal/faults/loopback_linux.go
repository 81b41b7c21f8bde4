package faults

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpSocket returns a blocking TCP socket bound to ip:port, closed when the
// test ends. It skips the test when the address family or address is not
// available (a host without IPv6 loopback).
func tcpSocket(t testing.TB, ap netip.AddrPort) (int, netip.AddrPort) {
	t.Helper()
	fd, err := unix.Socket(family(ap.Addr()), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == unix.EAFNOSUPPORT {
		t.Skipf("faults: no %v sockets: %v", ap.Addr(), err)
	}
	if err != nil {
		t.Fatalf("faults: socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, sockaddr(ap)); err != nil {
		if err == unix.EADDRNOTAVAIL && ap.Addr().Is6() {
			t.Skipf("faults: cannot bind %v: %v (IPv6 disabled?)", ap, err)
		}
		t.Fatalf("faults: bind %v: %v", ap, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatalf("faults: getsockname: %v", err)
	}
	return fd, addrPort(sa)
}

func reserveTCPPort(t testing.TB, ip netip.Addr) netip.AddrPort {
	t.Helper()
	_, ap := tcpSocket(t, netip.AddrPortFrom(ip, 0))
	return ap
}

// listenRaw returns a listening socket with an exact backlog (net.Listen
// always asks for somaxconn), closed when the test ends.
func listenRaw(t testing.TB, ap netip.AddrPort, backlog int) (int, netip.AddrPort) {
	t.Helper()
	fd, addr := tcpSocket(t, ap)
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatalf("faults: listen %v: %v", addr, err)
	}
	return fd, addr
}

// acceptQueue reports a listener's accept queue: the connections waiting for
// accept(2) and the limit. For listening sockets TCP_INFO reuses tcpi_unacked
// and tcpi_sacked for sk_ack_backlog and sk_max_ack_backlog (ss shows them as
// Recv-Q and Send-Q). The kernel drops SYNs while queued > limit.
func acceptQueue(lfd int) (queued, limit uint32, err error) {
	ti, err := unix.GetsockoptTCPInfo(lfd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, 0, err
	}
	return ti.Unacked, ti.Sacked, nil
}

func fullBacklog(t testing.TB, ip netip.Addr) netip.AddrPort {
	t.Helper()
	lfd, addr := listenRaw(t, netip.AddrPortFrom(ip, 0), 0)
	// listen(fd, 0) queues one connection (the kernel's test is
	// queued > limit). Fill sequentially, waiting for each connection to
	// reach the queue: a burst could have SYNs accepted while there was
	// room whose final ACK then finds the queue full.
	for i := 0; ; i++ {
		queued, limit, err := acceptQueue(lfd)
		if err != nil {
			t.Fatalf("faults: FullBacklog: TCP_INFO: %v", err)
		}
		if queued > limit {
			return addr
		}
		if i > 8 {
			t.Fatalf("faults: FullBacklog: accept queue of %v holds %d (limit %d) after %d connects", addr, queued, limit, i)
		}
		o := probe(addr, 5*time.Second, true, nil)
		if o.err != 0 {
			t.Fatalf("faults: FullBacklog: filling connect to %v: %v at %s", addr, o.err, o.stage)
		}
		t.Cleanup(func() { unix.Close(o.fd) })
		// The server side enters the queue when it processes the final
		// ACK, which can be just after the client's connect completed.
		for deadline := time.Now().Add(5 * time.Second); ; {
			if q, _, err := acceptQueue(lfd); err != nil || q > queued || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}
