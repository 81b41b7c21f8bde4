//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package reactor

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	errorx "github.com/panjf2000/gnet/v2/pkg/errors"
	"github.com/panjf2000/gnet/v2/pkg/netpoll"
	"github.com/panjf2000/gnet/v2/pkg/queue"
)

// A Loop is one event loop of a Reactor: a poller and the goroutine that
// drives it. Code runs on a loop through Post (from any goroutine), through
// timers and through connect completions. A Loop implements
// signals.Executor.
//
// Methods documented as "loop only" must be called from a function that runs
// on this loop; they take no locks.
type Loop struct {
	r       *Reactor
	index   int
	poller  *netpoll.Poller
	onPanic func(any, []byte)

	mu      sync.Mutex // protects tasks, spare, armed and stopped
	tasks   []func()   // posted, not yet run
	armed   bool       // a wake-up is on its way, or the loop is running tasks
	stopped bool       // Post refuses work

	closed atomic.Bool   // reported by Closed
	done   chan struct{} // closed when run has returned
	err    error         // why the loop stopped, if not by Close
	runFn  queue.Func    // l.runTasks, made once
	stopFn queue.Func    // returns errorx.ErrEngineShutdown

	// Loop-goroutine state: no locks.
	spare    []func()     // the previous batch's backing array
	ops      []*Op        // pending connects, indexed by fd
	pending  int          // number of non-nil entries in ops
	deferred []completion // connects that completed, waiting for their Completer
	// spareDeferred is the previous batch's backing array (runDeferred).
	spareDeferred []completion
	timers        timerHeap
	timerSeq      uint32
	epoch         time.Time   // monotonic zero for timer deadlines
	rt            *time.Timer // the loop's one runtime timer
	rtWhen        int64       // when rt is due (ns since epoch), 0 if not armed
	timersFn      func()      // l.runTimers, made once
	locals        map[any]any // Local's values
}

// Local returns the loop's value for key, calling create to make it the
// first time. Packages built on the reactor keep per-loop state this way
// (registries, caches) without locks: the value is only ever used on the
// loop. As with context.WithValue, key should be a value of an unexported
// type, so that packages cannot collide. Values are dropped when the loop
// has stopped. Loop only.
func (l *Loop) Local(key any, create func() any) any {
	v, ok := l.locals[key]
	if !ok {
		if l.locals == nil {
			l.locals = make(map[any]any)
		}
		v = create()
		l.locals[key] = v
	}
	return v
}

func newLoop(r *Reactor, index int, onPanic func(any, []byte)) (*Loop, error) {
	p, err := netpoll.OpenPoller()
	if err != nil {
		return nil, err
	}
	l := &Loop{
		r:       r,
		index:   index,
		poller:  p,
		onPanic: onPanic,
		done:    make(chan struct{}),
		epoch:   time.Now(),
	}
	l.runFn = l.runTasks
	l.stopFn = func(any) error { return errorx.ErrEngineShutdown }
	l.timersFn = l.runTimers
	l.rt = time.AfterFunc(time.Hour, func() { _ = l.Post(l.timersFn) })
	l.rt.Stop()
	return l, nil
}

// Index returns the loop's position in its reactor.
func (l *Loop) Index() int { return l.index }

// Reactor returns the reactor that owns the loop.
func (l *Loop) Reactor() *Reactor { return l.r }

// Closed reports whether the loop has been closed. Functions that were
// posted before Close and run after it see true; signals uses this to drop
// queued deliveries rather than run slots after their loop has closed.
func (l *Loop) Closed() bool { return l.closed.Load() }

// Post queues f to run on the loop, after every function posted before it
// (FIFO across all goroutines). It is safe to call from any goroutine,
// including the loop's own. Once the loop is closed Post returns ErrClosed
// and drops f. If Post returns nil, f is called exactly once: on the loop,
// or, if the reactor is closed first, from the goroutine that closes it,
// after Closed reports true.
//
// A panic in f is recovered and reported to the reactor's panic handler; the
// loop goes on.
func (l *Loop) Post(f func()) error {
	if f == nil {
		panic("sigdial/reactor: Post of a nil function")
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return ErrClosed
	}
	l.tasks = append(l.tasks, f)
	wake := !l.armed
	l.armed = true
	l.mu.Unlock()
	if wake {
		// Trigger coalesces eventfd writes itself; armed coalesces the
		// Trigger calls, so a burst of posts costs one task and one write.
		_ = l.poller.Trigger(queue.HighPriority, l.runFn, nil)
	}
	return nil
}

// runTasks runs every queued function, including those posted while it
// runs, then disarms. It runs on the loop through Poller.Trigger.
func (l *Loop) runTasks(any) error {
	for {
		l.mu.Lock()
		batch := l.tasks
		if len(batch) == 0 {
			l.armed = false
			l.mu.Unlock()
			return nil
		}
		l.tasks = l.spare[:0]
		l.mu.Unlock()
		for i, f := range batch {
			batch[i] = nil
			l.call(f)
			if len(l.deferred) > 0 {
				l.runDeferred()
			}
		}
		l.spare = batch[:0]
	}
}

// call runs f and reports a panic instead of letting it end the loop.
func (l *Loop) call(f func()) {
	defer func() {
		if v := recover(); v != nil {
			report(l.onPanic, v)
		}
	}()
	f()
}

// ReportPanic hands a panic recovered from code that ran on the loop to the
// reactor's panic handler (WithPanicHandler), or to the default one. It
// makes Loop a signals.PanicReporter, as signals.Loop is one: a slot queued
// to the loop that panics, on a signal without a handler of its own, is
// reported here like any other panic on the loop, not by package signals'
// default handler.
func (l *Loop) ReportPanic(recovered any, stack []byte) {
	h := l.onPanic
	if h == nil {
		h = defaultPanicHandler
	}
	h(recovered, stack)
}

// stop refuses further posts and asks the loop goroutine to finish.
func (l *Loop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.closed.Store(true)
	if err := l.poller.Trigger(queue.HighPriority, l.stopFn, nil); err != nil {
		// The wake-up could not be written. Nothing else can stop Polling,
		// so this is fatal for the process rather than a hang.
		panic("sigdial/reactor: cannot wake a loop to close it: " + err.Error())
	}
}

// run drives the poller until Close, then fails what is pending and releases
// the poller. It is the loop goroutine.
func (l *Loop) run() {
	defer close(l.done)
	err := l.poller.Polling(l.onEvent)
	if !errors.Is(err, errorx.ErrEngineShutdown) {
		// epoll_wait failed for good. Treat it as a close so that every
		// operation still completes and Post stops accepting work.
		l.err = err
		l.mu.Lock()
		l.stopped = true
		l.mu.Unlock()
		l.closed.Store(true)
	}
	l.rt.Stop()
	l.rtWhen = 0
	l.failAll(ErrClosed)
	// Drain what was posted before the loop stopped, in closed mode. A
	// drained function may post again; Post refuses that now.
	for {
		l.mu.Lock()
		batch := l.tasks
		l.tasks = nil
		l.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		for _, f := range batch {
			l.call(f)
			if len(l.deferred) > 0 {
				l.runDeferred()
			}
		}
		l.failAll(ErrClosed)
	}
	l.timers.clear()
	l.locals = nil
	if cerr := l.poller.Close(); cerr != nil && l.err == nil {
		l.err = cerr
	}
}

// onEvent is the poller callback: fd is readable, writable or in error.
func (l *Loop) onEvent(fd int, ev netpoll.IOEvent, _ netpoll.IOFlags) error {
	if fd >= 0 && fd < len(l.ops) {
		// An event may name an fd whose op has completed since epoll_wait
		// returned; the entry is then nil or another op. Each wake-up is
		// confirmed with SO_ERROR and getpeername, so a stray one only
		// costs those two calls.
		if op := l.ops[fd]; op != nil && int(op.fd) == fd {
			l.check(op)
		}
	}
	if len(l.deferred) > 0 {
		l.runDeferred()
	}
	return nil
}
