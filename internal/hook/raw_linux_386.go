//go:build linux && 386

package hook

import "golang.org/x/sys/unix"

// linux/386 reaches the socket system calls through socketcall, which
// package syscall does not expose for raw calls: the portable forms.

func connectInet(int, unix.Sockaddr) (err error, ok bool) { return nil, false }

var getsockoptInt = unix.GetsockoptInt

// getpeername reports whether fd is connected.
func getpeername(fd int) error {
	_, err := unix.Getpeername(fd)
	return err
}
