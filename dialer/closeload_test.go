//go:build linux

package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// closeLoadGrace is how soon after Reactor.Close every pending dial must
// have completed: a second (issue 6). The race detector makes the close path
// four to six times slower: alone on two cores the 15,000 dials complete in
// 0.5-0.8 s under -race (0.13-0.18 s without), and with another
// race-enabled test binary on the other core (go test runs packages in
// parallel) in up to 1.3 s; under -race the bound is therefore 3 s.
var closeLoadGrace = map[bool]time.Duration{false: time.Second, true: 3 * time.Second}[soakRace]

// TestCloseUnderLoad closes a reactor while 15,000 dials are pending on it
// against a full accept queue — 13,000 asynchronous ones, with slots
// delivered directly on the loops, queued to signals.Loops and blocking
// queued, and 2,000 blocking DialContext callers — and while emissions are
// in flight: each loop is inside a BlockingQueued emission that waits for a
// signals.Loop the test holds, behind which hundreds of queued deliveries
// (and the Dialer-wide Finished of every dial) wait too; and goroutines keep
// starting dials as Close begins. It checks that
//
//   - every pending dial ends within a second of Close with Canceled and an
//     error that wraps net.ErrClosed, exactly once, on its own signals and
//     on the Dialer's; dials racing Close either are refused by Start or end
//     the same way;
//   - the emissions in flight complete (the refused dials' queued slots run
//     once the held loop is released);
//   - nothing panics, and a later Dial and Start on the Dialer fail at once
//     with an error wrapping net.ErrClosed;
//   - no file descriptor and no goroutine is left behind.
//
// With -short it makes 3,000 dials instead of 15,000.
func TestCloseUnderLoad(t *testing.T) {
	faults.CheckFDs(t)
	// Cleanups run last in, first out: this one runs after those of the
	// fixtures made below (listeners), and before CheckFDs's.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	nAsync, nSync := 13000, 2000
	if testing.Short() {
		nAsync, nSync = 2600, 400
	}
	const (
		nQueued = 500 // refused dials whose deliveries wait behind the held loop
		nRacers = 4   // goroutines starting dials as Close begins
		perRace = 128 // dials each racer starts at most
	)
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < uint64(nAsync+nSync+nRacers*perRace+500) {
		t.Skipf("open-files limit %d: need %d", lim.Cur, nAsync+nSync+nRacers*perRace+500)
	}
	backlog := faults.FullBacklog(t, "tcp4")
	refused := faults.RefusedAddr(t).String()

	var panics atomic.Int64
	onPanic := func(v any, stack []byte) {
		panics.Add(1)
		t.Errorf("panic: %v\n%s", v, stack)
	}
	r, err := reactor.New(reactor.WithLoops(2), reactor.WithPanicHandler(onPanic))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	held := signals.NewLoop(signals.WithPanicHandler(onPanic)) // held while Close begins
	defer held.Close()
	free := signals.NewLoop(signals.WithPanicHandler(onPanic))
	defer free.Close()

	// The Dialer-wide signals count outcomes; every dial's Finished is
	// also queued to the held loop.
	var wideOutcomes [OutcomeFailed + 1]atomic.Int64
	var wideFinished, wideQueued soakTally
	wideFinished.init()
	wideQueued.init()
	wide := new(Signals)
	wide.Connected.Connect(func(c *Connected) { wideOutcomes[OutcomeConnected].Add(1) })
	for _, o := range soakFailures {
		wide.errorSignal(o).Connect(func(e *DialError) { wideOutcomes[e.Outcome].Add(1) })
	}
	wide.Finished.Connect(func(*Finished) { wideFinished.inc() })
	wide.Finished.Connect(func(*Finished) { wideQueued.inc() }, signals.WithType(signals.QueuedConnection), signals.On(held))

	// Three Dialers share the reactor and the signals: the pending dials
	// have no time limit, a context that is never done, or a one-minute
	// Timeout (a timer in the loop's heap).
	var attempts soakTally // connects reached: async on the loop, sync in Control
	attempts.init()
	count := func(string, string, syscall.RawConn) error { attempts.inc(); return nil }
	dialers := []*Dialer{
		{Reactor: r, Signals: wide},
		{Reactor: r, Signals: wide},
		{Reactor: r, Signals: wide, Timeout: time.Minute},
	}
	syncD := &Dialer{Reactor: r, Signals: wide, Control: count}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	fds := faults.FDCount(t)
	goroutines := runtime.NumGoroutine()
	var closeStart atomic.Pointer[time.Time] // set just before Close
	var lastDone atomic.Int64                // ns after closeStart of the latest completion
	completed := func() {
		if t0 := closeStart.Load(); t0 != nil {
			d := int64(time.Since(*t0))
			for {
				cur := lastDone.Load()
				if d <= cur || lastDone.CompareAndSwap(cur, d) {
					break
				}
			}
		}
	}
	var finished soakTally
	finished.init()
	var errs soakErrs

	// The async dials, pending. Their slots: directly on the loop, queued to
	// a free or to the held signals.Loop, or blocking queued to the free one.
	pend := make([]*closeLoadDial, nAsync)
	setup := time.Now()
	for i := range pend {
		x := dialers[i%3].NewAsyncDial("tcp4", backlog.String())
		c := &closeLoadDial{x: x}
		pend[i] = c
		var opts []signals.ConnectOption
		switch i % 8 {
		case 0, 1, 2:
			opts = []signals.ConnectOption{signals.WithType(signals.DirectConnection)}
		case 3, 4:
			opts = []signals.ConnectOption{signals.WithType(signals.QueuedConnection), signals.On(free)}
		case 5, 6:
			opts = []signals.ConnectOption{signals.WithType(signals.QueuedConnection), signals.On(held)}
		case 7:
			opts = []signals.ConnectOption{signals.WithType(signals.BlockingQueuedConnection), signals.On(free)}
		}
		c.connect(opts, &errs, func() { completed(); finished.inc() })
		x.AttemptStarted.Connect(func(*Attempt) { attempts.inc() }, signals.WithType(signals.DirectConnection))
		dctx := context.Background()
		if i%3 == 1 {
			dctx = ctx
		}
		if err := x.Start(dctx); err != nil {
			t.Fatalf("async dial %d: Start: %v", i, err)
		}
	}
	// The blocking callers, pending.
	syncErrs := make([]error, nSync)
	var callers sync.WaitGroup
	for i := range syncErrs {
		callers.Add(1)
		go func() {
			defer callers.Done()
			c, err := syncD.DialContext(context.Background(), "tcp4", backlog.String())
			completed()
			if c != nil {
				c.Close()
				err = fmt.Errorf("connected to a full accept queue")
			}
			syncErrs[i] = err
		}()
	}
	if !attempts.wait(int64(nAsync+nSync), 30*time.Second) {
		t.Fatalf("%d of %d dials reached their connect", attempts.n.Load(), nAsync+nSync)
	}
	for i := range r.Len() {
		soakBarrier(t, r.Loop(i)) // every async connect is in a poller
	}
	// The kernel agrees: that many connects wait in SYN_SENT.
	synSent := closeLoadSynSent(t, backlog, nAsync+nSync)
	open := faults.FDCount(t) - fds
	t.Logf("%d dials pending (%d async, %d sync) after %v: %d in SYN_SENT, %d fds open for them, %d goroutines (%d before)",
		nAsync+nSync, nAsync, nSync, time.Since(setup).Round(time.Millisecond), synSent, open, runtime.NumGoroutine(), goroutines)
	if open < nAsync+nSync {
		t.Errorf("%d fds open for %d pending dials", open, nAsync+nSync)
	}
	for _, c := range pend {
		if soakIsDone(c.x) {
			t.Fatalf("a dial ended before Close: %v (%v)", c.x.Outcome(), c.x.Err())
		}
	}

	// Emissions in flight. Hold a signals.Loop; let refused dials queue
	// their deliveries to it.
	holding, release := make(chan struct{}), make(chan struct{})
	if err := held.Post(func() { close(holding); <-release }); err != nil {
		t.Fatal(err)
	}
	<-holding
	var queuedRan atomic.Int64
	queued := make([]*AsyncDial, nQueued)
	for i := range queued {
		x := dialers[0].NewAsyncDial("tcp4", refused)
		x.Refused.Connect(func(*DialError) { queuedRan.Add(1) }, signals.On(held))
		x.Finished.Connect(func(*Finished) { queuedRan.Add(1) }, signals.On(held))
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		queued[i] = x
	}
	for _, x := range queued {
		select {
		case <-x.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("a refused dial did not finish")
		}
		if x.Outcome() != OutcomeRefused {
			t.Fatalf("refused dial: %v (%v)", x.Outcome(), x.Err())
		}
	}
	// Put each loop inside a BlockingQueued emission that waits for the
	// held loop. Loops are picked round-robin, and nothing else is being
	// started now, so consecutive dials land on consecutive loops.
	entered := make(chan struct{}, r.Len())
	var blockingTook atomic.Int64
	blocking := make([]*AsyncDial, r.Len())
	for i := range blocking {
		x := dialers[0].NewAsyncDial("tcp4", refused)
		x.Refused.Connect(func(*DialError) { entered <- struct{}{} }, signals.WithType(signals.DirectConnection))
		x.Refused.Connect(func(*DialError) { blockingTook.Add(1) }, signals.WithType(signals.BlockingQueuedConnection), signals.On(held))
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		blocking[i] = x
	}
	for range blocking {
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("a loop did not enter its blocking emission")
		}
	}

	// Racers start dials as Close begins: a blocking caller dials until a
	// dial fails with net.ErrClosed, an async one until Start refuses.
	var (
		racers        sync.WaitGroup
		raced         atomic.Int64
		refusedStarts atomic.Int64
		raceDials     = make(chan *closeLoadDial, nRacers*perRace)
		raceSyncErrs  = make(chan error, nRacers*perRace)
		startRace     = make(chan struct{})
		raceStarted   soakTally
	)
	raceStarted.init()
	for k := range nRacers {
		racers.Add(1)
		go func() {
			defer racers.Done()
			<-startRace
			for range perRace {
				if k%2 == 0 {
					raceStarted.inc()
					c, err := syncD.DialContext(context.Background(), "tcp4", backlog.String())
					completed()
					if c != nil {
						c.Close()
						err = fmt.Errorf("connected to a full accept queue")
					}
					raced.Add(1)
					raceSyncErrs <- err
					if errors.Is(err, net.ErrClosed) {
						return
					}
					continue
				}
				x := dialers[0].NewAsyncDial("tcp4", backlog.String())
				c := &closeLoadDial{x: x}
				c.connect([]signals.ConnectOption{signals.WithType(signals.DirectConnection)}, &errs, completed)
				if err := x.Start(context.Background()); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						errs.add("racing Start: %v", err)
					}
					refusedStarts.Add(1)
					return
				}
				raced.Add(1)
				raceStarted.inc()
				raceDials <- c
			}
		}()
	}

	// The racers start before Close, so that some of their dials are
	// posted to the blocked loops and wait there, unstarted, as Close
	// begins; the rest race with it.
	close(startRace)
	if !raceStarted.wait(nRacers*8, 10*time.Second) {
		t.Fatalf("the racers started only %d dials", raceStarted.n.Load())
	}

	// Close. The loops are blocked in their emissions, so Close waits;
	// the held loop is released once the reactor is marked closed.
	now := time.Now()
	closeStart.Store(&now)
	closeErr := make(chan error, 1)
	go func() { closeErr <- r.Close() }()
	for spin := 0; !r.Closed(); spin++ {
		if time.Since(now) > 10*time.Second {
			t.Fatal("Close did not mark the reactor closed")
		}
		runtime.Gosched()
	}
	close(release)
	var closeTook time.Duration
	select {
	case err := <-closeErr:
		closeTook = time.Since(now)
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s")
	}
	if !soakWait(&racers, 10*time.Second) {
		t.Fatal("racing dials did not end")
	}
	close(raceDials)
	close(raceSyncErrs)

	// Every pending dial completes within closeLoadGrace of Close: each
	// completion (a Finished slot, a DialContext return) records its time.
	// The waits are bounded generously; the check is on the times.
	if !finished.wait(int64(nAsync), 30*time.Second) || !soakWait(&callers, 30*time.Second) {
		t.Fatalf("%d of %d async dials finished; the blocking callers did not all return", finished.n.Load(), nAsync)
	}
	for _, c := range pend {
		select {
		case <-c.x.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("a dial's Done was not closed")
		}
	}
	within := time.Since(now)
	last := time.Duration(lastDone.Load())
	if last > closeLoadGrace {
		t.Errorf("the last pending dial completed %v after Close began, want within %v", last, closeLoadGrace)
	}

	// Outcomes.
	var example string
	for i, c := range pend {
		if err := c.check(); err != nil {
			errs.add("async dial %d: %v", i, err)
		} else if example == "" {
			example = c.x.Err().Error()
		}
	}
	for i, err := range syncErrs {
		if !errors.Is(err, net.ErrClosed) || Classify(err) != OutcomeCanceled {
			errs.add("sync dial %d: %v (%v), want Canceled wrapping net.ErrClosed", i, Classify(err), err)
		}
	}
	nRaced := 0
	for c := range raceDials {
		nRaced++
		select {
		case <-c.x.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a racing dial did not finish")
		}
		if err := c.check(); err != nil {
			errs.add("racing async dial: %v", err)
		}
	}
	for err := range raceSyncErrs {
		nRaced++
		if !errors.Is(err, net.ErrClosed) || Classify(err) != OutcomeCanceled {
			errs.add("racing sync dial: %v (%v), want Canceled wrapping net.ErrClosed", Classify(err), err)
		}
	}
	// The emissions that were in flight completed.
	drainTimeout := 10 * time.Second
	soakBarrier(t, held)
	soakBarrier(t, free)
	if got := queuedRan.Load(); got != 2*nQueued {
		t.Errorf("%d queued deliveries of refused dials ran after the held loop was released, want %d", got, 2*nQueued)
	}
	if got := blockingTook.Load(); got != int64(len(blocking)) {
		t.Errorf("%d blocking deliveries ran, want %d", got, len(blocking))
	}
	for _, x := range blocking {
		select {
		case <-x.Done():
		case <-time.After(drainTimeout):
			t.Fatal("a dial whose loop was blocked in an emission did not finish")
		}
		if x.Outcome() != OutcomeRefused {
			t.Errorf("blocked dial: %v (%v)", x.Outcome(), x.Err())
		}
	}
	// The Dialer's signals saw every dial once.
	total := int64(nAsync + nSync + nQueued + len(blocking) + int(raced.Load()))
	if !wideFinished.wait(total, drainTimeout) || !wideQueued.wait(total, drainTimeout) {
		t.Errorf("Dialer-wide Finished: %d direct, %d queued; want %d", wideFinished.n.Load(), wideQueued.n.Load(), total)
	}
	wantWide := [OutcomeFailed + 1]int64{
		OutcomeCanceled: int64(nAsync+nSync) + raced.Load(),
		OutcomeRefused:  int64(nQueued + len(blocking)),
	}
	for o := OutcomeConnected; o <= OutcomeFailed; o++ {
		if got := wideOutcomes[o].Load(); got != wantWide[o] {
			t.Errorf("Dialer-wide %v: %d, want %d", o, got, wantWide[o])
		}
	}

	// Later dials fail at once with a clear error.
	t0 := time.Now()
	_, err = syncD.Dial("tcp4", backlog.String())
	if !errors.Is(err, net.ErrClosed) || Classify(err) != OutcomeCanceled {
		t.Errorf("Dial after Close: %v", err)
	}
	x := dialers[0].NewAsyncDial("tcp4", backlog.String())
	serr := x.Start(context.Background())
	if !errors.Is(serr, net.ErrClosed) {
		t.Errorf("Start after Close: %v", serr)
	}
	if soakIsDone(x) || time.Since(t0) > closeLoadGrace {
		t.Errorf("later dials: done %v, took %v", soakIsDone(x), time.Since(t0))
	}
	if p := panics.Load(); p != 0 {
		t.Errorf("%d panics", p)
	}
	errs.report(t)
	t.Logf("Close returned after %v (the loops were blocked in emissions until the held loop was released); the last of the %d pending dials completed at +%v, all Done observed by +%v; %d dials raced Close and %d Starts were refused",
		closeTook.Round(time.Microsecond), nAsync+nSync, last.Round(time.Microsecond), within.Round(time.Microsecond), nRaced, refusedStarts.Load())
	t.Logf("a pending dial's error: %s", example)
	t.Logf("a later Dial: %v; a later Start: %v", err, serr)
}

// soakIsDone reports whether x's Done channel is closed.
func soakIsDone(x *AsyncDial) bool {
	select {
	case <-x.Done():
		return true
	default:
		return false
	}
}

// closeLoadDial is one asynchronous dial of TestCloseUnderLoad, with its
// own slots counting what it emits.
type closeLoadDial struct {
	x        *AsyncDial
	outcomes atomic.Int32
	finished atomic.Int32
	got      atomic.Pointer[DialError]
}

// connect connects the dial's slots with opts; done runs in its Finished
// slot.
func (c *closeLoadDial) connect(opts []signals.ConnectOption, errs *soakErrs, done func()) {
	x := c.x
	x.Connected.Connect(func(cd *Connected) {
		c.outcomes.Add(1)
		cd.Conn.Close()
		errs.add("a dial to a full accept queue connected")
	}, opts...)
	for _, o := range soakFailures {
		x.errorSignal(o).Connect(func(e *DialError) {
			c.outcomes.Add(1)
			c.got.Store(e)
		}, opts...)
	}
	x.Finished.Connect(func(f *Finished) {
		c.finished.Add(1)
		done()
	}, opts...)
}

// check reports how the dial differs from one closed by its reactor.
func (c *closeLoadDial) check() error {
	x := c.x
	e := c.got.Load()
	switch {
	case c.outcomes.Load() != 1 || c.finished.Load() != 1:
		return fmt.Errorf("%d outcomes and %d Finished, want 1 and 1", c.outcomes.Load(), c.finished.Load())
	case e == nil || e.Outcome != OutcomeCanceled || !errors.Is(e.Err, net.ErrClosed):
		return fmt.Errorf("outcome %+v, want Canceled wrapping net.ErrClosed", e)
	case x.Outcome() != OutcomeCanceled || !errors.Is(x.Err(), net.ErrClosed):
		return fmt.Errorf("Outcome() %v, Err() %v", x.Outcome(), x.Err())
	}
	return nil
}

// closeLoadSynSent waits until at least want sockets of this network
// namespace are in SYN_SENT towards to, as /proc/net/tcp shows them, and
// returns how many are. The connects were all started before the call (the
// kernel's state is read, not awaited for an event that has not happened);
// the bounded retry only covers the microseconds between a Control hook
// and its connect(2).
func closeLoadSynSent(t testing.TB, to netip.AddrPort, want int) int {
	t.Helper()
	a := to.Addr().As4()
	rem := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], to.Port())
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Logf("cannot read /proc/net/tcp: %v", err)
			return -1
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && f[2] == rem && f[3] == "02" {
				n++
			}
		}
		if n >= want || time.Now().After(deadline) {
			if n < want {
				t.Errorf("%d sockets in SYN_SENT to %v, want %d", n, to, want)
			}
			return n
		}
		time.Sleep(time.Millisecond)
	}
}
