package signals

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Loop is a standalone Executor: one goroutine that calls the functions
// posted to it one at a time, in FIFO order, from an unbounded queue. A
// panic in a function is recovered and reported (see WithPanicHandler); it
// never stops the loop.
//
// Create a Loop with NewLoop and close it with Close; the zero Loop is not
// usable. All methods are safe for concurrent use.
type Loop struct {
	mu       sync.Mutex
	queue    []func() // posted, not yet taken by the loop; guarded by mu
	sleeping bool     // the loop goroutine waits for wake; guarded by mu
	closing  bool     // Post refuses; guarded by mu
	leftover []func() // taken by the loop but not run when it stopped; guarded by mu

	closed   atomic.Bool   // mirrors closing, for Closed
	wake     chan func()   // buffered 1: the first function posted to a sleeping loop, or nil from Close
	exited   chan struct{} // closed when the loop goroutine is gone
	finished chan struct{} // closed when Close has called the leftovers

	spare   []func()  // the emptied previous batch; loop goroutine only
	one     [1]func() // batch of a function handed over by wake; loop goroutine only
	onPanic func(recovered any, stack []byte)
}

// A LoopOption configures NewLoop.
type LoopOption interface {
	applyLoop(*Loop)
}

type loopOptionFunc func(*Loop)

func (f loopOptionFunc) applyLoop(l *Loop) { f(l) }

// WithPanicHandler sets the function that receives the panics recovered
// from the functions the loop runs, and from the slots it runs for signals
// that have no panic handler of their own. The default writes the value and
// the stack to standard error.
func WithPanicHandler(h func(recovered any, stack []byte)) LoopOption {
	return loopOptionFunc(func(l *Loop) { l.onPanic = h })
}

var _ Executor = (*Loop)(nil)
var _ PanicReporter = (*Loop)(nil)

// NewLoop starts a loop goroutine and returns its Loop.
func NewLoop(opts ...LoopOption) *Loop {
	l := &Loop{
		wake:     make(chan func(), 1),
		exited:   make(chan struct{}),
		finished: make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o.applyLoop(l)
		}
	}
	go l.run(nil)
	return l
}

// Post queues f to be called on the loop's goroutine after the functions
// posted before it. It never blocks on the loop. It returns ErrClosed once
// Close has been called, and then never calls f; if it returns nil, f is
// called exactly once: on the loop's goroutine, or, if the loop is closed
// first, by Close after Closed reports true (f may check it to release
// what it holds instead of doing its work).
func (l *Loop) Post(f func()) error {
	if f == nil {
		return fmt.Errorf("%w: nil function posted", ErrInvalid)
	}
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.sleeping {
		// The loop waits with an empty queue: hand f over directly, which
		// spares it a trip through the queue and its lock.
		l.sleeping = false
		l.mu.Unlock()
		l.wake <- f // never blocks: one hand-over per sleep, buffer of one
		return nil
	}
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	return nil
}

// Closed reports whether Close has been called. It is the optional method of
// the Executor contract: a queued delivery that finds its executor closed
// is dropped.
func (l *Loop) Closed() bool { return l.closed.Load() }

// Close stops the loop: Post fails from now on, the function running on the
// loop (if any) finishes, and the loop goroutine exits. The functions still
// queued are then called, in order, on the goroutine calling Close, with
// Closed reporting true (queued signal deliveries among them are dropped).
// When Close returns, the loop's goroutine is gone and every function
// accepted by Post has been called.
//
// Close is idempotent and safe to call concurrently; every call waits until
// the loop is closed, and returns nil. It must not be called from a
// function running on the loop, which would wait for itself: close a loop
// from the outside.
func (l *Loop) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		<-l.finished
		return nil
	}
	l.closing = true
	l.closed.Store(true)
	wake := l.sleeping
	l.sleeping = false
	l.mu.Unlock()
	if wake {
		l.wake <- nil
	}
	<-l.exited
	l.mu.Lock()
	pending := append(l.leftover, l.queue...)
	l.leftover, l.queue = nil, nil
	l.mu.Unlock()
	for i := 0; i < len(pending); {
		i = l.runFrom(pending, i, false)
	}
	close(l.finished)
	return nil
}

// ReportPanic reports a recovered panic to the loop's panic handler. It
// makes Loop a PanicReporter, for queued slots that panic on it.
func (l *Loop) ReportPanic(recovered any, stack []byte) {
	if l.onPanic != nil {
		l.onPanic(recovered, stack)
		return
	}
	defaultPanicHandler(recovered, stack)
}

// run is the loop goroutine. It starts with batch (after a function called
// runtime.Goexit on the previous loop goroutine) or with the queue.
func (l *Loop) run(batch []func()) {
	for {
		direct := false
		if batch == nil {
			l.mu.Lock()
			switch {
			case l.closing:
				l.mu.Unlock()
				close(l.exited)
				return
			case len(l.queue) == 0:
				l.sleeping = true
				l.mu.Unlock()
				f := <-l.wake
				if f == nil {
					continue // Close woke us
				}
				l.one[0] = f
				batch, direct = l.one[:], true
			default:
				batch = l.queue
				l.queue = l.spare
				l.mu.Unlock()
			}
		}
		for i := 0; i < len(batch); {
			if l.closed.Load() {
				l.mu.Lock()
				l.leftover = append(l.leftover, batch[i:]...)
				l.mu.Unlock()
				close(l.exited)
				return
			}
			i = l.runFrom(batch, i, true)
		}
		clear(batch)
		if !direct {
			l.spare = batch[:0]
		}
		batch = nil
	}
}

// runFrom calls batch[i:] in order, stopping early when the loop closes if
// onLoop. It returns the index where to go on: len(batch), the index of the
// first function not run because the loop closed, or the one after a
// function that panicked (the panic is reported).
func (l *Loop) runFrom(batch []func(), i int, onLoop bool) (next int) {
	ok := false
	defer func() {
		if ok {
			return
		}
		if r := recover(); r != nil {
			l.ReportPanic(r, debug.Stack())
			next = i + 1
			return
		}
		// runtime.Goexit: this goroutine ends; a new one takes over the
		// loop with the rest of the batch, so the loop never dies.
		if onLoop {
			go l.run(batch[i+1:])
		}
	}()
	for ; i < len(batch); i++ {
		if onLoop && l.closed.Load() {
			break
		}
		f := batch[i]
		batch[i] = nil
		f()
	}
	ok = true
	return i
}
