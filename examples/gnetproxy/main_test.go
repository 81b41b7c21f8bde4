package main

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2/pkg/pool/goroutine"
	"go.uber.org/goleak"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/examples/internal/loopback"
)

// TestMain checks that no goroutine outlives the tests. gnet's engines and
// client stop theirs before Engine.Stop and Client.Stop return
// (errgroup.Wait), and the reactor its loops before Close returns.
//
// One pair of goroutines is gnet's and no proxy's: importing gnet runs
// pkg/pool/goroutine's package initialisation, which starts an ants worker
// pool (DefaultWorkerPool, gnet v2.10.0 pkg/pool/goroutine/goroutine.go:43)
// whose housekeepers, purgeStaleWorkers and ticktock, run for the life of
// the process; gnet uses the pool only in EventLoop.Enroll/Register, which
// the proxy does not call. Rather than ignore them, TestMain releases the
// pool once the tests are over, so goleak checks every goroutine with no
// exception.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(releaseGnetPool{m})
}

type releaseGnetPool struct{ m *testing.M }

func (r releaseGnetPool) Run() int {
	code := r.m.Run()
	goroutine.DefaultWorkerPool.ReleaseTimeout(10 * time.Second)
	return code
}

// logBuffer is a log the proxy writes to from several goroutines (the
// proxy serialises its writes) and the test reads after Close.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startTestProxy(t *testing.T, backend string, retry time.Duration) (*proxy, *logBuffer) {
	t.Helper()
	log := &logBuffer{}
	p, err := startProxy(config{Listen: "127.0.0.1:0", Backend: backend, Timeout: 2 * time.Second, Retry: retry}, log)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := p.Addr().(*net.TCPAddr); !ok || a.Port == 0 || !a.IP.IsLoopback() {
		p.Close()
		t.Fatalf("proxy address %v: want 127.0.0.1 and the port bound", p.Addr())
	}
	return p, log
}

// countDials counts the dials the proxy's Dialer finishes.
func countDials(t *testing.T, p *proxy) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	if _, err := p.d.Signals.Finished.Connect(func(*dialer.Finished) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestProxyBothWays(t *testing.T) {
	backend, stopBackend, err := echoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer stopBackend()
	p, log := startTestProxy(t, backend, time.Second)
	dials := countDials(t, p)

	// Several clients at once, each writing 256 KiB in pieces while it
	// reads the echo back: bytes go client -> gnet server -> backend conn
	// enrolled in the gnet client -> echo, and back the same way.
	const clients, size = 8, 256 << 10
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", p.Addr().String(), 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			data := make([]byte, size)
			rand.Read(data)
			go func() {
				for off := 0; off < size; off += 4096 {
					if _, err := c.Write(data[off : off+4096]); err != nil {
						return
					}
				}
			}()
			got := make([]byte, size)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			if !bytes.Equal(got, data) {
				t.Errorf("client %d: the echo differs from what was sent", i)
			}
		})
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := dials.Load(); n != clients {
		t.Errorf("%d backend dials for %d clients", n, clients)
	}
	if got := p.health.state(); got != "up" {
		t.Errorf("health %q, want up", got)
	}
	if strings.Contains(log.String(), "gnet") {
		t.Errorf("gnet logged:\n%s", log)
	}
}

func TestBackendDown(t *testing.T) {
	refused, closeRefused, err := loopback.RefusedPort()
	if err != nil {
		t.Fatal(err)
	}
	defer closeRefused()
	p, log := startTestProxy(t, refused.String(), time.Minute)
	dials := countDials(t, p)
	// Connected after the health check's slot, this one runs after it.
	refusedSeen := make(chan struct{})
	var once sync.Once
	if _, err := p.d.Signals.Refused.Connect(func(*dialer.DialError) { once.Do(func() { close(refusedSeen) }) }); err != nil {
		t.Fatal(err)
	}

	// The first client makes the proxy dial: refused, so the backend is
	// marked down and the client closed.
	if _, err := roundTrip(p.Addr().String(), "anyone there?"); !closedByPeer(err) {
		t.Fatalf("first client: %v, want the proxy to close the connection", err)
	}
	// The Dialer-wide signals, which the health check watches, are emitted
	// just after the dial's own, which closed the client: wait for them.
	select {
	case <-refusedSeen:
	case <-time.After(5 * time.Second):
		t.Fatal("no Refused on the Dialer-wide signals")
	}
	want := "down: dial tcp " + refused.String() + ": connect: connection refused"
	if got := p.health.state(); got != want {
		t.Fatalf("health %q, want %q", got, want)
	}
	// Within the retry interval a client is closed without a dial.
	if _, err := roundTrip(p.Addr().String(), "still down?"); !closedByPeer(err) {
		t.Fatalf("second client: %v, want the proxy to close the connection", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d backend dials, want 1", n)
	}
	out := log.String()
	for _, want := range []string{
		"backend down: dial tcp " + refused.String() + ": connect: connection refused\n",
		": backend down (dial tcp " + refused.String() + ": connect: connection refused), closed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestDemo(t *testing.T) {
	var out logBuffer
	if err := demo(&out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"backend up\n",
		`sent "hello through gnet and sigdial", got back "hello through gnet and sigdial"` + "\n",
		"connect: connection refused\n",
		"client 1: closed by the proxy\n",
		"client 2: closed by the proxy\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
