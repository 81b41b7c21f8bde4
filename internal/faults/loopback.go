package faults

import (
	"net/netip"
	"testing"
)

// RefusedAddr returns a loopback address, 127.0.0.1:port, where connects
// are refused (recipe R1). The port stays reserved for the rest of the test
// by a socket that is bound but never listens: nobody else can listen on it
// meanwhile (unlike bind-then-close, which races with other processes), and
// every SYN to it is answered with RST.
//
// Verified: connect(2) returns EINPROGRESS, then poll reports
// POLLOUT|POLLERR|POLLHUP and SO_ERROR is ECONNREFUSED, within about 10 µs
// (p99 under 50 µs). On loopback the refusal is never synchronous. No
// privileges, no namespace.
func RefusedAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	return reserveTCPPort(t, loopback4)
}

// RefusedAddr6 is RefusedAddr on [::1]. It skips the test if the host has no
// IPv6 loopback.
func RefusedAddr6(t testing.TB) netip.AddrPort {
	t.Helper()
	return reserveTCPPort(t, loopback6)
}

// FullBacklog returns the address of a loopback listener ("tcp" and "tcp4":
// 127.0.0.1, "tcp6": [::1]) that makes every connect to it stay pending in
// SYN_SENT (recipe R2): no error, no poll or epoll event, until the caller's
// deadline fires or the kernel gives up. It is the "timeout without root"
// fixture.
//
// The listener is a raw socket with listen(fd, 0) that is never accepted
// from, and its accept queue is pre-filled with one connection (held open
// until the test ends). The fill is checked with TCP_INFO, not guessed with
// a timed probe. The kernel drops every later SYN before any SYN-cookie or
// tcp_abort_on_overflow logic runs, so no sysctl matters (R2 checked every
// combination of tcp_syncookies 0/1/2 and tcp_abort_on_overflow 0/1) and no
// namespace is needed; SYN retransmissions are dropped the same way.
//
// Capacity: the listener puts no limit on the number of pending connects.
// This package's tests hold 15,000 of them, on 127.0.0.1 and on [::1], for
// 1.5 s (past the first SYN retransmission at 1 s) and check that every one
// stays in SYN_SENT without an event. The limits are elsewhere: the open
// files limit (20,000 per process on the development machines, for client and
// listener together) and the ephemeral port range (28,232 source ports by
// default, shared by every connect to this address).
//
// The kernel ends a pending connect with ETIMEDOUT after about 134 s by
// default. Set TCP_USER_TIMEOUT (at least 1 s; the first SYN retransmission
// is at 1 s) or TCP_SYNCNT (1: 3 s) on the socket to make that quick; R2/R5
// measured 1.02 s for TCP_USER_TIMEOUT=1000ms.
//
// Do not accept from the listener: a retransmitted SYN would then complete.
func FullBacklog(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	return fullBacklog(t, loopbackFor(t, network))
}

var (
	loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	loopback6 = netip.IPv6Loopback()
)

func loopbackFor(t testing.TB, network string) netip.Addr {
	t.Helper()
	switch network {
	case "tcp", "tcp4":
		return loopback4
	case "tcp6":
		return loopback6
	}
	t.Fatalf("faults: network %q: want tcp, tcp4 or tcp6", network)
	return netip.Addr{}
}
