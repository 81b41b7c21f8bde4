package signals

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStress has 8 goroutines connect, emit and disconnect on one signal
// for a second (less with -short), mixing direct, queued, auto and
// single-shot connections, with a drop hook. It checks:
//   - no deadlock (every wait is bounded);
//   - a slot connected before an emission on the same goroutine is called
//     by it (direct connections);
//   - no slot is called after its DisconnectWait returned;
//   - every value was received by some slot or dropped exactly once;
//   - the total of calls seen by the slots equals the total counted per value.
func TestStress(t *testing.T) {
	const workers = 8
	d := time.Second
	if testing.Short() {
		d = 200 * time.Millisecond
	}
	const maxValues = 1 << 20
	got := make([]atomic.Int32, maxValues)
	dropped := make([]atomic.Int32, maxValues)
	var next atomic.Int64
	var totalCalls atomic.Int64

	loops := []*Loop{NewLoop(), NewLoop()}
	var s Signal[int]
	s.SetDropHook(func(v int) { dropped[v].Add(1) })

	type finished struct {
		calls *atomic.Int32
		at    int32
	}
	var finMu sync.Mutex
	var fins []finished

	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				v := int(next.Add(1) - 1)
				if v >= maxValues {
					return
				}
				calls := new(atomic.Int32)
				slot := func(x int) {
					calls.Add(1)
					got[x].Add(1)
					totalCalls.Add(1)
				}
				var opts []ConnectOption
				direct := false
				switch (w + i) % 4 {
				case 0:
					opts, direct = []ConnectOption{WithType(DirectConnection)}, true
				case 1:
					opts = []ConnectOption{On(loops[i%2])}
				case 2:
					opts = []ConnectOption{WithType(QueuedConnection | SingleShotConnection), On(loops[i%2])}
				case 3:
					opts = []ConnectOption{WithType(SingleShotConnection)}
				}
				c, err := s.Connect(slot, append(opts, Tracked())...)
				if err != nil {
					t.Error(err)
					return
				}
				s.Emit(v)
				if direct && calls.Load() == 0 {
					t.Errorf("direct slot connected before Emit on the same goroutine was not called")
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				err = c.DisconnectWait(ctx)
				cancel()
				if err != nil {
					t.Errorf("DisconnectWait: %v", err)
					return
				}
				finMu.Lock()
				fins = append(fins, finished{calls, calls.Load()})
				finMu.Unlock()
			}
		})
	}
	within(t, "stress workers", wg.Wait)
	for _, l := range loops {
		l.Close()
	}
	for _, f := range fins {
		if n := f.calls.Load(); n != f.at {
			t.Fatalf("slot called %d times after DisconnectWait returned", n-f.at)
		}
	}
	n := int(min(next.Load(), maxValues))
	var sum int64
	for v := range n {
		g, dr := got[v].Load(), dropped[v].Load()
		sum += int64(g)
		if dr > 1 || (dr == 1) != (g == 0) {
			t.Fatalf("value %d: received by %d slots, dropped %d times", v, g, dr)
		}
	}
	if sum != totalCalls.Load() {
		t.Fatalf("calls per value sum to %d, slots counted %d", sum, totalCalls.Load())
	}
	t.Logf("%d emissions, %d slot calls, %d connections", n, sum, len(fins))
}
