//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package loopback

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRefusedPort checks that a dial to the port is refused while it is
// held, and that close releases the socket that holds it.
func TestRefusedPort(t *testing.T) {
	addr, closeFn, err := RefusedPort()
	if err != nil {
		t.Fatal(err)
	}
	if addr.Addr() != netip.AddrFrom4([4]byte{127, 0, 0, 1}) || addr.Port() == 0 {
		closeFn()
		t.Fatalf("address %v, want 127.0.0.1 and a port", addr)
	}
	if _, ok := socketFD(addr); !ok {
		closeFn()
		t.Fatalf("no open socket is bound to %v", addr)
	}

	c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
	if err == nil {
		c.Close()
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		closeFn()
		t.Fatalf("dial %v: %v, want ECONNREFUSED", addr, err)
	}

	closeFn()
	if fd, ok := socketFD(addr); ok {
		t.Fatalf("after close, fd %d is still open and bound to %v", fd, addr)
	}
}

// socketFD finds the open descriptor of a socket bound to addr.
func socketFD(addr netip.AddrPort) (int, bool) {
	var rl unix.Rlimit
	limit := uint64(1 << 16)
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		limit = min(uint64(rl.Cur), limit)
	}
	for fd := range int(limit) {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			continue
		}
		if sa4, ok := sa.(*unix.SockaddrInet4); ok &&
			netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(sa4.Port)) == addr {
			return fd, true
		}
	}
	return -1, false
}
