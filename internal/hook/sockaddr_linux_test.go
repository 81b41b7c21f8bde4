//go:build linux

package hook

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const sunPath = len(unix.RawSockaddrUnix{}.Path) // 108

// fullName returns an abstract name of n bytes, unique to this process and
// lead, starting with lead ('@' or NUL; both stand for the same name).
func fullName(lead byte, n int) string {
	s := string(lead) + "sigdial-hook-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(int(lead)) + "-"
	return s + strings.Repeat("x", n-len(s))
}

func TestFullAbstract(t *testing.T) {
	for _, tc := range []struct {
		sa   unix.Sockaddr
		want bool
	}{
		{&unix.SockaddrUnix{Name: fullName('@', sunPath)}, true},
		{&unix.SockaddrUnix{Name: fullName(0, sunPath)}, true},
		{&unix.SockaddrUnix{Name: fullName('@', sunPath-1)}, false},
		{&unix.SockaddrUnix{Name: fullName('@', sunPath+1)}, false},
		{&unix.SockaddrUnix{Name: "/" + strings.Repeat("x", sunPath-1)}, false},
		{&unix.SockaddrUnix{Name: ""}, false},
		{&unix.SockaddrInet4{Port: 9}, false},
		{nil, false},
	} {
		name, ok := fullAbstract(tc.sa)
		if ok != tc.want {
			t.Errorf("fullAbstract(%#v) = %v, want %v", tc.sa, ok, tc.want)
		}
		if ok && name != tc.sa.(*unix.SockaddrUnix).Name {
			t.Errorf("fullAbstract(%#v) = %q", tc.sa, name)
		}
	}
}

func unixSocket(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestConnectBindFullAbstract binds, listens on and connects to an abstract
// name of 108 bytes, which unix.Bind and unix.Connect refuse with EINVAL.
func TestConnectBindFullAbstract(t *testing.T) {
	for _, lead := range []byte{'@', 0} {
		name := fullName(lead, sunPath)
		want := "@" + name[1:] // how getsockname reports an abstract name
		ln := unixSocket(t)
		if err := Bind(ln, &unix.SockaddrUnix{Name: name}); err != nil {
			t.Fatalf("Bind(%q): %v", name, err)
		}
		if err := unix.Listen(ln, 1); err != nil {
			t.Fatal(err)
		}
		if sa, err := unix.Getsockname(ln); err != nil {
			t.Fatal(err)
		} else if got := sa.(*unix.SockaddrUnix).Name; got != want {
			t.Fatalf("listener's name %q, want %q", got, want)
		}
		c := unixSocket(t)
		if err := Connect(c, &unix.SockaddrUnix{Name: name}); err != nil {
			t.Fatalf("Connect(%q): %v", name, err)
		}
		if sa, err := unix.Getpeername(c); err != nil {
			t.Fatal(err)
		} else if got := sa.(*unix.SockaddrUnix).Name; got != want {
			t.Fatalf("peer name %q, want %q", got, want)
		}
		// A second bind of the name fails in the kernel, with the errno
		// unix.Bind would return.
		if err := Bind(unixSocket(t), &unix.SockaddrUnix{Name: name}); err != unix.EADDRINUSE {
			t.Errorf("second Bind(%q): %v, want EADDRINUSE", name, err)
		}
	}
}

// TestConnectBindOther checks that every other address still goes to
// unix.Connect and unix.Bind: the same errors for names that do not fit,
// and for a full-length name on a bad descriptor the kernel's EBADF.
func TestConnectBindOther(t *testing.T) {
	for _, name := range []string{
		fullName('@', sunPath+1),
		"/" + strings.Repeat("x", sunPath-1),
	} {
		sa := &unix.SockaddrUnix{Name: name}
		if err := Connect(unixSocket(t), sa); err != unix.EINVAL {
			t.Errorf("Connect(%q): %v, want EINVAL", name, err)
		}
		if err := Bind(unixSocket(t), sa); err != unix.EINVAL {
			t.Errorf("Bind(%q): %v, want EINVAL", name, err)
		}
	}
	sa := &unix.SockaddrUnix{Name: fullName('@', sunPath)}
	if err := Connect(-1, sa); err != unix.EBADF {
		t.Errorf("Connect(-1, full-length abstract): %v, want EBADF", err)
	}
	if err := Bind(-1, sa); err != unix.EBADF {
		t.Errorf("Bind(-1, full-length abstract): %v, want EBADF", err)
	}
}

// TestGetpeername checks the allocation-free getpeername: nil on a
// connected socket, ENOTCONN on one that is not.
func TestGetpeername(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	rc.Control(func(fd uintptr) { perr = Getpeername(int(fd)) })
	if perr != nil {
		t.Errorf("connected socket: %v", perr)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := Getpeername(fd); err != unix.ENOTCONN {
		t.Errorf("unconnected socket: %v, want ENOTCONN", err)
	}
	if n := testing.AllocsPerRun(100, func() { Getpeername(fd) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

// TestConnectInet checks the raw connect and SO_ERROR read for IPv4 and
// IPv6: a connect to a listener reaches it (the port and address are laid
// out right), and one to a port bound but not listening is refused.
func TestConnectInet(t *testing.T) {
	for _, tc := range []struct {
		network, addr string
		family        int
	}{{"tcp4", "127.0.0.1:0", unix.AF_INET}, {"tcp6", "[::1]:0", unix.AF_INET6}} {
		t.Run(tc.network, func(t *testing.T) {
			ln, err := net.Listen(tc.network, tc.addr)
			if err != nil {
				t.Skipf("listen: %v", err)
			}
			defer ln.Close()
			ap := ln.Addr().(*net.TCPAddr).AddrPort()
			sockaddr := func(port uint16) unix.Sockaddr {
				if tc.family == unix.AF_INET {
					return &unix.SockaddrInet4{Port: int(port), Addr: ap.Addr().As4()}
				}
				return &unix.SockaddrInet6{Port: int(port), Addr: ap.Addr().As16()}
			}
			fd, err := unix.Socket(tc.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) // blocking: connect finishes in the call
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := Connect(fd, sockaddr(ap.Port())); err != nil {
				t.Fatalf("connect to %v: %v", ap, err)
			}
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			lsa, _ := unix.Getsockname(fd)
			var lport int
			switch lsa := lsa.(type) {
			case *unix.SockaddrInet4:
				lport = lsa.Port
			case *unix.SockaddrInet6:
				lport = lsa.Port
			}
			if got := c.RemoteAddr().(*net.TCPAddr).Port; got != lport {
				t.Errorf("listener accepted a connection from port %d, the socket is on %d", got, lport)
			}
			if v, err := GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); v != 0 || err != nil {
				t.Errorf("SO_ERROR = %d, %v", v, err)
			}

			// A port bound but not listening refuses.
			hold, err := unix.Socket(tc.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(hold)
			if err := unix.Bind(hold, sockaddr(0)); err != nil {
				t.Fatal(err)
			}
			hsa, _ := unix.Getsockname(hold)
			var hport int
			switch hsa := hsa.(type) {
			case *unix.SockaddrInet4:
				hport = hsa.Port
			case *unix.SockaddrInet6:
				hport = hsa.Port
			}
			fd2, err := unix.Socket(tc.family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd2)
			if err := Connect(fd2, sockaddr(uint16(hport))); err != unix.ECONNREFUSED {
				t.Errorf("connect to a port not listening: %v, want ECONNREFUSED", err)
			}
		})
	}
}
