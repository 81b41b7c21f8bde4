//go:build linux && !386

package hook

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls the reactor makes on its loops for every connect, as
// raw calls (see connect). linux/386 has no direct socket system calls in
// package syscall (they go through socketcall): raw_linux_386.go.

// connectInet is connect for IPv4 and IPv6 addresses, as a raw system
// call; ok is false for other addresses. A port out of range is EINVAL, as
// in unix.Connect.
func connectInet(fd int, sa unix.Sockaddr) (err error, ok bool) {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		if sa.Port < 0 || sa.Port > 0xFFFF {
			return unix.EINVAL, true
		}
		r := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: sa.Addr}
		putPort(&r.Port, sa.Port)
		return rawConnect(fd, unsafe.Pointer(&r), unsafe.Sizeof(r)), true
	case *unix.SockaddrInet6:
		if sa.Port < 0 || sa.Port > 0xFFFF {
			return unix.EINVAL, true
		}
		r := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: sa.Addr, Scope_id: sa.ZoneId}
		putPort(&r.Port, sa.Port)
		return rawConnect(fd, unsafe.Pointer(&r), unsafe.Sizeof(r)), true
	}
	return nil, false
}

// putPort stores port in network byte order.
func putPort(p *uint16, port int) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func rawConnect(fd int, sa unsafe.Pointer, n uintptr) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(sa), n)
	if e != 0 {
		return e
	}
	return nil
}

// getsockoptInt is unix.GetsockoptInt as a raw system call: the reactor
// reads SO_ERROR with it after every wake-up.
func getsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	l := uint32(unsafe.Sizeof(v))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// getpeername reports whether fd is connected, with one getpeername(2)
// and no allocation. unix.Getpeername would also decode the address, and
// for AF_INET and AF_INET6 x/sys/unix first reads SO_PROTOCOL to do so: a
// second system call, on every connect, for an address nobody reads.
func getpeername(fd int) error {
	var rsa syscall.RawSockaddrAny
	l := uint32(unsafe.Sizeof(rsa))
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return e
	}
	return nil
}
