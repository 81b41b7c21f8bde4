//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package dialer

import (
	"context"

	"github.com/sigdial/sigdial/reactor"
)

// A loop watches the contexts of its dials in one place: one
// context.AfterFunc per context Done channel, however many of the loop's
// dials share it. A server that starts thousands of dials under its
// lifetime context so pays for one watcher, not one each (about 300 bytes
// and, when the context is canceled, a goroutine each), and canceling it
// wakes each loop once.
//
// Dials are grouped by Done channel rather than by context: children that
// only add values (context.WithValue, httptrace) share their parent's
// channel, and are done when it is. Each dial is aborted with its own
// context's error.

// ctxWatchersKey is the reactor.Loop.Local key of a loop's ctxWatchers.
type ctxWatchersKey struct{}

// ctxWatchers are one loop's context watchers. Loop only.
type ctxWatchers struct {
	loop   *reactor.Loop
	byDone map[<-chan struct{}]*ctxWatch
}

// A ctxWatch is the watcher of one Done channel on one loop.
type ctxWatch struct {
	ws   *ctxWatchers
	done <-chan struct{}
	stop func() bool // the context.AfterFunc's
	// dials holds the dials that watch, and, until the next compaction,
	// some that stopped watching (their watched flag is false); live
	// counts the first kind.
	dials []*dial
	live  int
}

func loopWatchers(l *reactor.Loop) *ctxWatchers {
	return l.Local(ctxWatchersKey{}, func() any {
		return &ctxWatchers{loop: l, byDone: make(map[<-chan struct{}]*ctxWatch)}
	}).(*ctxWatchers)
}

// watchCtx arranges for the dial to be aborted, on its loop, when its
// context is done. The context must be one that can be done. Loop only.
func (dl *dial) watchCtx() {
	done := dl.ctx.Done()
	ws := loopWatchers(dl.loop)
	w := ws.byDone[done]
	if w == nil {
		w = &ctxWatch{ws: ws, done: done}
		w.stop = context.AfterFunc(dl.ctx, func() { _ = ws.loop.Post(w.fire) })
		ws.byDone[done] = w
	}
	w.dials = append(w.dials, dl)
	w.live++
	dl.watched = true
}

// unwatchCtx takes a finishing dial out of its context's watcher. Loop
// only.
func (dl *dial) unwatchCtx() {
	if !dl.watched {
		return
	}
	dl.watched = false
	if dl.ctx.Err() != nil {
		// The watcher has fired, or will: it forgets itself then, and
		// skips the dials that no longer watch.
		return
	}
	// The context is not done, so the dial's watcher has not fired: it is
	// the one its Done channel maps to, and counts the dial among live.
	loopWatchers(dl.loop).byDone[dl.ctx.Done()].remove()
}

// remove accounts for a dial that stopped watching: the last one stops
// the watcher; otherwise the list is compacted once it is mostly dead, so
// that it holds on to finished dials for a bounded time only.
func (w *ctxWatch) remove() {
	w.live--
	if w.live == 0 {
		w.stop()
		w.release()
		return
	}
	if len(w.dials) >= 64 && w.live < len(w.dials)/4 {
		keep := w.dials[:0]
		for _, dl := range w.dials {
			if dl.watched {
				keep = append(keep, dl)
			}
		}
		clear(w.dials[len(keep):])
		w.dials = keep
	}
}

// release forgets the watcher.
func (w *ctxWatch) release() {
	if w.ws.byDone[w.done] == w {
		delete(w.ws.byDone, w.done)
	}
	w.dials = nil
}

// fire aborts every dial still watching: the context is done. Loop only.
func (w *ctxWatch) fire() {
	dials := w.dials
	w.release()
	w.live = 0
	for _, dl := range dials {
		if dl.watched {
			// Still watched: abort ends it, and its finish calls
			// unwatchCtx, which sees the context done.
			dl.abort(abortCtx)
		}
	}
}
