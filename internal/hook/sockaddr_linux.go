//go:build linux

package hook

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connect is unix.Connect, except in two ways:
//
//   - For IPv4 and IPv6 it is a raw system call, which does not hand the
//     goroutine's P back to the scheduler for its duration. A connect on a
//     nonblocking socket does not sleep, but on loopback it runs the whole
//     handshake, server side included, in the call: tens of microseconds,
//     long enough for the runtime to take the P of a reactor loop that
//     spends most of its time in such calls and give it to a thread with
//     nothing to do, then make the loop wait for a P when the call
//     returns. Interleaved runs of BenchmarkAsyncDial at C=256 went from
//     22.7k to 27.0k dials per second with the raw call.
//     net's own connect is a blocking-style system call, but it runs on
//     one goroutine among hundreds, whose P another goroutine can use.
//   - It accepts an abstract unix socket name that fills sun_path, as
//     syscall.Connect (and so net) does.
func connect(fd int, sa unix.Sockaddr) error {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		r := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: sa.Addr}
		putPort(&r.Port, sa.Port)
		return rawConnect(fd, unsafe.Pointer(&r), unsafe.Sizeof(r))
	case *unix.SockaddrInet6:
		r := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: sa.Addr, Scope_id: sa.ZoneId}
		putPort(&r.Port, sa.Port)
		return rawConnect(fd, unsafe.Pointer(&r), unsafe.Sizeof(r))
	}
	if name, ok := fullAbstract(sa); ok {
		return syscall.Connect(fd, &syscall.SockaddrUnix{Name: name})
	}
	return unix.Connect(fd, sa)
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

// getsockoptInt is unix.GetsockoptInt as a raw system call (see connect):
// the reactor reads SO_ERROR with it after every wake-up.
func getsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	l := uint32(unsafe.Sizeof(v))
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// bind is unix.Bind, except that it accepts an abstract unix socket name
// that fills sun_path, as syscall.Bind (and so net) does.
func bind(fd int, sa unix.Sockaddr) error {
	if name, ok := fullAbstract(sa); ok {
		return syscall.Bind(fd, &syscall.SockaddrUnix{Name: name})
	}
	return unix.Bind(fd, sa)
}

// fullAbstract returns the name of sa if sa is a *unix.SockaddrUnix whose
// name is abstract (it starts with '@' or NUL) and fills all 108 bytes of
// sun_path. x/sys/unix rejects such a name with EINVAL before the system
// call, because it always reserves a byte for a terminating NUL, which an
// abstract name does not have; syscall accepts it (go.dev/issue/21965).
// For every other address the two packages pass the kernel the same bytes
// and length, so only this case goes through syscall.
func fullAbstract(sa unix.Sockaddr) (string, bool) {
	u, ok := sa.(*unix.SockaddrUnix)
	if !ok || len(u.Name) != len(unix.RawSockaddrUnix{}.Path) || (u.Name[0] != '@' && u.Name[0] != 0) {
		return "", false
	}
	return u.Name, true
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
