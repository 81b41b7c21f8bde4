//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// Parts of this file are adapted from Go's net package (src/net/sockopt_bsd.go
// and ipsock_posix.go, Go 1.26). Copyright 2011 The Go Authors. All rights
// reserved. Use of that source code is governed by a BSD-style license that
// can be found in Go's LICENSE file (https://go.dev/LICENSE).

package dialer

import (
	"os"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// setDefaultSockopts sets the options net sets on every new socket before
// Control runs (net/sockopt_bsd.go): on DragonFly the high ephemeral port
// range, IPV6_V6ONLY to ipv6only on an AF_INET6 socket that is not raw where
// IPv4-mapped addresses work (errors ignored), and SO_BROADCAST on an IP
// datagram or raw socket. An error is an *os.SyscallError ("setsockopt"),
// returned raw for the caller to wrap; the caller then closes fd.
func setDefaultSockopts(fd, family, sotype int, ipv6only bool) error {
	if runtime.GOOS == "dragonfly" && sotype != unix.SOCK_RAW {
		// On DragonFly BSD, we adjust the ephemeral port
		// range because unlike other BSD systems its default
		// port range doesn't conform to IANA recommendation
		// as described in RFC 6056 and is pretty narrow.
		switch family {
		case unix.AF_INET:
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_PORTRANGE, unix.IP_PORTRANGE_HIGH)
		case unix.AF_INET6:
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_PORTRANGE, unix.IPV6_PORTRANGE_HIGH)
		}
	}
	if family == unix.AF_INET6 && sotype != unix.SOCK_RAW && supportsIPv4map() {
		// Allow both IP versions even if the OS default
		// is otherwise. Note that some operating systems
		// never admit this option.
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolint(ipv6only))
	}
	if (sotype == unix.SOCK_DGRAM || sotype == unix.SOCK_RAW) && family != unix.AF_UNIX {
		// Allow broadcast.
		return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1))
	}
	return nil
}

// supportsIPv4map reports whether IPv4-mapped IPv6 addresses work on an
// AF_INET6 socket, probed once as net does: by binding such a socket, with
// IPV6_V6ONLY off, to ::ffff:127.0.0.1. DragonFly and OpenBSD never allow it.
var supportsIPv4map = sync.OnceValue(func() bool {
	switch runtime.GOOS {
	case "dragonfly", "openbsd":
		return false
	}
	syscall.ForkLock.RLock()
	s, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err == nil {
		unix.CloseOnExec(s)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return false
	}
	defer unix.Close(s)
	unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	sa := &unix.SockaddrInet6{Addr: [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}}
	return unix.Bind(s, sa) == nil
})

// ipprotoMPTCP is a placeholder: Multipath TCP sockets exist only on Linux.
const ipprotoMPTCP = 0

// mptcpAvailable reports false: without MPTCP, net's dialMPTCP is plain TCP.
func mptcpAvailable() bool { return false }

func boolint(b bool) int {
	if b {
		return 1
	}
	return 0
}
