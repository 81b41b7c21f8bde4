// sigdial-helper-tests

package dialer

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sigdial/sigdial/internal/faults"
)

// testHosts is what the fake DNS server knows.
var testHosts = map[string][]string{
	"dual.test":    {"::1", "127.0.0.1"},
	"dual4.test":   {"127.0.0.1", "::1"},
	"multi4.test":  {"127.0.0.1", "127.0.0.2", "127.0.0.3"},
	"mixed.test":   {"127.0.0.1", "::1", "127.0.0.2", "::2"},
	"v4.test":      {"127.0.0.1"},
	"v6.test":      {"::1"},
	"unspec6.test": {"::"},
}

// resolveCase is one address to resolve with a Dialer's settings.
type resolveCase struct {
	network, address string
	laddr            net.Addr
	res              string // resolver: "fake" (default) or "error"
}

func (rc resolveCase) newResolver(t *testing.T) *net.Resolver {
	if rc.res == "error" {
		return testResolver()
	}
	r, _ := fakeResolver(t, testHosts)
	return r
}

// TestResolveAddrListMatchesNet resolves with resolveAddrList and lets
// net.Dialer resolve the same address; net's addresses are seen through
// Control, which aborts every attempt, so nothing is connected.
func TestResolveAddrListMatchesNet(t *testing.T) {
	for _, tt := range []resolveCase{
		{network: "tcp", address: "127.0.0.1:80"},
		{network: "tcp", address: "[::1]:80"},
		{network: "tcp", address: "[::ffff:127.0.0.1]:80"},
		{network: "tcp", address: ":80"},
		{network: "tcp", address: "[::]:80"},
		{network: "tcp", address: "0.0.0.0:80"},
		{network: "tcp", address: "127.0.0.1:http"},
		{network: "tcp", address: "127.0.0.1:"},
		{network: "tcp", address: "localhost:80"},
		{network: "tcp", address: "dual.test:80"},
		{network: "tcp", address: "DUAL.test:80"},
		{network: "tcp", address: "dual4.test:80"},
		{network: "tcp", address: "mixed.test:80"},
		{network: "tcp", address: "multi4.test:80"},
		{network: "tcp4", address: "dual.test:80"},
		{network: "tcp6", address: "dual.test:80"},
		{network: "tcp6", address: "unspec6.test:80"},
		{network: "tcp", address: "unspec6.test:80"},
		{network: "tcp", address: "[fe80::1%lo]:80"},
		{network: "tcp", address: "[fe80::1%1]:80"},
		{network: "udp", address: "dual.test:53"},
		{network: "udp4", address: "dual.test:domain"},
		{network: "udp6", address: "[::1]:53"},
		{network: "tcp", address: "dual.test:80", laddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{network: "tcp", address: "dual.test:80", laddr: &net.TCPAddr{IP: net.IPv6loopback}},
		{network: "tcp", address: "dual.test:80", laddr: &net.TCPAddr{}},
		{network: "tcp", address: "dual.test:80", laddr: &net.TCPAddr{IP: net.IPv6unspecified}},
		{network: "udp", address: "mixed.test:80", laddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{network: "unix", address: "/nonexistent/sigdial"},
		{network: "unixgram", address: "@sigdial-abstract"},
		{network: "ip4:icmp", address: "127.0.0.1"},
		{network: "ip6:58", address: "dual.test"},
		{network: "ip:1", address: "mixed.test"},
	} {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			r := tt.newResolver(t)
			var netAddrs []string
			nd := net.Dialer{Resolver: r, LocalAddr: tt.laddr, Control: func(network, address string, c syscall.RawConn) error {
				netAddrs = append(netAddrs, address)
				return errAbort
			}}
			_, err := nd.DialContext(context.Background(), tt.network, tt.address)
			if !errors.Is(err, errAbort) {
				if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
					t.Skipf("net cannot make the socket: %v", err)
				}
				t.Fatalf("net.Dialer: %v", err)
			}
			d := Dialer{Resolver: r}
			addrs, err := d.resolveAddrList(context.Background(), "dial", tt.network, tt.address, tt.laddr)
			if err != nil {
				t.Fatalf("resolveAddrList: %v", err)
			}
			// net tries the primaries, then (Happy Eyeballs, "tcp"
			// only) the fallbacks, each aborted by Control.
			var ours []string
			primaries, fallbacks := addrs, addrList(nil)
			if tt.network == "tcp" {
				primaries, fallbacks = addrs.partition(isIPv4)
			}
			for _, a := range append(primaries, fallbacks...) {
				ours = append(ours, a.String())
			}
			if !reflect.DeepEqual(ours, netAddrs) {
				t.Errorf("addresses %q, net's %q", ours, netAddrs)
			}
			want := tt.network
			switch {
			case strings.HasPrefix(want, "tcp"):
				want = "tcp"
			case strings.HasPrefix(want, "udp"):
				want = "udp"
			case strings.HasPrefix(want, "ip"):
				want = "ip"
			}
			for _, a := range addrs {
				if a.Network() != want {
					t.Errorf("%v: network %q, want %q", a, a.Network(), want)
				}
			}
		})
	}
}

// TestResolveAddrListErrorsMatchNet compares resolution errors, as
// net.Dialer returns them (wrapped in an OpError without addresses).
func TestResolveAddrListErrorsMatchNet(t *testing.T) {
	for _, tt := range []resolveCase{
		{network: "tcp", address: ""},
		{network: "unix", address: ""},
		{network: "tcp7", address: "127.0.0.1:80"},
		{network: "ip", address: "127.0.0.1"},
		{network: "ip4:nosuchproto", address: "127.0.0.1"},
		{network: "tcp", address: "127.0.0.1"},
		{network: "tcp", address: "127.0.0.1:99999"},
		{network: "tcp", address: "127.0.0.1:-1"},
		{network: "tcp", address: "127.0.0.1:nosuchservice"},
		{network: "udp", address: "127.0.0.1:nosuchservice"},
		{network: "tcp", address: "[::1:80"},
		{network: "tcp", address: "[::1]]:80"},
		{network: "tcp", address: "::1:80"},
		{network: "tcp", address: "[::1]80"},
		{network: "tcp", address: "[[::1]]:80"},
		// Not IP addresses (five parts; an octet over 255): they are host
		// names to net, and go to the test resolver, which never sends.
		{network: "tcp", address: "1.2.3.4.5:80"},
		{network: "tcp", address: "256.0.0.1:80"},
		{network: "tcp4", address: "[::1]:80"},
		{network: "tcp6", address: "127.0.0.1:80"},
		{network: "tcp4", address: "v6.test:80"},
		{network: "tcp6", address: "v4.test:80"},
		{network: "tcp6", address: "localhost:80"},
		{network: "tcp", address: "local host:80"},
		{network: "tcp", address: "nosuch.test:80"},
		{network: "ip4", address: "nosuch.test"},
		{network: "tcp", address: "no-such-host.invalid:80", res: "error"},
		{network: "tcp4", address: "no-such-host.invalid:80", res: "error"},
		{network: "tcp", address: "x.onion:80"},
		{network: "tcp", address: "127.0.0.1:80", laddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{network: "tcp", address: "127.0.0.1:80", laddr: &net.UnixAddr{Name: "x", Net: "unix"}},
		{network: "tcp", address: "127.0.0.1:80", laddr: &net.TCPAddr{IP: net.IPv6loopback}},
		{network: "tcp", address: "[::1]:80", laddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}},
		{network: "tcp", address: "v6.test:80", laddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}},
		{network: "tcp", address: "127.0.0.1:80", laddr: (*net.UDPAddr)(nil)},
		{network: "unix", address: "/x", laddr: &net.UnixAddr{Name: "y", Net: "unixgram"}},
		{network: "unix", address: "/x", laddr: &net.TCPAddr{}},
		{network: "ip4:1", address: "::1"},
	} {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			r := tt.newResolver(t)
			nd := net.Dialer{Resolver: r, LocalAddr: tt.laddr, Control: func(string, string, syscall.RawConn) error {
				return errAbort
			}}
			_, nerr := nd.DialContext(context.Background(), tt.network, tt.address)
			if errors.Is(nerr, errAbort) {
				t.Fatalf("net resolved it")
			}
			d := Dialer{Resolver: r}
			_, err := d.resolveAddrList(context.Background(), "dial", tt.network, tt.address, tt.laddr)
			if err == nil {
				t.Fatalf("resolveAddrList: no error; net: %v", nerr)
			}
			compareErr(t, nerr, opError(tt.network, nil, nil, err), cmpOpts{})
		})
	}
}

// TestResolveCanceledMatchesNet compares the DNSError of a lookup whose
// context is already done.
func TestResolveCanceledMatchesNet(t *testing.T) {
	for _, network := range []string{"tcp", "tcp4"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, _ := fakeResolver(t, testHosts)
		_, nerr := (&net.Dialer{Resolver: r}).DialContext(ctx, network, "dual.test:80")
		d := Dialer{Resolver: r}
		_, err := d.resolveAddrList(ctx, "dial", network, "dual.test:80", nil)
		compareErr(t, nerr, opError(network, nil, nil, err), cmpOpts{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v is not context.Canceled", network, err)
		}
	}
}

// TestResolveHidesConnectTrace checks that resolution keeps httptrace's DNS
// hooks and hides its connect hooks from the resolver's own dials, as
// net.Dialer does.
func TestResolveHidesConnectTrace(t *testing.T) {
	run := func(resolve func(ctx context.Context, r *net.Resolver)) (events []string) {
		r, _ := fakeResolver(t, testHosts)
		// The fake server is reached through net.Dialer-like hooks only
		// when the resolver dials; make it dial through a real
		// net.Dialer to loopback instead, so that connect hooks would
		// fire: a DNS "server" that refuses.
		refused := faults.RefusedAddr(t).String()
		r.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", refused)
		}
		trace := &httptrace.ClientTrace{
			DNSStart:     func(httptrace.DNSStartInfo) { events = append(events, "DNSStart") },
			DNSDone:      func(httptrace.DNSDoneInfo) { events = append(events, "DNSDone") },
			ConnectStart: func(network, addr string) { events = append(events, "ConnectStart "+network) },
			ConnectDone:  func(network, addr string, err error) { events = append(events, "ConnectDone "+network) },
		}
		resolve(httptrace.WithClientTrace(context.Background(), trace), r)
		return events
	}
	netEvents := run(func(ctx context.Context, r *net.Resolver) {
		nd := net.Dialer{Resolver: r}
		nd.DialContext(ctx, "tcp", "dual.test:80")
	})
	ourEvents := run(func(ctx context.Context, r *net.Resolver) {
		d := Dialer{Resolver: r}
		d.resolveAddrList(ctx, "dial", "tcp", "dual.test:80", nil)
	})
	if strings.Join(ourEvents, ",") != strings.Join(netEvents, ",") {
		t.Errorf("trace events %q, net's %q", ourEvents, netEvents)
	}
	if len(ourEvents) == 0 || ourEvents[0] != "DNSStart" {
		t.Errorf("DNS hooks did not run: %q", ourEvents)
	}
	for _, e := range ourEvents {
		if strings.HasPrefix(e, "Connect") {
			t.Errorf("connect hook ran during resolution: %q", ourEvents)
		}
	}
	// Without a trace the context is returned as it is.
	ctx := context.Background()
	if shadowConnectTrace(ctx) != ctx {
		t.Errorf("shadowConnectTrace wrapped a context without a trace")
	}
}

func TestPartitionFirstForResolve(t *testing.T) {
	a := func(s string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(s)} }
	list := addrList{a("::1"), a("127.0.0.1"), a("::2"), a("127.0.0.2")}
	p, f := list.partition(isIPv4)
	if len(p) != 2 || len(f) != 2 || p[0] != list[0] || p[1] != list[2] || f[0] != list[1] {
		t.Errorf("partition: %v %v", p, f)
	}
	if list.first(isIPv4) != list[1] || list.first(isNotIPv4) != list[0] {
		t.Errorf("first: wrong address")
	}
	if list.forResolve("tcp", "[::1]:80") != list[0] || list.forResolve("tcp", "host:80") != list[1] || list.forResolve("ip", "::1") != list[0] {
		t.Errorf("forResolve: wrong address")
	}
	only6 := addrList{a("::1")}
	if only6.first(isIPv4) != only6[0] {
		t.Errorf("first: no fallback to the first address")
	}
}
