//go:build linux

package benchmarks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// A contextDialer is what http.Transport, grpc and friends call.
type contextDialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// BenchmarkDial measures the blocking drop-in: DialContext returning a
// *net.TCPConn, then SetLinger(0) and Close, with C goroutines dialing at
// once, against the same out-of-process server as BenchmarkConnect.
// Reported: dials/s, client CPU µs per dial, and at C=1 the p50 and p99
// latency of Dial+Close.
func BenchmarkDial(b *testing.B) {
	addr := benchServer(b)
	r, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	impls := []struct {
		name string
		d    contextDialer
	}{
		{"netdialer", &net.Dialer{Timeout: 5 * time.Second}},
		{"sigdial", &dialer.Dialer{Timeout: 5 * time.Second, Reactor: r}},
	}
	for _, c := range []int{1, 16, 256, 4096} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("C=%d/impl=%s", c, impl.name), func(b *testing.B) {
				benchDial(b, impl.d, addr, c)
			})
		}
	}
}

func benchDial(b *testing.B, d contextDialer, addr string, c int) {
	n := int64(b.N)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	var lat []time.Duration
	if c == 1 {
		lat = make([]time.Duration, 0, b.N)
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				s := time.Now()
				conn, err := d.DialContext(ctx, "tcp4", addr)
				if err != nil {
					errs.Add(1)
					continue
				}
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
				if lat != nil {
					lat = append(lat, time.Since(s))
				}
			}
		}()
	}
	wg.Wait()
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	report(b, b.N, wall, cpu, errs.Load())
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
}

// BenchmarkAsyncDial measures asynchronous dials delivering *net.TCPConn:
// C dials in flight, each completion closes its conn and starts the next.
//
//   - netdialer: C goroutines, each a blocking net.Dialer.DialContext (a
//     goroutine per dial is how net.Dialer does asynchronous).
//   - sigdial: AsyncDial with a Direct slot on Connected (it runs on the
//     reactor loop), no goroutine per dial.
func BenchmarkAsyncDial(b *testing.B) {
	addr := benchServer(b)
	for _, c := range []int{256, 4096} {
		b.Run(fmt.Sprintf("C=%d/impl=netdialer", c), func(b *testing.B) {
			benchDial(b, &net.Dialer{Timeout: 5 * time.Second}, addr, c)
		})
		b.Run(fmt.Sprintf("C=%d/impl=sigdial", c), func(b *testing.B) {
			benchAsync(b, netip.MustParseAddrPort(addr), c)
		})
	}
}

func benchAsync(b *testing.B, addr netip.AddrPort, c int) {
	r, err := reactor.New()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	d := &dialer.Dialer{Timeout: 5 * time.Second, Reactor: r}
	a := addr.String()
	n := int64(b.N)
	var issued, completed, errs atomic.Int64
	done := make(chan struct{})
	var start func(ctx context.Context)
	onConn := func(cd *dialer.Connected) {
		cd.Conn.(*net.TCPConn).SetLinger(0)
		cd.Conn.Close()
	}
	// A Finished slot runs on its dial's loop; it starts the next dial
	// there (signals.WithExecutor), as an application chaining dials from
	// a slot would, so no dial is handed across threads.
	loopCtx := make([]context.Context, r.Len())
	for i := range loopCtx {
		loopCtx[i] = signals.WithExecutor(context.Background(), r.Loop(i))
	}
	onFinished := func(f *dialer.Finished) {
		if f.Err != nil {
			errs.Add(1)
		}
		if completed.Add(1) == n {
			close(done)
		}
		start(loopCtx[f.Dial.Loop().Index()])
	}
	start = func(ctx context.Context) {
		if issued.Add(1) > n {
			return
		}
		x := d.NewAsyncDial("tcp4", a)
		x.Connected.Connect(onConn)
		x.Finished.Connect(onFinished)
		if err := x.Start(ctx); err != nil {
			errs.Add(1)
			if completed.Add(1) == n {
				close(done)
			}
		}
	}
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for i := range min(c, b.N) {
		start(loopCtx[i%len(loopCtx)])
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("%d of %d dials finished", completed.Load(), n)
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	report(b, b.N, wall, cpu, errs.Load())
}
