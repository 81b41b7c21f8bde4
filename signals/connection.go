package signals

import (
	"context"
	"sync"
	"sync/atomic"
)

// Connection states.
const (
	stLive    uint32 = iota + 1 // connected
	stClaimed                   // single-shot claimed by an emission whose queued call is pending
	stDone                      // disconnected, or single-shot fired
)

// conn is one connection of a Signal[T].
type conn[T any] struct {
	// state and slot first: the emission reads them, and only them, for a
	// plain direct connection, from one cache line.
	state atomic.Uint32 // stLive, stClaimed, stDone
	slot  func(T)

	sig *Signal[T]
	try func(T) bool // replaces slot for Notify: reports whether v was taken

	ex      Executor       // receiver executor, or nil
	exClose closedReporter // ex, if it can say it is closed
	typ     ConnectionType // base delivery type, without flags
	single  bool
	tracked bool
	key     any
	hasKey  bool

	stop func() bool // stops the WithContext callback; guarded by sig.mu()

	waiters *sync.Pool // of *waiter[T], for BlockingQueuedConnection only

	// Tracking, for tracked connections only.
	inflight   atomic.Int32 // invocations that may be calling the slot
	onExec     atomic.Int32 // of which queued invocations running on ex
	waitWanted atomic.Bool  // a DisconnectWait has started
	wmu        sync.Mutex
	zero       chan struct{} // closed when inflight drops to zero; guarded by wmu
}

// plainDirect reports whether c is called directly on every emission with
// nothing to claim or count.
func (c *conn[T]) plainDirect() bool {
	return (c.typ == DirectConnection || c.typ == AutoConnection && c.ex == nil) &&
		!c.single && !c.tracked && c.try == nil
}

// Delivery modes, decided per emission.
const (
	modeDirect = iota
	modeQueued
	modeBlocking
)

// mode decides how an emission running on from (nil: unknown) reaches c.
func (c *conn[T]) mode(from Executor) int {
	switch c.typ {
	case DirectConnection:
		return modeDirect
	case QueuedConnection:
		return modeQueued
	case BlockingQueuedConnection:
		return modeBlocking
	}
	if c.ex == nil || c.ex == from {
		return modeDirect
	}
	return modeQueued
}

// disconnect breaks c and reports whether this call did it (for a claimed
// single-shot connection, whether it prevented the pending call).
func (c *conn[T]) disconnect() bool {
	for {
		st := c.state.Load()
		if st == stDone {
			return false
		}
		if c.state.CompareAndSwap(st, stDone) {
			break
		}
	}
	c.sig.remove(c)
	return true
}

// beginCall counts an invocation that is about to check c's state.
func (c *conn[T]) beginCall() { c.inflight.Add(1) }

// beginExecCall counts an invocation that runs on c's executor (a queued
// or blocking-queued delivery), for DisconnectWait from that executor.
func (c *conn[T]) beginExecCall() {
	c.beginCall()
	c.onExec.Add(1)
}

// endExecCall ends an invocation counted by beginExecCall.
func (c *conn[T]) endExecCall() {
	c.onExec.Add(-1)
	c.endCall()
}

// endCall ends an invocation counted by beginCall.
func (c *conn[T]) endCall() {
	if c.inflight.Add(-1) == 0 && c.waitWanted.Load() {
		c.wmu.Lock()
		if c.zero != nil {
			close(c.zero)
			c.zero = nil
		}
		c.wmu.Unlock()
	}
}

func (c *conn[T]) disconnectWait(ctx context.Context) error {
	c.disconnect()
	if !c.tracked {
		return ErrNotTracked
	}
	if c.ex != nil && c.onExec.Load() > 0 {
		// A queued invocation is running on c.ex. If the caller runs on
		// c.ex too, that invocation is the caller itself.
		if ex := ExecutorFrom(ctx); ex != nil && ex == c.ex {
			return ErrDeadlock
		}
	}
	// An invocation increments inflight before it checks the state, and
	// the state is stDone now: once inflight is seen at zero, no slot call
	// can start any more.
	c.waitWanted.Store(true)
	for {
		c.wmu.Lock()
		if c.inflight.Load() == 0 {
			c.wmu.Unlock()
			return nil
		}
		if c.zero == nil {
			c.zero = make(chan struct{})
		}
		zero := c.zero
		c.wmu.Unlock()
		select {
		case <-zero:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closed reports whether c's executor says it is closed.
func (c *conn[T]) closed() bool { return c.exClose != nil && c.exClose.Closed() }

func (c *conn[T]) connected() bool { return c.state.Load() != stDone }

// Connection is the handle of one connection, returned by Signal.Connect.
// It is a small comparable value. The zero Connection, and the one returned
// with an error, is invalid: Valid reports false and the other methods do
// nothing. Dropping a Connection does not disconnect it.
type Connection struct {
	c connHandle
}

// connHandle is implemented by *conn[T] for every T.
type connHandle interface {
	disconnect() bool
	disconnectWait(ctx context.Context) error
	connected() bool
}

// Valid reports whether the handle refers to a connection, connected or
// not: false for the zero Connection and for one returned with an error.
func (c Connection) Valid() bool { return c.c != nil }

// Connected reports whether the connection may still call its slot: it has
// not been disconnected, and it is not a single-shot connection that has
// fired (a fired one whose queued call is still pending counts as
// connected until that call is made or dropped).
func (c Connection) Connected() bool { return c.c != nil && c.c.connected() }

// Disconnect breaks the connection and reports whether this call did it.
// It is idempotent: later calls, and calls on an invalid handle, return
// false. A slot not yet called by a running emission is skipped by it, and
// a queued call still pending is dropped when its executor reaches it (the
// value then goes to the drop hook if nobody else received it). For a
// single-shot connection that an emission has claimed, Disconnect returns
// true only if it prevented the pending queued call.
//
// Disconnect does not wait for an invocation already running on another
// goroutine; DisconnectWait does.
func (c Connection) Disconnect() bool { return c.c != nil && c.c.disconnect() }

// DisconnectWait disconnects (as Disconnect) and then waits until no
// invocation of the slot is running, or ctx is done (it then returns
// ctx.Err()). It needs a connection made with Tracked and returns
// ErrNotTracked otherwise. When ctx declares (WithExecutor) the
// connection's executor while a queued invocation runs there, the caller is
// that invocation and DisconnectWait returns ErrDeadlock; a slot that calls
// DisconnectWait on its own connection from a direct call cannot be told
// apart and waits until ctx is done.
func (c Connection) DisconnectWait(ctx context.Context) error {
	if c.c == nil {
		return nil
	}
	return c.c.disconnectWait(ctx)
}
