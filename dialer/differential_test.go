//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

// sigdial-helper-tests

package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
)

// dialAPI is the method set a drop-in shares with net.Dialer; both types
// must satisfy it, with identical signatures.
type dialAPI interface {
	Dial(network, address string) (net.Conn, error)
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error)
	DialUDP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.UDPConn, error)
	DialIP(ctx context.Context, network string, laddr, raddr netip.Addr) (*net.IPConn, error)
	DialUnix(ctx context.Context, network string, laddr, raddr *net.UnixAddr) (*net.UnixConn, error)
	MultipathTCP() bool
	SetMultipathTCP(bool)
}

var (
	_ dialAPI = (*net.Dialer)(nil)
	_ dialAPI = (*Dialer)(nil)
)

// fromNet returns a Dialer with nd's settings: every exported field of
// net.Dialer copied by name (TestDialerFields checks that they all exist),
// and the MPTCP choice.
func fromNet(nd *net.Dialer) *Dialer {
	d := new(Dialer)
	nv, dv := reflect.ValueOf(nd).Elem(), reflect.ValueOf(d).Elem()
	for f := range nv.Type().Fields() {
		if f.IsExported() {
			dv.FieldByName(f.Name).Set(nv.FieldByIndex(f.Index))
		}
	}
	d.SetMultipathTCP(nd.MultipathTCP())
	return d
}

// dialEnv holds the loopback peers the scenarios dial.
type dialEnv struct {
	tcp4, tcp6     string // served listeners; tcp6 is "" without ::1
	tcp4Port       int
	refused        string // bound, not listening: RST
	refused6       string
	pending        string // full accept queue: a connect stays pending
	udp, udpClosed string
	unix           string
	unixgram       string
	unixpacket     string
	unixMissing    string
	unixFull       string // unix listener with a full backlog: EAGAIN
	nonLocal       netip.Addr
	hePort         string              // [::1]:hePort stays pending, 127.0.0.1:hePort accepts
	hosts          map[string][]string // the fake DNS server's table
}

func newDialEnv(t *testing.T) *dialEnv {
	t.Helper()
	e := &dialEnv{}
	tcp4 := listenTCP(t, "tcp4", "127.0.0.1:0").(*net.TCPAddr)
	e.tcp4, e.tcp4Port = tcp4.String(), tcp4.Port
	if a := tryListenTCP(t, "tcp6", "[::1]:0"); a != nil {
		e.tcp6 = a.String()
		e.refused6 = faults.RefusedAddr6(t).String()
	}
	e.refused = faults.RefusedAddr(t).String()
	e.pending = faults.FullBacklog(t, "tcp4").String()
	e.udp = listenUDP(t, "udp4", "127.0.0.1:0").String()
	e.udpClosed = closedUDPAddr(t).String()
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e.unix = filepath.Join(dir, "unix")
	listenUnix(t, "unix", e.unix)
	e.unixgram = filepath.Join(dir, "unixgram")
	listenUnix(t, "unixgram", e.unixgram)
	e.unixpacket = filepath.Join(dir, "unixpacket")
	listenUnix(t, "unixpacket", e.unixpacket)
	e.unixMissing = filepath.Join(dir, "missing")
	e.unixFull = fullUnixBacklog(t, filepath.Join(dir, "full"))
	e.nonLocal = faults.NonLocalAddr(t, "tcp4")
	if e.tcp6 != "" {
		// A broken IPv6 path: ::1 swallows SYNs on a port where
		// 127.0.0.1 listens.
		p := faults.FullBacklog(t, "tcp6").Port()
		if a := tryListenTCP(t, "tcp4", fmt.Sprintf("127.0.0.1:%d", p)); a != nil {
			e.hePort = fmt.Sprint(p)
		}
	}
	// dual.test: ::1 refuses on tcp4Port (nothing listens there), 127.0.0.1
	// accepts. dual-refused.test: both refuse.
	e.hosts = map[string][]string{
		"dual.test":         {"::1", "127.0.0.1"},
		"he.test":           {"::1", "127.0.0.1"},
		"v4.test":           {"127.0.0.1"},
		"v6.test":           {"::1"},
		"pending-then.test": {"127.0.0.1", "127.0.0.2"},
		"multi.test":        {"127.0.0.3", "127.0.0.2", "127.0.0.1"},
	}
	return e
}

// fullUnixBacklog makes a unix stream listener at path with listen(fd, 0)
// and fills its queue, so that a nonblocking connect fails with EAGAIN.
func fullUnixBacklog(t *testing.T, path string) string {
	t.Helper()
	ln := testSocket(t, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	t.Cleanup(func() { unix.Close(ln) })
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatal("the unix backlog never filled")
		}
		c := testSocket(t, unix.AF_UNIX, unix.SOCK_STREAM, 0)
		unix.SetNonblock(c, true)
		err := unix.Connect(c, &unix.SockaddrUnix{Name: path})
		if err == unix.EAGAIN {
			unix.Close(c)
			return path
		}
		t.Cleanup(func() { unix.Close(c) })
		if err != nil {
			t.Fatalf("filling the unix backlog: %v", err)
		}
	}
}

// result is what one dial returned.
type result struct {
	conn    net.Conn
	err     error
	elapsed time.Duration
}

// scenario is one dial made with net.Dialer and with Dialer configured
// identically.
type scenario struct {
	name    string
	network string
	addr    func(e *dialEnv) string
	// conf configures the net.Dialer of one side ("net" or "ours");
	// ours is then built from it with fromNet.
	conf func(t *testing.T, e *dialEnv, side string, d *net.Dialer)
	// ctx makes one side's context; nil means context.Background().
	ctx func(t *testing.T, side string) (context.Context, context.CancelFunc)
	// dial makes the call; nil means DialContext(ctx, network, addr).
	dial func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error)
	opts cmpOpts
	// want is "ok" or "error": what net itself must return, so that a
	// broken fixture cannot make both sides fail alike unnoticed. "" skips
	// that check (net's answer depends on privileges).
	want string
	// check compares more, once both sides have dialed.
	check func(t *testing.T, e *dialEnv, n, o result)
	// needs6 skips the scenario without an IPv6 loopback.
	needs6 bool
}

// watchdog bounds every dial: a scenario that hangs fails instead.
const watchdog = 20 * time.Second

func runDial(t *testing.T, e *dialEnv, sc scenario, side string, d dialAPI) result {
	t.Helper()
	ctx := context.Background()
	if sc.ctx != nil {
		var cancel context.CancelFunc
		ctx, cancel = sc.ctx(t, side)
		defer cancel()
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		var r result
		if sc.dial != nil {
			r.conn, r.err = sc.dial(ctx, d, e)
		} else {
			r.conn, r.err = d.DialContext(ctx, sc.network, sc.addr(e))
		}
		r.elapsed = time.Since(start)
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil && r.conn != nil {
			t.Errorf("%s: an error (%v) with a non-nil conn %#v", side, r.err, r.conn)
		}
		return r
	case <-time.After(watchdog):
		t.Fatalf("%s: dial still running after %v", side, watchdog)
		return result{}
	}
}

// TestDifferential dials every scenario with net.Dialer, then with Dialer
// set up the same way, and compares the outcomes: the conn's type and
// addresses, or the error's text, errors.Is and errors.As answers, Timeout
// and DNSError flags (compareErr).
func TestDifferential(t *testing.T) {
	e := newDialEnv(t)
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			if sc.needs6 && e.tcp6 == "" {
				t.Skip("no IPv6 loopback")
			}
			var sides [2]result
			for i, side := range []string{"net", "ours"} {
				nd := &net.Dialer{}
				if sc.conf != nil {
					sc.conf(t, e, side, nd)
				}
				var d dialAPI = nd
				if side == "ours" {
					d = fromNet(nd)
				}
				sides[i] = runDial(t, e, sc, side, d)
			}
			n, o := sides[0], sides[1]
			defer func() {
				for _, r := range sides {
					if r.conn != nil {
						r.conn.Close()
					}
				}
			}()
			switch {
			case sc.want == "ok" && n.err != nil:
				t.Fatalf("net.Dialer failed, the fixture is broken: %v", n.err)
			case sc.want == "error" && n.err == nil:
				t.Fatalf("net.Dialer succeeded, the fixture is broken")
			}
			t.Logf("net:  %v %v (%v)", connDesc(n.conn), n.err, n.elapsed.Round(time.Millisecond))
			t.Logf("ours: %v %v (%v)", connDesc(o.conn), o.err, o.elapsed.Round(time.Millisecond))
			compareErr(t, n.err, o.err, sc.opts)
			if n.conn != nil && o.conn != nil {
				compareConns(t, n.conn, o.conn, sc.opts)
			}
			if sc.check != nil {
				sc.check(t, e, n, o)
			}
		})
	}
}

func connDesc(c net.Conn) string {
	if c == nil {
		return "<no conn>"
	}
	return fmt.Sprintf("%T %v->%v", c, c.LocalAddr(), c.RemoteAddr())
}

// compareConns compares the conn types and addresses; local ports are
// ephemeral and not compared.
func compareConns(t *testing.T, nc, oc net.Conn, opts cmpOpts) {
	t.Helper()
	if nt, ot := reflect.TypeOf(nc), reflect.TypeOf(oc); nt != ot {
		t.Errorf("conn type %v, net's %v", ot, nt)
		return
	}
	if n, o := addrDesc(nc.RemoteAddr()), addrDesc(oc.RemoteAddr()); n != o {
		t.Errorf("RemoteAddr %s, net's %s", o, n)
	}
	if n, o := reflect.TypeOf(nc.LocalAddr()), reflect.TypeOf(oc.LocalAddr()); n != o {
		t.Errorf("LocalAddr type %v, net's %v", o, n)
		return
	}
	switch n := nc.LocalAddr().(type) {
	case *net.TCPAddr:
		if o := oc.LocalAddr().(*net.TCPAddr); !n.IP.Equal(o.IP) || n.Zone != o.Zone {
			t.Errorf("LocalAddr %v, net's %v", o, n)
		}
	case *net.UDPAddr:
		if o := oc.LocalAddr().(*net.UDPAddr); !n.IP.Equal(o.IP) || n.Zone != o.Zone {
			t.Errorf("LocalAddr %v, net's %v", o, n)
		}
	default:
		if a, b := opts.norm(addrDesc(nc.LocalAddr())), opts.norm(addrDesc(oc.LocalAddr())); a != b {
			t.Errorf("LocalAddr %s, net's %s", b, a)
		}
	}
}

// recorder collects strings from hooks that may run concurrently.
type recorder struct {
	mu sync.Mutex
	m  map[string][]string
}

func (r *recorder) add(side, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string][]string)
	}
	r.m[side] = append(r.m[side], s)
}

func (r *recorder) get(side string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.m[side]...)
}

// compare fails t if the two sides recorded different things.
func (r *recorder) compare(t *testing.T, what string) {
	t.Helper()
	if n, o := r.get("net"), r.get("ours"); !reflect.DeepEqual(n, o) {
		t.Errorf("%s:\n\tours %q\n\tnet  %q", what, o, n)
	}
}

// Helpers for scenario fields.

func fixed(s string) func(*dialEnv) string { return func(*dialEnv) string { return s } }

func withTimeout(d time.Duration) func(*testing.T, string) (context.Context, context.CancelFunc) {
	return func(*testing.T, string) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), d)
	}
}

// cancelAfter cancels the context d after the dial starts; the timer is a
// trigger, not synchronisation.
func cancelAfter(d time.Duration) func(*testing.T, string) (context.Context, context.CancelFunc) {
	return func(*testing.T, string) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(d, cancel)
		return ctx, func() { timer.Stop(); cancel() }
	}
}

func canceled(*testing.T, string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx, cancel
}

// conf combines configuration functions.
func conf(fs ...func(d *net.Dialer)) func(*testing.T, *dialEnv, string, *net.Dialer) {
	return func(_ *testing.T, _ *dialEnv, _ string, d *net.Dialer) {
		for _, f := range fs {
			f(d)
		}
	}
}

// fakeDNS gives the dialer a resolver that answers from e.hosts, and
// errDNS one that fails every query: neither reaches a real DNS server.
func fakeDNSConf(t *testing.T, e *dialEnv, _ string, d *net.Dialer) {
	d.Resolver, _ = fakeResolver(t, e.hosts)
}

func errDNSConf(_ *testing.T, _ *dialEnv, _ string, d *net.Dialer) {
	d.Resolver = testResolver()
}

// both combines scenario conf functions.
func both(fs ...func(*testing.T, *dialEnv, string, *net.Dialer)) func(*testing.T, *dialEnv, string, *net.Dialer) {
	return func(t *testing.T, e *dialEnv, side string, d *net.Dialer) {
		for _, f := range fs {
			f(t, e, side, d)
		}
	}
}

// portOf returns the port of an ip:port string.
func portOf(s string) string {
	_, p, _ := net.SplitHostPort(s)
	return p
}

// errControl is what a failing Control returns.
var errControl = errors.New("control says no")

type ctxKey struct{}

func scenarios() []scenario {
	timeoutOpts := cmpOpts{timeout: true}
	controls := &recorder{}
	precedence := &recorder{}
	traces := &recorder{}
	heControls := &recorder{}
	heDelayControls := &recorder{}
	serialControls := &recorder{}
	partialControls := &recorder{}
	udpRead := func(t *testing.T, e *dialEnv, n, o result) {
		// Connected UDP to a closed port: the ICMP port unreachable
		// surfaces on the next read, as ECONNREFUSED.
		readErr := func(c net.Conn) error {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			var b [1]byte
			_, err := c.Read(b[:])
			return err
		}
		nerr, oerr := readErr(n.conn), readErr(o.conn)
		if !errors.Is(nerr, syscall.ECONNREFUSED) {
			t.Fatalf("net's read: %v, want ECONNREFUSED", nerr)
		}
		// The local ports differ.
		compareErr(t, nerr, oerr, cmpOpts{normalize: strings.NewReplacer(
			n.conn.LocalAddr().String(), "LOCAL", o.conn.LocalAddr().String(), "LOCAL").Replace})
	}
	keepAlive := func(t *testing.T, e *dialEnv, n, o result) {
		if nt, ot := readTCPOpts(t, n.conn), readTCPOpts(t, o.conn); nt != ot {
			t.Errorf("TCP options %+v, net's %+v", ot, nt)
		}
	}
	recordControl := func(r *recorder) func(*testing.T, *dialEnv, string, *net.Dialer) {
		return func(_ *testing.T, _ *dialEnv, side string, d *net.Dialer) {
			d.Control = func(network, address string, c syscall.RawConn) error {
				r.add(side, network+" "+address)
				return nil
			}
		}
	}
	compareRec := func(r *recorder, what string) func(*testing.T, *dialEnv, result, result) {
		return func(t *testing.T, _ *dialEnv, _, _ result) { r.compare(t, what) }
	}
	return []scenario{
		// Success.
		{name: "tcp", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok"},
		{name: "tcp4", network: "tcp4", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok"},
		{name: "tcp6", network: "tcp6", addr: func(e *dialEnv) string { return e.tcp6 }, want: "ok", needs6: true},
		{name: "tcp/[::1]", network: "tcp", addr: func(e *dialEnv) string { return e.tcp6 }, want: "ok", needs6: true},
		{name: "tcp/v4-mapped", network: "tcp", addr: func(e *dialEnv) string { return "[::ffff:127.0.0.1]:" + portOf(e.tcp4) }, want: "ok"},
		{name: "tcp/empty host", network: "tcp", addr: func(e *dialEnv) string { return ":" + portOf(e.tcp4) }},
		{name: "localhost", network: "tcp", addr: func(e *dialEnv) string { return "localhost:" + portOf(e.tcp4) }, conf: errDNSConf, want: "ok"},
		{name: "name via fake DNS", network: "tcp", addr: func(e *dialEnv) string { return "v4.test:" + portOf(e.tcp4) }, conf: fakeDNSConf, want: "ok"},
		{name: "zero Dialer", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) { return d.Dial("tcp", e.tcp4) }},

		// Local address.
		{name: "LocalAddr 127.0.0.2", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok",
			conf: conf(func(d *net.Dialer) { d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)} }),
			check: func(t *testing.T, _ *dialEnv, n, o result) {
				if ip := o.conn.LocalAddr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 2)) {
					t.Errorf("local IP %v, want 127.0.0.2", ip)
				}
			}},
		{name: "LocalAddr family mismatch", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error",
			conf: conf(func(d *net.Dialer) { d.LocalAddr = &net.TCPAddr{IP: net.IPv6loopback} })},
		{name: "LocalAddr wrong type", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error",
			conf: conf(func(d *net.Dialer) { d.LocalAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)} })},
		{name: "LocalAddr nil pointer", network: "tcp", addr: func(e *dialEnv) string { return e.refused }, want: "error",
			conf: conf(func(d *net.Dialer) { d.LocalAddr = (*net.TCPAddr)(nil) })},
		{name: "LocalAddr not local", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error",
			conf: func(_ *testing.T, e *dialEnv, _ string, d *net.Dialer) {
				d.LocalAddr = &net.TCPAddr{IP: e.nonLocal.AsSlice()}
			}},
		{name: "LocalAddr unix", network: "unixgram", addr: func(e *dialEnv) string { return e.unixgram }, want: "ok",
			conf: func(t *testing.T, e *dialEnv, side string, d *net.Dialer) {
				d.LocalAddr = &net.UnixAddr{Name: e.unixgram + "-" + side, Net: "unixgram"}
				t.Cleanup(func() { os.Remove(e.unixgram + "-" + side) })
			},
			opts: cmpOpts{normalize: func(s string) string { return strings.NewReplacer("-net", "-SIDE", "-ours", "-SIDE").Replace(s) }}},

		// Refused.
		{name: "refused", network: "tcp", addr: func(e *dialEnv) string { return e.refused }, want: "error"},
		{name: "refused tcp6", network: "tcp6", addr: func(e *dialEnv) string { return e.refused6 }, want: "error", needs6: true},
		{name: "refused with LocalAddr", network: "tcp", addr: func(e *dialEnv) string { return e.refused }, want: "error",
			conf: conf(func(d *net.Dialer) { d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} })},

		// Time limits.
		{name: "Timeout", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error", opts: timeoutOpts,
			conf: conf(func(d *net.Dialer) { d.Timeout = 100 * time.Millisecond })},
		{name: "Deadline", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error", opts: timeoutOpts,
			conf: conf(func(d *net.Dialer) { d.Deadline = time.Now().Add(100 * time.Millisecond) })},
		{name: "Deadline past", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error", opts: timeoutOpts,
			conf: conf(func(d *net.Dialer) { d.Deadline = time.Now().Add(-time.Second) })},
		{name: "Timeout negative", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error", opts: timeoutOpts,
			conf: conf(func(d *net.Dialer) { d.Timeout = -time.Second })},
		{name: "ctx deadline", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error", opts: timeoutOpts,
			ctx: withTimeout(100 * time.Millisecond)},
		{name: "ctx deadline and longer Timeout", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error", opts: timeoutOpts,
			ctx: withTimeout(100 * time.Millisecond), conf: conf(func(d *net.Dialer) { d.Timeout = time.Hour })},
		{name: "ctx cancel", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error",
			ctx: cancelAfter(50 * time.Millisecond)},
		{name: "ctx canceled before the call", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error",
			ctx: canceled},
		{name: "ctx canceled, name", network: "tcp", addr: func(e *dialEnv) string { return "v4.test:" + portOf(e.tcp4) }, want: "error",
			ctx: canceled, conf: fakeDNSConf},
		{name: "Cancel channel", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error",
			conf: conf(func(d *net.Dialer) {
				ch := make(chan struct{})
				time.AfterFunc(50*time.Millisecond, func() { close(ch) })
				d.Cancel = ch
			})},
		{name: "Cancel channel closed before", network: "tcp", addr: func(e *dialEnv) string { return e.pending }, want: "error",
			conf: conf(func(d *net.Dialer) {
				ch := make(chan struct{})
				close(ch)
				d.Cancel = ch
			})},
		{name: "Timeout against a refusal", network: "tcp", addr: func(e *dialEnv) string { return e.refused }, want: "error",
			conf: conf(func(d *net.Dialer) { d.Timeout = time.Second })},
		// The DNSError comes from net's resolver on both sides: the same
		// error, not the superset timeoutOpts asks for.
		{name: "resolver timeout", network: "tcp", addr: fixed("slow.test:80"), want: "error",
			conf: conf(func(d *net.Dialer) {
				d.Timeout = 100 * time.Millisecond
				d.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				}}
			})},

		// Bad input.
		{name: "unknown network", network: "tcp7", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error"},
		{name: "ip without protocol", network: "ip4", addr: fixed("127.0.0.1"), want: "error"},
		{name: "unknown IP protocol", network: "ip4:nosuchproto", addr: fixed("127.0.0.1"), want: "error"},
		{name: "missing port", network: "tcp", addr: fixed("127.0.0.1"), want: "error"},
		{name: "bad port", network: "tcp", addr: fixed("127.0.0.1:99999"), want: "error"},
		{name: "negative port", network: "tcp", addr: fixed("127.0.0.1:-1"), want: "error"},
		{name: "unknown service", network: "tcp", addr: fixed("127.0.0.1:nosuchservice"), want: "error", conf: errDNSConf},
		{name: "empty address", network: "tcp", addr: fixed(""), want: "error"},
		{name: "empty unix address", network: "unix", addr: fixed(""), want: "error"},
		{name: "malformed IPv6", network: "tcp", addr: fixed("[::1:80"), want: "error"},
		{name: "too many colons", network: "tcp", addr: fixed("::1:80"), want: "error"},
		{name: "five-part dotted quad", network: "tcp", addr: fixed("1.2.3.4.5:80"), want: "error", conf: errDNSConf},
		{name: "tcp4 with IPv6 literal", network: "tcp4", addr: fixed("[::1]:80"), want: "error"},
		{name: "tcp6 with IPv4 literal", network: "tcp6", addr: fixed("127.0.0.1:80"), want: "error"},
		{name: "spaces in host", network: "tcp", addr: fixed("local host:80"), want: "error", conf: errDNSConf},
		{name: "unknown zone", network: "tcp", addr: func(e *dialEnv) string { return "[fe80::1%nosuchzone]:" + portOf(e.tcp4) }, want: "error"},

		// Resolver.
		{name: "resolver failure", network: "tcp", addr: fixed("no-such-host.invalid:80"), want: "error", conf: errDNSConf},
		{name: "resolver failure tcp6", network: "tcp6", addr: fixed("no-such-host.invalid:80"), want: "error", conf: errDNSConf},
		{name: "NXDOMAIN", network: "tcp", addr: fixed("nosuch.test:80"), want: "error", conf: fakeDNSConf},
		{name: "name without a v4 address", network: "tcp4", addr: fixed("v6.test:80"), want: "error", conf: fakeDNSConf},

		// Control.
		{name: "Control arguments", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok",
			conf: recordControl(controls), check: compareRec(controls, "Control calls")},
		{name: "Control error", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "error",
			conf: conf(func(d *net.Dialer) {
				d.Control = func(string, string, syscall.RawConn) error { return errControl }
			})},
		{name: "ControlContext error", network: "udp", addr: func(e *dialEnv) string { return e.udp }, want: "error",
			conf: conf(func(d *net.Dialer) {
				d.ControlContext = func(context.Context, string, string, syscall.RawConn) error { return errControl }
			})},
		{name: "ControlContext precedence", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok",
			ctx: func(*testing.T, string) (context.Context, context.CancelFunc) {
				return context.WithValue(context.Background(), ctxKey{}, "v"), func() {}
			},
			conf: func(_ *testing.T, _ *dialEnv, side string, d *net.Dialer) {
				d.Control = func(network, address string, c syscall.RawConn) error {
					precedence.add(side, "Control")
					return nil
				}
				d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
					precedence.add(side, fmt.Sprintf("ControlContext %s %s value=%v", network, address, ctx.Value(ctxKey{})))
					return nil
				}
			},
			check: compareRec(precedence, "hook calls")},
		{name: "Control sees the socket", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok",
			conf: conf(func(d *net.Dialer) {
				d.Control = func(network, address string, c syscall.RawConn) error {
					var serr error
					err := c.Control(func(fd uintptr) {
						serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 65536)
					})
					return errors.Join(err, serr)
				}
			}),
			check: func(t *testing.T, _ *dialEnv, n, o result) {
				get := func(c net.Conn) (v int) {
					withFD(t, c, func(fd int) { v, _ = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF) })
					return v
				}
				if nv, ov := get(n.conn), get(o.conn); nv != ov {
					t.Errorf("SO_RCVBUF set in Control: %d, net's %d", ov, nv)
				}
			}},

		// Happy Eyeballs and several addresses (names from the fake DNS).
		{name: "Happy Eyeballs fallback", network: "tcp", addr: func(e *dialEnv) string { return "dual.test:" + portOf(e.tcp4) }, want: "ok",
			needs6: true, conf: both(fakeDNSConf, recordControl(heControls)), check: compareRec(heControls, "Control calls")},
		{name: "Happy Eyeballs after FallbackDelay", network: "tcp", addr: func(e *dialEnv) string { return "he.test:" + e.hePort }, want: "ok",
			needs6: true, conf: both(fakeDNSConf, recordControl(heDelayControls), conf(func(d *net.Dialer) { d.FallbackDelay = 100 * time.Millisecond })),
			check: func(t *testing.T, e *dialEnv, n, o result) {
				heDelayControls.compare(t, "Control calls")
				if o.elapsed < 100*time.Millisecond || o.elapsed > time.Second {
					t.Errorf("connected after %v, want about 100ms (FallbackDelay)", o.elapsed)
				}
			}},
		{name: "Happy Eyeballs both refused", network: "tcp", addr: func(e *dialEnv) string { return "dual.test:" + portOf(e.refused) }, want: "error",
			needs6: true, conf: fakeDNSConf},
		{name: "serial, FallbackDelay -1", network: "tcp", addr: func(e *dialEnv) string { return "dual.test:" + portOf(e.tcp4) }, want: "ok",
			needs6: true, conf: both(fakeDNSConf, recordControl(serialControls), conf(func(d *net.Dialer) { d.FallbackDelay = -1 })),
			check: compareRec(serialControls, "Control calls")},
		{name: "several addresses, last one answers", network: "tcp", addr: func(e *dialEnv) string { return "multi.test:" + portOf(e.tcp4) }, want: "ok",
			conf: fakeDNSConf},
		{name: "partialDeadline 2s minimum", network: "tcp", addr: func(e *dialEnv) string { return "pending-then.test:" + portOf(e.pending) }, want: "error",
			opts: timeoutOpts,
			conf: both(fakeDNSConf, recordControl(partialControls), conf(func(d *net.Dialer) { d.Timeout = 3 * time.Second })),
			check: func(t *testing.T, _ *dialEnv, n, o result) {
				partialControls.compare(t, "Control calls")
				if o.elapsed < 1900*time.Millisecond {
					t.Errorf("the first address got %v, want 2 s", o.elapsed)
				}
			}},

		// httptrace.
		{name: "httptrace", network: "tcp", addr: func(e *dialEnv) string { return "v4.test:" + portOf(e.tcp4) }, want: "ok",
			conf: fakeDNSConf, ctx: traceCtx(traces), check: compareRec(traces, "trace events")},
		{name: "httptrace refused", network: "tcp", addr: func(e *dialEnv) string { return e.refused }, want: "error",
			ctx: traceCtx(traces), check: compareRec(traces, "trace events")},

		// UDP.
		{name: "udp", network: "udp", addr: func(e *dialEnv) string { return e.udp }, want: "ok"},
		{name: "udp4", network: "udp4", addr: func(e *dialEnv) string { return e.udp }, want: "ok"},
		{name: "udp to a closed port", network: "udp", addr: func(e *dialEnv) string { return e.udpClosed }, want: "ok", check: udpRead},

		// Unix.
		{name: "unix", network: "unix", addr: func(e *dialEnv) string { return e.unix }, want: "ok"},
		{name: "unixgram", network: "unixgram", addr: func(e *dialEnv) string { return e.unixgram }, want: "ok"},
		{name: "unixpacket", network: "unixpacket", addr: func(e *dialEnv) string { return e.unixpacket }, want: "ok"},
		{name: "unix missing path", network: "unix", addr: func(e *dialEnv) string { return e.unixMissing }, want: "error"},
		{name: "unix wrong type", network: "unix", addr: func(e *dialEnv) string { return e.unixgram }, want: "error"},
		{name: "unix full backlog", network: "unix", addr: func(e *dialEnv) string { return e.unixFull }, want: "error",
			conf: conf(func(d *net.Dialer) { d.Timeout = 5 * time.Second }),
			check: func(t *testing.T, _ *dialEnv, n, o result) {
				if o.elapsed > time.Second {
					t.Errorf("EAGAIN took %v, want it at once", o.elapsed)
				}
			}},

		// IP.
		{name: "ip4:icmp", network: "ip4:icmp", addr: fixed("127.0.0.1")},
		{name: "ip4:1 to IPv6", network: "ip4:1", addr: fixed("::1"), want: "error"},

		// Keep-alive (socket options read back from both conns).
		{name: "keep-alive default", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: keepAlive},
		{name: "keep-alive -1", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: keepAlive,
			conf: conf(func(d *net.Dialer) { d.KeepAlive = -1 })},
		{name: "keep-alive 30s", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: keepAlive,
			conf: conf(func(d *net.Dialer) { d.KeepAlive = 30 * time.Second })},
		{name: "KeepAliveConfig", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: keepAlive,
			conf: conf(func(d *net.Dialer) {
				d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 3 * time.Second, Count: 4}
			})},
		{name: "KeepAliveConfig negative fields", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: keepAlive,
			conf: conf(func(d *net.Dialer) {
				d.KeepAlive = -1
				d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 2 * time.Second, Count: -1}
			})},
		{name: "MPTCP", network: "tcp", addr: func(e *dialEnv) string { return e.tcp4 }, want: "ok", check: func(t *testing.T, e *dialEnv, n, o result) {
			keepAlive(t, e, n, o)
			nm, nerr := n.conn.(*net.TCPConn).MultipathTCP()
			om, oerr := o.conn.(*net.TCPConn).MultipathTCP()
			if nm != om || (nerr == nil) != (oerr == nil) {
				t.Errorf("MultipathTCP() = %v, %v; net's %v, %v", om, oerr, nm, nerr)
			}
		}, conf: conf(func(d *net.Dialer) { d.SetMultipathTCP(true) })},

		// Typed methods (no resolution, no Happy Eyeballs, LocalAddr
		// field ignored).
		{name: "DialTCP", want: "ok", conf: conf(func(d *net.Dialer) { d.LocalAddr = &net.UDPAddr{} }),
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialTCP(ctx, "tcp", netip.AddrPort{}, netip.MustParseAddrPort(e.tcp4)))
			}},
		{name: "DialTCP with laddr", want: "ok",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialTCP(ctx, "tcp4", netip.MustParseAddrPort("127.0.0.2:0"), netip.MustParseAddrPort(e.tcp4)))
			}},
		{name: "DialTCP refused", want: "error",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialTCP(ctx, "tcp", netip.AddrPort{}, netip.MustParseAddrPort(e.refused)))
			}},
		{name: "DialTCP bad network", want: "error",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialTCP(ctx, "udp", netip.AddrPort{}, netip.MustParseAddrPort(e.tcp4)))
			}},
		{name: "DialTCP timeout", want: "error", opts: timeoutOpts, conf: conf(func(d *net.Dialer) { d.Timeout = 100 * time.Millisecond }),
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialTCP(ctx, "tcp", netip.AddrPort{}, netip.MustParseAddrPort(e.pending)))
			}},
		{name: "DialUDP", want: "ok",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialUDP(ctx, "udp", netip.AddrPort{}, netip.MustParseAddrPort(e.udp)))
			}},
		{name: "DialUDP bad network", want: "error",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialUDP(ctx, "tcp", netip.AddrPort{}, netip.MustParseAddrPort(e.udp)))
			}},
		{name: "DialUnix", want: "ok",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialUnix(ctx, "unix", nil, &net.UnixAddr{Name: e.unix, Net: "unix"}))
			}},
		{name: "DialUnix missing path", want: "error",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialUnix(ctx, "unix", nil, &net.UnixAddr{Name: e.unixMissing, Net: "unix"}))
			}},
		{name: "DialUnix nil raddr", want: "error",
			dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
				return netConn(d.DialUnix(ctx, "unix", nil, nil))
			}},
		{name: "DialIP", dial: func(ctx context.Context, d dialAPI, e *dialEnv) (net.Conn, error) {
			return netConn(d.DialIP(ctx, "ip4:icmp", netip.Addr{}, netip.MustParseAddr("127.0.0.1")))
		}},
	}
}

// netConn turns a typed dial result into (net.Conn, error) without putting
// a nil pointer into a non-nil interface.
func netConn[T net.Conn](c T, err error) (net.Conn, error) {
	if err != nil {
		if v := reflect.ValueOf(c); v.IsValid() && !v.IsNil() {
			return c, err // reported by runDial
		}
		return nil, err
	}
	return c, nil
}

// traceCtx records one side's httptrace events in r.
func traceCtx(r *recorder) func(*testing.T, string) (context.Context, context.CancelFunc) {
	return func(_ *testing.T, side string) (context.Context, context.CancelFunc) {
		errText := func(err error) string {
			if err == nil {
				return "<nil>"
			}
			return err.Error()
		}
		trace := &httptrace.ClientTrace{
			DNSStart: func(i httptrace.DNSStartInfo) { r.add(side, "DNSStart "+i.Host) },
			DNSDone: func(i httptrace.DNSDoneInfo) {
				r.add(side, fmt.Sprintf("DNSDone %v %s", i.Addrs, errText(i.Err)))
			},
			ConnectStart: func(network, addr string) { r.add(side, "ConnectStart "+network+" "+addr) },
			ConnectDone: func(network, addr string, err error) {
				r.add(side, "ConnectDone "+network+" "+addr+" "+errText(err))
			},
		}
		return httptrace.WithClientTrace(context.Background(), trace), func() {}
	}
}

// TestPackageDial compares the package functions Dial and DialTimeout with
// net's.
func TestPackageDial(t *testing.T) {
	e := newDialEnv(t)
	nc, nerr := net.Dial("tcp", e.tcp4)
	oc, oerr := Dial("tcp", e.tcp4)
	compareErr(t, nerr, oerr, cmpOpts{})
	if nc != nil && oc != nil {
		compareConns(t, nc, oc, cmpOpts{})
		nc.Close()
		oc.Close()
	}
	_, nerr = net.DialTimeout("tcp", e.pending, 50*time.Millisecond)
	_, oerr = DialTimeout("tcp", e.pending, 50*time.Millisecond)
	compareErr(t, nerr, oerr, cmpOpts{timeout: true})
}

// TestNilContextPanics checks that a nil context panics as in net.
func TestNilContextPanics(t *testing.T) {
	catch := func(d dialAPI) (v any) {
		defer func() { v = recover() }()
		var ctx context.Context // nil
		d.DialContext(ctx, "tcp", "127.0.0.1:1")
		return nil
	}
	n, o := catch(&net.Dialer{}), catch(&Dialer{})
	if fmt.Sprint(n) != fmt.Sprint(o) {
		t.Errorf("panic %v, net's %v", o, n)
	}
}

// TestLoad makes 2000 concurrent dials of mixed kinds through one Dialer
// and checks each outcome and that no descriptor is left behind.
func TestLoad(t *testing.T) {
	faults.CheckFDs(t) // first: its check runs after the env's cleanups
	e := newDialEnv(t)
	d := &Dialer{Timeout: 10 * time.Second}
	type job struct {
		network, addr string
		ok            bool
		is            error
	}
	kinds := []job{
		{"tcp", e.tcp4, true, nil},
		{"tcp", e.refused, false, syscall.ECONNREFUSED},
		{"unix", e.unix, true, nil},
		{"udp", e.udp, true, nil},
		{"unix", e.unixMissing, false, syscall.ENOENT},
		{"tcp4", "[::1]:1", false, nil},
	}
	const n = 2000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	for i := range n {
		j := kinds[i%len(kinds)]
		wg.Go(func() {
			c, err := d.DialContext(ctx, j.network, j.addr)
			switch {
			case j.ok && err != nil:
				errs <- fmt.Errorf("%s %s: %v", j.network, j.addr, err)
			case !j.ok && err == nil:
				errs <- fmt.Errorf("%s %s: connected", j.network, j.addr)
			case !j.ok && j.is != nil && !errors.Is(err, j.is):
				errs <- fmt.Errorf("%s %s: %v, want %v", j.network, j.addr, err, j.is)
			}
			if c != nil {
				c.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	count := 0
	for err := range errs {
		if count++; count <= 10 {
			t.Error(err)
		}
	}
	if count > 10 {
		t.Errorf("... and %d more", count-10)
	}
}
