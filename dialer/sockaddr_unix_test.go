//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"
	"errors"
	"net"
	"reflect"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSockaddr(t *testing.T) {
	lo := loopbackInterface(t)
	v4 := [4]byte{127, 0, 0, 1}
	mapped := [16]byte{10: 0xff, 11: 0xff, 12: 127, 15: 1}
	v6 := [16]byte{15: 1}
	ll := [16]byte{0: 0xfe, 1: 0x80, 15: 1}
	tests := []struct {
		name   string
		addr   net.Addr
		family int
		want   unix.Sockaddr
		err    string
		back   net.Addr // sockaddrToAddr(sotype, want); nil: skip
		sotype int
	}{
		{"nil", nil, unix.AF_INET, nil, "", nil, 0},
		{"nil TCPAddr", (*net.TCPAddr)(nil), unix.AF_INET, nil, "", nil, 0},
		{"nil UDPAddr", (*net.UDPAddr)(nil), unix.AF_INET6, nil, "", nil, 0},
		{"nil IPAddr", (*net.IPAddr)(nil), unix.AF_INET, nil, "", nil, 0},
		{"nil UnixAddr", (*net.UnixAddr)(nil), unix.AF_UNIX, nil, "", nil, 0},
		{"tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, unix.AF_INET,
			&unix.SockaddrInet4{Addr: v4, Port: 80}, "",
			&net.TCPAddr{IP: net.IP(v4[:]), Port: 80}, unix.SOCK_STREAM},
		{"tcp4 4-byte IP", &net.TCPAddr{IP: net.IP(v4[:]), Port: 1}, unix.AF_INET,
			&unix.SockaddrInet4{Addr: v4, Port: 1}, "", nil, 0},
		{"tcp4 nil IP", &net.TCPAddr{Port: 9}, unix.AF_INET,
			&unix.SockaddrInet4{Port: 9}, "",
			&net.TCPAddr{IP: net.IPv4zero.To4(), Port: 9}, unix.SOCK_STREAM},
		{"tcp v4-mapped on AF_INET6", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: mapped, Port: 80}, "",
			&net.TCPAddr{IP: net.IP(mapped[:]), Port: 80}, unix.SOCK_STREAM},
		{"tcp 0.0.0.0 on AF_INET6", &net.TCPAddr{IP: net.IPv4zero, Port: 80}, unix.AF_INET6,
			&unix.SockaddrInet6{Port: 80}, "", nil, 0},
		{"tcp nil IP on AF_INET6", &net.TCPAddr{Port: 80}, unix.AF_INET6,
			&unix.SockaddrInet6{Port: 80}, "", nil, 0},
		{"tcp6", &net.TCPAddr{IP: net.IPv6loopback, Port: 443}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: v6, Port: 443}, "",
			&net.TCPAddr{IP: net.IP(v6[:]), Port: 443}, unix.SOCK_STREAM},
		{"tcp6 zone name", &net.TCPAddr{IP: net.IP(ll[:]), Port: 1, Zone: lo.Name}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: ll, Port: 1, ZoneId: uint32(lo.Index)}, "",
			&net.TCPAddr{IP: net.IP(ll[:]), Port: 1, Zone: lo.Name}, unix.SOCK_STREAM},
		{"tcp6 numeric zone", &net.TCPAddr{IP: net.IP(ll[:]), Port: 1, Zone: "77"}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: ll, Port: 1, ZoneId: 77}, "",
			&net.TCPAddr{IP: net.IP(ll[:]), Port: 1, Zone: "77"}, unix.SOCK_STREAM},
		{"tcp6 unknown zone", &net.TCPAddr{IP: net.IP(ll[:]), Port: 1, Zone: "nosuchzone"}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: ll, Port: 1}, "", nil, 0},
		{"tcp6 on AF_INET", &net.TCPAddr{IP: net.IPv6loopback, Port: 1}, unix.AF_INET,
			nil, "address ::1: non-IPv4 address", nil, 0},
		{"bad IP on AF_INET6", &net.TCPAddr{IP: net.IP{1, 2, 3}, Port: 1}, unix.AF_INET6,
			nil, "address ?010203: non-IPv6 address", nil, 0},
		{"tcp on AF_UNIX", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, unix.AF_UNIX,
			nil, "address 127.0.0.1: invalid address family", nil, 0},
		{"udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}, unix.AF_INET,
			&unix.SockaddrInet4{Addr: v4, Port: 53}, "",
			&net.UDPAddr{IP: net.IP(v4[:]), Port: 53}, unix.SOCK_DGRAM},
		{"udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: 53}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: v6, Port: 53}, "",
			&net.UDPAddr{IP: net.IP(v6[:]), Port: 53}, unix.SOCK_DGRAM},
		{"ip4", &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}, unix.AF_INET,
			&unix.SockaddrInet4{Addr: v4}, "",
			&net.IPAddr{IP: net.IP(v4[:])}, unix.SOCK_RAW},
		{"ip6 zone", &net.IPAddr{IP: net.IP(ll[:]), Zone: lo.Name}, unix.AF_INET6,
			&unix.SockaddrInet6{Addr: ll, ZoneId: uint32(lo.Index)}, "",
			&net.IPAddr{IP: net.IP(ll[:]), Zone: lo.Name}, unix.SOCK_RAW},
		{"unix", &net.UnixAddr{Name: "/tmp/x", Net: "unix"}, unix.AF_UNIX,
			&unix.SockaddrUnix{Name: "/tmp/x"}, "",
			&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, unix.SOCK_STREAM},
		{"unixgram", &net.UnixAddr{Name: "/tmp/x", Net: "unixgram"}, unix.AF_UNIX,
			&unix.SockaddrUnix{Name: "/tmp/x"}, "",
			&net.UnixAddr{Name: "/tmp/x", Net: "unixgram"}, unix.SOCK_DGRAM},
		{"unixpacket abstract", &net.UnixAddr{Name: "@x", Net: "unixpacket"}, unix.AF_UNIX,
			&unix.SockaddrUnix{Name: "@x"}, "",
			&net.UnixAddr{Name: "@x", Net: "unixpacket"}, unix.SOCK_SEQPACKET},
		{"unknown type", fakeAddr{}, unix.AF_INET, nil, "address fake: unexpected address type", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, err := sockaddr(tt.addr, tt.family)
			if tt.err != "" {
				var ae *net.AddrError
				if !errors.As(err, &ae) || err.Error() != tt.err {
					t.Fatalf("sockaddr: %v (%T), want *net.AddrError %q", err, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("sockaddr: %v", err)
			}
			if !reflect.DeepEqual(sa, tt.want) {
				t.Fatalf("sockaddr = %#v, want %#v", sa, tt.want)
			}
			if tt.back == nil {
				return
			}
			back := sockaddrToAddr(tt.sotype, sa)
			if !reflect.DeepEqual(back, tt.back) {
				t.Errorf("sockaddrToAddr = %#v, want %#v", back, tt.back)
			}
		})
	}
}

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }

func TestSockaddrToAddrOther(t *testing.T) {
	for _, tt := range []struct {
		sotype int
		sa     unix.Sockaddr
	}{
		{unix.SOCK_STREAM, nil},
		{unix.SOCK_SEQPACKET, &unix.SockaddrInet4{}},
		{unix.SOCK_RAW, &unix.SockaddrUnix{Name: "x"}},
	} {
		if a := sockaddrToAddr(tt.sotype, tt.sa); a != nil {
			t.Errorf("sockaddrToAddr(%d, %#v) = %#v, want a nil net.Addr", tt.sotype, tt.sa, a)
		}
	}
}

// loopbackInterface returns the loopback interface, for zone tests.
func loopbackInterface(t *testing.T) net.Interface {
	t.Helper()
	ift, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range ift {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi
		}
	}
	t.Skip("no loopback interface")
	return net.Interface{}
}

func TestSocketParamsErrors(t *testing.T) {
	for _, tt := range []struct {
		network      string
		laddr, raddr net.Addr
		err          string
	}{
		{"tcp7", nil, nil, "unknown network tcp7"},
		{"ip", nil, nil, "unknown network ip"},
		{"unix", nil, nil, "missing address"},
		{"unixpacket", &net.UnixAddr{Name: "x", Net: "unixpacket"}, nil, "missing address"},
		{"unixgram", nil, nil, "missing address"},
	} {
		if _, _, _, _, err := socketParams(tt.network, tt.laddr, tt.raddr); err == nil || err.Error() != tt.err {
			t.Errorf("socketParams(%q, %v, %v): %v, want %q", tt.network, tt.laddr, tt.raddr, err, tt.err)
		}
	}
	// A unixgram socket with a local address and no remote one is made.
	if f, st, _, _, err := socketParams("unixgram", &net.UnixAddr{Name: "x", Net: "unixgram"}, nil); err != nil || f != unix.AF_UNIX || st != unix.SOCK_DGRAM {
		t.Errorf("unixgram with laddr only: %d %d %v", f, st, err)
	}
}

func TestDialAddrs(t *testing.T) {
	ul := &net.UnixAddr{Name: "", Net: "unix"}
	ur := &net.UnixAddr{Name: "/x", Net: "unix"}
	if l, r := dialAddrs("unix", ul, ur); l != nil || r != net.Addr(ur) {
		t.Errorf("unix: %v, %v", l, r)
	}
	if l, r := dialAddrs("unixgram", (*net.UnixAddr)(nil), ul); l != nil || r != nil {
		t.Errorf("unixgram wildcards: %#v, %#v", l, r)
	}
	if l, _ := dialAddrs("tcp", (*net.TCPAddr)(nil), &net.TCPAddr{}); l != nil {
		t.Errorf("tcp nil laddr: %#v", l)
	}
}

func TestCtrlNetwork(t *testing.T) {
	for _, tt := range []struct {
		afnet  string
		family int
		want   string
	}{
		{"tcp", unix.AF_INET, "tcp4"},
		{"tcp", unix.AF_INET6, "tcp6"},
		{"tcp4", unix.AF_INET, "tcp4"},
		{"udp6", unix.AF_INET6, "udp6"},
		{"ip", unix.AF_INET, "ip4"},
		{"unixgram", unix.AF_UNIX, "unixgram"},
	} {
		if got := ctrlNetwork(tt.afnet, tt.family); got != tt.want {
			t.Errorf("ctrlNetwork(%q, %d) = %q, want %q", tt.afnet, tt.family, got, tt.want)
		}
	}
}

// TestRawConnMatchesNet compares the errors of the RawConn given to Control
// with net's, before and after the hook returns.
func TestRawConnMatchesNet(t *testing.T) {
	var netRead, netWrite, netCtl error
	var kept syscall.RawConn
	nd := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		netCtl = c.Control(func(uintptr) {})
		netRead = c.Read(func(uintptr) bool { return false })
		netWrite = c.Write(func(uintptr) bool { return false })
		kept = c
		return errAbort
	}}
	if _, err := nd.Dial("tcp", "127.0.0.1:1"); !errors.Is(err, errAbort) {
		t.Fatal(err)
	}
	fd := testSocket(t, unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(fd)
	rc := newRawConn(fd, "tcp")
	var seen int
	if err := rc.Control(func(s uintptr) { seen = int(s) }); err != netCtl || seen != fd {
		t.Errorf("Control: %v (fd %d), net's %v", err, seen, netCtl)
	}
	if err := rc.Read(func(uintptr) bool { return false }); err == nil || err.Error() != netRead.Error() {
		t.Errorf("Read: %v, net's %v", err, netRead)
	}
	if err := rc.Write(func(uintptr) bool { return false }); err == nil || err.Error() != netWrite.Error() {
		t.Errorf("Write: %v, net's %v", err, netWrite)
	}
	calls := 0
	if err := rc.Read(func(uintptr) bool { calls++; return true }); err != nil || calls != 1 {
		t.Errorf("Read with done: %v, %d calls", err, calls)
	}
	rc.invalidate()
	netAfter := kept.Control(func(uintptr) {})
	err := rc.Control(func(uintptr) { t.Error("Control called f after invalidate") })
	if !errors.Is(err, net.ErrClosed) || !errors.Is(netAfter, net.ErrClosed) || err.Error() != netAfter.Error() {
		t.Errorf("Control after the hook: %v, net's %v", err, netAfter)
	}
	if err := rc.Write(func(uintptr) bool { return true }); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after invalidate: %v", err)
	}
}

// TestDialIPNet compares dialIPNet with net.Dialer.DialContext for a raw
// IP dial (which needs privileges; without them both fail alike).
func TestDialIPNet(t *testing.T) {
	for _, tt := range []struct {
		network string
		raddr   *net.IPAddr
	}{
		{"ip4:icmp", &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{"ip:1", &net.IPAddr{IP: net.IPv4(127, 0, 0, 1).To4()}},
		{"ip6:ipv6-icmp", &net.IPAddr{IP: net.IPv6loopback}},
	} {
		var calls [2][]string
		mk := func(i int) Dialer {
			return Dialer{Control: func(network, address string, c syscall.RawConn) error {
				calls[i] = append(calls[i], network+" "+address)
				return nil
			}}
		}
		d0 := mk(0)
		nd := d0.netDialer()
		nc, nerr := nd.DialContext(context.Background(), tt.network, tt.raddr.String())
		d := mk(1)
		oc, oerr := d.dialIPNet(context.Background(), tt.network, nil, tt.raddr)
		if nerr != nil {
			var oe *net.OpError
			if !errors.As(nerr, &oe) || oerr == nil || oe.Err.Error() != oerr.Error() {
				t.Errorf("%s: error %v, net's %v", tt.network, oerr, nerr)
			}
			if oc != nil {
				oc.Close()
			}
			continue
		}
		if oerr != nil {
			nc.Close()
			t.Errorf("%s: %v", tt.network, oerr)
			continue
		}
		if a, b := addrDesc(nc.RemoteAddr()), addrDesc(oc.RemoteAddr()); a != b {
			t.Errorf("%s: RemoteAddr %s, net's %s", tt.network, b, a)
		}
		if !reflect.DeepEqual(calls[0], calls[1]) {
			t.Errorf("%s: Control calls %q, net's %q", tt.network, calls[1], calls[0])
		}
		nc.Close()
		oc.Close()
	}
}
