//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/reactor"
)

// rawDial connects a nonblocking, close-on-exec socket as the reactor does
// and waits (with poll, at most 5 s) for the connect to finish.
func rawDial(t testing.TB, family, sotype int, sa unix.Sockaddr) int {
	t.Helper()
	fd := testSocket(t, family, sotype, 0)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	err := unix.Connect(fd, sa)
	if err == unix.EINPROGRESS {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, perr := unix.Poll(pfd, 5000); perr != nil || n != 1 {
			unix.Close(fd)
			t.Fatalf("poll: %d, %v", n, perr)
		}
		var serr int
		serr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && serr != 0 {
			err = unix.Errno(serr)
		}
	}
	if err != nil {
		unix.Close(fd)
		t.Fatalf("connect: %v", err)
	}
	return fd
}

// testSocket makes a close-on-exec socket, portably (macOS has no
// SOCK_CLOEXEC).
func testSocket(t testing.TB, family, sotype, proto int) int {
	t.Helper()
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, sotype, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Skipf("socket(%d, %d, %d): %v", family, sotype, proto, err)
	}
	return fd
}

// fdOpen reports whether fd is an open descriptor.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// peers starts one server of each kind and returns, per kind, what to dial.
type peer struct {
	network string // for net.Dialer
	addr    string
	family  int
	sotype  int
	sa      unix.Sockaddr
}

func testPeers(t *testing.T) []peer {
	t.Helper()
	var ps []peer
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	tcp4 := listenTCP(t, "tcp4", "127.0.0.1:0")
	ps = append(ps, peer{"tcp4", tcp4.String(), unix.AF_INET, unix.SOCK_STREAM,
		&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: tcp4.(*net.TCPAddr).Port}})
	if tcp6 := tryListenTCP(t, "tcp6", "[::1]:0"); tcp6 != nil {
		ps = append(ps, peer{"tcp6", tcp6.String(), unix.AF_INET6, unix.SOCK_STREAM,
			&unix.SockaddrInet6{Addr: [16]byte{15: 1}, Port: tcp6.(*net.TCPAddr).Port}})
	}
	udp := listenUDP(t, "udp4", "127.0.0.1:0")
	ps = append(ps, peer{"udp4", udp.String(), unix.AF_INET, unix.SOCK_DGRAM,
		&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: udp.(*net.UDPAddr).Port}})
	for _, network := range []string{"unix", "unixgram", "unixpacket"} {
		path := filepath.Join(dir, network)
		listenUnix(t, network, path)
		sotype := map[string]int{"unix": unix.SOCK_STREAM, "unixgram": unix.SOCK_DGRAM, "unixpacket": unix.SOCK_SEQPACKET}[network]
		ps = append(ps, peer{network, path, unix.AF_UNIX, sotype, &unix.SockaddrUnix{Name: path}})
	}
	return ps
}

// TestNewConnMatchesNet converts reactor-style sockets of every kind and
// compares the conns with net.Dialer's for the same peer.
func TestNewConnMatchesNet(t *testing.T) {
	for _, p := range testPeers(t) {
		t.Run(p.network, func(t *testing.T) {
			var nd net.Dialer
			nc, err := nd.Dial(p.network, p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			fd := rawDial(t, p.family, p.sotype, p.sa)
			oc, err := newConn(fd, p.family, p.sotype, 0, net.KeepAliveConfig{})
			if err != nil {
				t.Fatalf("newConn: %v", err)
			}
			defer oc.Close()
			if fdOpen(fd) {
				t.Errorf("newConn left fd %d open", fd)
			}
			if nt, ot := reflect.TypeOf(nc), reflect.TypeOf(oc); nt != ot {
				t.Errorf("conn type %v, net's %v", ot, nt)
			}
			if n, o := addrDesc(nc.RemoteAddr()), addrDesc(oc.RemoteAddr()); n != o {
				t.Errorf("RemoteAddr %s, net's %s", o, n)
			}
			if n, o := reflect.TypeOf(nc.LocalAddr()), reflect.TypeOf(oc.LocalAddr()); n != o {
				t.Errorf("LocalAddr type %v, net's %v", o, n)
			}
			if n, o := nc.LocalAddr().Network(), oc.LocalAddr().Network(); n != o {
				t.Errorf("LocalAddr network %s, net's %s", o, n)
			}
			if f := fileFlags(t, oc); f&unix.O_NONBLOCK == 0 {
				t.Errorf("converted socket is blocking (flags %#x)", f)
			}
			// The conn is in the runtime poller: a read deadline works.
			oc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var b [1]byte
			if _, err := oc.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read with a deadline: %v, want a timeout", err)
			}
		})
	}
}

// fileFlags returns the file status flags of c's socket.
func fileFlags(t *testing.T, c net.Conn) int {
	t.Helper()
	var flags int
	withFD(t, c, func(fd int) {
		var err error
		if flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil {
			t.Fatal(err)
		}
	})
	return flags
}

// withFD calls f with c's socket.
func withFD(t testing.TB, c net.Conn, f func(fd int)) {
	t.Helper()
	var rc syscall.RawConn
	var err error
	switch c := c.(type) {
	case *net.TCPConn:
		rc, err = c.SyscallConn()
	case *net.UDPConn:
		rc, err = c.SyscallConn()
	case *net.UnixConn:
		rc, err = c.SyscallConn()
	case *net.IPConn:
		rc, err = c.SyscallConn()
	default:
		t.Fatalf("%T has no SyscallConn", c)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		t.Fatal(err)
	}
}

func addrDesc(a net.Addr) string {
	if a == nil {
		return "<nil interface>"
	}
	return a.Network() + " " + a.String()
}

// tcpOpts reads the socket options net's newTCPConn sets.
type tcpOpts struct {
	NoDelay, KeepAlive, Idle, Intvl, Cnt int
}

func readTCPOpts(t testing.TB, c net.Conn) tcpOpts {
	t.Helper()
	var o tcpOpts
	withFD(t, c, func(fd int) {
		get := func(level, opt int) int {
			v, err := unix.GetsockoptInt(fd, level, opt)
			if err != nil {
				t.Fatalf("getsockopt %d/%d: %v", level, opt, err)
			}
			return v
		}
		o.NoDelay = get(unix.IPPROTO_TCP, unix.TCP_NODELAY)
		o.KeepAlive = get(unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		if keepAliveTunable {
			o.Idle = get(unix.IPPROTO_TCP, tcpKeepIdle)
			o.Intvl = get(unix.IPPROTO_TCP, tcpKeepIntvl)
			o.Cnt = get(unix.IPPROTO_TCP, tcpKeepCnt)
		}
	})
	// SO_KEEPALIVE reads back as any non-zero value on some systems.
	if o.KeepAlive != 0 {
		o.KeepAlive = 1
	}
	if o.NoDelay != 0 {
		o.NoDelay = 1
	}
	return o
}

// keepAliveCases are the keep-alive settings the tests compare with net.
var keepAliveCases = []struct {
	name string
	ka   time.Duration
	cfg  net.KeepAliveConfig
}{
	{"default", 0, net.KeepAliveConfig{}},
	{"off", -1, net.KeepAliveConfig{}},
	{"30s", 30 * time.Second, net.KeepAliveConfig{}},
	{"15s", 15 * time.Second, net.KeepAliveConfig{}},
	{"1500ms", 1500 * time.Millisecond, net.KeepAliveConfig{}},
	{"config", -1, net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 3 * time.Second, Count: 4}},
	{"config-zero", 0, net.KeepAliveConfig{Enable: true}},
	{"config-negative", 0, net.KeepAliveConfig{Enable: true, Idle: -1, Interval: 7 * time.Second, Count: -1}},
	{"config-all-negative", 0, net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}},
	{"config-disabled-ka-off", -1, net.KeepAliveConfig{Enable: false, Idle: 5 * time.Second}},
	{"config-disabled-ka-10s", 10 * time.Second, net.KeepAliveConfig{Enable: false, Idle: 5 * time.Second}},
	// Values the kernel rejects: net stops at the first failure and
	// leaves that option and the following ones at their defaults.
	{"idle-too-big", 100000 * time.Second, net.KeepAliveConfig{}},
	{"interval-too-big", 0, net.KeepAliveConfig{Enable: true, Idle: 20 * time.Second, Interval: 100000 * time.Second, Count: 3}},
	{"count-too-big", 0, net.KeepAliveConfig{Enable: true, Count: 1000}},
}

// TestNewConnKeepAliveMatchesNet compares the TCP options newConn leaves
// with the ones net.Dialer's conn has, for every keep-alive setting.
func TestNewConnKeepAliveMatchesNet(t *testing.T) {
	addr := listenTCP(t, "tcp4", "127.0.0.1:0").(*net.TCPAddr)
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: addr.Port}
	for _, tt := range keepAliveCases {
		t.Run(tt.name, func(t *testing.T) {
			nd := net.Dialer{KeepAlive: tt.ka, KeepAliveConfig: tt.cfg}
			nc, err := nd.Dial("tcp4", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			oc, err := newConn(rawDial(t, unix.AF_INET, unix.SOCK_STREAM, sa), unix.AF_INET, unix.SOCK_STREAM, tt.ka, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer oc.Close()
			if n, o := readTCPOpts(t, nc), readTCPOpts(t, oc); n != o {
				t.Errorf("socket options %+v, net's %+v", o, n)
			}
		})
	}
}

// TestNewConnErrors checks that newConn closes the fd and returns FileConn's
// inner error for a socket it cannot convert.
func TestNewConnErrors(t *testing.T) {
	// A socket of a family FileConn does not know.
	fd := testSocket(t, unix.AF_ROUTE, unix.SOCK_RAW, 0)
	unix.SetNonblock(fd, true)
	c, err := newConn(fd, unix.AF_ROUTE, unix.SOCK_RAW, 0, net.KeepAliveConfig{})
	if err == nil {
		c.Close()
		t.Fatal("newConn converted a routing socket")
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		t.Errorf("newConn returned FileConn's OpError: %v", err)
	}
	if fdOpen(fd) {
		t.Errorf("newConn left fd %d open", fd)
	}
	// A closed descriptor.
	fd = testSocket(t, unix.AF_INET, unix.SOCK_STREAM, 0)
	unix.Close(fd)
	if c, err := newConn(fd, unix.AF_INET, unix.SOCK_STREAM, 0, net.KeepAliveConfig{}); err == nil {
		c.Close()
		t.Fatal("newConn converted a closed fd")
	} else if !errors.Is(err, unix.EBADF) {
		t.Errorf("closed fd: %v, want EBADF", err)
	}
}

func TestTypedConn(t *testing.T) {
	addr := listenTCP(t, "tcp4", "127.0.0.1:0")
	c, err := net.Dial("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	tc, err := typedConn[*net.TCPConn](c, nil)
	if err != nil || tc != c {
		t.Fatalf("typedConn: %v, %v", tc, err)
	}
	tc.Close()
	c, err = net.Dial("tcp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	if uc, err := typedConn[*net.UDPConn](c, nil); err == nil || uc != nil {
		t.Errorf("typedConn[*UDPConn] of a TCPConn: %v, %v", uc, err)
	}
	want := errors.New("x")
	if uc, err := typedConn[*net.UDPConn](nil, want); err != want || uc != nil {
		t.Errorf("typedConn with an error: %v, %v", uc, err)
	}
}

// TestNewConnSyscalls runs SIGDIAL_SYSCALLS dials of one kind and does
// nothing else, for counting system calls from outside:
//
//	go test -c -o /tmp/d.test ./dialer
//	for m in net dialer newconn raw; do
//	  SIGDIAL_SYSCALLS=2000 SIGDIAL_MODE=$m strace -f -c -o /tmp/$m.txt \
//	    /tmp/d.test -test.run TestNewConnSyscalls -test.count 1
//	done
//
// "raw" is rawDial alone, "newconn" rawDial plus newConn, "net"
// net.Dialer.Dial, "dialer" Dialer.Dial; the server side is the same in all three. With
// SIGDIAL_SERVER=127.0.0.1:PORT the dials go to a server in another process,
// whose system calls strace then does not count.
func TestNewConnSyscalls(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIGDIAL_SYSCALLS"))
	if n == 0 {
		t.Skip("set SIGDIAL_SYSCALLS=N and SIGDIAL_MODE=net|newconn|raw to run")
	}
	mode := os.Getenv("SIGDIAL_MODE")
	var addr *net.TCPAddr
	if s := os.Getenv("SIGDIAL_SERVER"); s != "" {
		// A server in another process keeps its system calls out of
		// the count.
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			t.Fatal(err)
		}
		addr = net.TCPAddrFromAddrPort(ap)
	} else {
		addr = listenTCP(t, "tcp4", "127.0.0.1:0").(*net.TCPAddr)
	}
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: addr.Port}
	var ours Dialer
	for range n {
		switch mode {
		case "net":
			c, err := net.Dial("tcp4", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		case "newconn":
			c, err := newConn(rawDial(t, unix.AF_INET, unix.SOCK_STREAM, sa), unix.AF_INET, unix.SOCK_STREAM, 0, net.KeepAliveConfig{})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		case "raw":
			unix.Close(rawDial(t, unix.AF_INET, unix.SOCK_STREAM, sa))
		case "dialer":
			c, err := ours.Dial("tcp4", addr.String())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		default:
			t.Fatalf("SIGDIAL_MODE %q", mode)
		}
	}
}

// BenchmarkNewConn measures the conversion alone (the connect is outside
// the timer); BenchmarkNewConn/net is net.Dialer.Dial's whole dial, for
// scale.
func BenchmarkNewConn(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := serveConns(b, ln, false).ln.Addr().(*net.TCPAddr)
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: addr.Port}
	b.Run("newConn", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			fd := rawDial(b, unix.AF_INET, unix.SOCK_STREAM, sa)
			b.StartTimer()
			c, err := newConn(fd, unix.AF_INET, unix.SOCK_STREAM, 0, net.KeepAliveConfig{})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			c.Close()
			b.StartTimer()
		}
	})
	b.Run("net", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := net.Dial("tcp4", addr.String())
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			c.Close()
			b.StartTimer()
		}
	})
}

// TestDialUnixgramNoRemote dials unixgram with a local address and no
// remote one, which net.Dialer.DialUnix allows: the socket is bound, not
// connected, and can send with WriteTo. Both dialers must agree.
func TestDialUnixgramNoRemote(t *testing.T) {
	dir := t.TempDir()
	peer, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dir + "/peer", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, side := range []string{"net", "ours"} {
		t.Run(side, func(t *testing.T) {
			local := &net.UnixAddr{Name: dir + "/" + side, Net: "unixgram"}
			var c *net.UnixConn
			var err error
			if side == "net" {
				c, err = new(net.Dialer).DialUnix(context.Background(), "unixgram", local, nil)
			} else {
				r, rerr := reactor.New(reactor.WithLoops(1))
				if rerr != nil {
					t.Fatal(rerr)
				}
				defer r.Close()
				c, err = (&Dialer{Reactor: r}).DialUnix(context.Background(), "unixgram", local, nil)
			}
			if err != nil {
				t.Fatalf("DialUnix: %v", err)
			}
			defer c.Close()
			if c.RemoteAddr() != nil {
				t.Errorf("RemoteAddr = %v, want nil", c.RemoteAddr())
			}
			if la, ok := c.LocalAddr().(*net.UnixAddr); !ok || la.Name != local.Name {
				t.Errorf("LocalAddr = %v, want %v", c.LocalAddr(), local)
			}
			if _, err := c.WriteTo([]byte(side), peer.LocalAddr()); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 16)
			n, from, err := peer.ReadFrom(buf)
			if err != nil || string(buf[:n]) != side {
				t.Fatalf("peer read %q, %v", buf[:n], err)
			}
			if fa, ok := from.(*net.UnixAddr); !ok || fa.Name != local.Name {
				t.Errorf("peer saw the datagram from %v, want %v", from, local)
			}
		})
	}
}

// TestMPTCPNotForUDP dials UDP with MPTCP on and a Control that fails: net
// calls Control once, as MPTCP (and its fallback to TCP) is for TCP only;
// so must every form of ours.
func TestMPTCPNotForUDP(t *testing.T) {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().String()
	errControl := errors.New("control refuses")
	count := func(n *int) func(string, string, syscall.RawConn) error {
		return func(string, string, syscall.RawConn) error { *n++; return errControl }
	}
	var nets int
	nd := &net.Dialer{Control: count(&nets)}
	nd.SetMultipathTCP(true)
	if _, err := nd.Dial("udp4", addr); !errors.Is(err, errControl) {
		t.Fatalf("net.Dialer: %v", err)
	}
	for _, async := range []bool{false, true} {
		var ours int
		d := &Dialer{Reactor: r, Control: count(&ours)}
		d.SetMultipathTCP(true)
		if async {
			x := d.NewAsyncDial("udp4", addr)
			x.Start(context.Background())
			<-x.Done()
			err = x.Err()
		} else {
			_, err = d.Dial("udp4", addr)
		}
		if !errors.Is(err, errControl) {
			t.Fatalf("async %v: %v", async, err)
		}
		if ours != nets {
			t.Errorf("async %v: Control called %d times, net.Dialer %d", async, ours, nets)
		}
	}
}
