//go:build linux || dragonfly || freebsd || netbsd || openbsd

package reactor

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/hook"
)

// sysSocket makes a socket that is nonblocking and close-on-exec from birth,
// so no fork can inherit it (net/sock_cloexec.go).
func sysSocket(family, sotype, proto int) (int, error) {
	socket := hook.Socket
	fd, err := socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}
