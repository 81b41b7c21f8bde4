package signals

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// dropRecorder is a drop hook that records what it got.
type dropRecorder struct {
	mu  sync.Mutex
	got []int
}

func (d *dropRecorder) hook(v int) {
	d.mu.Lock()
	d.got = append(d.got, v)
	d.mu.Unlock()
}

func (d *dropRecorder) values() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got)
}

func TestDropNoConnection(t *testing.T) {
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	s.Emit(1)
	c, _ := s.Connect(func(int) {})
	s.Emit(2)
	c.Disconnect()
	s.Emit(3)
	if got := d.values(); !slices.Equal(got, []int{1, 3}) {
		t.Fatalf("dropped %v, want [1 3]", got)
	}
	s.SetDropHook(nil)
	s.Emit(4) // no hook: nothing to call
	if got := d.values(); len(got) != 2 {
		t.Fatalf("removed hook still called: %v", got)
	}
}

func TestDropQueued(t *testing.T) {
	a, b := newLoop(t), newLoop(t)
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	var gotA, gotB atomic.Int32
	ca, _ := s.Connect(func(int) { gotA.Add(1) }, On(a))
	cb, _ := s.Connect(func(int) { gotB.Add(1) }, On(b))

	// One of two deliveries dropped, the other delivered: no drop.
	releaseA, releaseB := hold(t, a), hold(t, b)
	s.Emit(1)
	ca.Disconnect()
	releaseA()
	releaseB()
	drain(t, a)
	drain(t, b)
	if got := d.values(); len(got) != 0 || gotB.Load() != 1 {
		t.Fatalf("dropped %v, B got %d; want nothing dropped, B got 1", got, gotB.Load())
	}

	// Both dropped: exactly one drop, by whichever delivery settles last.
	ca, _ = s.Connect(func(int) { gotA.Add(1) }, On(a))
	releaseA, releaseB = hold(t, a), hold(t, b)
	s.Emit(2)
	ca.Disconnect()
	cb.Disconnect()
	releaseB()
	drain(t, b)
	if got := d.values(); len(got) != 0 {
		t.Fatalf("dropped %v before every delivery settled", got)
	}
	releaseA()
	drain(t, a)
	if got := d.values(); !slices.Equal(got, []int{2}) {
		t.Fatalf("dropped %v, want [2]", got)
	}
}

func TestDropDirectAndQueued(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	cq, _ := s.Connect(func(int) {}, On(l))
	s.Connect(func(int) {}, WithType(DirectConnection))
	release := hold(t, l)
	s.Emit(1)
	cq.Disconnect()
	release()
	drain(t, l)
	if got := d.values(); len(got) != 0 {
		t.Fatalf("dropped %v although a direct slot received the value", got)
	}
}

func TestDropExecutorClosed(t *testing.T) {
	t.Run("closed before emit", func(t *testing.T) {
		l := NewLoop()
		l.Close()
		var s Signal[int]
		var d dropRecorder
		s.SetDropHook(d.hook)
		s.Connect(func(int) { t.Error("called") }, On(l))
		s.Emit(1)
		if got := d.values(); !slices.Equal(got, []int{1}) {
			t.Fatalf("dropped %v, want [1]", got)
		}
	})
	t.Run("closed with calls pending", func(t *testing.T) {
		m1, m2 := newManual(), newManual()
		var s Signal[int]
		var d dropRecorder
		s.SetDropHook(d.hook)
		s.Connect(func(int) { t.Error("called") }, On(m1))
		s.Connect(func(int) { t.Error("called") }, On(m2))
		s.Emit(1)
		s.Emit(2)
		m1.closeAndRun()
		if got := d.values(); len(got) != 0 {
			t.Fatalf("dropped %v with deliveries still pending on m2", got)
		}
		m2.closeAndRun()
		if got := d.values(); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("dropped %v, want [1 2]", got)
		}
	})
	t.Run("loop closed with calls pending", func(t *testing.T) {
		l := NewLoop()
		var s Signal[int]
		var d dropRecorder
		s.SetDropHook(d.hook)
		s.Connect(func(int) { t.Error("called") }, On(l))
		release := hold(t, l)
		s.Emit(1)
		closed := make(chan struct{})
		go func() { l.Close(); close(closed) }()
		waitUntil(t, "loop marked closed", l.Closed)
		release()
		recv(t, closed)
		if got := d.values(); !slices.Equal(got, []int{1}) {
			t.Fatalf("dropped %v, want [1]", got)
		}
	})
}

func TestDropPanickingSlotReceived(t *testing.T) {
	l := newLoop(t, WithPanicHandler(func(any, []byte) {}))
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	s.Connect(func(int) { panic("x") }, On(l))
	s.Emit(1)
	drain(t, l)
	if got := d.values(); len(got) != 0 {
		t.Fatalf("dropped %v although the slot was called", got)
	}
}

func TestDropHookPanicReported(t *testing.T) {
	var s Signal[int]
	reported := make(chan any, 1)
	s.SetPanicHandler(func(r any, _ []byte) { reported <- r })
	s.SetDropHook(func(int) { panic("hook") })
	s.Emit(1)
	if r := recv(t, reported); r != "hook" {
		t.Fatalf("reported %v, want hook", r)
	}
}

// TestDropExactUnderRace emits many values to two queued connections and a
// single-shot one while another goroutine keeps disconnecting and
// reconnecting them and the loops are finally closed with calls pending.
// For every value: either some slot received it and it was never dropped,
// or no slot received it and it was dropped exactly once.
func TestDropExactUnderRace(t *testing.T) {
	const emitters, perEmitter = 4, 2000
	const n = emitters * perEmitter
	a, b := NewLoop(), NewLoop()
	var s Signal[int]
	got := make([]atomic.Int32, n)
	dropped := make([]atomic.Int32, n)
	s.SetDropHook(func(v int) { dropped[v].Add(1) })
	slot := func(v int) { got[v].Add(1) }

	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() {
		opts := [][]ConnectOption{{On(a)}, {On(b)}, {On(a), WithType(SingleShotConnection)}, {WithType(DirectConnection | SingleShotConnection)}}
		conns := make([]Connection, len(opts))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := i % len(opts)
			conns[k].Disconnect()
			conns[k], _ = s.Connect(slot, opts[k]...)
		}
	})
	var wg sync.WaitGroup
	for e := range emitters {
		wg.Go(func() {
			for i := range perEmitter {
				s.Emit(e*perEmitter + i)
			}
		})
	}
	within(t, "emitters", wg.Wait)
	close(stop)
	within(t, "churn", churn.Wait)
	a.Close()
	b.Close()
	for v := range n {
		g, d := got[v].Load(), dropped[v].Load()
		if d > 1 || (d == 1) != (g == 0) {
			t.Fatalf("value %d: received by %d slots, dropped %d times", v, g, d)
		}
	}
}

// TestEmitOwned checks the per-emission drop hook: called once when no
// slot receives the value (no slot, a queued delivery dropped), not when
// one does, in place of the signal's own hook, which it leaves set.
func TestEmitOwned(t *testing.T) {
	var s Signal[int]
	var own, sig dropRecorder
	s.EmitOwned(nil, 1, own.hook) // no slot at all
	s.SetDropHook(sig.hook)
	s.EmitOwned(nil, 2, own.hook) // a drop hook but no slot
	c, _ := s.Connect(func(int) {})
	s.EmitOwned(nil, 3, own.hook) // received
	c.Disconnect()

	l := newLoop(t)
	q, _ := s.Connect(func(int) { t.Error("queued slot ran after Disconnect") }, On(l))
	release := hold(t, l)
	s.EmitOwned(nil, 4, own.hook) // queued, then dropped
	q.Disconnect()
	release()
	drain(t, l)

	s.EmitOwned(nil, 5, nil) // nil: the signal's own hook
	s.Emit(6)
	if got := own.values(); !slices.Equal(got, []int{1, 2, 4}) {
		t.Errorf("EmitOwned's hook got %v, want [1 2 4]", got)
	}
	if got := sig.values(); !slices.Equal(got, []int{5, 6}) {
		t.Errorf("the signal's hook got %v, want [5 6]", got)
	}
}

// TestIdle checks Idle against connections and hooks.
func TestIdle(t *testing.T) {
	var s Signal[int]
	if !s.Idle() {
		t.Error("zero Signal not idle")
	}
	c, _ := s.Connect(func(int) {})
	if s.Idle() {
		t.Error("idle with a connection")
	}
	c.Disconnect()
	if !s.Idle() {
		t.Error("not idle after the last Disconnect")
	}
	s.SetDropHook(func(int) {})
	if s.Idle() {
		t.Error("idle with a drop hook")
	}
}
