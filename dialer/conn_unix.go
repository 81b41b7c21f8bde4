//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// newConn turns a connected socket made by the reactor into the net.Conn
// net.Dialer would have returned for it: a *net.TCPConn, *net.UDPConn,
// *net.IPConn or *net.UnixConn, chosen by the socket's type and address
// family, registered with Go's runtime poller, with LocalAddr and
// RemoteAddr from getsockname and getpeername. For TCP it also leaves the
// socket options as net's newTCPConn does: TCP_NODELAY on, and keep-alive
// as keepAlive and kac (Dialer.KeepAlive and Dialer.KeepAliveConfig) say
// (see keepAliveFix).
//
// newConn takes ownership of fd in every case: it is closed before newConn
// returns, whether it succeeds or not (the conn holds a duplicate). The
// caller must have removed fd from its poller first. fd must be a socket
// made nonblocking and close-on-exec, whose file status flags are otherwise
// untouched (newConn clears them all to make fd blocking). family and
// sotype are the socket's.
//
// Raw IP sockets (SOCK_RAW) should not come here: FileConn's getpeername
// fails with ENOTCONN for them on Linux, so the *net.IPConn's RemoteAddr
// would be nil where net.Dialer's is the dialed address. Dial ip networks
// with dialIPNet.
//
// Errors are returned raw, for the caller to wrap in
// &net.OpError{Op: "dial", ...} as for a failed connect: an *os.SyscallError
// ("fcntl": the duplicate could not be made, e.g. EMFILE; "getsockopt",
// "getsockname", "setnonblock"), or a syscall.Errno, or the error of
// registering with the runtime poller.
//
// # Cost
//
// The conversion goes through os.NewFile and net.FileConn, the only public
// way to wrap a socket in the net types. On Linux it makes 9 system calls
// that net.Dialer does not make for the same connect, counted with strace -c
// -f over 2000 loopback dials against a server in another process
// (TestNewConnSyscalls shows how):
//
//	fcntl F_SETFL          clear O_NONBLOCK (below)
//	fcntl F_GETFL          os.NewFile, to see whether the fd is nonblocking
//	fcntl F_DUPFD_CLOEXEC  net.FileConn duplicates the fd
//	fcntl F_GETFL, F_SETFL net.FileConn makes the duplicate nonblocking
//	getsockopt SO_TYPE     net.FileConn
//	getsockname, getpeername  net.FileConn (net.Dialer makes these too,
//	                       after its connect; a reactor that also confirms
//	                       its connect with getpeername pays that one twice)
//	close                  the original fd
//
// The other calls newConn causes are ones net.Dialer makes as well:
// epoll_ctl ADD for the duplicate (DEL when the conn is closed), and
// TCP_NODELAY plus the four keep-alive setsockopts that FileConn makes with
// net's defaults. keepAliveFix adds one setsockopt per non-default
// keep-alive value (none for the defaults). For comparison, net.Dialer's
// whole dial is 14 calls on the client side: socket, connect, epoll_ctl
// ADD, epoll_pwait, getsockopt SO_ERROR, getpeername, getsockname, 5
// setsockopt, epoll_ctl DEL and close at Close.
//
// Clearing O_NONBLOCK first is what keeps the count down. os.NewFile puts a
// nonblocking descriptor into the runtime poller (epoll_ctl ADD, and DEL
// again when the *os.File is closed), which costs more than the two fcntl
// calls it saves: the plain os.NewFile + FileConn sequence measured 12
// extra calls and about 19 µs per conversion here, this one 9 calls and
// about 12 µs (BenchmarkNewConn, which includes the calls net.Dialer makes
// too and a server on the same two CPUs, reports 15-18 µs). Both fds name
// one open file description, so the socket ends up nonblocking again, as
// the runtime poller requires.
func newConn(fd, family, sotype int, keepAlive time.Duration, kac net.KeepAliveConfig) (net.Conn, error) {
	tcp := sotype == unix.SOCK_STREAM && family != unix.AF_UNIX
	var fix keepAliveFix
	if tcp {
		fix = prepareKeepAlive(fd, keepAlive, kac)
	}
	// See "Cost" above. F_SETFL ignores the access mode, so 0 leaves
	// O_RDWR and clears O_NONBLOCK, the only status flag socket(2) sets.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f)
	if err == nil && tcp {
		// fd and the conn's descriptor name the same socket.
		fix.apply(fd, family)
	}
	f.Close() // closes fd
	if err != nil {
		// FileConn wraps its errors in &net.OpError{Op: "file", Net:
		// "file+net", ...}; the caller wraps them as a dial error.
		return nil, unwrapOp(err, "file")
	}
	return c, nil
}

// typedConn returns c as the concrete type T (*net.TCPConn, *net.UDPConn,
// *net.IPConn or *net.UnixConn), for the typed methods DialTCP, DialUDP,
// DialIP and DialUnix, which return a nil *T with every error as net's do.
// If err is not nil it is returned with a nil T. A c of another type is
// closed and reported as an error; newConn never makes one for a socket of
// the matching type and family.
func typedConn[T net.Conn](c net.Conn, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	t, ok := c.(T)
	if !ok {
		c.Close()
		return zero, fmt.Errorf("sigdial/dialer: internal error: got a %T, want a %T", c, zero)
	}
	return t, nil
}
