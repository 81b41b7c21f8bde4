//go:build linux

package dialer

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

func newTestReactor(t testing.TB) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithLoops(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// waitDone waits for an async dial to finish.
func waitDone(t testing.TB, x *AsyncDial) {
	t.Helper()
	select {
	case <-x.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("dial of %s did not finish", x.Address())
	}
}

// acceptClose serves a loopback listener that accepts and closes at once,
// so a test can count the client's fds alone.
func acceptClose(t testing.TB) net.Addr {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr()
}

func TestAsyncConnectedAndRefused(t *testing.T) {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := acceptClose(t)
	d := &Dialer{Reactor: r}

	x := d.NewAsyncDial("tcp", addr.String())
	var got *Connected
	x.Connected.Connect(func(c *Connected) { got = c })
	var finished int
	x.Finished.Connect(func(*Finished) { finished++ })
	// Hold the only loop: a completion made inside Start would show up
	// before the loop is released.
	release := make(chan struct{})
	r.Loop(0).Post(func() { <-release })
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-x.Done():
		t.Fatal("the dial finished inside Start")
	default:
	}
	close(release)
	waitDone(t, x)
	if got == nil || got.Conn == nil {
		t.Fatal("no Connected payload")
	}
	if _, ok := got.Conn.(*net.TCPConn); !ok {
		t.Errorf("conn is %T", got.Conn)
	}
	got.Conn.Close()
	if finished != 1 || x.Outcome() != OutcomeConnected || x.Err() != nil {
		t.Errorf("finished %d, outcome %v, err %v", finished, x.Outcome(), x.Err())
	}

	x = d.NewAsyncDial("tcp", faults.RefusedAddr(t).String())
	var refused *DialError
	x.Refused.Connect(func(e *DialError) { refused = e })
	x.Connected.Connect(func(*Connected) { t.Error("Connected on a refused dial") })
	x.Start(context.Background())
	waitDone(t, x)
	if refused == nil || !errors.Is(refused.Err, syscall.ECONNREFUSED) {
		t.Fatalf("refused payload %v", refused)
	}
	var oe *net.OpError
	if !errors.As(x.Err(), &oe) || oe.Op != "dial" {
		t.Errorf("Err() = %#v, want a *net.OpError", x.Err())
	}
}

func TestAsyncUnclaimedConnClosed(t *testing.T) {
	r := newTestReactor(t)
	addr := acceptClose(t)
	d := &Dialer{Reactor: r}
	sl := signals.NewLoop()
	defer sl.Close()
	before := faults.FDCount(t)
	for i := range 20 {
		x := d.NewAsyncDial("tcp4", addr.String())
		if i%2 == 0 {
			// Queued to a loop, then disconnected before delivery.
			block := make(chan struct{})
			sl.Post(func() { <-block })
			c, _ := x.Connected.Connect(func(c *Connected) { t.Error("slot ran after Disconnect"); c.Conn.Close() }, signals.On(sl))
			x.Start(context.Background())
			waitDone(t, x)
			c.Disconnect()
			close(block)
		} else {
			x.Start(context.Background()) // no slot at all
			waitDone(t, x)
		}
	}
	// Drain the signals loop so every dropped delivery has been handled.
	done := make(chan struct{})
	sl.Post(func() { close(done) })
	<-done
	if after := faults.FDCountAtMost(t, before); after > before {
		t.Errorf("%d fds leaked by unclaimed connections", after-before)
	}
}

func TestAsyncCancel(t *testing.T) {
	r := newTestReactor(t)
	d := &Dialer{Reactor: r}
	hole := faults.FullBacklog(t, "tcp4")
	x := d.NewAsyncDial("tcp4", hole.String())
	canceled := make(chan *DialError, 1)
	x.Canceled.Connect(func(e *DialError) { canceled <- e })
	x.Start(context.Background())
	x.Cancel()
	waitDone(t, x)
	e := <-canceled
	if !errors.Is(e.Err, context.Canceled) || e.Err.Error() != "dial tcp4 "+hole.String()+": operation was canceled" {
		t.Errorf("canceled with %v", e.Err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	x = d.NewAsyncDial("tcp4", hole.String())
	x.Start(ctx)
	cancel()
	waitDone(t, x)
	if x.Outcome() != OutcomeCanceled {
		t.Errorf("ctx cancel: outcome %v (%v)", x.Outcome(), x.Err())
	}

	d2 := &Dialer{Reactor: r, Timeout: 50 * time.Millisecond}
	x = d2.NewAsyncDial("tcp4", hole.String())
	var to *DialError
	x.TimedOut.Connect(func(e *DialError) { to = e })
	x.Start(context.Background())
	waitDone(t, x)
	var ne net.Error
	if to == nil || !errors.As(to.Err, &ne) || !ne.Timeout() {
		t.Errorf("timeout: %v", x.Err())
	}
}
