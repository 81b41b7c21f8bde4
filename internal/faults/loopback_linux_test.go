package faults

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRefusedAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		network string
		addr    func(testing.TB) netip.AddrPort
	}{{"tcp4", RefusedAddr}, {"tcp6", RefusedAddr6}} {
		t.Run(tc.network, func(t *testing.T) {
			t.Parallel()
			dst := tc.addr(t)
			if !dst.Addr().IsLoopback() {
				t.Fatalf("RefusedAddr returned %v, not loopback", dst)
			}
			for i := range 20 {
				o := dial(dst, dialOpts{})
				expect(t, fmt.Sprint("connect ", i), o, unix.ECONNREFUSED, "so_error", 0, 100*time.Millisecond)
			}
			// The port stays reserved: nobody else can bind, and so listen
			// on, it while the test runs.
			fd, err := unix.Socket(family(dst.Addr()), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := unix.Bind(fd, sockaddr(dst)); err != unix.EADDRINUSE {
				t.Errorf("bind %v: %v; want EADDRINUSE (port not reserved)", dst, err)
			}
		})
	}
}

func TestFullBacklog(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			dst := FullBacklog(t, network)
			// Pending: no event at all until the caller's deadline.
			o := dial(dst, dialOpts{timeout: 300 * time.Millisecond})
			expect(t, "user deadline", o, unix.ETIMEDOUT, "deadline", 300*time.Millisecond, time.Second)
			if o.revents != 0 {
				t.Errorf("events %s while pending", pollNames(o.revents))
			}
			// The kernel's own timeout, made quick per socket (R2, R5).
			o = dial(dst, dialOpts{timeout: 10 * time.Second, userTimeout: time.Second})
			expect(t, "TCP_USER_TIMEOUT=1s", o, unix.ETIMEDOUT, "so_error", time.Second, 2*time.Second)
		})
	}
}

// TestFullBacklogMany holds 15,000 connects pending against one FullBacklog
// listener, the load the reactor tests put on it, past the first SYN
// retransmission, and checks that the kernel keeps every one in SYN_SENT
// without any event. Not parallel: it needs most of the open-files limit
// (20,000 here).
func TestFullBacklogMany(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 15,000 sockets for 3 s per family; skipped with -short")
	}
	const n = 15000
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n+500 {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d sockets (%v)", lim.Cur, n, err)
	}
	CheckFDs(t)
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			dst := FullBacklog(t, network)
			overflows := netstat(t, "ListenOverflows")
			ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(ep)
			fds := make([]int, 0, n)
			defer func() {
				for _, fd := range fds {
					unix.Close(fd)
				}
			}()
			start := time.Now()
			for range n {
				fd, err := unix.Socket(family(dst.Addr()), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Fatalf("socket after %d: %v", len(fds), err)
				}
				fds = append(fds, fd)
				if err := unix.Connect(fd, sockaddr(dst)); err != unix.EINPROGRESS {
					t.Fatalf("connect %d: %v; want EINPROGRESS", len(fds), err)
				}
				ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(fd)}
				if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d connects issued in %v", n, time.Since(start).Round(time.Millisecond))

			// Wait past the first SYN retransmission (1 s): a listener that
			// let a retransmitted SYN through would show up here.
			evs := make([]unix.EpollEvent, 16)
			for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
				k, err := unix.EpollWait(ep, evs, int(time.Until(deadline)/time.Millisecond)+1)
				if err == unix.EINTR {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if k > 0 {
					v, _ := unix.GetsockoptInt(int(evs[0].Fd), unix.SOL_SOCKET, unix.SO_ERROR)
					t.Fatalf("%d pending connects got events after %v; first: %#x SO_ERROR=%d",
						k, time.Since(start).Round(time.Millisecond), evs[0].Events, v)
				}
			}
			if got := synSent(t, dst, fds); got != n {
				t.Errorf("%d of the sockets to %v in SYN_SENT; want all %d", got, dst, n)
			}
			// Every SYN was dropped by the full listener. The counter is the
			// namespace's, so other activity can only add to it.
			if d := netstat(t, "ListenOverflows") - overflows; d < n {
				t.Errorf("ListenOverflows rose by %d; want at least %d", d, n)
			}
			t.Logf("all %d still in SYN_SENT after %v", n, time.Since(start).Round(time.Millisecond))
		})
	}
}

// synSent counts how many of fds are sockets in SYN_SENT (state 02),
// matching /proc/net/tcp{,6} entries by socket inode: other processes on the
// machine may have sockets towards the same port.
func synSent(t testing.TB, dst netip.AddrPort, fds []int) int {
	t.Helper()
	mine := make(map[string]bool, len(fds))
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil {
			t.Fatal(err)
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	file := "/proc/net/tcp"
	if dst.Addr().Is6() {
		file = "/proc/net/tcp6"
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Count distinct inodes: /proc/net/tcp is read in pieces while other
	// processes (test packages run in parallel) add and remove sockets, and
	// the kernel's iterator can then show an entry twice.
	seen := make(map[string]bool, len(fds))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[3] == "02" && mine[fields[9]] {
			seen[fields[9]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return len(seen)
}
