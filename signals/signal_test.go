package signals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestZeroSignal(t *testing.T) {
	var s Signal[int]
	if err := s.Emit(1); err != nil {
		t.Fatalf("Emit on zero Signal: %v", err)
	}
	if s.Blocked() {
		t.Fatal("zero Signal is blocked")
	}
}

func TestDirectRunsOnEmitterInOrder(t *testing.T) {
	var s Signal[int]
	var got []string
	me := goid()
	for _, name := range []string{"a", "b", "c"} {
		name := name
		if _, err := s.Connect(func(v int) {
			if g := goid(); g != me {
				t.Errorf("slot %s ran on goroutine %d, want the emitter's %d", name, g, me)
			}
			got = append(got, fmt.Sprint(name, v))
		}, WithType(DirectConnection)); err != nil {
			t.Fatal(err)
		}
	}
	s.Emit(1)
	s.Emit(2)
	if want := []string{"a1", "b1", "c1", "a2", "b2", "c2"}; !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
}

func TestRemovalKeepsOrder(t *testing.T) {
	var s Signal[int]
	var got []int
	var conns []Connection
	for i := range 5 {
		c, _ := s.Connect(func(int) { got = append(got, i) })
		conns = append(conns, c)
	}
	conns[1].Disconnect()
	conns[3].Disconnect()
	s.Emit(0)
	if want := []int{0, 2, 4}; !slices.Equal(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
}

func TestQueuedRunsOnLoopFIFO(t *testing.T) {
	l := newLoop(t)
	lg := loopGoid(t, l)
	var s Signal[int]
	var got []int // written on the loop only
	if _, err := s.Connect(func(v int) {
		if g := goid(); g != lg {
			t.Errorf("queued slot ran on goroutine %d, want the loop's %d", g, lg)
		}
		got = append(got, v)
	}, WithType(QueuedConnection), On(l)); err != nil {
		t.Fatal(err)
	}
	release := hold(t, l)
	for i := range 100 {
		s.Emit(i)
	}
	release()
	drain(t, l)
	if len(got) != 100 {
		t.Fatalf("got %d calls, want 100", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("call %d got %d: not FIFO", i, v)
		}
	}
}

func TestQueuedDoesNotWait(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var called atomic.Bool
	s.Connect(func(int) { called.Store(true) }, WithType(QueuedConnection), On(l))
	release := hold(t, l)
	s.Emit(1)
	if called.Load() {
		t.Fatal("queued slot ran inside Emit")
	}
	release()
	drain(t, l)
	if !called.Load() {
		t.Fatal("queued slot never ran")
	}
}

func TestQueuedCopiesValue(t *testing.T) {
	l := newLoop(t)
	type pair struct{ a, b int }
	var s Signal[pair]
	var got pair
	s.Connect(func(p pair) { got = p }, WithType(QueuedConnection), On(l))
	release := hold(t, l)
	v := pair{1, 2}
	s.Emit(v)
	v.a = 99
	release()
	drain(t, l)
	if got != (pair{1, 2}) {
		t.Fatalf("slot got %v, want the value at emission {1 2}", got)
	}
}

// TestAuto checks that an AutoConnection with an executor is direct for an
// emission declared on that executor, and queued for any other.
func TestAuto(t *testing.T) {
	l := newLoop(t)
	other := newLoop(t)
	lg := loopGoid(t, l)
	var s Signal[int]
	var ranOn atomic.Uint64
	var calls atomic.Int32
	if _, err := s.Connect(func(int) {
		ranOn.Store(goid())
		calls.Add(1)
	}, On(l)); err != nil {
		t.Fatal(err)
	}

	// checkOnLoop emits from a function running on l and reports whether
	// the slot had run when emit returned.
	checkOnLoop := func(name string, emit func()) bool {
		t.Helper()
		before := calls.Load()
		res := make(chan bool, 1)
		l.Post(func() {
			emit()
			res <- calls.Load() != before
		})
		direct := recv(t, res)
		drain(t, l)
		if calls.Load() != before+1 {
			t.Fatalf("%s: slot called %d times, want 1", name, calls.Load()-before)
		}
		if ranOn.Load() != lg {
			t.Fatalf("%s: slot ran on goroutine %d, want the loop's %d", name, ranOn.Load(), lg)
		}
		return direct
	}
	if !checkOnLoop("EmitOn(l) on l", func() { s.EmitOn(l, 1) }) {
		t.Error("EmitOn(l) from l: slot was queued, want direct")
	}
	if !checkOnLoop("EmitContext(WithExecutor(l)) on l", func() {
		s.EmitContext(WithExecutor(context.Background(), l), 1)
	}) {
		t.Error("EmitContext with WithExecutor(l) from l: slot was queued, want direct")
	}
	if checkOnLoop("Emit on l", func() { s.Emit(1) }) {
		t.Error("undeclared Emit from l: slot was direct, want queued (foreign emitter)")
	}

	// From a foreign goroutine: queued, runs on l.
	release := hold(t, l)
	s.Emit(2)
	if calls.Load() != 3 {
		t.Fatal("Emit from a foreign goroutine called the slot directly")
	}
	release()
	drain(t, l)
	if calls.Load() != 4 || ranOn.Load() != lg {
		t.Fatalf("foreign Emit: calls=%d ranOn=%d, want 4 on %d", calls.Load(), ranOn.Load(), lg)
	}

	// Declared on another executor: queued too.
	release = hold(t, l)
	other.Post(func() { s.EmitOn(other, 3) })
	drain(t, other)
	if calls.Load() != 4 {
		t.Fatal("EmitOn(other) called a slot of l directly")
	}
	release()
	drain(t, l)
	if calls.Load() != 5 {
		t.Fatalf("calls = %d, want 5", calls.Load())
	}
}

func TestAutoWithoutExecutorIsDirect(t *testing.T) {
	var s Signal[int]
	me := goid()
	called := false
	s.Connect(func(int) { called = goid() == me })
	s.EmitOn(newLoop(t), 1)
	if !called {
		t.Fatal("AutoConnection without executor was not called directly")
	}
}

func TestConnectDuringEmissionNotCalled(t *testing.T) {
	var s Signal[int]
	var late []int
	connected := false
	s.Connect(func(v int) {
		if !connected {
			connected = true
			s.Connect(func(v int) { late = append(late, v) })
		}
	})
	s.Emit(1)
	if len(late) != 0 {
		t.Fatalf("slot connected during emission 1 was called by it: %v", late)
	}
	s.Emit(2)
	if !slices.Equal(late, []int{2}) {
		t.Fatalf("late slot calls = %v, want [2]", late)
	}
}

func TestDisconnectDuringEmissionSkips(t *testing.T) {
	for _, typ := range []ConnectionType{DirectConnection, AutoConnection} {
		t.Run(typ.String(), func(t *testing.T) {
			var s Signal[int]
			var second Connection
			calledSecond := false
			s.Connect(func(int) { second.Disconnect() }, WithType(typ))
			second, _ = s.Connect(func(int) { calledSecond = true }, WithType(typ))
			s.Emit(1)
			if calledSecond {
				t.Fatal("slot disconnected earlier in the emission was called")
			}
		})
	}
}

func TestDisconnectDuringEmissionSkipsTracked(t *testing.T) {
	// The slow path (tracked, single-shot) must skip too.
	var s Signal[int]
	var second Connection
	calledSecond := false
	s.Connect(func(int) { second.Disconnect() }, Tracked())
	second, _ = s.Connect(func(int) { calledSecond = true }, Tracked())
	s.Emit(1)
	if calledSecond {
		t.Fatal("slot disconnected earlier in the emission was called")
	}
}

func TestQueuedPendingAtDisconnectDropped(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var calls atomic.Int32
	var dropped []int
	var mu sync.Mutex
	s.SetDropHook(func(v int) { mu.Lock(); dropped = append(dropped, v); mu.Unlock() })
	c, _ := s.Connect(func(int) { calls.Add(1) }, WithType(QueuedConnection), On(l))
	release := hold(t, l)
	s.Emit(7)
	if !c.Disconnect() {
		t.Fatal("Disconnect = false, want true")
	}
	release()
	drain(t, l)
	if calls.Load() != 0 {
		t.Fatal("queued call pending at disconnect was delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(dropped, []int{7}) {
		t.Fatalf("dropped = %v, want [7]", dropped)
	}
}

func TestDisconnect(t *testing.T) {
	var s Signal[int]
	calls := 0
	c, _ := s.Connect(func(int) { calls++ })
	if !c.Valid() || !c.Connected() {
		t.Fatal("new connection not valid and connected")
	}
	if !c.Disconnect() {
		t.Fatal("first Disconnect = false")
	}
	if c.Disconnect() {
		t.Fatal("second Disconnect = true, want false (idempotent)")
	}
	if !c.Valid() || c.Connected() {
		t.Fatal("disconnected connection: want valid, not connected")
	}
	s.Emit(1)
	if calls != 0 {
		t.Fatal("disconnected slot called")
	}
	var zero Connection
	if zero.Valid() || zero.Connected() || zero.Disconnect() || zero.DisconnectWait(context.Background()) != nil {
		t.Fatal("zero Connection is not an inert invalid handle")
	}
}

func TestUnique(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var a, b atomic.Int32
	c1, err := s.Connect(func(int) { a.Add(1) }, Unique("k"))
	if err != nil {
		t.Fatal(err)
	}
	// Same key, different delivery type: still a duplicate.
	c2, err := s.Connect(func(int) { b.Add(1) }, Unique("k"), WithType(QueuedConnection), On(l))
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second Unique(k): err = %v, want ErrDuplicate", err)
	}
	if c2.Valid() || c2.Connected() || c2.Disconnect() {
		t.Fatal("refused connection handle is not invalid")
	}
	if err := c2.DisconnectWait(context.Background()); err != nil {
		t.Fatalf("DisconnectWait on refused handle: %v", err)
	}
	// A different key is accepted, and so is the flag spelled out.
	if _, err := s.Connect(func(int) { b.Add(1) }, Unique("other"), WithType(DirectConnection|UniqueConnection)); err != nil {
		t.Fatalf("Unique(other): %v", err)
	}
	s.Emit(1)
	if a.Load() != 1 || b.Load() != 1 {
		t.Fatalf("calls a=%d b=%d, want 1 1", a.Load(), b.Load())
	}
	// Disconnect frees the key.
	c1.Disconnect()
	if _, err := s.Connect(func(int) { a.Add(1) }, Unique("k")); err != nil {
		t.Fatalf("Unique(k) after disconnect: %v", err)
	}
	// Keys are compared with ==: a struct key.
	type key struct{ recv *int }
	var x, y int
	if _, err := s.Connect(func(int) {}, Unique(key{&x})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connect(func(int) {}, Unique(key{&x})); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("equal struct key: err = %v, want ErrDuplicate", err)
	}
	if _, err := s.Connect(func(int) {}, Unique(key{&y})); err != nil {
		t.Fatalf("different struct key: %v", err)
	}
}

func TestUniqueSingleShotFiringFreesKey(t *testing.T) {
	var s Signal[int]
	if _, err := s.Connect(func(int) {}, Unique("k"), WithType(SingleShotConnection)); err != nil {
		t.Fatal(err)
	}
	s.Emit(1)
	if _, err := s.Connect(func(int) {}, Unique("k")); err != nil {
		t.Fatalf("key still held after single-shot fired: %v", err)
	}
}

func TestUniqueConcurrent(t *testing.T) {
	var s Signal[int]
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := s.Connect(func(int) {}, Unique(1)); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent Unique connects succeeded, want 1", ok.Load())
	}
}

func TestConnectInvalid(t *testing.T) {
	var s Signal[int]
	l := newLoop(t)
	cases := []struct {
		name string
		slot func(int)
		opts []ConnectOption
	}{
		{"nil slot", nil, nil},
		{"queued without executor", func(int) {}, []ConnectOption{WithType(QueuedConnection)}},
		{"blocking without executor", func(int) {}, []ConnectOption{WithType(BlockingQueuedConnection)}},
		{"unique flag without key", func(int) {}, []ConnectOption{WithType(UniqueConnection)}},
		{"nil key", func(int) {}, []ConnectOption{Unique(nil)}},
		{"uncomparable key", func(int) {}, []ConnectOption{Unique([]int{1})}},
		{"unknown type bits", func(int) {}, []ConnectOption{WithType(0x40)}},
		{"uncomparable executor", func(int) {}, []ConnectOption{On(execFunc(func(f func()) error { return l.Post(f) }))}},
	}
	for _, tc := range cases {
		c, err := s.Connect(tc.slot, tc.opts...)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
		}
		if c.Valid() {
			t.Errorf("%s: handle is valid", tc.name)
		}
	}
	if st := s.state.Load(); st != nil && len(st.conns) != 0 {
		t.Fatalf("refused connections were added: %d", len(st.conns))
	}
}

// execFunc is an Executor whose dynamic type is not comparable.
type execFunc func(func()) error

func (f execFunc) Post(g func()) error { return f(g) }

func TestConnectionTypeString(t *testing.T) {
	for typ, want := range map[ConnectionType]string{
		AutoConnection:                                  "AutoConnection",
		DirectConnection:                                "DirectConnection",
		QueuedConnection | UniqueConnection:             "QueuedConnection|UniqueConnection",
		BlockingQueuedConnection | SingleShotConnection: "BlockingQueuedConnection|SingleShotConnection",
		0x40: "AutoConnection|ConnectionType(0x40)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint32(typ), got, want)
		}
	}
}

func TestSingleShotConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) []ConnectOption
	}{
		{"direct", func(*testing.T) []ConnectOption { return nil }},
		{"queued", func(t *testing.T) []ConnectOption { return []ConnectOption{On(newLoop(t))} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Signal[int]
			var calls, drops atomic.Int32
			s.SetDropHook(func(int) { drops.Add(1) })
			opts := append(tc.opts(t), WithType(SingleShotConnection))
			c, err := s.Connect(func(int) { calls.Add(1) }, opts...)
			if err != nil {
				t.Fatal(err)
			}
			const n = 1000
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					s.Emit(i)
				})
			}
			close(start)
			within(t, "1000 emitters", wg.Wait)
			waitUntil(t, "single-shot call", func() bool { return calls.Load()+drops.Load() == n })
			if calls.Load() != 1 {
				t.Fatalf("single-shot slot called %d times, want 1", calls.Load())
			}
			if drops.Load() != n-1 {
				t.Fatalf("drop hook called %d times, want %d (every losing emission)", drops.Load(), n-1)
			}
			if c.Connected() {
				t.Fatal("fired single-shot connection still connected")
			}
		})
	}
}

func TestSingleShotReentrant(t *testing.T) {
	var s Signal[int]
	calls := 0
	s.Connect(func(v int) {
		calls++
		if v < 3 {
			s.Emit(v + 1) // re-entrant emission must not call it again
		}
	}, WithType(SingleShotConnection))
	s.Emit(0)
	if calls != 1 {
		t.Fatalf("single-shot slot called %d times, want 1", calls)
	}
}

func TestSingleShotQueuedDisconnectBeforeDelivery(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	called := false
	c, _ := s.Connect(func(int) { called = true }, WithType(QueuedConnection|SingleShotConnection), On(l))
	release := hold(t, l)
	s.Emit(1)
	if !c.Connected() {
		t.Fatal("claimed single-shot with pending call: Connected = false")
	}
	if !c.Disconnect() {
		t.Fatal("Disconnect of a claimed single-shot with pending call = false, want true")
	}
	release()
	drain(t, l)
	if called {
		t.Fatal("pending single-shot call delivered after Disconnect")
	}
}

func TestBlock(t *testing.T) {
	var s Signal[int]
	var got, dropped []int
	s.SetDropHook(func(v int) { dropped = append(dropped, v) })
	s.Connect(func(v int) { got = append(got, v) })
	if prev := s.SetBlocked(true); prev {
		t.Fatal("SetBlocked(true) on a fresh signal returned true")
	}
	if !s.Blocked() {
		t.Fatal("Blocked() = false after SetBlocked(true)")
	}
	s.Emit(1)
	s.Emit(2)
	if prev := s.SetBlocked(false); !prev {
		t.Fatal("SetBlocked(false) returned false, want the previous true")
	}
	s.Emit(3)
	if !slices.Equal(got, []int{3}) {
		t.Fatalf("slot got %v, want [3]: emissions while blocked must be lost, not buffered", got)
	}
	if !slices.Equal(dropped, []int{1, 2}) {
		t.Fatalf("dropped %v, want [1 2]", dropped)
	}
}

func TestBlockQueued(t *testing.T) {
	l := newLoop(t)
	var s Signal[int]
	var calls atomic.Int32
	s.Connect(func(int) { calls.Add(1) }, On(l))
	defer s.SetBlocked(s.SetBlocked(true))
	s.Emit(1)
	drain(t, l)
	if calls.Load() != 0 {
		t.Fatal("blocked signal delivered a queued call")
	}
}

func TestWithContextDisconnects(t *testing.T) {
	var s Signal[int]
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	c, _ := s.Connect(func(int) { calls++ }, WithContext(ctx))
	s.Emit(1)
	cancel()
	waitUntil(t, "context disconnect", func() bool { return !c.Connected() })
	s.Emit(2)
	if calls != 1 {
		t.Fatalf("calls = %d, want 1", calls)
	}
	// Already done: never called.
	c2, err := s.Connect(func(int) { calls++ }, WithContext(ctx))
	if err != nil || !c2.Valid() || c2.Connected() {
		t.Fatalf("Connect with done context: valid=%v connected=%v err=%v", c2.Valid(), c2.Connected(), err)
	}
	s.Emit(3)
	if calls != 1 {
		t.Fatal("connection made with a done context was called")
	}
	// Disconnect stops the context callback.
	ctx2, cancel2 := context.WithCancel(context.Background())
	c3, _ := s.Connect(func(int) {}, WithContext(ctx2))
	c3.Disconnect()
	cancel2()
}

func TestDirectEmitDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	var s Signal[int]
	n := 0
	if a := testing.AllocsPerRun(100, func() { s.Emit(1) }); a != 0 {
		t.Errorf("Emit with no slots: %v allocs", a)
	}
	s.Connect(func(v int) { n += v })
	if a := testing.AllocsPerRun(100, func() { s.Emit(1) }); a != 0 {
		t.Errorf("Emit with 1 direct slot: %v allocs", a)
	}
	for range 7 {
		s.Connect(func(v int) { n += v })
	}
	if a := testing.AllocsPerRun(100, func() { s.Emit(1) }); a != 0 {
		t.Errorf("Emit with 8 direct slots: %v allocs", a)
	}
}

func TestQueuedEmitAllocatesOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	l := newLoop(t)
	var s Signal[int]
	s.Connect(func(int) {}, On(l))
	s.SetDropHook(func(int) {})
	release := hold(t, l)
	a := testing.AllocsPerRun(1000, func() { s.Emit(1) })
	release()
	drain(t, l)
	if a > 1 {
		t.Errorf("queued Emit: %v allocs, want <= 1", a)
	}
}

// TestStaleSnapshotSkipsDisconnected replays what an emission that loaded
// the connection list just before a concurrent Disconnect sees: the list
// still holds the connection, which must be skipped.
func TestStaleSnapshotSkipsDisconnected(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		opts []ConnectOption
	}{
		{"one direct slot", 1, nil},
		{"two direct slots", 2, nil},
		{"slow path", 2, []ConnectOption{Tracked()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Signal[int]
			calls := 0
			var conns []Connection
			for range tc.n {
				c, _ := s.Connect(func(int) { calls++ }, tc.opts...)
				conns = append(conns, c)
			}
			stale := s.state.Load()
			for _, c := range conns {
				c.Disconnect()
			}
			s.state.Store(stale) // the emission's view
			s.Emit(1)
			if calls != 0 {
				t.Fatalf("%d disconnected slots called from a stale list", calls)
			}
		})
	}
}
