package mainns

import (
	"net/netip"
	"testing"

	"github.com/sigdial/sigdial/internal/faults"
	"golang.org/x/sys/unix"
)

func TestWholeBinaryIsolated(t *testing.T) {
	faults.RequireIsolated(t)
	if !faults.Isolated() {
		t.Fatal("Isolated() is false")
	}
	faults.NoRoute(t, "203.0.113.0/24")
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	// A route lookup only: nothing is sent.
	dst := netip.MustParseAddr("203.0.113.1").As4()
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 9, Addr: dst}); err != unix.ENETUNREACH {
		t.Errorf("connect: %v, want ENETUNREACH", err)
	}
}

func TestRefusedAddrInside(t *testing.T) {
	ap := faults.RefusedAddr(t)
	if !ap.Addr().IsLoopback() {
		t.Errorf("RefusedAddr = %v", ap)
	}
}
