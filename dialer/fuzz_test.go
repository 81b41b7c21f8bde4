//go:build linux

package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The fuzz targets of this file feed the parsing and conversion code of the
// dialer with arbitrary input and compare it with net's for the same input:
// it must never panic, and its error must have the same class (nil, a
// *net.AddrError with the same text, a net.UnknownNetworkError, a
// *net.DNSError with the same fields, an *os.SyscallError for the same
// call and errno, ...) and the same text. Plain go test runs the seed
// corpus (the f.Add calls); go test -fuzz=FuzzX runs the fuzzer.
//
// Nothing leaves the machine: names go to a resolver whose Dial hook
// fails, so only /etc/hosts and /etc/services answer, and every dial is
// stopped before connect(2) by a Control function (FuzzResolveAddr) or made
// on a descriptor that cannot connect (FuzzSockaddr).

// errShape describes err's class and contents, recursively, for comparing
// ours with net's: the types net exports by name, and net's unexported
// errors ("missing address") by text.
func errShape(err error) string {
	switch e := err.(type) {
	case nil:
		return "nil"
	case *net.OpError:
		return fmt.Sprintf("OpError{%s %s src=%s addr=%s}(%s)", e.Op, e.Net, addrShape(e.Source), addrShape(e.Addr), errShape(e.Err))
	case *net.AddrError:
		return fmt.Sprintf("AddrError{%q %q}", e.Err, e.Addr)
	case net.UnknownNetworkError:
		return fmt.Sprintf("UnknownNetworkError(%q)", string(e))
	case net.InvalidAddrError:
		return fmt.Sprintf("InvalidAddrError(%q)", string(e))
	case *net.ParseError:
		return fmt.Sprintf("ParseError{%q %q}", e.Type, e.Text)
	case *net.DNSError:
		return fmt.Sprintf("DNSError{%q %q %q notfound=%v timeout=%v temporary=%v}", e.Err, e.Name, e.Server, e.IsNotFound, e.IsTimeout, e.IsTemporary)
	case *os.SyscallError:
		return fmt.Sprintf("SyscallError{%s}(%s)", e.Syscall, errShape(e.Err))
	case syscall.Errno:
		return errnoName(e)
	}
	return fmt.Sprintf("%T(%q)", err, err.Error())
}

func addrShape(a net.Addr) string {
	if a == nil {
		return "nil"
	}
	return fmt.Sprintf("%T(%s)", a, a)
}

// sameError reports every way in which ours differs from net's error.
func sameError(t *testing.T, what string, nerr, oerr error) {
	t.Helper()
	if n, o := errShape(nerr), errShape(oerr); n != o {
		t.Errorf("%s:\n\tours %s\n\tnet  %s", what, o, n)
	}
	if n, o := errText(nerr), errText(oerr); n != o {
		t.Errorf("%s: Error():\n\tours %q\n\tnet  %q", what, o, n)
	}
}

// FuzzParseNetwork checks parseNetwork's invariants, and compares the error
// of a dial of the network with an empty address with net.Dialer's: net
// parses the network first and then rejects the empty address, so neither
// makes a system call beyond reading /etc/protocols.
func FuzzParseNetwork(f *testing.F) {
	for _, network := range []string{
		"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "ip", "ip4", "ip6", "unix", "unixgram", "unixpacket",
		"ip:icmp", "ip4:1", "ip6:58", "ip6:ipv6-icmp", "ip:ICMP", "ip4:IcMp", "ip:tcp", "ip:udp", "ip4:igmp",
		"ip:0", "ip:255", "ip:256", "ip:16777215", "ip:16777216", "ip:99999999999999999999", "ip:-1", "ip:+1",
		"ip:0x1", "ip:1a", "ip:a1", "ip:", "ip::", "ip::icmp", "ip:icmp:tcp", "ip4:rsvp-e2e-ignore",
		"ip4:RSVP-E2E-IGNORE-PLUS-TEN-CHARS", "ip:ipv6-icmpxxxxxxxxxxxxxxxxxxxxxxxxx", "ip:\x00", "ip:icmp\x00",
		"tcp:80", "udp:", "unix:x", ":", ":icmp", "", "TCP", "Tcp4", "tcp ", " tcp", "tcp\x00", "ip7:1", "ipx:1",
		"ip4:icmp\n", "ip4:ＩＣＭＰ", "ip4:ıcmp", "ip:Ip",
	} {
		f.Add(network, true)
		f.Add(network, false)
	}
	f.Fuzz(func(t *testing.T, network string, needsProto bool) {
		afnet, proto, err := parseNetwork(network, needsProto)
		if err == nil {
			switch afnet {
			case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram", "unixpacket":
				if proto != 0 || afnet != network {
					t.Errorf("parseNetwork(%q) = %q, %d", network, afnet, proto)
				}
			case "ip", "ip4", "ip6":
				if proto < 0 || proto >= big || (network == afnet && needsProto) {
					t.Errorf("parseNetwork(%q, %v) = %q, %d", network, needsProto, afnet, proto)
				}
			default:
				t.Errorf("parseNetwork(%q) = %q: not a network", network, afnet)
			}
		} else {
			var ae *net.AddrError
			var ue net.UnknownNetworkError
			switch {
			case errors.As(err, &ue):
			case errors.As(err, &ae) && ae.Err == "unknown IP protocol specified":
			default:
				t.Errorf("parseNetwork(%q): error %s", network, errShape(err))
			}
		}
		if !needsProto {
			return // net's dials always ask for a protocol
		}
		_, nerr := new(net.Dialer).Dial(network, "")
		_, oerr := new(Dialer).Dial(network, "")
		sameError(t, fmt.Sprintf("Dial(%q, \"\")", network), nerr, oerr)
	})
}

// errFuzzDenied is what the Control functions of FuzzResolveAddr return:
// the dial stops before connect(2).
var errFuzzDenied = errors.New("sigdial fuzz: connect denied by Control")

// fuzzResolver answers from /etc/hosts and /etc/services only: its Dial
// hook fails, so no DNS server is ever asked.
func fuzzResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("sigdial fuzz: no DNS")
		},
	}
}

// FuzzResolveAddr resolves arbitrary (network, address) pairs with
// resolveAddrList and compares the result with net.Dialer's for the same
// input and the same resolver. net's resolution is only reachable through
// a dial, so its Dialer has a Control function that fails every attempt:
// an *net.OpError without Addr is then a resolution error (compared with
// ours, wrapped as DialContext wraps it), and one with Addr names the
// first address net resolved, which must be ours.
func FuzzResolveAddr(f *testing.F) {
	for _, s := range [][2]string{
		{"tcp", "127.0.0.1:80"}, {"tcp", "[::1]:80"}, {"tcp4", "[::1]:80"}, {"tcp6", "127.0.0.1:80"},
		{"tcp", "[::ffff:127.0.0.1]:80"}, {"tcp6", "[::ffff:127.0.0.1]:80"}, {"tcp4", "[::ffff:127.0.0.1]:80"},
		{"tcp", "localhost:80"}, {"tcp4", "localhost:80"}, {"tcp6", "localhost:80"}, {"tcp", "LOCALHOST:80"},
		{"tcp", "localhost:http"}, {"udp", "localhost:domain"}, {"tcp", "localhost:no-such-service"},
		{"tcp", "no-such-host.invalid:80"}, {"tcp", "localhost.:80"}, {"tcp", "a..b:80"}, {"tcp", ".:80"},
		{"tcp", ":80"}, {"tcp6", ":80"}, {"tcp", ":0"}, {"tcp", "0.0.0.0:0"}, {"tcp", "[::]:0"}, {"tcp", ""},
		{"tcp", "127.0.0.1"}, {"tcp", "127.0.0.1:"}, {"tcp", "127.0.0.1:65536"}, {"tcp", "127.0.0.1:-1"},
		{"tcp", "127.0.0.1:0x50"}, {"tcp", "[::1%lo]:80"}, {"tcp", "[fe80::1%lo]:80"}, {"tcp", "[fe80::1%99]:80"},
		{"tcp", "[::1"}, {"tcp", "::1]:80"}, {"tcp", "[::1]:80:80"}, {"tcp", "a:b:c"}, {"tcp", "[127.0.0.1]:80"},
		// Malformed addresses, none a valid IP: the v4-looking ones are host
		// names to net (the failing resolver hook answers), and the v6 one
		// has nine groups. Nothing is dialed.
		{"tcp", "256.1.1.1:80"}, {"tcp", "1.2.3:80"}, {"tcp", "01.2.3.4:80"}, {"tcp", "[1:2::3:4:5:6:7:8]:80"},
		{"udp", "[::1]:53"}, {"udp4", "127.0.0.1:99999"}, {"udp6", "[::1]:0"},
		{"ip", "127.0.0.1"}, {"ip", "::1"}, {"ip4:icmp", "127.0.0.1"}, {"ip4:icmp", "::1"}, {"ip6:ipv6-icmp", "::1"},
		{"ip:icmp", "localhost"}, {"ip", "127.0.0.1:80"}, {"ip:nosuchproto", "127.0.0.1"}, {"ip", ""},
		{"unix", "/tmp/sigdial-fuzz.sock"}, {"unixgram", "@abstract"}, {"unixpacket", ""}, {"unix", "\x00"},
		{"tcp7", "127.0.0.1:80"}, {"", "127.0.0.1:80"}, {"tcp", "\x00:80"}, {"tcp", "exa mple:80"},
	} {
		f.Add(s[0], s[1])
	}
	resolver := fuzzResolver()
	deny := func(context.Context, string, string, syscall.RawConn) error { return errFuzzDenied }
	f.Fuzz(func(t *testing.T, network, address string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d := &Dialer{Resolver: resolver}
		addrs, oerr := d.resolveAddrList(ctx, "dial", network, address, nil)
		if oerr == nil && len(addrs) == 0 {
			t.Fatalf("resolveAddrList(%q, %q): no error, no address", network, address)
		}
		nd := &net.Dialer{Resolver: resolver, ControlContext: deny}
		c, nerr := nd.DialContext(ctx, network, address)
		if c != nil {
			c.Close()
			t.Fatalf("net.Dialer connected to %q %q despite Control", network, address)
		}
		var op *net.OpError
		if !errors.As(nerr, &op) {
			t.Fatalf("net.Dialer: %s, not a *net.OpError", errShape(nerr))
		}
		what := fmt.Sprintf("resolve %q %q", network, address)
		if op.Addr == nil {
			sameError(t, what, nerr, opError(network, nil, nil, oerr))
			return
		}
		// net resolved the address and failed at the first one.
		if oerr != nil {
			t.Errorf("%s: ours %s; net resolved it (%s)", what, errShape(oerr), errShape(nerr))
			return
		}
		if n, o := addrShape(op.Addr), addrShape(addrs[0]); n != o {
			t.Errorf("%s: first address: ours %s, net's %s", what, o, n)
		}
	})
}

// FuzzSockaddr checks the conversions between net.Addr and unix.Sockaddr:
// sockaddr and sockaddrToAddr are inverse (the address comes back with the
// family's IP form, and a second round trip changes nothing, zones
// included), their errors are net's, and DialTCP, DialUDP and DialUnix
// with the same address fail as net.Dialer's do. For that comparison both
// dialers get a Control function that swaps an O_PATH descriptor in for
// the socket (swapFD): bind(2) and connect(2) then fail with EBADF, after
// every conversion has run, and nothing is sent.
func FuzzSockaddr(f *testing.F) {
	const (
		kTCP = iota
		kUDP
		kIP
		kUnix
	)
	v4, v6, mapped := []byte{127, 0, 0, 1}, net.IPv6loopback, net.IPv4(127, 0, 0, 1)
	long := strings.Repeat("x", 200)
	for _, s := range []struct {
		kind       uint8
		ip         []byte
		port       int
		zone, name string
		v6         bool
	}{
		{kTCP, v4, 80, "", "", false}, {kTCP, v4, 80, "", "", true}, {kTCP, mapped, 80, "", "", false},
		{kTCP, v6, 80, "", "", false}, {kTCP, v6, 80, "", "", true}, {kTCP, nil, 0, "", "", false},
		{kTCP, nil, 0, "", "", true}, {kTCP, net.IPv4zero, 1, "", "", true}, {kTCP, net.IPv6zero, 1, "", "", false},
		{kTCP | 4, v6, 80, "", "", false}, {kTCP | 8, v4, 80, "", "", true}, {kTCP | 8, mapped, 443, "", "", true},
		{kUDP, net.ParseIP("fe80::1"), 53, "lo", "", true}, {kUDP, net.ParseIP("fe80::1"), 53, "1", "", true},
		{kUDP, net.ParseIP("fe80::1"), 53, "999", "", true}, {kUDP, net.ParseIP("fe80::1"), 53, "no-such-if", "", true},
		{kUDP, net.ParseIP("fe80::1"), 53, "99999999999", "", true}, {kUDP, net.ParseIP("fe80::1"), 53, "07", "", true},
		{kUDP, v4, -1, "", "", false}, {kUDP, v4, 65536, "", "", false}, {kUDP | 4, v4, 1 << 30, "", "", false},
		{kIP, []byte{1, 2, 3, 4, 5}, 0, "", "", false}, {kIP, []byte{1, 2, 3, 4, 5}, 0, "", "", true},
		{kIP, []byte{1}, 0, "", "", true}, {kIP, v6, 0, "lo", "", true}, {kIP, v4, 0, "", "", false},
		{kUnix, nil, 0, "", "/tmp/sigdial-fuzz.sock", false}, {kUnix, nil, 1, "", "@abstract", false},
		{kUnix, nil, 2, "", "", false}, {kUnix, nil, 0, "", "", false}, {kUnix, nil, 0, "", long, false},
		{kUnix, nil, 0, "", long[:107], false}, {kUnix, nil, 0, "", long[:108], false}, {kUnix, nil, 0, "", "@" + long[:107], false},
		{kUnix, nil, 1, "", "\x00" + long[:107], false}, {kUnix, nil, 2, "", "@" + long[:108], false},
		{kUnix, nil, 1, "", "\x00", false}, {kUnix | 4, nil, 2, "", "rel/path", false},
	} {
		f.Add(s.kind, s.ip, s.port, s.zone, s.name, s.v6)
	}
	r := errnoReactor(f)
	ctl := swapFD(func() (int, error) { return unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0) })
	unixNets := [...]string{"unix", "unixgram", "unixpacket"}
	f.Fuzz(func(t *testing.T, kind uint8, ip []byte, port int, zone, name string, v6 bool) {
		family, sotype := unix.AF_INET, 0
		if v6 {
			family = unix.AF_INET6
		}
		var a net.Addr
		switch kind % 4 {
		case kTCP:
			a, sotype = &net.TCPAddr{IP: ip, Port: port, Zone: zone}, unix.SOCK_STREAM
		case kUDP:
			a, sotype = &net.UDPAddr{IP: ip, Port: port, Zone: zone}, unix.SOCK_DGRAM
		case kIP:
			a, sotype = &net.IPAddr{IP: ip, Zone: zone}, unix.SOCK_RAW
		case kUnix:
			n := unixNets[uint(port)%3]
			a, family = &net.UnixAddr{Name: name, Net: n}, unix.AF_UNIX
			sotype = map[string]int{"unix": unix.SOCK_STREAM, "unixgram": unix.SOCK_DGRAM, "unixpacket": unix.SOCK_SEQPACKET}[n]
		}
		roundTrip(t, a, family, sotype)

		// The same address through the typed dial methods, ours and net's.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ours := &Dialer{Reactor: r, Control: ctl}
		theirs := &net.Dialer{Control: ctl}
		var nerr, oerr error
		var what string
		switch kind % 4 {
		case kTCP, kUDP:
			addr, ok := netip.AddrFromSlice(ip)
			if !ok && len(ip) != 0 {
				return // not representable as a netip.Addr, which DialTCP takes
			}
			ap := netip.AddrPortFrom(addr.WithZone(zone), uint16(port))
			network := [...]string{"tcp", "tcp4", "tcp6"}[uint(kind/4)%3]
			dial := theirs.DialTCP
			dialOurs := ours.DialTCP
			if kind%4 == kUDP {
				network = "udp" + network[3:]
				dial = func(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error) {
					_, err := theirs.DialUDP(ctx, network, laddr, raddr)
					return nil, err
				}
				dialOurs = func(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error) {
					_, err := ours.DialUDP(ctx, network, laddr, raddr)
					return nil, err
				}
			}
			// As the local address, to a remote one every family can
			// take (an IPv4-mapped one for IPv6 sockets): net converts
			// it after Control, then binds.
			other := netip.MustParseAddrPort("127.0.0.1:9")
			what = fmt.Sprintf("dial %q from %v", network, ap)
			_, nerr = dial(ctx, network, ap, other)
			_, oerr = dialOurs(ctx, network, ap, other)
			mustFail(t, what, nerr, oerr)
			sameError(t, what, nerr, oerr)

			// As the remote address, from the zero local address,
			// which both bind as a wildcard. net converts the remote
			// address after that bind, which fails on the O_PATH
			// descriptor; this package converts both before it makes
			// the socket, so it reports a bad remote address instead.
			// (With a real socket the bind succeeds and net reports
			// the same *net.AddrError; only a failing bind, say of a
			// port in use, shows the difference in order.)
			what = fmt.Sprintf("dial %q to %v", network, ap)
			_, nerr = dial(ctx, network, netip.AddrPort{}, ap)
			_, oerr = dialOurs(ctx, network, netip.AddrPort{}, ap)
			mustFail(t, what, nerr, oerr)
			var ae *net.AddrError
			if errors.As(oerr, &ae) && errors.Is(nerr, unix.EBADF) && strings.Contains(nerr.Error(), ": bind: ") {
				return
			}
			sameError(t, what, nerr, oerr)
		case kUnix:
			ua := a.(*net.UnixAddr)
			what = fmt.Sprintf("DialUnix(%q, %q)", ua.Net, ua.Name)
			_, nerr = theirs.DialUnix(ctx, ua.Net, nil, ua)
			_, oerr = ours.DialUnix(ctx, ua.Net, nil, ua)
			mustFail(t, what, nerr, oerr)
			sameError(t, what, nerr, oerr)

			// As the local address, to a remote one that is never
			// reached: bind(2) fails on the O_PATH descriptor, or the
			// name does not fit, or (an empty name, nothing to bind)
			// connect(2) fails.
			other := &net.UnixAddr{Name: "@sigdial-fuzz-peer", Net: ua.Net}
			what = fmt.Sprintf("DialUnix(%q) from %q", ua.Net, ua.Name)
			_, nerr = theirs.DialUnix(ctx, ua.Net, ua, other)
			_, oerr = ours.DialUnix(ctx, ua.Net, ua, other)
			mustFail(t, what, nerr, oerr)
			sameError(t, what, nerr, oerr)
		}
	})
}

func mustFail(t *testing.T, what string, nerr, oerr error) {
	t.Helper()
	if nerr == nil || oerr == nil {
		t.Fatalf("%s connected on an O_PATH descriptor: net %v, ours %v", what, nerr, oerr)
	}
}

// fullAbstractName returns an abstract unix socket name that fills all 108
// bytes of sun_path (the leading '@' included), unique to this process and
// tag.
func fullAbstractName(tag string) string {
	name := "@sigdial-" + strconv.Itoa(os.Getpid()) + "-" + tag + "-"
	return name + strings.Repeat("x", len(unix.RawSockaddrUnix{}.Path)-len(name))
}

// TestUnixFullLengthAbstract dials an abstract unix address whose name
// fills all 108 bytes of sun_path, a difference from net.Dialer that
// FuzzSockaddr found. The standard library's syscall package accepts such
// a name (Go issue 21965); golang.org/x/sys/unix rejects any name of 108
// bytes with EINVAL before the system call, so the reactor's default
// connect and bind hooks pass this case to syscall (internal/hook). Both
// spellings of the name ('@' and a leading NUL) are dialed, by net.Dialer
// and by this package, and a refused connect must fail as net's does.
func TestUnixFullLengthAbstract(t *testing.T) {
	name := fullAbstractName("connect")
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Skipf("listen on a 108-byte abstract name: %v", err)
	}
	defer ln.Close()
	d := &Dialer{Reactor: errnoReactor(t)}
	for _, addr := range []string{name, "\x00" + name[1:]} {
		nc, err := new(net.Dialer).Dial("unix", addr)
		if err != nil {
			t.Fatalf("net.Dialer.Dial(%q): %v", addr, err)
		}
		nc.Close()
		c, err := d.Dial("unix", addr)
		if err != nil {
			t.Fatalf("Dial(%q): %v, net.Dialer connected", addr, err)
		}
		if n, o := addrShape(nc.RemoteAddr()), addrShape(c.RemoteAddr()); n != o {
			t.Errorf("Dial(%q): RemoteAddr %s, net's %s", addr, o, n)
		}
		c.Close()
	}

	ln.Close()
	what := fmt.Sprintf("Dial(%q) with no listener", name)
	_, nerr := new(net.Dialer).Dial("unix", name)
	_, oerr := d.Dial("unix", name)
	if nerr == nil || oerr == nil {
		t.Fatalf("%s connected: net %v, ours %v", what, nerr, oerr)
	}
	sameError(t, what, nerr, oerr)
}

// TestUnixFullLengthAbstractLocalAddr binds a dial to an abstract unix
// address whose name fills all 108 bytes of sun_path (the case of
// TestUnixFullLengthAbstract, for bind(2)), as net.Dialer does: the peer
// sees the name, and binding a name in use fails as net's bind does.
func TestUnixFullLengthAbstractLocalAddr(t *testing.T) {
	r := errnoReactor(t)
	for _, network := range []string{"unix", "unixgram", "unixpacket"} {
		t.Run(network, func(t *testing.T) {
			peer := &net.UnixAddr{Name: "@sigdial-" + strconv.Itoa(os.Getpid()) + "-" + network + "-peer", Net: network}
			var accept func() (net.Addr, error)
			if network == "unixgram" {
				pc, err := net.ListenUnixgram(network, peer)
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				accept = func() (net.Addr, error) {
					pc.SetReadDeadline(time.Now().Add(10 * time.Second))
					_, from, err := pc.ReadFrom(make([]byte, 1))
					return from, err
				}
			} else {
				ln, err := net.ListenUnix(network, peer)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				accept = func() (net.Addr, error) {
					ln.SetDeadline(time.Now().Add(10 * time.Second))
					c, err := ln.Accept()
					if err != nil {
						return nil, err
					}
					defer c.Close()
					return c.RemoteAddr(), nil
				}
			}
			for _, side := range []string{"net", "ours"} {
				local := &net.UnixAddr{Name: fullAbstractName(network + "-" + side), Net: network}
				var c net.Conn
				var err error
				if side == "net" {
					c, err = (&net.Dialer{LocalAddr: local}).Dial(network, peer.Name)
				} else {
					c, err = (&Dialer{Reactor: r, LocalAddr: local}).Dial(network, peer.Name)
				}
				if err != nil {
					if side == "net" {
						t.Skipf("net.Dialer from a 108-byte abstract name: %v", err)
					}
					t.Fatalf("Dial from %q: %v, net.Dialer connected", local.Name, err)
				}
				defer c.Close()
				if got := c.LocalAddr(); addrShape(got) != addrShape(local) {
					t.Errorf("%s: LocalAddr %s, want %s", side, addrShape(got), addrShape(local))
				}
				if _, err := c.Write([]byte{1}); err != nil {
					t.Fatalf("%s: Write: %v", side, err)
				}
				from, err := accept()
				if err != nil {
					t.Fatalf("%s: at the peer: %v", side, err)
				}
				if from == nil || from.String() != local.Name {
					t.Errorf("%s: the peer sees %v, want %q", side, from, local.Name)
				}
			}

			// A name in use: bind(2) fails with EADDRINUSE. The holder
			// has the dial's socket type: Linux lets a socket of
			// another type bind an abstract name already in use.
			busy := &net.UnixAddr{Name: fullAbstractName(network + "-busy"), Net: network}
			sotype := map[string]int{"unix": unix.SOCK_STREAM, "unixgram": unix.SOCK_DGRAM, "unixpacket": unix.SOCK_SEQPACKET}[network]
			s, err := unix.Socket(unix.AF_UNIX, sotype|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(s)
			if err := syscall.Bind(s, &syscall.SockaddrUnix{Name: busy.Name}); err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("Dial(%q, %q) from %q, in use", network, peer.Name, busy.Name)
			nc, nerr := (&net.Dialer{LocalAddr: busy}).Dial(network, peer.Name)
			oc, oerr := (&Dialer{Reactor: r, LocalAddr: busy}).Dial(network, peer.Name)
			for _, c := range []net.Conn{nc, oc} {
				if c != nil {
					c.Close()
				}
			}
			if nerr == nil || oerr == nil {
				t.Fatalf("%s connected: net %v, ours %v", what, nerr, oerr)
			}
			sameError(t, what, nerr, oerr)
		})
	}
}

// roundTrip converts a to a socket address of family and back, and checks
// the result.
func roundTrip(t *testing.T, a net.Addr, family, sotype int) {
	t.Helper()
	sa, err := sockaddr(a, family)
	var ip net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.IP
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	// What net's ipToSockaddr accepts, and the IP it puts in.
	var wantIP net.IP
	wantErr := ""
	switch family {
	case unix.AF_INET:
		switch {
		case len(ip) == 0:
			wantIP = net.IPv4zero.To4()
		case ip.To4() == nil:
			wantErr = "non-IPv4 address"
		default:
			wantIP = ip.To4()
		}
	case unix.AF_INET6:
		switch {
		case len(ip) == 0 || ip.Equal(net.IPv4zero):
			wantIP = net.IPv6zero
		case ip.To16() == nil:
			wantErr = "non-IPv6 address"
		default:
			wantIP = ip.To16()
		}
	}
	if wantErr != "" || err != nil {
		var ae *net.AddrError
		if !errors.As(err, &ae) || ae.Err != wantErr || ae.Addr != ip.String() {
			t.Errorf("sockaddr(%s, %d): %s, want AddrError{%q %q}", addrShape(a), family, errShape(err), wantErr, ip.String())
		}
		return
	}
	back := sockaddrToAddr(sotype, sa)
	if back == nil {
		t.Fatalf("sockaddrToAddr(%d, %#v) = nil", sotype, sa)
	}
	switch b := back.(type) {
	case *net.TCPAddr:
		if !b.IP.Equal(wantIP) || len(b.IP) != len(wantIP) || b.Port != a.(*net.TCPAddr).Port {
			t.Errorf("%s came back as %s, want IP %v", addrShape(a), addrShape(b), wantIP)
		}
	case *net.UDPAddr:
		if !b.IP.Equal(wantIP) || len(b.IP) != len(wantIP) || b.Port != a.(*net.UDPAddr).Port {
			t.Errorf("%s came back as %s, want IP %v", addrShape(a), addrShape(b), wantIP)
		}
	case *net.IPAddr:
		if !b.IP.Equal(wantIP) || len(b.IP) != len(wantIP) {
			t.Errorf("%s came back as %s, want IP %v", addrShape(a), addrShape(b), wantIP)
		}
	case *net.UnixAddr:
		ua := a.(*net.UnixAddr)
		if b.Name != ua.Name || b.Net != ua.Net {
			t.Errorf("%s came back as %s (%s)", addrShape(a), addrShape(b), b.Net)
		}
	}
	// A second round trip changes nothing. For IPv6 that includes the
	// zone: it became a scope id, came back as the interface's name (or
	// the number), and converts to the same scope id again.
	sa2, err := sockaddr(back, family)
	if err != nil || sockaddrKey(sa2) != sockaddrKey(sa) {
		t.Errorf("second round trip of %s (back as %s): %s, %v; first %s", addrShape(a), addrShape(back), sockaddrKey(sa2), err, sockaddrKey(sa))
	}
}

// sockaddrKey renders the exported fields of a socket address.
func sockaddrKey(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return fmt.Sprintf("inet4{%v %d}", sa.Addr, sa.Port)
	case *unix.SockaddrInet6:
		return fmt.Sprintf("inet6{%v %d %d}", sa.Addr, sa.Port, sa.ZoneId)
	case *unix.SockaddrUnix:
		return fmt.Sprintf("unix{%q}", sa.Name)
	}
	return fmt.Sprintf("%T", sa)
}
