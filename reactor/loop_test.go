//go:build linux

package reactor

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewOptions(t *testing.T) {
	if _, err := New(WithLoops(0)); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Errorf("New(WithLoops(0)) = %v, want an error", err)
	}
	r := newReactor(t)
	if r.Len() != defaultLoops() {
		t.Errorf("Len() = %d, want %d", r.Len(), defaultLoops())
	}
	r = newReactor(t, WithLoops(3))
	seen := map[*Loop]int{}
	for range 6 {
		seen[r.Next()]++
	}
	if len(seen) != 3 {
		t.Errorf("Next visited %d loops, want 3", len(seen))
	}
	for l, n := range seen {
		if n != 2 {
			t.Errorf("loop %d picked %d times of 6", l.Index(), n)
		}
		if l.Reactor() != r {
			t.Error("Loop.Reactor is not its reactor")
		}
	}
	if r.Pick(7) != r.Pick(7) || r.Pick(7) != r.Loop(1) {
		t.Error("Pick is not stable by key")
	}
}

func TestDefault(t *testing.T) {
	a, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Default()
	if a != b {
		t.Error("Default returned two reactors")
	}
	if err := CloseDefault(); err != nil {
		t.Fatal(err)
	}
	if !a.Closed() {
		t.Error("CloseDefault left the reactor open")
	}
	c, err := Default()
	if err != nil || c == a || c.Closed() {
		t.Fatalf("Default after CloseDefault = %p, %v", c, err)
	}
	if err := CloseDefault(); err != nil {
		t.Fatal(err)
	}
}

// TestPostFIFO posts from many goroutines: each goroutine's functions run
// in the order it posted them, all on the loop, none twice.
func TestPostFIFO(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	l := r.Loop(0)
	const goroutines, per = 16, 2000
	last := make([]int, goroutines) // touched only on the loop
	for i := range last {
		last[i] = -1
	}
	var ran int
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := l.Post(func() {
					if last[g] != i-1 {
						t.Errorf("goroutine %d: ran %d after %d", g, i, last[g])
					}
					last[g] = i
					ran++
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	onLoop(t, l, func() {
		if ran != goroutines*per {
			t.Errorf("ran %d functions, want %d", ran, goroutines*per)
		}
	})
}

// TestPostAfterCloseDrained checks the Executor contract: a function
// accepted before Close runs exactly once, seeing Closed() if it runs
// after; a function posted after Close is refused.
func TestPostAfterCloseDrained(t *testing.T) {
	r, err := New(WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	l := r.Loop(0)
	block := make(chan struct{})
	started := make(chan struct{})
	l.Post(func() { close(started); <-block })
	<-started
	var ranClosed, runs int
	for range 10 {
		if err := l.Post(func() {
			runs++
			if l.Closed() {
				ranClosed++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	// Close marks the loop closed and then waits for it; there is no event
	// to wait on in between, so poll the flag, bounded in time.
	for deadline := time.Now().Add(10 * time.Second); !l.Closed(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Close never marked the loop closed")
		}
	}
	close(block)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if runs != 10 || ranClosed != 10 {
		t.Errorf("%d of 10 queued functions ran, %d saw Closed()", runs, ranClosed)
	}
	if err := l.Post(func() { t.Error("ran after Close") }); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Post after Close = %v", err)
	}
}

func TestPanicHandler(t *testing.T) {
	got := make(chan any, 3)
	r := newReactor(t, WithLoops(1), WithPanicHandler(func(v any, stack []byte) {
		if !strings.Contains(string(stack), "TestPanicHandler") {
			t.Errorf("stack does not show the panicking function:\n%s", stack)
		}
		got <- v
	}))
	l := r.Loop(0)
	l.Post(func() { panic("in post") })
	onLoop(t, l, func() { l.AfterFunc(0, func() { panic("in timer") }) })
	for _, want := range []string{"in post", "in timer"} {
		select {
		case v := <-got:
			if v != want {
				t.Errorf("recovered %v, want %v", v, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no report of %q", want)
		}
	}
	onLoop(t, l, func() {}) // the loop still runs
}

func TestTimers(t *testing.T) {
	r := newReactor(t, WithLoops(1))
	l := r.Loop(0)
	t.Run("order", func(t *testing.T) {
		var got []int
		done := make(chan struct{})
		onLoop(t, l, func() {
			for _, d := range []int{30, 10, 20, 10, 0, 40} {
				l.AfterFunc(time.Duration(d)*time.Millisecond, func() { got = append(got, d) })
			}
			l.AfterFunc(50*time.Millisecond, func() { close(done) })
		})
		wait(t, done)
		onLoop(t, l, func() {
			want := []int{0, 10, 10, 20, 30, 40}
			if len(got) != len(want) {
				t.Fatalf("fired %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("fired %v, want %v", got, want)
				}
			}
		})
	})
	t.Run("stop", func(t *testing.T) {
		done := make(chan struct{})
		fired := false
		onLoop(t, l, func() {
			tm := l.AfterFunc(10*time.Millisecond, func() { fired = true })
			if !tm.Stop() {
				t.Error("Stop of a pending timer = false")
			}
			if tm.Stop() {
				t.Error("second Stop = true")
			}
			l.AfterFunc(30*time.Millisecond, func() { close(done) })
		})
		wait(t, done)
		onLoop(t, l, func() {
			if fired {
				t.Error("stopped timer fired")
			}
		})
	})
	t.Run("rearm inside", func(t *testing.T) {
		done := make(chan struct{})
		n := 0
		var tm *Timer
		start := time.Now()
		onLoop(t, l, func() {
			tm = l.AfterFunc(time.Millisecond, func() {
				n++
				if n < 5 {
					tm.Reset(2 * time.Millisecond)
					return
				}
				if tm.Stop() {
					t.Error("Stop inside its own callback = true")
				}
				close(done)
			})
		})
		wait(t, done)
		if el := time.Since(start); el < 9*time.Millisecond {
			t.Errorf("5 firings took %v, want at least 9ms", el)
		}
	})
	t.Run("at", func(t *testing.T) {
		done := make(chan time.Time, 1)
		when := time.Now().Add(20 * time.Millisecond)
		onLoop(t, l, func() { l.At(when, func() { done <- time.Now() }) })
		select {
		case at := <-done:
			if at.Before(when) {
				t.Errorf("fired %v early", when.Sub(at))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("At never fired")
		}
	})
	t.Run("many", func(t *testing.T) {
		// A burst of timers, half stopped: the heap stays consistent.
		done := make(chan struct{})
		var fired, want int
		onLoop(t, l, func() {
			var ts []*Timer
			for i := range 1000 {
				ts = append(ts, l.AfterFunc(time.Duration(i%17)*time.Millisecond, func() { fired++ }))
			}
			for i, tm := range ts {
				if i%2 == 0 {
					tm.Stop()
				} else {
					want++
				}
			}
			l.AfterFunc(40*time.Millisecond, func() { close(done) })
		})
		wait(t, done)
		onLoop(t, l, func() {
			if fired != want {
				t.Errorf("%d timers fired, want %d", fired, want)
			}
		})
	})
}
