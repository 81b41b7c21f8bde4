package signals

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// noCopy makes go vet's copylocks check report copies of the struct that
// embeds it (see sync.noCopy).
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// Signal is a typed signal: values emitted on it are delivered to the slots
// connected to it, each according to its ConnectionType.
//
// The zero value is ready to use: it has no connections, is not blocked, and
// has no drop hook and no panic handler. All methods are safe for concurrent
// use. A Signal must not be copied after first use.
//
// Emission holds no lock while slots run, and an emission that only calls
// slots directly does not allocate: the connections are an immutable slice
// replaced as a whole (copy-on-write) behind an atomic pointer.
type Signal[T any] struct {
	_ noCopy

	// state is the immutable snapshot emissions read. It is replaced, never
	// changed, and only while the signal's writer lock (s.mu()) is held.
	//
	// That lock is not a field: a Signal is one pointer, because programs
	// embed many of them (an asynchronous dial carries nine), and writers
	// (Connect, Disconnect, the setters) are rare next to emissions. The
	// lock is one of a fixed set, picked by the signal's address; it also
	// guards conn.stop. Unique keys are found by scanning the snapshot.
	state atomic.Pointer[sigState[T]]
}

// writerLocks serialise the writers of signals' snapshots. Two signals may
// share one; no code holds one while taking another.
var writerLocks [64]struct {
	sync.Mutex
	_ [56]byte // one lock per cache line
}

var writerSeed = maphash.MakeSeed()

// mu returns the lock that serialises writers of s's snapshot.
func (s *Signal[T]) mu() *sync.Mutex {
	return &writerLocks[maphash.Comparable(writerSeed, s)%uint64(len(writerLocks))].Mutex
}

// sigState is one immutable snapshot of a signal's configuration.
type sigState[T any] struct {
	conns   []*conn[T] // in connection order
	blocked bool
	drop    func(T)
	onPanic func(recovered any, stack []byte)
	// fast: not blocked, no panic handler, and every connection is called
	// directly on every emission with no claim and no tracking, so Emit may
	// take the allocation-free path.
	fast bool
}

// update replaces the snapshot with a copy changed by f. s.mu() must be held.
func (s *Signal[T]) update(f func(*sigState[T])) {
	var next sigState[T]
	if cur := s.state.Load(); cur != nil {
		next = *cur
	}
	f(&next)
	if len(next.conns) == 0 && !next.blocked && next.drop == nil && next.onPanic == nil {
		// Nothing to do on emission: Emit returns after one load.
		s.state.Store(nil)
		return
	}
	next.fast = !next.blocked && next.onPanic == nil
	for _, c := range next.conns {
		if !c.plainDirect() {
			next.fast = false
			break
		}
	}
	s.state.Store(&next)
}

// Connect connects slot to the signal and returns the connection's handle.
// Without options the connection is an AutoConnection with no executor, so
// slot is called directly, on the emitting goroutine.
//
// Connect fails only for a request that cannot be satisfied (ErrInvalid) and
// for a Unique key already in use (ErrDuplicate); the Connection returned
// with an error is invalid and its methods do nothing.
//
// A connection made while an emission is running is not called by that
// emission. Slots are called in connection order.
func (s *Signal[T]) Connect(slot func(T), opts ...ConnectOption) (Connection, error) {
	if slot == nil {
		return Connection{}, fmt.Errorf("%w: nil slot", ErrInvalid)
	}
	return s.connect(slot, nil, opts)
}

// connect makes a connection calling slot, or try when slot is nil.
func (s *Signal[T]) connect(slot func(T), try func(T) bool, opts []ConnectOption) (Connection, error) {
	var cfg connectConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return Connection{}, err
	}
	c := &conn[T]{
		sig:     s,
		slot:    slot,
		try:     try,
		ex:      cfg.ex,
		typ:     cfg.typ & baseTypeMask,
		single:  cfg.typ&SingleShotConnection != 0,
		tracked: cfg.tracked,
		key:     cfg.key,
		hasKey:  cfg.hasKey,
	}
	c.exClose, _ = cfg.ex.(closedReporter)
	if c.typ == BlockingQueuedConnection {
		c.waiters = newWaiterPool(c)
	}
	if cfg.ctx != nil && cfg.ctx.Err() != nil {
		c.state.Store(stDone)
		return Connection{c}, nil
	}
	c.state.Store(stLive)

	mu := s.mu()
	mu.Lock()
	defer mu.Unlock()
	if c.hasKey {
		if st := s.state.Load(); st != nil {
			for _, x := range st.conns {
				if x.hasKey && x.key == c.key {
					return Connection{}, fmt.Errorf("%w: key %v", ErrDuplicate, c.key)
				}
			}
		}
	}
	if cfg.ctx != nil {
		// The callback runs on its own goroutine and waits for mu.
		c.stop = context.AfterFunc(cfg.ctx, func() { c.disconnect() })
	}
	s.update(func(st *sigState[T]) {
		conns := make([]*conn[T], len(st.conns), len(st.conns)+1)
		copy(conns, st.conns)
		st.conns = append(conns, c)
	})
	return Connection{c}, nil
}

// remove takes c out of the connection list and frees its key.
func (s *Signal[T]) remove(c *conn[T]) {
	mu := s.mu()
	mu.Lock()
	defer mu.Unlock()
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	st := s.state.Load()
	if st == nil {
		return
	}
	i := -1
	for j, x := range st.conns {
		if x == c {
			i = j
			break
		}
	}
	if i < 0 {
		return
	}
	s.update(func(st *sigState[T]) {
		conns := make([]*conn[T], 0, len(st.conns)-1)
		conns = append(conns, st.conns[:i]...)
		st.conns = append(conns, st.conns[i+1:]...)
	})
}

// SetBlocked blocks (true) or unblocks (false) the signal and returns whether
// it was blocked before, so that a caller can restore it:
//
//	defer sig.SetBlocked(sig.SetBlocked(true))
//
// Values emitted while the signal is blocked are lost, not buffered: no slot
// sees them, and they go to the drop hook.
func (s *Signal[T]) SetBlocked(blocked bool) (previous bool) {
	mu := s.mu()
	mu.Lock()
	defer mu.Unlock()
	if st := s.state.Load(); st != nil {
		previous = st.blocked
	}
	s.update(func(st *sigState[T]) { st.blocked = blocked })
	return previous
}

// Blocked reports whether the signal is blocked.
func (s *Signal[T]) Blocked() bool {
	st := s.state.Load()
	return st != nil && st.blocked
}

// SetDropHook sets the function that receives the values nobody received:
// it is called at most once per emission, and only if no slot was called
// with the value. That happens when the signal has no connection or is
// blocked, when every queued delivery of the emission was dropped
// (disconnected while pending, executor closed, Post refused, blocking
// emitter gone), when a single-shot connection was lost to a concurrent
// emission, or when a Notify channel was full. If at least one slot was
// called with the value — even one that then panicked — the hook is not
// called. A nil hook removes it.
//
// The hook in force when the emission starts is the one used. It runs on
// whichever goroutine settles the emission's fate: the emitter, an
// executor's goroutine, or the goroutine closing an executor; it must be
// safe for that and should not block. It exists so that a value that owns a
// resource (a net.Conn) is released when nobody took it.
func (s *Signal[T]) SetDropHook(hook func(v T)) {
	mu := s.mu()
	mu.Lock()
	defer mu.Unlock()
	s.update(func(st *sigState[T]) { st.drop = hook })
}

// SetPanicHandler sets the function that receives the panics recovered from
// this signal's slots and drop hook, with the stack of the panicking
// goroutine. A nil h restores the default.
//
// Queued slots always run under recover, so that a slot never stops its
// executor: without a handler on the signal, their panics go to the
// executor's PanicReporter if it has one (Loop does), and otherwise to the
// default handler, which writes the value and the stack to standard error.
// Panics of BlockingQueuedConnection slots are not reported: they are
// returned to the emitter as a *PanicError. Direct slots run without
// recover when the signal has no handler (a deferred recover would double
// the cost of an emission): their panics propagate to the emitter. With a
// handler, a direct slot's panic is recovered, reported, and the emission
// goes on with the next slot.
func (s *Signal[T]) SetPanicHandler(h func(recovered any, stack []byte)) {
	mu := s.mu()
	mu.Lock()
	defer mu.Unlock()
	s.update(func(st *sigState[T]) { st.onPanic = h })
}

// reportPanic hands a panic recovered from one of the signal's slots,
// running on ex (nil for a direct call), to the right handler.
func (s *Signal[T]) reportPanic(ex Executor, recovered any, stack []byte) {
	if st := s.state.Load(); st != nil && st.onPanic != nil {
		st.onPanic(recovered, stack)
		return
	}
	if r, ok := ex.(PanicReporter); ok {
		r.ReportPanic(recovered, stack)
		return
	}
	defaultPanicHandler(recovered, stack)
}

// callEach calls the live slots of conns, all plain direct, in order, and
// reports whether it called one.
func callEach[T any](conns []*conn[T], v T) (called bool) {
	for _, c := range conns {
		if c.state.Load() != stLive {
			continue
		}
		c.slot(v)
		called = true
	}
	return called
}

// callDrop calls the drop hook, reporting a panic instead of propagating it.
func (s *Signal[T]) callDrop(drop func(T), v T) {
	ok := false
	defer func() {
		if !ok {
			if r := recover(); r != nil {
				s.reportPanic(nil, r, debug.Stack())
			}
		}
	}()
	drop(v)
	ok = true
}

// Emit emits v from code that runs on no known executor (or does not say
// which): direct connections are called at once, on this goroutine, in
// connection order; AutoConnections with an executor are queued to it;
// BlockingQueuedConnections wait, without a time limit (use EmitContext to
// bound the wait).
//
// Emit returns nil unless a BlockingQueuedConnection failed; the failures
// (ErrDeadlock, ErrClosed, ErrDisconnected, *PanicError) are joined with
// errors.Join.
//
// A panic in a direct slot propagates to the caller of Emit, as in any
// function call, and the slots after it are not called — unless the signal
// has a panic handler (SetPanicHandler): the panic is then recovered,
// reported to it, and the emission goes on with the next slot. Panics in
// queued slots never reach the emitter (see SetPanicHandler).
func (s *Signal[T]) Emit(v T) error {
	st := s.state.Load()
	if st == nil {
		return nil
	}
	if st.fast {
		// No lock, no allocation, no defer: this is the cost of Emit with
		// direct slots. One slot is the common case; it gets its own
		// branch, which keeps nothing live across the call.
		if len(st.conns) == 1 {
			if c := st.conns[0]; c.state.Load() == stLive {
				c.slot(v)
				return nil
			}
		} else if len(st.conns) > 1 && callEach(st.conns, v) {
			return nil
		}
		if st.drop != nil {
			s.callDrop(st.drop, v)
		}
		return nil
	}
	return s.emitSlow(st, context.Background(), nil, v, st.drop)
}

// EmitOn emits v from code running on executor ex, which the caller
// declares: AutoConnections whose executor is ex are called directly, and a
// BlockingQueuedConnection to ex returns ErrDeadlock at once. A nil ex is
// the same as Emit. See Emit for the rest.
func (s *Signal[T]) EmitOn(ex Executor, v T) error {
	st := s.state.Load()
	if st == nil {
		return nil
	}
	if st.fast {
		return s.Emit(v)
	}
	return s.emitSlow(st, context.Background(), ex, v, st.drop)
}

// Idle reports whether an emission now would return at once: no
// connection, and no drop hook, panic handler or block set. An emitter may
// use it to skip building a value that nobody would receive. The answer
// can be stale by the time it is used: a slot connected meanwhile misses
// the value, as it would if it had connected after the emission.
func (s *Signal[T]) Idle() bool { return s.state.Load() == nil }

// EmitOwned emits v from code running on executor ex (nil: unknown), as
// EmitOn does, for a value that must be released if nobody takes it — a
// connection, a file: drop is called with v, once, if no slot receives it,
// by the rules of SetDropHook, in place of the signal's own drop hook for
// this emission only. Unlike setting a drop hook before each emission, it
// leaves the signal as it is (SetDropHook copies its state) and cannot
// affect another emission. A nil drop means the signal's own hook.
func (s *Signal[T]) EmitOwned(ex Executor, v T, drop func(T)) error {
	st := s.state.Load()
	if st == nil {
		if drop != nil {
			s.callDrop(drop, v) // no slot at all
		}
		return nil
	}
	if drop == nil {
		drop = st.drop
	}
	return s.emitSlow(st, context.Background(), ex, v, drop)
}

// EmitContext emits v with ctx bounding the waits of BlockingQueued
// deliveries (a delivery abandoned because ctx is done is not made later)
// and, through WithExecutor, declaring the emitter's executor as EmitOn
// does. ctx must not be nil. See Emit for the rest.
func (s *Signal[T]) EmitContext(ctx context.Context, v T) error {
	st := s.state.Load()
	if st == nil {
		return nil
	}
	if st.fast {
		return s.Emit(v)
	}
	return s.emitSlow(st, ctx, ExecutorFrom(ctx), v, st.drop)
}
