//go:build linux

package reactor

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// chain makes its connects one after the other with one embedded Op,
// starting each from the Completer of the one before, as the dialer's
// racers do. Each request is copied to the stack for the starting call and
// wiped after it.
type chain struct {
	op   Op
	l    *Loop
	reqs []ConnectRequest
	errs []error
	done chan struct{}
}

func (c *chain) next() {
	req := c.reqs[len(c.errs)]
	c.l.ConnectOnLoopOp(&c.op, &req, c)
	req = ConnectRequest{Family: -1} // the reactor must not read it again
	_ = req
}

func (c *chain) ConnectDone(fd int, err error) {
	if err == nil {
		unix.Close(fd)
	}
	c.errs = append(c.errs, err)
	if len(c.errs) == len(c.reqs) {
		close(c.done)
		return
	}
	c.next()
}

// TestOpReuse runs connects in turn on one caller-owned Op: each gets its
// own outcome, the request is not read after the starting call, and one
// connect's deadline does not carry over to the next.
func TestOpReuse(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	ln := listener(t, "tcp4", "127.0.0.1:0")
	ok := *tcpRequest(ln.Addr().(*net.TCPAddr).AddrPort())
	ok.NoFastPath = true // through the poller
	refused := *tcpRequest(refusedAddr(t))
	full := *tcpRequest(fullBacklog(t))
	short := full
	short.Deadline = time.Now().Add(50 * time.Millisecond)
	c := &chain{l: r.Loop(0), done: make(chan struct{})}
	c.reqs = []ConnectRequest{ok, refused, short, ok, ok}
	if err := c.l.Post(c.next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d of %d connects completed in 10s", len(c.errs), len(c.reqs))
	}
	want := []error{nil, syscall.ECONNREFUSED, os.ErrDeadlineExceeded, nil, nil}
	for i, err := range c.errs {
		if want[i] == nil && err != nil || want[i] != nil && !errors.Is(err, want[i]) {
			t.Errorf("connect %d: err = %v, want %v", i, err, want[i])
		}
	}
	if n := c.l.pending; n != 0 {
		t.Errorf("%d connects still pending on the loop", n)
	}
}

// TestStartOp checks the caller-owned form of Start and Watch: a connect
// that completes inside the call returns its fd; one in progress is left in
// the Op and reaches the Completer.
func TestStartOp(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	l := r.Loop(0)
	ln := listener(t, "tcp4", "127.0.0.1:0")
	req := tcpRequest(ln.Addr().(*net.TCPAddr).AddrPort())
	var op Op
	pending, fd, err := l.StartOp(&op, req)
	if pending || err != nil || fd < 0 {
		t.Fatalf("loopback StartOp = %v, %d, %v; want done at once", pending, fd, err)
	}
	unix.Close(fd)

	req = tcpRequest(fullBacklog(t))
	req.Deadline = time.Now().Add(50 * time.Millisecond)
	pending, _, err = l.StartOp(&op, req)
	if !pending || err != nil {
		t.Fatalf("StartOp to a full backlog = %v, %v; want pending", pending, err)
	}
	*req = ConnectRequest{} // not read again: the deadline was taken at StartOp
	ch := make(chan error, 1)
	if err := l.Post(func() {
		op.WatchWith(CompleterFunc(func(fd int, err error) { ch <- err }))
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no completion in 10s")
	}
}

// TestLocal checks loop-local values: made once per loop and key, distinct
// across loops and keys.
func TestLocal(t *testing.T) {
	r := newReactor(t, WithLoops(2))
	type key struct{ n int }
	made := 0
	get := func(l *Loop, k key) *int {
		ch := make(chan *int, 1)
		if err := l.Post(func() {
			ch <- l.Local(k, func() any { made++; return new(int) }).(*int)
		}); err != nil {
			t.Fatal(err)
		}
		return <-ch
	}
	a0, a1 := get(r.Loop(0), key{1}), get(r.Loop(1), key{1})
	if a0 == a1 {
		t.Error("two loops share a local value")
	}
	if get(r.Loop(0), key{1}) != a0 {
		t.Error("a second Local made a new value")
	}
	if get(r.Loop(0), key{2}) == a0 {
		t.Error("two keys share a local value")
	}
	if made != 3 {
		t.Errorf("create called %d times, want 3", made)
	}
}
