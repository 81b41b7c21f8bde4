//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package hook

import "golang.org/x/sys/unix"

// These platforms have no abstract unix socket names; x/sys/unix and
// syscall accept the same addresses.
var (
	connect       = unix.Connect
	bind          = unix.Bind
	getsockoptInt = unix.GetsockoptInt
)

// getpeername reports whether fd is connected.
func getpeername(fd int) error {
	_, err := unix.Getpeername(fd)
	return err
}
