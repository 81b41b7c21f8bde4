// Parts of this file are adapted from Go's net package (src/net/sockopt_linux.go
// and mptcpsock_linux.go, Go 1.26). Copyright 2011 The Go Authors. All rights
// reserved. Use of that source code is governed by a BSD-style license that
// can be found in Go's LICENSE file (https://go.dev/LICENSE).

package dialer

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// setDefaultSockopts sets the options net sets on every new socket before
// Control runs (net/sockopt_linux.go): IPV6_V6ONLY to ipv6only on an AF_INET6
// socket that is not raw (errors ignored: "some operating systems never
// admit this option"), and SO_BROADCAST on an IP datagram or raw socket. An
// error is an *os.SyscallError ("setsockopt"), returned raw for the caller to
// wrap in a *net.OpError; the caller then closes fd, as net does.
func setDefaultSockopts(fd, family, sotype int, ipv6only bool) error {
	if family == unix.AF_INET6 && sotype != unix.SOCK_RAW {
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

// ipprotoMPTCP is the socket protocol of a Multipath TCP socket (Linux 5.6+).
const ipprotoMPTCP = unix.IPPROTO_MPTCP

// mptcpAvailable reports whether the kernel makes MPTCP sockets, probed once
// as net does (net/mptcpsock_linux.go): EPROTONOSUPPORT (5.6+) and EINVAL
// (older kernels) mean no; success and any other error mean yes ("MPTCP was
// not available but it might be later").
//
// A dial that wants MPTCP (Dialer.MultipathTCP) and finds it available
// makes its socket with protocol ipprotoMPTCP; if that attempt fails for any
// reason, it is made again, in full, with plain TCP (net's dialMPTCP), so
// the caller sees the plain TCP attempt's result.
var mptcpAvailable = sync.OnceValue(func() bool {
	for _, family := range [...]int{unix.AF_INET, unix.AF_INET6} {
		s, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, ipprotoMPTCP)
		switch err {
		case unix.EAFNOSUPPORT:
			continue // net probes AF_INET6 when there is no IPv4
		case unix.EPROTONOSUPPORT, unix.EINVAL:
			return false
		case nil:
			unix.Close(s)
		}
		return true
	}
	return false
})

func boolint(b bool) int {
	if b {
		return 1
	}
	return 0
}
