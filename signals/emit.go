package signals

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// emission is the emitter's state during one emission that did not take
// the fast path. It lives on the emitter's stack.
type emission[T any] struct {
	s      *Signal[T]
	st     *sigState[T]
	ctx    context.Context
	from   Executor // the emitter's declared executor, or nil
	took   bool     // a slot received the value on the emitter's side (direct or blocking)
	handed bool     // the drop decision was handed to the only queued delivery
	inSlot bool     // a direct slot is running: a panic now is the slot's
	acct   *dropAcct
	drop   func(T) // the emission's drop hook: the signal's, or EmitOwned's
	errs   []error
}

func (s *Signal[T]) emitSlow(st *sigState[T], ctx context.Context, from Executor, v T, drop func(T)) error {
	if st.blocked {
		if drop != nil {
			s.callDrop(drop, v)
		}
		return nil
	}
	e := emission[T]{s: s, st: st, ctx: ctx, from: from, drop: drop}
	if st.onPanic == nil {
		for _, c := range st.conns {
			e.deliver(c, v) // a direct slot's panic propagates
		}
	} else {
		for i := 0; i < len(st.conns); {
			i = e.runFrom(i, v)
		}
	}
	if e.acct != nil {
		if e.acct.settle(e.took) {
			s.callDrop(drop, v)
		}
	} else if !e.took && !e.handed && drop != nil {
		s.callDrop(drop, v)
	}
	switch len(e.errs) {
	case 0:
		return nil
	case 1:
		return e.errs[0]
	}
	return errors.Join(e.errs...)
}

// runFrom delivers v to the connections from index i on, for a signal with
// a panic handler. It returns the index where to go on: len(conns), or the
// one after a direct slot that panicked (the panic is reported).
func (e *emission[T]) runFrom(i int, v T) (next int) {
	ok := false
	defer func() {
		if !ok {
			r := recover()
			if r == nil {
				return // runtime.Goexit
			}
			if !e.inSlot {
				panic(r) // not a slot's panic: an Executor's Post, say
			}
			e.inSlot = false
			e.s.reportPanic(nil, r, debug.Stack())
			next = i + 1
		}
	}()
	conns := e.st.conns
	for ; i < len(conns); i++ {
		e.deliver(conns[i], v)
	}
	ok = true
	return i
}

// deliver delivers v to c as the emission decides.
func (e *emission[T]) deliver(c *conn[T], v T) {
	if c.state.Load() != stLive {
		return
	}
	m := c.mode(e.from)
	if m == modeDirect {
		e.direct(c, v)
		return
	}
	if c.single {
		if !c.state.CompareAndSwap(stLive, stClaimed) {
			return // lost to a concurrent emission or a disconnect
		}
		e.s.remove(c)
	}
	if m == modeQueued {
		e.queued(c, v)
	} else {
		e.blocking(c, v)
	}
}

func (e *emission[T]) direct(c *conn[T], v T) {
	if c.tracked {
		c.beginCall()
		defer c.endCall()
	}
	if c.single {
		if !c.state.CompareAndSwap(stLive, stDone) {
			return
		}
		e.s.remove(c)
	} else if c.state.Load() != stLive {
		return
	}
	e.inSlot = true
	if c.try != nil {
		e.took = c.try(v) || e.took
	} else {
		e.took = true
		c.slot(v)
	}
	e.inSlot = false
}

// queued posts a call of c's slot with v to c's executor.
func (e *emission[T]) queued(c *conn[T], v T) {
	drop := e.drop
	var acct *dropAcct
	if drop != nil && len(e.st.conns) > 1 {
		if e.acct == nil {
			e.acct = new(dropAcct)
			e.acct.n.Store(1) // the emitter's share
		}
		e.acct.n.Add(1)
		acct = e.acct
	}
	// One allocation: the closure holds c, v, acct and drop.
	if err := c.ex.Post(func() { c.deliverQueued(v, acct, drop) }); err != nil {
		if acct != nil {
			acct.n.Add(^uint64(0)) // cannot reach zero: the emitter's share is held
		}
		if c.single {
			c.state.CompareAndSwap(stClaimed, stDone)
		}
		return
	}
	if drop != nil && acct == nil {
		e.handed = true // the only connection: its delivery decides
	}
}

// deliverQueued runs on c's executor.
func (c *conn[T]) deliverQueued(v T, acct *dropAcct, drop func(T)) {
	took := c.runQueued(v)
	switch {
	case drop == nil:
	case acct == nil:
		if !took {
			c.sig.callDrop(drop, v)
		}
	case acct.settle(took):
		c.sig.callDrop(drop, v)
	}
}

// runQueued calls c's slot from a queued delivery unless the connection is
// gone or the executor is closed, and reports whether the slot took v.
func (c *conn[T]) runQueued(v T) bool {
	if c.tracked {
		c.beginExecCall()
		defer c.endExecCall()
	}
	if !c.acquireQueued() || c.closed() {
		return false
	}
	took, r, stack := c.call(v)
	if stack != nil {
		c.sig.reportPanic(c.ex, r, stack)
	}
	return took
}

// acquireQueued checks, when a queued delivery runs, that c may still be
// called, and consumes the claim of a single-shot connection.
func (c *conn[T]) acquireQueued() bool {
	if c.single {
		return c.state.CompareAndSwap(stClaimed, stDone)
	}
	return c.state.Load() == stLive
}

// call calls the slot (or try) with v and recovers a panic, which it
// returns with the stack (non-nil stack: it panicked). A slot that panics
// has received the value.
func (c *conn[T]) call(v T) (took bool, recovered any, stack []byte) {
	ok := false
	defer func() {
		if !ok {
			if recovered = recover(); recovered != nil {
				took, stack = true, debug.Stack()
			}
		}
	}()
	if c.try != nil {
		took = c.try(v)
	} else {
		c.slot(v)
		took = true
	}
	ok = true
	return took, nil, nil
}

// dropAcct decides, for an emission with several parties (the emitter and
// its queued deliveries), which party calls the drop hook: the last one to
// settle, if no party received the value.
type dropAcct struct {
	// n: the low 32 bits count the parties not yet settled; tookBit is set
	// once a slot received the value.
	n atomic.Uint64
}

const tookBit = 1 << 32

// settle ends one party's share and reports whether the caller must call
// the drop hook.
func (a *dropAcct) settle(took bool) bool {
	if took {
		a.n.Or(tookBit)
	}
	return a.n.Add(^uint64(0)) == 0
}

// Waiter states of a blocking delivery.
const (
	wPending   uint32 = iota // posted, not run
	wTaken                   // the slot is called
	wDropped                 // the delivery found the connection gone or the executor closed
	wAbandoned               // the emitter stopped waiting before the delivery ran
)

// waiter is one blocking call, shared by the emitter and the function it
// posts. Waiters are recycled through their connection's pool once both
// are done with them, so a blocking emission does not allocate.
type waiter[T any] struct {
	c     *conn[T]
	v     T
	state atomic.Uint32
	done  chan struct{} // buffered 1; signalled once the outcome is in err
	err   error         // written by the delivery before done is signalled
	run   func()        // w.deliver, bound once
}

func newWaiterPool[T any](c *conn[T]) *sync.Pool {
	return &sync.Pool{New: func() any {
		w := &waiter[T]{c: c, done: make(chan struct{}, 1)}
		w.run = w.deliver
		return w
	}}
}

func (e *emission[T]) blocking(c *conn[T], v T) {
	took, err := e.await(c, v)
	if took {
		e.took = true
	}
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

// await posts a call of c's slot and waits for it.
func (e *emission[T]) await(c *conn[T], v T) (took bool, err error) {
	ex := c.ex
	if e.from != nil && ex == e.from {
		c.loseClaim()
		return false, ErrDeadlock
	}
	done := e.ctx.Done() // nil for a context that is never done
	if done != nil {
		if err := e.ctx.Err(); err != nil {
			c.loseClaim()
			return false, abandoned(err)
		}
	}
	if e.from != nil {
		registered, err := enterWait(e.from, ex)
		if err != nil {
			c.loseClaim()
			return false, err
		}
		if registered {
			defer leaveWait(e.from, ex)
		}
	}
	w := c.waiters.Get().(*waiter[T])
	w.v = v
	w.state.Store(wPending)
	if err := ex.Post(w.run); err != nil {
		w.recycle()
		c.loseClaim()
		return false, &postError{err}
	}
	if done == nil {
		<-w.done
	} else {
		select {
		case <-w.done:
		case <-done:
			if w.state.CompareAndSwap(wPending, wAbandoned) {
				c.loseClaim()
				return false, abandoned(e.ctx.Err()) // w stays with the delivery
			}
			if w.state.Load() == wTaken {
				return true, fmt.Errorf("signals: stopped waiting for a running slot: %w", e.ctx.Err())
			}
			<-w.done // dropped: the outcome is on its way
		}
	}
	took, err = w.state.Load() == wTaken, w.err
	w.recycle()
	return took, err
}

// recycle returns w, which nobody uses any more, to its pool.
func (w *waiter[T]) recycle() {
	var zero T
	w.v, w.err = zero, nil
	w.c.waiters.Put(w)
}

func abandoned(err error) error {
	return fmt.Errorf("signals: blocking delivery abandoned: %w", err)
}

// loseClaim ends a single-shot claim whose call will not be made.
func (c *conn[T]) loseClaim() {
	if c.single {
		c.state.CompareAndSwap(stClaimed, stDone)
	}
}

// deliver runs on the connection's executor for a blocking emitter.
func (w *waiter[T]) deliver() {
	if w.state.Load() == wAbandoned {
		return
	}
	c := w.c
	if c.tracked {
		c.beginExecCall()
		defer c.endExecCall()
	}
	var err error
	if !c.acquireQueued() {
		err = ErrDisconnected
	} else if c.closed() {
		err = ErrClosed
	}
	if err != nil {
		if w.state.CompareAndSwap(wPending, wDropped) {
			w.err = err
			w.done <- struct{}{}
		}
		return
	}
	if !w.state.CompareAndSwap(wPending, wTaken) {
		return // the emitter gave up first
	}
	ok := false
	defer func() {
		if ok {
			return
		}
		// The emitter is released whatever happened: a panic goes back
		// to it, and so does runtime.Goexit.
		if r := recover(); r != nil {
			w.err = &PanicError{Value: r, Stack: debug.Stack()}
		} else {
			w.err = errGoexit
		}
		w.done <- struct{}{}
	}()
	if c.try != nil {
		c.try(w.v)
	} else {
		c.slot(w.v)
	}
	ok = true
	w.done <- struct{}{}
}

var errGoexit = errors.New("signals: slot called runtime.Goexit")

// waitGraph is the wait-for graph of executors blocked in a blocking
// emission they declared (EmitOn, WithExecutor): each waits on one other.
var waitGraph struct {
	sync.Mutex
	edges map[Executor]Executor // guarded by the mutex
}

// enterWait records that from is about to wait on to, unless that closes a
// cycle (ErrDeadlock). registered is false when from cannot be a map key.
func enterWait(from, to Executor) (registered bool, err error) {
	if !isComparable(from) {
		return false, nil
	}
	waitGraph.Lock()
	defer waitGraph.Unlock()
	x := to
	for range len(waitGraph.edges) + 1 {
		next, ok := waitGraph.edges[x]
		if !ok {
			break
		}
		if next == from {
			return false, ErrDeadlock
		}
		x = next
	}
	if waitGraph.edges == nil {
		waitGraph.edges = make(map[Executor]Executor)
	}
	waitGraph.edges[from] = to
	return true, nil
}

func leaveWait(from, to Executor) {
	waitGraph.Lock()
	defer waitGraph.Unlock()
	if waitGraph.edges[from] == to {
		delete(waitGraph.edges, from)
	}
}
