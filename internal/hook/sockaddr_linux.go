//go:build linux

package hook

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// connect is unix.Connect, except in two ways:
//
//   - For IPv4 and IPv6 it is a raw system call where the platform allows
//     (raw_linux.go), which does not hand the goroutine's P back to the
//     scheduler for its duration. A connect on a nonblocking socket does
//     not sleep, but on loopback it runs the whole handshake, server side
//     included, in the call: tens of microseconds, long enough for the
//     runtime to take the P of a reactor loop that spends most of its time
//     in such calls and give it to a thread with nothing to do, then make
//     the loop wait for a P when the call returns. Interleaved runs of
//     BenchmarkAsyncDial at C=256 went from 22.7k to 27.0k dials per
//     second with the raw call. net's own connect is a blocking-style
//     system call, but it runs on one goroutine among hundreds, whose P
//     another goroutine can use.
//   - It accepts an abstract unix socket name that fills sun_path, as
//     syscall.Connect (and so net) does.
func connect(fd int, sa unix.Sockaddr) error {
	if err, ok := connectInet(fd, sa); ok {
		return err
	}
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
