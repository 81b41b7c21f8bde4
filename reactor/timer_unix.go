//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package reactor

import "time"

// A Timer calls a function on its loop once its time has come, unless it is
// stopped first. Timers live in a per-loop heap; the whole heap shares one
// runtime timer, armed for the earliest deadline, so a pending timer costs
// no goroutine and no runtime timer of its own.
type Timer struct {
	l    *Loop
	when int64  // ns since l.epoch
	seq  uint32 // tie-break: equal deadlines fire in scheduling order (serial-number arithmetic)
	pos  int32  // 1 + index in l.timers; 0 when not scheduled
	f    func()
	op   *Op // a connect deadline: fail op instead of calling f
}

// AfterFunc schedules f to run on the loop after d. Loop only.
func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer {
	t := &Timer{l: l, f: f}
	l.schedule(t, l.now()+int64(d))
	return t
}

// At schedules f to run on the loop at deadline. Loop only.
func (l *Loop) At(deadline time.Time, f func()) *Timer {
	t := &Timer{l: l, f: f}
	l.schedule(t, int64(deadline.Sub(l.epoch)))
	return t
}

// Stop prevents the timer from firing. It returns true if the call stopped
// the timer, false if it had already fired or been stopped. Loop only.
func (t *Timer) Stop() bool {
	if t == nil || t.pos == 0 {
		return false
	}
	t.l.timers.remove(t)
	// The runtime timer is left armed: when it fires early it finds nothing
	// due and re-arms for the new earliest deadline. That keeps Stop cheap.
	return true
}

// Reset reschedules the timer to fire after d, whether or not it has fired
// or been stopped. It reports whether the timer was pending. Loop only.
func (t *Timer) Reset(d time.Duration) bool {
	pending := t.Stop()
	t.l.schedule(t, t.l.now()+int64(d))
	return pending
}

// now returns monotonic nanoseconds since the loop's epoch.
func (l *Loop) now() int64 { return int64(time.Since(l.epoch)) }

func (l *Loop) schedule(t *Timer, when int64) {
	t.when = when
	l.timerSeq++
	t.seq = l.timerSeq
	l.timers.push(t)
	if l.rtWhen == 0 || when < l.rtWhen {
		l.rtWhen = when
		l.rt.Reset(time.Duration(when - l.now()))
	}
}

// runTimers fires every due timer, then re-arms the runtime timer for the
// earliest one left. It runs on the loop, posted by the runtime timer.
func (l *Loop) runTimers() {
	l.rtWhen = 0
	now := l.now()
	for len(l.timers) > 0 {
		t := l.timers[0]
		if t.when > now {
			break
		}
		l.timers.remove(t)
		if t.op != nil {
			l.expire(t.op)
		} else {
			l.call(t.f)
		}
		if len(l.deferred) > 0 {
			l.runDeferred()
		}
		// A timer function may run for a while; look at the clock again
		// only when the heap says the next one might be due.
		if len(l.timers) > 0 && l.timers[0].when > now {
			now = l.now()
		}
	}
	if len(l.timers) > 0 && (l.rtWhen == 0 || l.timers[0].when < l.rtWhen) {
		l.rtWhen = l.timers[0].when
		l.rt.Reset(time.Duration(l.rtWhen - l.now()))
	}
}

// timerHeap is a binary min-heap of timers ordered by deadline, then by
// scheduling order.
type timerHeap []*Timer

func before(a, b *Timer) bool {
	return a.when < b.when || (a.when == b.when && int32(a.seq-b.seq) < 0)
}

func (h *timerHeap) push(t *Timer) {
	*h = append(*h, t)
	t.pos = int32(len(*h))
	h.up(int(t.pos) - 1)
}

func (h *timerHeap) remove(t *Timer) {
	s := *h
	i := int(t.pos) - 1
	last := len(s) - 1
	if i != last {
		s[i] = s[last]
		s[i].pos = int32(i + 1)
	}
	s[last] = nil
	*h = s[:last]
	t.pos = 0
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[i], h[p]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		h[p].pos, h[i].pos = int32(p+1), int32(i+1)
		i = p
	}
}

// down sifts element i down and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && before(h[r], h[c]) {
			c = r
		}
		if !before(h[c], h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		h[i].pos, h[c].pos = int32(i+1), int32(c+1)
		i = c
	}
	return i > start
}

func (h *timerHeap) clear() {
	for _, t := range *h {
		t.pos = 0
	}
	*h = nil
}
