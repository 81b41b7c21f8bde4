package dialer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketParamsMatchNet lets net.Dialer make the socket for each case,
// stops it in Control, and compares the socket's family, type, protocol,
// IPV6_V6ONLY and the Control arguments with socketParams, ctrlNetwork,
// ctrlAddress and setDefaultSockopts.
func TestSocketParamsMatchNet(t *testing.T) {
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	tests := []struct {
		network, address string
		laddr            net.Addr
	}{
		{"tcp", "127.0.0.1:1", nil},
		{"tcp", "[::1]:1", nil},
		{"tcp", "[::ffff:127.0.0.1]:1", nil},
		{"tcp", ":1", nil},
		{"tcp", "[::]:1", nil},
		{"tcp4", "127.0.0.1:1", nil},
		{"tcp6", "[::1]:1", nil},
		{"tcp", "127.0.0.1:1", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{"tcp", "127.0.0.1:1", &net.TCPAddr{}},
		{"tcp", "[::1]:1", &net.TCPAddr{IP: net.IPv4zero}},
		{"tcp", "[::1]:1", &net.TCPAddr{IP: net.IPv6loopback}},
		{"udp", "127.0.0.1:1", nil},
		{"udp", "[::1]:1", nil},
		{"udp6", "[::1]:1", nil},
		{"unix", path, nil},
		{"unixgram", path, nil},
		{"unixpacket", path, nil},
		{"unixgram", path, &net.UnixAddr{Name: path + "l", Net: "unixgram"}},
		{"ip4:icmp", "127.0.0.1", nil},
		{"ip6:ipv6-icmp", "::1", nil},
		{"ip:1", "127.0.0.1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			type sock struct {
				ctrlNet, ctrlAddr             string
				family, sotype, proto, v6only int
			}
			var got sock
			calls := 0
			nd := net.Dialer{LocalAddr: tt.laddr, Control: func(network, address string, c syscall.RawConn) error {
				// Only the first address counts ("[::]:1" also tries
				// 0.0.0.0, go.dev/issue/18806).
				if calls++; calls > 1 {
					return errAbort
				}
				got.ctrlNet, got.ctrlAddr = network, address
				c.Control(func(fd uintptr) {
					s := int(fd)
					got.family, _ = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_DOMAIN)
					got.sotype, _ = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_TYPE)
					got.proto, _ = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_PROTOCOL)
					got.v6only = -1
					if got.family == unix.AF_INET6 {
						got.v6only, _ = unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
					}
				})
				return errAbort
			}}
			_, err := nd.DialContext(context.Background(), tt.network, tt.address)
			if !errors.Is(err, errAbort) {
				if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EAFNOSUPPORT) {
					t.Skipf("net cannot make the socket: %v", err)
				}
				t.Fatalf("net.Dialer: %v", err)
			}

			var d Dialer
			d.Resolver = testResolver()
			addrs, err := d.resolveAddrList(context.Background(), "dial", tt.network, tt.address, tt.laddr)
			if err != nil {
				t.Fatal(err)
			}
			la, ra := dialAddrs(tt.network, tt.laddr, addrs[0])
			family, sotype, proto, ipv6only, err := socketParams(tt.network, la, ra)
			if err != nil {
				t.Fatal(err)
			}
			afnet, _, _ := parseNetwork(tt.network, true)
			want := sock{ctrlNetwork(afnet, family), ctrlAddress(la, ra), family, sotype, proto, -1}
			if family == unix.AF_INET6 {
				s, err := unix.Socket(family, sotype|unix.SOCK_CLOEXEC, proto)
				if err != nil {
					t.Fatal(err)
				}
				if err := setDefaultSockopts(s, family, sotype, ipv6only); err != nil {
					t.Fatal(err)
				}
				want.v6only, _ = unix.GetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
				unix.Close(s)
			}
			if want.proto == 0 && got.proto != 0 {
				// The kernel reports the protocol it chose for 0.
				want.proto = got.proto
			}
			if got != want {
				t.Errorf("socket %+v, net's %+v", want, got)
			}
		})
	}
}
