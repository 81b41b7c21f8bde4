package signals

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func blockingOn(ex Executor) []ConnectOption {
	return []ConnectOption{WithType(BlockingQueuedConnection), On(ex)}
}

func TestBlockingReturnsAfterSlot(t *testing.T) {
	l := newLoop(t)
	lg := loopGoid(t, l)
	var s Signal[int]
	var got, ranOn int64
	s.Connect(func(v int) {
		ranOn = int64(goid())
		got = int64(v)
	}, blockingOn(l)...)
	within(t, "blocking Emit", func() {
		if err := s.Emit(42); err != nil {
			t.Errorf("Emit: %v", err)
		}
		// No synchronisation besides Emit itself: -race checks it.
		if got != 42 || uint64(ranOn) != lg {
			t.Errorf("after Emit: got=%d ranOn=%d, want 42 on loop goroutine %d", got, ranOn, lg)
		}
	})
}

func TestBlockingSameExecutorDeadlock(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	called := false
	s.Connect(func(int) { called = true }, blockingOn(l)...)
	for _, tc := range []struct {
		name string
		emit func() error
	}{
		{"EmitOn", func() error { return s.EmitOn(l, 1) }},
		{"EmitContext", func() error { return s.EmitContext(WithExecutor(context.Background(), l), 1) }},
	} {
		errc := make(chan error, 1)
		l.Post(func() { errc <- tc.emit() })
		err := recv(t, errc)
		if !errors.Is(err, ErrDeadlock) {
			t.Errorf("%s from the receiver's loop: err = %v, want ErrDeadlock", tc.name, err)
		}
	}
	drain(t, l)
	if called {
		t.Fatal("slot called by a refused blocking emission")
	}
}

// TestBlockingCycle: A blocking-emits to B, whose slot blocking-emits to A.
// The second emission closes a cycle and fails at once.
func TestBlockingCycle(t *testing.T) {
	a, b := newLoop(t), newLoop(t)
	var toB, toA Signal[int]
	innerErr := make(chan error, 1)
	calledA := false
	toA.Connect(func(int) { calledA = true }, blockingOn(a)...)
	toB.Connect(func(v int) { innerErr <- toA.EmitOn(b, v) }, blockingOn(b)...)
	outerErr := make(chan error, 1)
	a.Post(func() { outerErr <- toB.EmitOn(a, 1) })
	if err := recv(t, innerErr); !errors.Is(err, ErrDeadlock) {
		t.Fatalf("B -> A while A waits on B: err = %v, want ErrDeadlock", err)
	}
	if err := recv(t, outerErr); err != nil {
		t.Fatalf("A -> B: err = %v, want nil", err)
	}
	drain(t, a)
	if calledA {
		t.Fatal("slot on A called by the refused emission")
	}
}

func TestBlockingCycleOfThree(t *testing.T) {
	a, b, c := newLoop(t), newLoop(t), newLoop(t)
	var toB, toC, toA Signal[int]
	innerErr := make(chan error, 1)
	toA.Connect(func(int) {}, blockingOn(a)...)
	toC.Connect(func(v int) { innerErr <- toA.EmitContext(WithExecutor(context.Background(), c), v) }, blockingOn(c)...)
	toB.Connect(func(v int) {
		if err := toC.EmitOn(b, v); err != nil {
			t.Errorf("B -> C: %v", err)
		}
	}, blockingOn(b)...)
	outerErr := make(chan error, 1)
	a.Post(func() { outerErr <- toB.EmitOn(a, 1) })
	if err := recv(t, innerErr); !errors.Is(err, ErrDeadlock) {
		t.Fatalf("C -> A while A waits on B waits on C: err = %v, want ErrDeadlock", err)
	}
	if err := recv(t, outerErr); err != nil {
		t.Fatalf("A -> B: %v", err)
	}
	// The graph is clean afterwards: the same chain without the cycle works.
	errc := make(chan error, 1)
	c.Post(func() { errc <- toA.EmitOn(c, 2) })
	if err := recv(t, errc); err != nil {
		t.Fatalf("C -> A after the cycle: %v", err)
	}
}

func TestBlockingNoFalseCycle(t *testing.T) {
	// A waits on B, and C (not in the chain) blocking-emits to A: no cycle,
	// C just waits until A is free.
	a, b, c := newLoop(t), newLoop(t), newLoop(t)
	var toB, toA Signal[int]
	releaseB := hold(t, b)
	toB.Connect(func(int) {}, blockingOn(b)...)
	toA.Connect(func(int) {}, blockingOn(a)...)
	aDone := make(chan error, 1)
	a.Post(func() { aDone <- toB.EmitOn(a, 1) })
	cDone := make(chan error, 1)
	c.Post(func() { cDone <- toA.EmitOn(c, 1) })
	releaseB()
	if err := recv(t, aDone); err != nil {
		t.Fatalf("A -> B: %v", err)
	}
	if err := recv(t, cDone); err != nil {
		t.Fatalf("C -> A: %v", err)
	}
}

func TestBlockingClosedBefore(t *testing.T) {
	l := NewLoop()
	l.Close()
	var s Signal[int]
	var drops atomic.Int32
	s.SetDropHook(func(int) { drops.Add(1) })
	s.Connect(func(int) { t.Error("slot called on a closed loop") }, blockingOn(l)...)
	var err error
	within(t, "Emit to a closed loop", func() { err = s.Emit(1) })
	if !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed and net.ErrClosed", err)
	}
	if drops.Load() != 1 {
		t.Fatalf("drop hook called %d times, want 1", drops.Load())
	}
}

func TestBlockingClosedDuringWait(t *testing.T) {
	t.Run("manual executor", func(t *testing.T) {
		m := newManual()
		var s Signal[int]
		s.Connect(func(int) { t.Error("slot called after close") }, blockingOn(m)...)
		errc := make(chan error, 1)
		go func() { errc <- s.Emit(1) }()
		recv(t, m.posted)
		m.closeAndRun()
		if err := recv(t, errc); !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		spy := newSpy(t)
		release := hold(t, spy.Loop)
		var s Signal[int]
		s.Connect(func(int) { t.Error("slot called after close") }, blockingOn(spy)...)
		errc := make(chan error, 1)
		go func() { errc <- s.Emit(1) }()
		recv(t, spy.posted) // the emitter waits, its call is queued behind the holder
		closed := make(chan error, 1)
		go func() { closed <- spy.Close() }()
		waitUntil(t, "loop marked closed", spy.Closed)
		release()
		if err := recv(t, errc); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
		recv(t, closed)
	})
}

func TestBlockingDisconnectedWhilePending(t *testing.T) {
	m := newManual()
	var s Signal[int]
	c, _ := s.Connect(func(int) { t.Error("slot called after disconnect") }, blockingOn(m)...)
	errc := make(chan error, 1)
	go func() { errc <- s.Emit(1) }()
	recv(t, m.posted)
	c.Disconnect()
	m.run()
	if err := recv(t, errc); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("err = %v, want ErrDisconnected", err)
	}
}

func TestBlockingPanic(t *testing.T) {
	l := newLoop(t, WithPanicHandler(func(r any, _ []byte) { t.Errorf("blocking panic reported to the loop: %v", r) }))
	var s Signal[int]
	boom := errors.New("boom")
	s.Connect(func(int) { panic(boom) }, blockingOn(l)...)
	var err error
	within(t, "Emit", func() { err = s.Emit(1) })
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PanicError", err)
	}
	if pe.Value != boom || !errors.Is(err, boom) || len(pe.Stack) == 0 {
		t.Fatalf("PanicError = %+v", pe)
	}
	drain(t, l) // the loop survived
}

func TestBlockingContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy := newSpy(t)
			release := hold(t, spy.Loop)
			var s Signal[int]
			var called, drops atomic.Int32
			s.SetDropHook(func(int) { drops.Add(1) })
			s.Connect(func(int) { called.Add(1) }, blockingOn(spy)...)
			ctx, cancel := tc.ctx()
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- s.EmitContext(ctx, 1) }()
			recv(t, spy.posted)
			if tc.want == context.Canceled {
				cancel()
			}
			err := recv(t, errc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			release()
			drain(t, spy)
			if called.Load() != 0 {
				t.Fatal("abandoned blocking call was delivered later")
			}
			if drops.Load() != 1 {
				t.Fatalf("drop hook called %d times, want 1", drops.Load())
			}
		})
	}
}

func TestBlockingContextAlreadyDone(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	s.Connect(func(int) { t.Error("called") }, blockingOn(l)...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.EmitContext(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	drain(t, l)
}

func TestBlockingErrorsJoined(t *testing.T) {
	closed := NewLoop()
	closed.Close()
	l := newLoop(t)
	var s Signal[int]
	s.Connect(func(int) { panic("p") }, blockingOn(l)...)
	s.Connect(func(int) {}, blockingOn(closed)...)
	s.Connect(func(int) {}, blockingOn(l)...)
	err := s.Emit(1)
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want a *PanicError and ErrClosed joined", err)
	}
}

func TestBlockingSingleShot(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var calls atomic.Int32
	c, _ := s.Connect(func(int) { calls.Add(1) }, WithType(BlockingQueuedConnection|SingleShotConnection), On(l))
	if err := s.Emit(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(2); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 || c.Connected() {
		t.Fatalf("calls = %d, connected = %v; want 1, false", calls.Load(), c.Connected())
	}
}

func TestBlockingGoexit(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	s.Connect(func(int) { runtime.Goexit() }, blockingOn(l)...)
	var err error
	within(t, "Emit to a slot that calls Goexit", func() { err = s.Emit(1) })
	if !errors.Is(err, errGoexit) {
		t.Fatalf("err = %v, want errGoexit", err)
	}
	drain(t, l) // the loop goes on with a new goroutine
}
