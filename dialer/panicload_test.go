//go:build linux

package dialer

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// A reactor loop reports the panics of slots queued to it to the reactor's
// handler, as a signals.Loop does to its own.
var _ signals.PanicReporter = (*reactor.Loop)(nil)

// Who reports a panic in TestPanickingSlotsUnderLoad.
const (
	bySignal  = iota + 1 // the dial's signal's handler (Signal.SetPanicHandler)
	byLoop               // the signals.Loop's handler (signals.WithPanicHandler)
	byReactor            // the dial's reactor's handler (reactor.WithPanicHandler)
	byOther              // the other reactor's handler
	byWide               // the Dialer-wide signal's handler
	reporters
)

var reporterNames = [reporters]string{"", "the signal's handler", "the signals.Loop's handler", "the dial's reactor's handler", "the other reactor's handler", "the Dialer-wide signal's handler"}

// panicValue is what a slot of TestPanickingSlotsUnderLoad panics with.
type panicValue struct {
	id   int
	slot int // 0: the outcome slot, 1: the Finished slot, 2: a Dialer-wide slot
}

// panicVariant is how the panicking slots of a dial are delivered, and who
// must report their panics.
type panicVariant struct {
	name     string
	opts     []signals.ConnectOption
	handler  bool // the dial's signals have a panic handler
	reporter int
}

// TestPanickingSlotsUnderLoad makes thousands of asynchronous dials, half
// connected and half refused, whose outcome and Finished slots panic —
// directly on the dial's loop, queued to a signals.Loop and queued to a loop
// of another reactor, with and without a panic handler on the signal — and
// blocking dials whose Dialer-wide Connected slot panics. It checks that
// every panic is reported exactly once, to the handler the documentation
// names; that the loops keep running (the dials go on completing, and
// dials made afterwards complete normally); that each dial still emits
// exactly one outcome and one Finished; and that no connection leaks.
//
// Who owns the conn of a Connected slot that panics: the slot. The drop
// hook runs only when no slot was called, so sigdial does not close it. Half
// the panicking Connected slots close their conn in a deferred call (which
// runs as the panic unwinds); the other half hand it to the test first,
// which checks at the end that sigdial left it open, then closes it. The
// fd count before and after proves that every conn was accounted for.
func TestPanickingSlotsUnderLoad(t *testing.T) {
	faults.CheckFDs(t)
	// Cleanups run last in, first out: this one runs after those of the
	// fixtures made below (listeners), and before CheckFDs's.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	n := 5000
	if testing.Short() {
		n = 1000
	}
	const inFlight = 256
	okAddr, _ := soakListener(t)
	refused := faults.RefusedAddr(t).String()

	p := &panicLog{reports: make([]atomic.Int32, 3*n), by: make([]atomic.Int32, 3*n)}
	p.wake = make(chan struct{}, 1)
	r, err := reactor.New(reactor.WithLoops(2), reactor.WithPanicHandler(p.handler(byReactor)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	other, err := reactor.New(reactor.WithLoops(1), reactor.WithPanicHandler(p.handler(byOther)))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sl := signals.NewLoop(signals.WithPanicHandler(p.handler(byLoop)))
	defer sl.Close()

	direct := []signals.ConnectOption{signals.WithType(signals.DirectConnection)}
	toLoop := []signals.ConnectOption{signals.WithType(signals.QueuedConnection), signals.On(sl)}
	toOther := []signals.ConnectOption{signals.WithType(signals.QueuedConnection), signals.On(other.Loop(0))}
	variants := []panicVariant{
		{"direct on the dial's loop, signal handler", direct, true, bySignal},
		{"queued to a signals.Loop, no signal handler", toLoop, false, byLoop},
		{"queued to a signals.Loop, signal handler", toLoop, true, bySignal},
		{"queued to another reactor's loop, signal handler", toOther, true, bySignal},
		{"queued to another reactor's loop, no signal handler", toOther, false, byOther},
		{"direct on the dial's loop, no signal handler", direct, false, byReactor},
	}

	// The Dialer-wide Finished has a panicking slot and a handler.
	wide := new(Signals)
	var wideFinished soakTally
	wideFinished.init()
	wide.Finished.Connect(func(*Finished) { wideFinished.inc() })
	wide.Finished.Connect(func(*Finished) { panic("Dialer-wide Finished") })
	var widePanics atomic.Int64
	wide.Finished.SetPanicHandler(func(v any, _ []byte) {
		if v != "Dialer-wide Finished" {
			p.unexpected(byWide, v)
		}
		widePanics.Add(1)
	})
	d := &Dialer{Reactor: r, Signals: wide}

	var (
		outcomes = make([]atomic.Int32, n)
		finished = make([]atomic.Int32, n)
		dials    = make([]*AsyncDial, n)
		sem      = make(chan struct{}, inFlight)
		stashMu  sync.Mutex
		stash    []net.Conn // conns of panicking slots, left to the test
		closedBy atomic.Int64
	)
	t.Cleanup(func() { // if the test stops early
		for _, c := range stash {
			c.Close()
		}
	})
	start := time.Now()
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-time.After(30 * time.Second):
			t.Fatalf("no dial finished for 30 s (dial %d; %d panics reported): a panic cut a dial short?", i, p.total.Load())
		}
		v := variants[i%len(variants)]
		addr := okAddr
		if i/len(variants)%2 == 1 {
			addr = refused
		}
		x := d.NewAsyncDial("tcp4", addr)
		dials[i] = x
		if v.handler {
			h := p.handler(bySignal)
			x.Connected.SetPanicHandler(h)
			x.Refused.SetPanicHandler(h)
			x.Finished.SetPanicHandler(h)
		}
		// Each signal has a well-behaved slot first, then one that panics.
		x.Connected.Connect(func(c *Connected) { outcomes[i].Add(1) }, v.opts...)
		x.Refused.Connect(func(*DialError) { outcomes[i].Add(1) }, v.opts...)
		x.Finished.Connect(func(*Finished) {
			finished[i].Add(1)
			<-sem
		}, v.opts...)
		x.Connected.Connect(func(c *Connected) {
			if i%4 < 2 {
				defer func() {
					c.Conn.Close()
					closedBy.Add(1)
				}()
			} else {
				stashMu.Lock()
				stash = append(stash, c.Conn)
				stashMu.Unlock()
			}
			panic(panicValue{i, 0})
		}, v.opts...)
		x.Refused.Connect(func(*DialError) { panic(panicValue{i, 0}) }, v.opts...)
		x.Finished.Connect(func(*Finished) { panic(panicValue{i, 1}) }, v.opts...)
		for _, o := range []Outcome{OutcomeUnreachable, OutcomeTimedOut, OutcomeCanceled, OutcomeFailed} {
			x.errorSignal(o).Connect(func(e *DialError) { outcomes[i].Add(1) }, v.opts...)
		}
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := int64(2 * n)
	if !p.wait(want, 30*time.Second) {
		t.Errorf("%d of %d panics reported", p.total.Load(), want)
	}
	for range inFlight {
		select {
		case sem <- struct{}{}:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d dials did not emit Finished", len(sem))
		}
	}
	elapsed := time.Since(start)
	for _, ex := range []signals.Executor{r.Loop(0), r.Loop(1), other.Loop(0), sl} {
		soakBarrier(t, ex)
	}

	// Every dial: one outcome, one Finished, Done closed; every panic
	// reported once, by the right handler.
	var errs soakErrs
	byVariant := make([][reporters]int, len(variants))
	for i, x := range dials {
		v := variants[i%len(variants)]
		wantOutcome := OutcomeConnected
		if i/len(variants)%2 == 1 {
			wantOutcome = OutcomeRefused
		}
		if !soakIsDone(x) || x.Outcome() != wantOutcome || outcomes[i].Load() != 1 || finished[i].Load() != 1 {
			errs.add("dial %d (%s): done %v, outcome %v (%v), %d outcome and %d Finished slot calls; want %v, 1 and 1",
				i, v.name, soakIsDone(x), x.Outcome(), x.Err(), outcomes[i].Load(), finished[i].Load(), wantOutcome)
		}
		for slot := range 2 {
			k := 3*i + slot
			got, by := p.reports[k].Load(), int(p.by[k].Load())
			byVariant[i%len(variants)][by]++
			if got != 1 || by != v.reporter {
				errs.add("dial %d (%s): slot %d's panic reported %d times, last by %s; want once by %s",
					i, v.name, slot, got, reporterNames[by], reporterNames[v.reporter])
			}
		}
	}
	if u := p.unexpectedN.Load(); u > 0 {
		errs.add("%d unexpected panics, the first: %v", u, p.first.Load())
	}
	if !wideFinished.wait(int64(n), 10*time.Second) || widePanics.Load() != int64(n) {
		errs.add("Dialer-wide Finished: %d calls and %d panics, want %d each", wideFinished.n.Load(), widePanics.Load(), n)
	}
	stormPanics, stormWide := p.total.Load(), widePanics.Load()

	// The panicking slots own their conns: sigdial left the stashed ones
	// open.
	stillOpen := 0
	for _, c := range stash {
		if err := c.(*net.TCPConn).SetLinger(0); err != nil {
			errs.add("a conn handed to a panicking slot was closed under it: %v", err)
		} else {
			stillOpen++
		}
		c.Close()
	}
	stash = nil

	// The loops still run: ordinary dials complete, on every delivery.
	for k, opts := range [][]signals.ConnectOption{direct, toLoop, toOther} {
		for j := range 50 {
			addr := okAddr
			if j%2 == 1 {
				addr = refused
			}
			x := d.NewAsyncDial("tcp4", addr)
			got := make(chan Outcome, 2)
			x.Connected.Connect(func(c *Connected) { c.Conn.Close(); got <- OutcomeConnected }, opts...)
			x.Refused.Connect(func(*DialError) { got <- OutcomeRefused }, opts...)
			if err := x.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			select {
			case o := <-got:
				if want := map[bool]Outcome{false: OutcomeConnected, true: OutcomeRefused}[j%2 == 1]; o != want {
					errs.add("later dial %d/%d: %v, want %v", k, j, o, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("a later dial (delivery %d) did not complete: a loop stopped?", k)
			}
		}
	}

	// Blocking dials whose Dialer-wide Connected slot panics: with a
	// handler on that signal, the caller gets its conn as usual.
	sw := new(Signals)
	var syncPanics atomic.Int64
	sw.Connected.Connect(func(*Connected) { panic("Dialer-wide Connected") })
	sw.Connected.SetPanicHandler(func(v any, _ []byte) {
		if v != "Dialer-wide Connected" {
			p.unexpected(byWide, v)
		}
		syncPanics.Add(1)
	})
	sd := &Dialer{Reactor: r, Signals: sw}
	var callers sync.WaitGroup
	for range 8 {
		callers.Add(1)
		go func() {
			defer callers.Done()
			for range n / 40 {
				c, err := sd.Dial("tcp4", okAddr)
				if err != nil {
					errs.add("sync dial: %v", err)
					continue
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}()
	}
	if !soakWait(&callers, 30*time.Second) {
		t.Fatal("blocking dials did not return")
	}
	if got := syncPanics.Load(); got != int64(8*(n/40)) {
		errs.add("%d panics of the Dialer-wide Connected slot reported, want %d", got, 8*(n/40))
	}

	// Attempt slots that panic, with no handler: an AttemptStarted slot of
	// async dials (emitted on the loop before the connect) and a
	// Dialer-wide AttemptFailed slot of blocking dials whose refusal the
	// loop sees. The dials still end, Refused; each panic is reported
	// once: to the reactor's handler, or, for an attempt that failed on
	// the caller's goroutine, to the caller.
	const nAttempt = 100
	attemptPanics := p.total.Load()
	for i := range nAttempt {
		x := d.NewAsyncDial("tcp4", refused)
		x.AttemptStarted.Connect(func(*Attempt) { panic(panicValue{i, 2}) })
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-x.Done():
			if x.Outcome() != OutcomeRefused {
				errs.add("dial with a panicking AttemptStarted slot: %v (%v)", x.Outcome(), x.Err())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a dial whose AttemptStarted slot panicked did not finish")
		}
	}
	aw := new(Signals)
	aw.AttemptFailed.Connect(func(*Attempt) { panic(panicValue{nAttempt, 2}) })
	ad := &Dialer{Reactor: r, Signals: aw}
	var callerPanics int64
	for range nAttempt {
		res := make(chan error, 1)
		go func() {
			defer func() {
				if v := recover(); v != nil {
					res <- fmt.Errorf("caller: %v", v)
				}
			}()
			_, err := ad.Dial("tcp4", refused)
			res <- err
		}()
		select {
		case err := <-res:
			if err != nil && err.Error() == fmt.Sprintf("caller: %v", panicValue{nAttempt, 2}) {
				callerPanics++
			} else if Classify(err) != OutcomeRefused {
				errs.add("blocking dial with a panicking AttemptFailed slot: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a blocking dial whose AttemptFailed slot panicked on the loop did not return")
		}
	}
	for i := range nAttempt {
		if got, by := p.reports[3*i+2].Load(), int(p.by[3*i+2].Load()); got != 1 || by != byReactor {
			errs.add("async dial %d: its AttemptStarted slot's panic reported %d times, by %s", i, got, reporterNames[by])
		}
	}
	if got := p.reports[3*nAttempt+2].Load(); int64(got)+callerPanics != nAttempt {
		errs.add("panicking AttemptFailed slot: %d panics reported to the reactor, %d to the caller; want %d in all", got, callerPanics, nAttempt)
	}
	attemptPanics = p.total.Load() - attemptPanics
	errs.report(t)

	t.Logf("attempt slots: %d panics reported to the reactor's handler, %d to the blocking caller", attemptPanics, callerPanics)
	t.Logf("%d async dials with panicking slots in %v: %d panics reported, %d by the Dialer-wide handler; %d conns closed by their panicking slot, %d left open for the test; %d blocking dials with a panicking Dialer-wide slot",
		n, elapsed.Round(time.Millisecond), stormPanics, stormWide, closedBy.Load(), stillOpen, syncPanics.Load())
	for k, v := range variants {
		t.Logf("  %-52s reported by: %s", v.name, reportedBy(byVariant[k]))
	}
}

func reportedBy(counts [reporters]int) string {
	s := ""
	for by, c := range counts {
		if c > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s ×%d", reporterNames[by], c)
		}
	}
	if s == "" {
		return "nobody"
	}
	return s
}

// panicLog records the panics reported to the handlers of
// TestPanickingSlotsUnderLoad.
type panicLog struct {
	reports     []atomic.Int32 // per dial and slot (3 per dial): reports
	by          []atomic.Int32 // per dial and slot: the last reporter
	total       atomic.Int64
	unexpectedN atomic.Int64
	first       atomic.Value // the first unexpected panic, as a string
	wake        chan struct{}
}

func (p *panicLog) handler(by int) func(any, []byte) {
	return func(v any, _ []byte) {
		pv, ok := v.(panicValue)
		if !ok || 3*pv.id+pv.slot >= len(p.reports) {
			p.unexpected(by, v)
			return
		}
		k := 3*pv.id + pv.slot
		p.reports[k].Add(1)
		p.by[k].Store(int32(by))
		p.total.Add(1)
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (p *panicLog) unexpected(by int, v any) {
	if p.unexpectedN.Add(1) == 1 {
		p.first.Store(fmt.Sprintf("%v (to %s)", v, reporterNames[by]))
	}
}

// wait waits until at least want panics were reported, for up to d.
func (p *panicLog) wait(want int64, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	for p.total.Load() < want {
		select {
		case <-p.wake:
		case <-tm.C:
			return p.total.Load() >= want
		}
	}
	return true
}

// TestPanickingDialerWideSlotBlockingDial: a Dialer-wide Connected slot
// with no panic handler panics on the caller's goroutine of a blocking
// dial. The panic reaches the caller, as a callback's does; the conn it
// never received must still be closed.
//
// DialContext and dialTyped close the conn when report does not return
// (reportReturn).
func TestPanickingDialerWideSlotBlockingDial(t *testing.T) {
	faults.CheckFDs(t)
	addr, _ := soakListener(t)
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sw := new(Signals)
	sw.Connected.Connect(func(*Connected) { panic("Dialer-wide Connected") })
	d := &Dialer{Reactor: r, Signals: sw}
	func() {
		defer func() {
			if v := recover(); v != "Dialer-wide Connected" {
				t.Errorf("recovered %v", v)
			}
		}()
		c, err := d.Dial("tcp4", addr)
		t.Errorf("Dial returned %v, %v: the slot did not panic", c, err)
	}()
	// CheckFDs fails the test if the conn was left open.
}
