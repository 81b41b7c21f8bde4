//go:build linux

package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
)

// watcherState reads loop l's context watchers on the loop: the number of
// watchers, and the live and held dials of each Done channel.
func watcherState(t *testing.T, l *reactor.Loop) (n int, live, held map[<-chan struct{}]int) {
	t.Helper()
	ch := make(chan struct{})
	live, held = map[<-chan struct{}]int{}, map[<-chan struct{}]int{}
	if err := l.Post(func() {
		defer close(ch)
		ws := loopWatchers(l)
		n = len(ws.byDone)
		for done, w := range ws.byDone {
			live[done], held[done] = w.live, len(w.dials)
		}
	}); err != nil {
		t.Fatal(err)
	}
	await(t, ch, "the loop")
	return n, live, held
}

// TestCtxWatcherShared starts dials under one cancelable context and its
// value-only children, spread over two loops: each loop has one watcher
// for them all, canceling the context ends every dial as Canceled with its
// own context's error, and the watchers are gone afterwards.
func TestCtxWatcherShared(t *testing.T) {
	const n = 400
	r := newTestReactor(t)
	d := &Dialer{Reactor: r}
	hole := faults.FullBacklog(t, "tcp4").String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type key struct{}
	xs := make([]*AsyncDial, n)
	for i := range xs {
		c := ctx
		if i%2 == 1 {
			c = context.WithValue(ctx, key{}, i) // same Done channel
		}
		xs[i] = d.NewAsyncDial("tcp4", hole)
		if err := xs[i].Start(c); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i := range r.Len() {
		drainExecutor(t, r.Loop(i))
		nw, live, _ := watcherState(t, r.Loop(i))
		if nw != 1 {
			t.Fatalf("loop %d has %d context watchers, want 1", i, nw)
		}
		total += live[ctx.Done()]
	}
	if total != n {
		t.Fatalf("watchers count %d live dials, want %d", total, n)
	}
	cancel()
	awaitCanceled(t, xs)
	for _, x := range xs {
		if !errors.Is(x.Err(), context.Canceled) {
			t.Fatalf("Err() = %v, want context.Canceled", x.Err())
		}
	}
	for i := range r.Len() {
		if nw, _, _ := watcherState(t, r.Loop(i)); nw != 0 {
			t.Errorf("loop %d keeps %d context watchers after they fired", i, nw)
		}
	}
}

// TestCtxWatcherForgets ends dials one by one, without their context
// ending: the watcher holds a bounded number of finished dials, and stops
// (its context.AfterFunc too) when the last one ends.
func TestCtxWatcherForgets(t *testing.T) {
	const n = 512
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := &Dialer{Reactor: r}
	hole := faults.FullBacklog(t, "tcp4").String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	xs := make([]*AsyncDial, n)
	for i := range xs {
		xs[i] = d.NewAsyncDial("tcp4", hole)
		if err := xs[i].Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	l := r.Loop(0)
	drainExecutor(t, l)
	// Cancel 7 in 8: the list must be compacted on the way.
	var kept, ended []*AsyncDial
	for i, x := range xs {
		if i%8 == 0 {
			kept = append(kept, x)
			continue
		}
		x.Cancel()
		ended = append(ended, x)
	}
	awaitCanceled(t, ended)
	_, live, held := watcherState(t, l)
	if live[ctx.Done()] != len(kept) {
		t.Errorf("watcher counts %d live dials, want %d", live[ctx.Done()], len(kept))
	}
	if held[ctx.Done()] > 4*len(kept) {
		t.Errorf("watcher holds %d dials for %d live ones: not compacted", held[ctx.Done()], len(kept))
	}
	for _, x := range kept {
		x.Cancel()
	}
	awaitCanceled(t, kept)
	if nw, _, _ := watcherState(t, l); nw != 0 {
		t.Errorf("%d context watchers left after every dial ended", nw)
	}
	if ctx.Err() != nil {
		t.Fatal("the shared context ended")
	}
}

// TestCanceledWhileConnecting cancels the context from ControlContext,
// that is while the dial is in progress, to a listener that accepts: net
// fails the dial with the context's error rather than return the
// connection, and so must every form of ours.
func TestCanceledWhileConnecting(t *testing.T) {
	faults.CheckFDs(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	r := newTestReactor(t)
	cancelIn := func(cancel context.CancelFunc) func(context.Context, string, string, syscall.RawConn) error {
		return func(context.Context, string, string, syscall.RawConn) error { cancel(); return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, nerr := (&net.Dialer{ControlContext: cancelIn(cancel)}).DialContext(ctx, "tcp4", addr)
	if nerr == nil {
		c.Close()
		t.Skip("net.Dialer connected under a context canceled while it connected")
	}
	for _, form := range []string{"DialContext", "DialTCP", "AsyncDial"} {
		t.Run(form, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			d := &Dialer{Reactor: r, ControlContext: cancelIn(cancel)}
			var err error
			switch form {
			case "DialContext":
				var c net.Conn
				if c, err = d.DialContext(ctx, "tcp4", addr); c != nil {
					c.Close()
				}
			case "DialTCP":
				var c *net.TCPConn
				if c, err = d.DialTCP(ctx, "tcp4", netip.AddrPort{}, netip.MustParseAddrPort(addr)); c != nil {
					c.Close()
				}
			case "AsyncDial":
				x := d.NewAsyncDial("tcp4", addr)
				x.Connected.Connect(func(c *Connected) { c.Conn.Close(); t.Error("Connected under a canceled context") })
				x.Start(ctx)
				awaitDial(t, x)
				if x.Outcome() != OutcomeCanceled {
					t.Errorf("outcome %v, want canceled", x.Outcome())
				}
				err = x.Err()
			}
			if err == nil {
				t.Fatal("connected under a context canceled while it connected; net.Dialer failed: " + nerr.Error())
			}
			if form != "DialTCP" && err.Error() != nerr.Error() {
				t.Errorf("error %q, net.Dialer's %q", err, nerr)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v is not context.Canceled", err)
			}
		})
	}
}
