//go:build linux

package hook

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestConnectPortRange checks that Connect refuses a SockaddrInet4/6
// whose Port is outside 0..65535 with EINVAL, as unix.Connect and
// syscall.Connect do, rather than connect to the port's low 16 bits
// (reactor.ConnectRequest.Remote is public API). Found in review.
func TestConnectPortRange(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	sa := &unix.SockaddrInet4{Port: port + 0x10000, Addr: [4]byte{127, 0, 0, 1}}
	for _, tc := range []struct {
		name    string
		connect func(int, unix.Sockaddr) error
	}{{"unix.Connect", unix.Connect}, {"hook.Connect", Connect}} {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.connect(fd, sa)
		unix.Close(fd)
		if err != unix.EINVAL {
			t.Errorf("%s to port %d: %v, want EINVAL", tc.name, sa.Port, err)
		}
	}
}
