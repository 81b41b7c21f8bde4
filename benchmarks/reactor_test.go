//go:build linux

package benchmarks

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/reactor"
)

// cpuTime returns this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds dials/s and client CPU µs per dial to a dial benchmark.
func report(b *testing.B, n int, wall, cpu time.Duration, errs int64) {
	b.ReportMetric(float64(n)/wall.Seconds(), "dials/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/dial")
	if errs > int64(n)/100 {
		b.Fatalf("%d of %d dials failed", errs, n)
	}
}

var lingerZero = &unix.Linger{Onoff: 1, Linger: 0}

// BenchmarkConnect measures connects completed per second and client CPU per
// connect with C connects in flight, delivering raw fds, against one
// loopback accept-and-close server in another process. Every client closes
// with SO_LINGER 0 (an RST), so no side piles up TIME_WAIT sockets.
//
//   - netdialer: C goroutines looping net.Dialer.Dial, SetLinger(0), Close.
//   - reactor: the sigdial reactor, one loop per P; each completion closes
//     its fd and starts the next connect on the same loop. The loopback
//     fast path is on (completion found right after EINPROGRESS).
//   - reactor-poller: the same with the fast path off, so every connect
//     goes through epoll as it must on a real network.
func BenchmarkConnect(b *testing.B) {
	addr := netip.MustParseAddrPort(benchServer(b))
	for _, c := range []int{1, 16, 256, 4096} {
		b.Run(fmt.Sprintf("C=%d/impl=netdialer", c), func(b *testing.B) { benchNetDialer(b, addr, c) })
		b.Run(fmt.Sprintf("C=%d/impl=reactor", c), func(b *testing.B) { benchReactor(b, addr, c, false) })
		b.Run(fmt.Sprintf("C=%d/impl=reactor-poller", c), func(b *testing.B) { benchReactor(b, addr, c, true) })
	}
}

func benchNetDialer(b *testing.B, addr netip.AddrPort, c int) {
	d := net.Dialer{Timeout: 5 * time.Second}
	a := addr.String()
	n := int64(b.N)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				conn, err := d.Dial("tcp4", a)
				if err != nil {
					errs.Add(1)
					continue
				}
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		}()
	}
	wg.Wait()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	report(b, b.N, wall, cpu, errs.Load())
}

func benchReactor(b *testing.B, addr netip.AddrPort, c int, noFastPath bool) {
	r, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	n := int64(b.N)
	var issued, completed, errs atomic.Int64
	done := make(chan struct{})
	// One request per loop: x/sys/unix writes into a Sockaddr while it is
	// used, so a Sockaddr must not be shared between goroutines.
	type loopState struct {
		l   *reactor.Loop
		req reactor.ConnectRequest
		cb  func(int, error)
	}
	states := make([]*loopState, r.Len())
	for i := range states {
		s := &loopState{l: r.Loop(i)}
		s.req = reactor.ConnectRequest{
			Family:     unix.AF_INET,
			Type:       unix.SOCK_STREAM,
			Remote:     &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()},
			Deadline:   time.Time{},
			NoFastPath: noFastPath,
		}
		s.cb = func(fd int, err error) {
			if err != nil {
				errs.Add(1)
			} else {
				unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, lingerZero)
				unix.Close(fd)
			}
			if completed.Add(1) == n {
				close(done)
			}
			if issued.Add(1) <= n {
				s.l.ConnectOnLoop(&s.req, s.cb)
			}
		}
		states[i] = s
	}
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for i := range min(c, b.N) {
		s := states[i%len(states)]
		s.l.Post(func() {
			if issued.Add(1) <= n {
				s.l.ConnectOnLoop(&s.req, s.cb)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d connects completed", completed.Load(), n)
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	report(b, b.N, wall, cpu, errs.Load())
}

// blackhole returns a loopback address whose accept queue is full and never
// drained (fault recipe R2): connects to it stay in SYN_SENT.
func blackhole(b *testing.B) (netip.AddrPort, func()) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	unix.Listen(lfd, 0)
	sa, _ := unix.Getsockname(lfd)
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	var fill []net.Conn
	for range 8 {
		c, err := net.DialTimeout("tcp4", ap.String(), 200*time.Millisecond)
		if err != nil {
			break
		}
		fill = append(fill, c)
	}
	return ap, func() {
		for _, c := range fill {
			c.Close()
		}
		unix.Close(lfd)
	}
}

// synSent counts this process's sockets in SYN_SENT towards port.
func synSent(port uint16) int {
	f, err := os.Open("/proc/self/net/tcp")
	if err != nil {
		return -1
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X 02 ", port)
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "sl local rem st": rem ends with ":PORT", then the state.
		if fields := strings.Fields(sc.Text()); len(fields) > 3 && strings.HasSuffix(fields[2], want[:5]) && fields[3] == "02" {
			n++
		}
	}
	return n
}

// liveBytes returns live heap plus goroutine stacks after a GC.
func liveBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// waitSynSent waits until k connects to port are in SYN_SENT.
func waitSynSent(b *testing.B, port uint16, k int) {
	for deadline := time.Now().Add(30 * time.Second); synSent(port) < k; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d connects reached SYN_SENT", synSent(port), k)
		}
	}
}

// BenchmarkPendingMemory measures user-space memory (live heap plus
// goroutine stacks) per pending connect, with 10,000 connects held in
// SYN_SENT by a full accept queue: net.Dialer (a goroutine per dial), an
// AsyncDial of package dialer (with context.Background, with one shared
// cancelable context, with Dialer.Timeout), and the bare reactor. It makes
// one measurement whatever b.N is; run it with -benchtime=1x.
func BenchmarkPendingMemory(b *testing.B) {
	const k = 10000
	b.Run("impl=netdialer", func(b *testing.B) {
		ap, stop := blackhole(b)
		defer stop()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		base := liveBytes()
		for range k {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var d net.Dialer
				if c, err := d.DialContext(ctx, "tcp4", ap.String()); err == nil {
					c.Close()
				}
			}()
		}
		waitSynSent(b, ap.Port(), k)
		per := float64(liveBytes()-base) / k
		cancel()
		wg.Wait()
		b.ReportMetric(per, "B/pending")
	})
	// sigdial-async: context.Background, no time limit. -ctx: one
	// cancelable context shared by all dials (a server's lifetime context),
	// which each dial watches. -timeout: Dialer.Timeout, a loop timer per
	// dial.
	for _, v := range []string{"", "-ctx", "-timeout"} {
		b.Run("impl=sigdial-async"+v, func(b *testing.B) {
			ap, stop := blackhole(b)
			defer stop()
			r, err := reactor.New()
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			d := &dialer.Dialer{Reactor: r}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			switch v {
			case "":
				ctx = context.Background()
			case "-timeout":
				ctx = context.Background()
				d.Timeout = time.Minute
			}
			a := ap.String()
			xs := make([]*dialer.AsyncDial, k) // allocated before the measurement
			base := liveBytes()
			for i := range xs {
				xs[i] = d.NewAsyncDial("tcp4", a)
				if err := xs[i].Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
			waitSynSent(b, ap.Port(), k)
			per := float64(liveBytes()-base) / k
			for _, x := range xs {
				x.Cancel()
			}
			for _, x := range xs {
				<-x.Done()
			}
			b.ReportMetric(per, "B/pending")
		})
	}
	// reactor: each connect has its own request, as a caller that keeps
	// one per connect would. reactor-own: one request for all of them
	// (they are started from this goroutine, and with no retries and no
	// deadline the loop does not read the request again), which leaves
	// the reactor's own cost per pending connect.
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "impl=reactor", true: "impl=reactor-own"}[shared]
		b.Run(name, func(b *testing.B) {
			ap, stop := blackhole(b)
			defer stop()
			r, err := reactor.New()
			if err != nil {
				b.Fatal(err)
			}
			newReq := func() *reactor.ConnectRequest {
				return &reactor.ConnectRequest{
					Family:     unix.AF_INET,
					Type:       unix.SOCK_STREAM,
					Remote:     &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()},
					NoFastPath: true,
				}
			}
			one := newReq()
			var completed atomic.Int64
			done := func(fd int, err error) { completed.Add(1) }
			base := liveBytes()
			for range k {
				req := one
				if !shared {
					req = newReq()
				}
				if _, err := r.Next().Connect(req, done); err != nil {
					b.Fatal(err)
				}
			}
			waitSynSent(b, ap.Port(), k)
			per := float64(liveBytes()-base) / k
			r.Close()
			if completed.Load() != k {
				b.Fatalf("%d of %d completed at Close", completed.Load(), k)
			}
			b.ReportMetric(per, "B/pending")
		})
	}
}

// BenchmarkPost measures Post from one goroutine to a loop, including the
// loop running the (empty) function.
func BenchmarkPost(b *testing.B) {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	l := r.Loop(0)
	var ran atomic.Int64
	f := func() { ran.Add(1) }
	b.ReportAllocs()
	for b.Loop() {
		l.Post(f)
	}
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
}

// BenchmarkTimerAddCancel measures scheduling a loop timer and stopping it
// again, on the loop.
func BenchmarkTimerAddCancel(b *testing.B) {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	l := r.Loop(0)
	f := func() {}
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	l.Post(func() {
		for range b.N {
			l.AfterFunc(time.Second, f).Stop()
		}
		close(done)
	})
	<-done
}
