//go:build darwin

package reactor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/hook"
)

// sysSocket makes a nonblocking, close-on-exec socket where the type flags
// do not exist: under ForkLock, so no fork sees the fd before CLOEXEC is set
// (net/sys_cloexec.go).
func sysSocket(family, sotype, proto int) (int, error) {
	socket := hook.Socket
	syscall.ForkLock.RLock()
	fd, err := socket(family, sotype, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		closeFD(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	return fd, nil
}
