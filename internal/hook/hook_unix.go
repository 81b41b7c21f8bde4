//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

// The socket system calls reactor makes, as function variables, so that tests
// in any package of the module can inject faults the kernel cannot be made to
// produce on demand (EINTR, EALREADY, EISCONN, EAGAIN, EMFILE, ENOBUFS). This
// follows net/hook_unix.go and internal/poll/hook_unix.go.
//
// Production code loads a variable into a local before calling it, to avoid a
// race with test code that restores the old value (net/fd_unix.go). Tests that
// replace a variable restore it before they return and do not run in parallel
// with other tests that dial.

package hook

import "golang.org/x/sys/unix"

var (
	// Socket creates a socket. The type already carries SOCK_NONBLOCK and
	// SOCK_CLOEXEC where the platform has them.
	Socket = unix.Socket
	// Connect starts a connect. It is unix.Connect, except that on Linux
	// it is a raw system call for IPv4 and IPv6, and it also accepts an
	// abstract unix socket name of 108 bytes, as syscall.Connect and net
	// do (sockaddr_linux.go).
	Connect = connect
	// Bind binds a local address; unix.Bind, with the same exception.
	Bind = bind
	// GetsockoptInt reads an integer socket option (SO_ERROR); a raw
	// system call on Linux.
	GetsockoptInt = getsockoptInt
	// Getpeername confirms that a socket is connected: nil if it is, the
	// error of getpeername(2) (ENOTCONN) if not.
	Getpeername = getpeername
	// Getsockname reads the local address (self-connect detection).
	Getsockname = unix.Getsockname
	// Close closes a socket.
	Close = unix.Close
)
