// sigdial-helper-tests

package dialer

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
)

// server accepts connections on a listener and holds them until the test
// ends, then closes them and the listener and waits for its goroutine.
type server struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func serve(t testing.TB, ln net.Listener) *server {
	return serveConns(t, ln, true)
}

// serveConns is serve; with hold false it closes each connection at once
// instead (for benchmarks, which would run out of descriptors).
func serveConns(t testing.TB, ln net.Listener, hold bool) *server {
	s := &server{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !hold {
				c.Close()
				continue
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-s.done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// listenTCP serves network on address and returns the listener's address.
func listenTCP(t testing.TB, network, address string) net.Addr {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, ln).ln.Addr()
}

// tryListenTCP is listenTCP, or nil if the address cannot be bound (no
// IPv6 loopback, say).
func tryListenTCP(t testing.TB, network, address string) net.Addr {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Logf("%s %s: %v", network, address, err)
		return nil
	}
	return serve(t, ln).ln.Addr()
}

// listenUDP opens a UDP socket that stays open, unread, until the test ends.
func listenUDP(t testing.TB, network, address string) net.Addr {
	t.Helper()
	c, err := net.ListenPacket(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr()
}

// listenUnix listens on a unix socket path: a served listener for "unix"
// and "unixpacket", an open socket for "unixgram".
func listenUnix(t testing.TB, network, path string) {
	t.Helper()
	if network == "unixgram" {
		c, err := net.ListenPacket(network, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return
	}
	ln, err := net.Listen(network, path)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln)
}

// closedUDPAddr returns a loopback UDP address nothing is bound to: the
// kernel picks a free port, which is then released. Another process could
// bind it in between; nothing on the test machines does.
func closedUDPAddr(t testing.TB) *net.UDPAddr {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := c.LocalAddr().(*net.UDPAddr)
	c.Close()
	return a
}

// errAbort ends a dial from inside Control.
var errAbort = errors.New("abort from Control")

var errResolverDisabled = errors.New("sigdial test: DNS disabled")

// testResolver never talks to a DNS server: its Dial hook fails, so names
// resolve only through /etc/hosts and /etc/services, and every other lookup
// fails with a *net.DNSError.
func testResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			return nil, errResolverDisabled
		},
	}
}
