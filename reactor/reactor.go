//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package reactor

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Reactor owns a fixed set of event loops. Each loop is one gnet
// pkg/netpoll Poller (epoll on Linux, kqueue on BSD and macOS) driven by one
// goroutine. A Reactor is safe for concurrent use.
type Reactor struct {
	loops []*Loop
	next  atomic.Uint32 // round-robin cursor for Next

	closeOnce sync.Once
	closed    atomic.Bool
}

// New starts a reactor. Without options it has one loop per P, at most 8.
func New(opts ...Option) (*Reactor, error) {
	cfg := config{loops: defaultLoops()}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.loops < 1 {
		return nil, fmt.Errorf("sigdial/reactor: loop count %d: must be at least 1", cfg.loops)
	}
	r := &Reactor{loops: make([]*Loop, 0, cfg.loops)}
	for i := range cfg.loops {
		l, err := newLoop(r, i, cfg.panicHandler)
		if err != nil {
			for _, l := range r.loops {
				l.poller.Close()
			}
			return nil, err
		}
		r.loops = append(r.loops, l)
	}
	for _, l := range r.loops {
		go l.run()
	}
	return r, nil
}

// Close stops the reactor. Every pending operation completes, on its loop,
// with an error that wraps net.ErrClosed (ErrClosed). Functions that were
// posted and have not run yet are called after their loop is marked closed.
// When Close returns, the loop goroutines have exited and the pollers are
// closed. Close is idempotent; calls after the first return nil.
func (r *Reactor) Close() error {
	first := false
	r.closeOnce.Do(func() {
		first = true
		r.closed.Store(true)
		for _, l := range r.loops {
			l.stop()
		}
		for _, l := range r.loops {
			<-l.done
		}
	})
	if !first {
		return nil
	}
	var errs []error
	for _, l := range r.loops {
		errs = append(errs, l.err)
	}
	return errors.Join(errs...)
}

// Closed reports whether Close has been called.
func (r *Reactor) Closed() bool { return r.closed.Load() }

// Len returns the number of loops.
func (r *Reactor) Len() int { return len(r.loops) }

// Loop returns loop i, for 0 <= i < Len().
func (r *Reactor) Loop(i int) *Loop { return r.loops[i] }

// Next returns the loops in turn (round-robin).
func (r *Reactor) Next() *Loop {
	if len(r.loops) == 1 {
		return r.loops[0]
	}
	return r.loops[int(r.next.Add(1)-1)%len(r.loops)]
}

// Pick returns the loop for key, the same one for the same key: work that
// must stay on one loop (a pool's entries for one peer, say) can use it.
func (r *Reactor) Pick(key uint64) *Loop {
	return r.loops[key%uint64(len(r.loops))]
}
