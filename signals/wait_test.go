package signals

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestDisconnectWaitDirect(t *testing.T) {
	var s Signal[int]
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	c, _ := s.Connect(func(int) {
		close(entered)
		<-release
		finished.Store(true)
	}, Tracked())
	emitted := make(chan struct{})
	go func() { s.Emit(1); close(emitted) }()
	recv(t, entered)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := c.DisconnectWait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DisconnectWait while the slot runs: %v, want DeadlineExceeded", err)
	}
	if c.Connected() {
		t.Fatal("DisconnectWait did not disconnect")
	}
	waited := make(chan error, 1)
	go func() { waited <- c.DisconnectWait(context.Background()) }()
	close(release)
	if err := recv(t, waited); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("DisconnectWait returned while the slot was running")
	}
	recv(t, emitted)
}

func TestDisconnectWaitQueued(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	c, _ := s.Connect(func(int) {
		close(entered)
		<-release
		finished.Store(true)
	}, On(l), Tracked())
	s.Emit(1)
	s.Emit(2) // pending: dropped after the wait
	recv(t, entered)
	waited := make(chan error, 1)
	go func() { waited <- c.DisconnectWait(context.Background()) }()
	close(release)
	if err := recv(t, waited); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("DisconnectWait returned while the slot was running")
	}
	drain(t, l)
}

func TestDisconnectWaitIdle(t *testing.T) {
	var s Signal[int]
	c, _ := s.Connect(func(int) {}, Tracked())
	s.Emit(1)
	within(t, "DisconnectWait", func() {
		if err := c.DisconnectWait(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

func TestDisconnectWaitSelfOnExecutor(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var c Connection
	errc := make(chan error, 1)
	connected := make(chan struct{})
	c, _ = s.Connect(func(int) {
		<-connected
		errc <- c.DisconnectWait(WithExecutor(context.Background(), l))
	}, On(l), Tracked())
	close(connected)
	s.Emit(1)
	if err := recv(t, errc); !errors.Is(err, ErrDeadlock) {
		t.Fatalf("DisconnectWait from the slot's own queued call: %v, want ErrDeadlock", err)
	}
}

func TestDisconnectWaitNotTracked(t *testing.T) {
	var s Signal[int]
	c, _ := s.Connect(func(int) {})
	if err := c.DisconnectWait(context.Background()); !errors.Is(err, ErrNotTracked) {
		t.Fatalf("err = %v, want ErrNotTracked", err)
	}
	if c.Connected() {
		t.Fatal("not disconnected")
	}
}
