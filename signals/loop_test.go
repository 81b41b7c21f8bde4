package signals

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestLoopPostAfterClose(t *testing.T) {
	l := NewLoop()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !l.Closed() {
		t.Fatal("Closed() = false after Close")
	}
	err := l.Post(func() { t.Error("called after Close") })
	if !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Post after Close: %v, want ErrClosed (net.ErrClosed)", err)
	}
	if err := l.Post(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Post(nil): %v, want ErrInvalid", err)
	}
}

func TestLoopCloseLeavesNoGoroutine(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	l := NewLoop()
	for range 10 {
		l.Post(func() {})
	}
	drain(t, l)
	l.Close()
	goleak.VerifyNone(t, opt)
}

func TestLoopCloseIdempotentConcurrent(t *testing.T) {
	l := NewLoop()
	release := hold(t, l)
	ran := make(chan struct{})
	l.Post(func() { close(ran) }) // runs in closed mode, by the first Close
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			// Every Close returns only once the pending function has run.
			select {
			case <-ran:
			default:
				t.Error("Close returned before the pending functions were called")
			}
		})
	}
	waitUntil(t, "closed", l.Closed)
	release()
	within(t, "concurrent Close", wg.Wait)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoopClosePendingClosedMode(t *testing.T) {
	l := NewLoop()
	lg := loopGoid(t, l)
	release := hold(t, l)
	var mu sync.Mutex
	var order []int
	for i := range 3 {
		if err := l.Post(func() {
			if !l.Closed() {
				t.Errorf("pending function %d: Closed() = false", i)
			}
			if goid() == lg {
				t.Errorf("pending function %d ran on the stopped loop goroutine", i)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan struct{})
	go func() { l.Close(); close(closed) }()
	waitUntil(t, "closed", l.Closed)
	release()
	recv(t, closed)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, []int{0, 1, 2}) {
		t.Fatalf("pending functions called %v, want [0 1 2] exactly once each", order)
	}
}

func TestLoopFIFOPerPoster(t *testing.T) {
	l := newLoop(t)
	const posters, each = 4, 500
	last := make([]int, posters) // loop-only
	for i := range last {
		last[i] = -1
	}
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := range each {
				l.Post(func() {
					if last[p] != i-1 {
						t.Errorf("poster %d: %d ran after %d", p, i, last[p])
					}
					last[p] = i
				})
			}
		})
	}
	within(t, "posters", wg.Wait)
	drain(t, l)
	for p, v := range last {
		if v != each-1 {
			t.Fatalf("poster %d: last ran %d, want %d", p, v, each-1)
		}
	}
}

func TestLoopPostFromLoop(t *testing.T) {
	l := newLoop(t)
	done := make(chan struct{})
	l.Post(func() { l.Post(func() { close(done) }) })
	recv(t, done)
}
