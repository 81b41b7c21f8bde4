//go:build linux

package hook

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connect is unix.Connect, except that it accepts an abstract unix socket
// name that fills sun_path, as syscall.Connect (and so net) does.
func connect(fd int, sa unix.Sockaddr) error {
	if name, ok := fullAbstract(sa); ok {
		return syscall.Connect(fd, &syscall.SockaddrUnix{Name: name})
	}
	return unix.Connect(fd, sa)
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
