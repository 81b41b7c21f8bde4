package signals

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func connCount[T any](s *Signal[T]) int {
	st := s.state.Load()
	if st == nil {
		return 0
	}
	return len(st.conns)
}

func TestNext(t *testing.T) {
	var s Signal[int]
	type result struct {
		v   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := s.Next(context.Background())
		res <- result{v, err}
	}()
	waitUntil(t, "Next connected", func() bool { return connCount(&s) == 1 })
	s.Emit(5)
	s.Emit(6)
	if r := recv(t, res); r.v != 5 || r.err != nil {
		t.Fatalf("Next = %d, %v; want 5, nil", r.v, r.err)
	}
	if n := connCount(&s); n != 0 {
		t.Fatalf("%d connections left after Next", n)
	}
}

func TestNextContext(t *testing.T) {
	var s Signal[int]
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		errc <- err
	}()
	waitUntil(t, "Next connected", func() bool { return connCount(&s) == 1 })
	cancel()
	if err := recv(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v, want context.Canceled", err)
	}
	if n := connCount(&s); n != 0 {
		t.Fatalf("%d connections left after canceled Next", n)
	}
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with done ctx: %v", err)
	}
}

// TestNextRaceLosesNothing races an emission against the cancellation of
// Next: the value is either returned by Next or dropped, never lost.
func TestNextRaceLosesNothing(t *testing.T) {
	var s Signal[int]
	var dropped atomic.Int32
	s.SetDropHook(func(int) { dropped.Add(1) })
	returned := 0
	for i := range 300 {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := s.Next(ctx)
			errc <- err
		}()
		waitUntil(t, "Next connected", func() bool { return connCount(&s) == 1 })
		go cancel()
		s.Emit(i)
		if err := recv(t, errc); err == nil {
			returned++
		}
		cancel()
	}
	if returned+int(dropped.Load()) != 300 {
		t.Fatalf("returned %d + dropped %d != 300 emitted", returned, dropped.Load())
	}
}

// TestNextValueAndCancelTogether makes the value arrive and the context end
// before Next waits: whichever case Next's select takes, the value is
// returned, because the emission had claimed the connection.
func TestNextValueAndCancelTogether(t *testing.T) {
	var s Signal[int]
	defer func() { testHookNextConnected = nil }()
	for i := range 64 {
		ctx, cancel := context.WithCancel(context.Background())
		testHookNextConnected = func() {
			s.Emit(i)
			cancel()
		}
		v, err := s.Next(ctx)
		if err != nil || v != i {
			t.Fatalf("Next = %d, %v; want %d, nil: the emitted value was lost", v, err, i)
		}
	}
}

func TestNotifyFullChannelDrops(t *testing.T) {
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	ch := make(chan int, 1)
	if _, err := s.Notify(ch); err != nil {
		t.Fatal(err)
	}
	s.Emit(1)
	s.Emit(2) // full: not taken
	s.Emit(3)
	if v := <-ch; v != 1 {
		t.Fatalf("received %d, want 1", v)
	}
	if got := d.values(); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("dropped %v, want [2 3]", got)
	}
	if _, err := s.Notify(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Notify(nil): %v", err)
	}
}

func TestNotifyFullButOtherSlotTook(t *testing.T) {
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	s.Notify(make(chan int)) // unbuffered, nobody receiving: never taken
	s.Connect(func(int) {})
	s.Emit(1)
	if got := d.values(); len(got) != 0 {
		t.Fatalf("dropped %v although a slot took the value", got)
	}
}

func TestNotifyQueued(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var d dropRecorder
	s.SetDropHook(d.hook)
	ch := make(chan int, 1)
	s.Notify(ch, On(l))
	s.Emit(1)
	s.Emit(2)
	drain(t, l)
	if v := recv(t, ch); v != 1 {
		t.Fatalf("received %d, want 1", v)
	}
	if got := d.values(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("dropped %v, want [2]", got)
	}
}

func TestChan(t *testing.T) {
	var s Signal[int]
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Chan(ctx, 4)
	for i := range 3 {
		s.Emit(i)
	}
	for i := range 3 {
		if v := recv(t, ch); v != i {
			t.Fatalf("received %d, want %d", v, i)
		}
	}
	cancel()
	deadline := time.After(timeout)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-deadline:
			t.Fatal("channel not closed after ctx was canceled")
		}
	}
	s.Emit(9) // no connection left: must not panic on a closed channel
	if n := connCount(&s); n != 0 {
		t.Fatalf("%d connections left", n)
	}
}
