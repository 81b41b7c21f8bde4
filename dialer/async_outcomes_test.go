//go:build linux

package dialer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigdial/sigdial/internal/faults"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// The tests of this file produce each outcome of an asynchronous dial for
// real and check that it arrives on its own signal, on the dial's Signals
// and on the Dialer's, followed by exactly one Finished, with the error the
// blocking API returns for the same situation.

// asyncWait bounds every wait of these tests.
const asyncWait = 10 * time.Second

// outcomeReactor returns a reactor with n loops, closed when the test ends.
func outcomeReactor(t testing.TB, n int) *reactor.Reactor {
	t.Helper()
	r, err := reactor.New(reactor.WithLoops(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// awaitDial waits, at most asyncWait, for x to finish.
func awaitDial(t testing.TB, x *AsyncDial) {
	t.Helper()
	select {
	case <-x.Done():
	case <-time.After(asyncWait):
		t.Fatalf("dial of %s %s did not finish within %v", x.Network(), x.Address(), asyncWait)
	}
}

// await receives one value from ch within asyncWait.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(asyncWait):
		t.Fatalf("no %s within %v", what, asyncWait)
		panic("unreachable")
	}
}

// drainExecutor waits until everything posted to ex before the call has run.
func drainExecutor(t testing.TB, ex signals.Executor) {
	t.Helper()
	done := make(chan struct{})
	if err := ex.Post(func() { close(done) }); err != nil {
		t.Fatalf("post to %T: %v", ex, err)
	}
	await(t, done, "drain of the executor")
}

// goid returns the id of the calling goroutine. Tests only: it parses the
// header of runtime.Stack ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("goid: " + err.Error())
	}
	return id
}

// goidOf returns the id of the goroutine that runs ex's functions.
func goidOf(t testing.TB, ex signals.Executor) uint64 {
	t.Helper()
	ch := make(chan uint64, 1)
	if err := ex.Post(func() { ch <- goid() }); err != nil {
		t.Fatal(err)
	}
	return await(t, ch, "goroutine id of the executor")
}

// closeAtEnd closes a conn taken by a slot when the test ends.
func closeAtEnd(t testing.TB, c net.Conn) {
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
}

// signalLog records every emission of one Signals set, in order.
type signalLog struct {
	mu       sync.Mutex
	events   []string // outcome names, "finished", "attempt started", "attempt failed"
	conns    []*Connected
	errs     []*DialError
	fins     []*Finished
	started  []*Attempt
	failed   []*Attempt
	goids    map[string]uint64 // the goroutine each kind of emission arrived on
	finished chan struct{}     // closed at the first Finished
}

// logSignals connects direct slots to every signal of s. When owner is
// true (s is a dial's own Signals) the Connected slot takes the conn, which
// is closed when the test ends.
func logSignals(t testing.TB, s *Signals, owner bool) *signalLog {
	t.Helper()
	l := &signalLog{goids: map[string]uint64{}, finished: make(chan struct{})}
	add := func(ev string) {
		l.events = append(l.events, ev)
		l.goids[ev] = goid()
	}
	must := func(_ signals.Connection, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Connected.Connect(func(c *Connected) {
		l.mu.Lock()
		defer l.mu.Unlock()
		add(OutcomeConnected.String())
		l.conns = append(l.conns, c)
		if owner {
			closeAtEnd(t, c.Conn)
		}
	}))
	for _, o := range []Outcome{OutcomeRefused, OutcomeUnreachable, OutcomeTimedOut, OutcomeCanceled, OutcomeFailed} {
		name := o.String()
		must(s.errorSignal(o).Connect(func(e *DialError) {
			l.mu.Lock()
			defer l.mu.Unlock()
			add(name)
			l.errs = append(l.errs, e)
		}))
	}
	must(s.Finished.Connect(func(f *Finished) {
		l.mu.Lock()
		defer l.mu.Unlock()
		add("finished")
		l.fins = append(l.fins, f)
		if len(l.fins) == 1 {
			close(l.finished)
		}
	}))
	must(s.AttemptStarted.Connect(func(a *Attempt) {
		l.mu.Lock()
		defer l.mu.Unlock()
		add("attempt started")
		l.started = append(l.started, a)
	}))
	must(s.AttemptFailed.Connect(func(a *Attempt) {
		l.mu.Lock()
		defer l.mu.Unlock()
		add("attempt failed")
		l.failed = append(l.failed, a)
	}))
	return l
}

// terminal returns the log's outcome and Finished events, in order.
func (l *signalLog) terminal() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		if ev != "attempt started" && ev != "attempt failed" {
			out = append(out, ev)
		}
	}
	return out
}

// check verifies that the log holds exactly one outcome, want, then one
// Finished that agrees with it, and nothing after Finished. It returns the
// outcome's error (nil for Connected).
func (l *signalLog) check(t testing.TB, who string, want Outcome, network, address string) error {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var term []string
	for i, ev := range l.events {
		if ev != "attempt started" && ev != "attempt failed" {
			term = append(term, ev)
		} else if len(term) > 0 {
			t.Errorf("%s: %q emitted after the outcome (events %q)", who, ev, l.events[:i+1])
		}
	}
	if len(term) != 2 || term[0] != want.String() || term[1] != "finished" {
		t.Fatalf("%s: outcome events %q, want [%q \"finished\"]", who, term, want.String())
	}
	f := l.fins[0]
	if f.Outcome != want || f.Network != network || f.Address != address {
		t.Errorf("%s: Finished %+v, want outcome %v for %s %s", who, f, want, network, address)
	}
	if want == OutcomeConnected {
		c := l.conns[0]
		if c.Conn == nil || c.Network != network || c.Address != address || c.Attempts < 1 || c.Elapsed <= 0 {
			t.Errorf("%s: Connected payload %+v", who, c)
		}
		if f.Err != nil {
			t.Errorf("%s: Finished.Err = %v for a connected dial", who, f.Err)
		}
		return nil
	}
	e := l.errs[0]
	if e.Outcome != want || e.Network != network || e.Address != address || e.Err == nil || e.Elapsed <= 0 {
		t.Errorf("%s: %v payload %+v", who, want, e)
	}
	if Classify(e.Err) != want {
		t.Errorf("%s: Classify(%v) = %v, want %v", who, e.Err, Classify(e.Err), want)
	}
	if f.Err != e.Err || f.Attempts != e.Attempts || f.Elapsed != e.Elapsed {
		t.Errorf("%s: Finished %+v does not match the outcome %+v", who, f, e)
	}
	return e.Err
}

// errChain describes err and what it wraps, one type per level, for
// comparing the shape of two errors.
func errChain(err error) string {
	var s []string
	for err != nil {
		s = append(s, fmt.Sprintf("%T", err))
		err = errors.Unwrap(err)
	}
	return fmt.Sprint(s)
}

// sameDialError fails the test unless async and sync are the same error:
// same text, same chain of types, and both Is every one of targets.
func sameDialError(t testing.TB, async, sync error, targets ...error) {
	t.Helper()
	if async == nil || sync == nil {
		t.Fatalf("async error %v, sync error %v: want both", async, sync)
	}
	if async.Error() != sync.Error() {
		t.Errorf("async error %q\n     sync error %q", async, sync)
	}
	if a, s := errChain(async), errChain(sync); a != s {
		t.Errorf("async error types %s, sync %s", a, s)
	}
	var oe *net.OpError
	if !errors.As(async, &oe) || oe.Op != "dial" {
		t.Errorf("async error %#v is not a dial *net.OpError", async)
	}
	for _, target := range targets {
		if !errors.Is(async, target) || !errors.Is(sync, target) {
			t.Errorf("errors.Is(%v): async %v, sync %v", target, errors.Is(async, target), errors.Is(sync, target))
		}
	}
}

// outcomeRun is one asynchronous dial observed on its own and its Dialer's
// Signals.
type outcomeRun struct {
	x          *AsyncDial
	own, wide  *signalLog
	err        error // the outcome's error, nil if connected
	ownConnect *Connected
}

// dialOutcome makes one asynchronous dial of address with d (whose Signals
// it replaces), calling start to start it, and checks that want arrived,
// alone, on the dial's signals and on the Dialer's, with the same payload.
func dialOutcome(t *testing.T, d *Dialer, network, address string, want Outcome, start func(x *AsyncDial)) *outcomeRun {
	t.Helper()
	d.Signals = new(Signals)
	run := &outcomeRun{x: d.NewAsyncDial(network, address)}
	run.own = logSignals(t, &run.x.Signals, true)
	run.wide = logSignals(t, d.Signals, false)
	if start == nil {
		if err := run.x.Start(context.Background()); err != nil {
			t.Fatalf("Start: %v", err)
		}
	} else {
		start(run.x)
	}
	awaitDial(t, run.x)
	run.err = run.own.check(t, "dial's signals", want, network, address)
	wideErr := run.wide.check(t, "Dialer's signals", want, network, address)
	if run.x.Outcome() != want || run.x.Err() != run.err {
		t.Errorf("Outcome() %v, Err() %v; want %v, %v", run.x.Outcome(), run.x.Err(), want, run.err)
	}
	if want == OutcomeConnected {
		run.ownConnect = run.own.conns[0]
		if wc := run.wide.conns[0]; wc.Conn != run.ownConnect.Conn || wc.Attempts != run.ownConnect.Attempts {
			t.Errorf("Dialer's Connected %+v, dial's %+v: want the same conn", wc, run.ownConnect)
		}
	} else if wideErr != run.err {
		t.Errorf("Dialer's error %v is not the dial's %v", wideErr, run.err)
	}
	// Attempt signals: on the Dialer's Signals and on the dial's own.
	for _, l := range []*signalLog{run.own, run.wide} {
		who := "Dialer's"
		if l == run.own {
			who = "dial's"
		}
		l.mu.Lock()
		n := len(l.started)
		l.mu.Unlock()
		if n != run.own.attempts() {
			t.Errorf("%s AttemptStarted: %d emissions, the outcome says %d attempts", who, n, run.own.attempts())
		}
	}
	return run
}

// attempts returns the Attempts field of the outcome payload.
func (l *signalLog) attempts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case len(l.conns) > 0:
		return l.conns[0].Attempts
	case len(l.errs) > 0:
		return l.errs[0].Attempts
	}
	return -1
}

// syncDial makes the same dial with DialContext and checks that the
// Dialer's signals report it with the same outcome.
func syncDial(t *testing.T, d *Dialer, ctx context.Context, network, address string, want Outcome) (net.Conn, error) {
	t.Helper()
	d.Signals = new(Signals)
	wide := logSignals(t, d.Signals, false)
	c, err := d.DialContext(ctx, network, address)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	if got := Classify(err); got != want {
		t.Fatalf("sync dial: %v (%v), want %v", got, err, want)
	}
	if werr := wide.check(t, "Dialer's signals, sync dial", want, network, address); werr != err {
		t.Errorf("Dialer's signals carry %v, DialContext returned %v", werr, err)
	}
	return c, err
}

func TestAsyncOutcomeConnected(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := quietListener(t)
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp", addr, OutcomeConnected, nil)
	c := run.ownConnect.Conn
	if tc, ok := c.(*net.TCPConn); !ok || tc.RemoteAddr().String() != addr {
		t.Errorf("conn %T to %v, want a *net.TCPConn to %s", c, c.RemoteAddr(), addr)
	}
	if got := run.own.goids["connected"]; got != goidOf(t, r.Loop(0)) {
		t.Errorf("Connected emitted on goroutine %d, not on the dial's loop", got)
	}
	sc, _ := syncDial(t, d, context.Background(), "tcp", addr, OutcomeConnected)
	if fmt.Sprintf("%T", sc) != fmt.Sprintf("%T", c) {
		t.Errorf("sync conn %T, async conn %T", sc, c)
	}
}

func TestAsyncOutcomeRefused(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := faults.RefusedAddr(t).String()
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeRefused, nil)
	_, serr := syncDial(t, d, context.Background(), "tcp4", addr, OutcomeRefused)
	sameDialError(t, run.err, serr, syscall.ECONNREFUSED)
}

func TestAsyncOutcomeTimedOut(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := faults.FullBacklog(t, "tcp4").String()
	const timeout = 100 * time.Millisecond
	d := &Dialer{Reactor: r, Timeout: timeout}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeTimedOut, nil)
	if el := run.own.errs[0].Elapsed; el < timeout {
		t.Errorf("timed out after %v, before the Timeout of %v", el, timeout)
	}
	var ne net.Error
	if !errors.As(run.err, &ne) || !ne.Timeout() {
		t.Errorf("%v: not a net.Error with Timeout() true", run.err)
	}
	_, serr := syncDial(t, d, context.Background(), "tcp4", addr, OutcomeTimedOut)
	sameDialError(t, run.err, serr, context.DeadlineExceeded, os.ErrDeadlineExceeded)
}

// TestAsyncOutcomeUnreachableRoute: an "unreachable" route in a private
// namespace makes connect(2) fail synchronously with EHOSTUNREACH, which the
// dial must still report from its loop.
func TestAsyncOutcomeUnreachableRoute(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	faults.RequireIsolated(t)
	faults.RouteUnreachable(t, "198.51.100.0/24")
	r := outcomeReactor(t, 1)
	d := &Dialer{Reactor: r}
	const addr = "198.51.100.1:80"
	run := dialOutcome(t, d, "tcp4", addr, OutcomeUnreachable, nil)
	_, serr := syncDial(t, d, context.Background(), "tcp4", addr, OutcomeUnreachable)
	sameDialError(t, run.err, serr, syscall.EHOSTUNREACH)
}

// TestAsyncOutcomeUnreachableICMP: a veth peer answers the SYN with an ICMP
// destination unreachable: host-unreachable over IPv4 (EHOSTUNREACH),
// no-route over IPv6 (ENETUNREACH).
func TestAsyncOutcomeUnreachableICMP(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	faults.RequireIsolated(t)
	p := faults.NewPeer(t)
	r := outcomeReactor(t, 1)
	for _, tc := range []struct {
		network string
		addr    string
		errno   syscall.Errno
	}{
		{"tcp4", p.Reject(t, "tcp4", faults.HostUnreachable).String(), syscall.EHOSTUNREACH},
		{"tcp6", p.DelayedReject(t, "tcp6", faults.NetUnreachable, 0).String(), syscall.ENETUNREACH},
	} {
		t.Run(tc.network, func(t *testing.T) {
			d := &Dialer{Reactor: r, Timeout: 5 * time.Second}
			run := dialOutcome(t, d, tc.network, tc.addr, OutcomeUnreachable, nil)
			_, serr := syncDial(t, d, context.Background(), tc.network, tc.addr, OutcomeUnreachable)
			sameDialError(t, run.err, serr, tc.errno)
		})
	}
}

// pendingAttempt returns a channel that receives once the Dialer's
// AttemptStarted fires: the connect is then being started and, against a
// full backlog, stays pending.
func pendingAttempt(t testing.TB, d *Dialer) <-chan struct{} {
	t.Helper()
	ch := make(chan struct{}, 1)
	if _, err := d.Signals.AttemptStarted.Connect(func(*Attempt) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestAsyncOutcomeCanceledByContext(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := faults.FullBacklog(t, "tcp4").String()
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeCanceled, func(x *AsyncDial) {
		attempt := pendingAttempt(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := x.Start(ctx); err != nil {
			t.Fatal(err)
		}
		await(t, attempt, "AttemptStarted")
		cancel()
	})
	if a := run.own.errs[0].Attempts; a != 1 {
		t.Errorf("canceled after %d attempts, want the pending one", a)
	}

	// The same with DialContext: cancel once the connect is under way.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.Signals = new(Signals)
	d.Signals.AttemptStarted.Connect(func(*Attempt) { cancel() })
	_, serr := d.DialContext(ctx, "tcp4", addr)
	if Classify(serr) != OutcomeCanceled {
		t.Fatalf("sync dial: %v", serr)
	}
	sameDialError(t, run.err, serr, context.Canceled)
}

func TestAsyncOutcomeCanceledByCancel(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := faults.FullBacklog(t, "tcp4").String()
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeCanceled, func(x *AsyncDial) {
		attempt := pendingAttempt(t, d)
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		await(t, attempt, "AttemptStarted")
		x.Cancel()
		x.Cancel() // idempotent
	})
	if a := run.own.errs[0].Attempts; a != 1 {
		t.Errorf("canceled after %d attempts, want the pending one", a)
	}
	// Cancel has no blocking counterpart but the context: same error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.Signals = new(Signals)
	d.Signals.AttemptStarted.Connect(func(*Attempt) { cancel() })
	_, serr := d.DialContext(ctx, "tcp4", addr)
	sameDialError(t, run.err, serr, context.Canceled)

	// Cancel after the dial finished changes nothing.
	run.x.Cancel()
	if run.x.Outcome() != OutcomeCanceled || len(run.own.terminal()) != 2 {
		t.Errorf("late Cancel: outcome %v, events %q", run.x.Outcome(), run.own.terminal())
	}
}

// TestAsyncOutcomeCanceledByReactorClose: closing the reactor ends a pending
// dial as Canceled, with an error that wraps net.ErrClosed, and closes its
// socket; a dial started afterwards is refused by Start and emits nothing.
func TestAsyncOutcomeCanceledByReactorClose(t *testing.T) {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := faults.FullBacklog(t, "tcp4").String()
	before := faults.FDCount(t)
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeCanceled, func(x *AsyncDial) {
		attempt := pendingAttempt(t, d)
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		await(t, attempt, "AttemptStarted")
		drainExecutor(t, r.Loop(0)) // the connect is in the poller
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if !errors.Is(run.err, net.ErrClosed) {
		t.Errorf("%v does not wrap net.ErrClosed", run.err)
	}
	if after := faults.FDCount(t); after > before {
		t.Errorf("%d fds before, %d after: the pending socket was not closed", before, after)
	}
	x := d.NewAsyncDial("tcp4", addr)
	own := logSignals(t, &x.Signals, true)
	if err := x.Start(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Start on a closed reactor: %v, want net.ErrClosed", err)
	}
	if ev := own.terminal(); len(ev) != 0 || isDone(x) {
		t.Errorf("a dial that could not start emitted %q (done %v)", ev, isDone(x))
	}
	// DialContext on the closed reactor fails the same way.
	_, serr := d.DialContext(context.Background(), "tcp4", addr)
	if Classify(serr) != OutcomeCanceled || !errors.Is(serr, net.ErrClosed) {
		t.Errorf("DialContext on a closed reactor: %v", serr)
	}
}

// TestAsyncOutcomeFailedPortsExhausted: with a one-port ephemeral range that
// a held connection already uses, connect(2) fails with EADDRNOTAVAIL.
func TestAsyncOutcomeFailedPortsExhausted(t *testing.T) {
	if !faults.InFreshNetNS(t) {
		return
	}
	faults.RequireIsolated(t)
	r := outcomeReactor(t, 1)
	addr := faults.ExhaustedPorts(t, "tcp4").String()
	d := &Dialer{Reactor: r}
	run := dialOutcome(t, d, "tcp4", addr, OutcomeFailed, nil)
	_, serr := syncDial(t, d, context.Background(), "tcp4", addr, OutcomeFailed)
	sameDialError(t, run.err, serr, syscall.EADDRNOTAVAIL)
}

// hookResolver returns a pure-Go resolver that never reaches a DNS server:
// its Dial hook counts its calls and fails with err.
func hookResolver(err error) (*net.Resolver, *atomic.Int64) {
	calls := new(atomic.Int64)
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			calls.Add(1)
			return nil, err
		},
	}, calls
}

func TestAsyncOutcomeFailedResolver(t *testing.T) {
	r := outcomeReactor(t, 1)
	errNoDNS := errors.New("no DNS in this test")
	res, calls := hookResolver(errNoDNS)
	d := &Dialer{Reactor: r, Resolver: res}
	const addr = "unresolvable.test:80"
	run := dialOutcome(t, d, "tcp", addr, OutcomeFailed, nil)
	var dnsErr *net.DNSError
	if !errors.As(run.err, &dnsErr) {
		t.Fatalf("%v: not a *net.DNSError", run.err)
	}
	if calls.Load() == 0 {
		t.Fatal("the resolver's Dial hook was never called")
	}
	if a := run.own.attempts(); a != 0 {
		t.Errorf("%d connect attempts for a name that did not resolve", a)
	}
	_, serr := syncDial(t, d, context.Background(), "tcp", addr, OutcomeFailed)
	sameDialError(t, run.err, serr)
}

func TestAsyncOutcomeFailedControl(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := quietListener(t)
	errControl := errors.New("control hook says no")
	var controlled []string
	d := &Dialer{Reactor: r, Control: func(network, address string, c syscall.RawConn) error {
		controlled = append(controlled, network+" "+address)
		return errControl
	}}
	before := faults.FDCount(t)
	run := dialOutcome(t, d, "tcp", addr, OutcomeFailed, nil)
	if len(controlled) != 1 || controlled[0] != "tcp4 "+addr {
		t.Errorf("Control called with %q, want once with tcp4 %s", controlled, addr)
	}
	if after := faults.FDCount(t); after > before {
		t.Errorf("%d fds before the dial, %d after: the socket Control refused was not closed", before, after)
	}
	_, serr := syncDial(t, d, context.Background(), "tcp", addr, OutcomeFailed)
	sameDialError(t, run.err, serr, errControl)
}

// TestAsyncCancelDuringResolve: Cancel ends a dial whose name is still being
// resolved, as canceling DialContext's context does, rather than waiting
// for the resolver to give up by itself.
func TestAsyncCancelDuringResolve(t *testing.T) {
	r := outcomeReactor(t, 1)
	asked := make(chan struct{}, 16)
	res := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			// A DNS server that never answers: wait for the context.
			asked <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}
	d := &Dialer{Reactor: r, Resolver: res}
	const addr = "unanswered.test:80"
	run := dialOutcome(t, d, "tcp", addr, OutcomeCanceled, func(x *AsyncDial) {
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		await(t, asked, "a DNS query")
		start := time.Now()
		x.Cancel()
		select {
		case <-x.Done():
		case <-time.After(2 * time.Second):
			t.Errorf("the dial was still resolving %v after Cancel", time.Since(start))
		}
	})
	// DialContext whose context is canceled while the name server is
	// silent fails the same way.
	for len(asked) > 0 {
		<-asked // the async dial's other queries
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-asked:
			cancel()
		case <-ctx.Done():
		}
	}()
	d.Signals = nil
	_, serr := d.DialContext(ctx, "tcp", addr)
	sameDialError(t, run.err, serr, context.Canceled)
	t.Logf("canceled while resolving: %v", run.err)
}

// TestAsyncDeliveryDirect: a DirectConnection slot, and an AutoConnection
// slot whose executor is the dial's loop, run on the loop goroutine inside
// the emission, before the dial is done.
func TestAsyncDeliveryDirect(t *testing.T) {
	r := outcomeReactor(t, 1)
	loopG := goidOf(t, r.Loop(0))
	addr := quietListener(t)
	d := &Dialer{Reactor: r}
	x := d.NewAsyncDial("tcp", addr)
	type call struct {
		g    uint64
		done bool
	}
	var direct, auto []call
	var conn net.Conn
	x.Connected.Connect(func(c *Connected) {
		conn = c.Conn
		direct = append(direct, call{goid(), isDone(x)})
	}, signals.WithType(signals.DirectConnection))
	x.Finished.Connect(func(*Finished) {
		auto = append(auto, call{goid(), isDone(x)})
	}, signals.On(r.Loop(0)))
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	closeAtEnd(t, conn)
	for name, calls := range map[string][]call{"Direct": direct, "Auto on the loop": auto} {
		if len(calls) != 1 || calls[0].g != loopG || calls[0].done {
			t.Errorf("%s slot calls %+v, want one on the loop goroutine %d before Done", name, calls, loopG)
		}
	}
	if conn == nil {
		t.Fatal("no conn")
	}
	if g := goid(); g == loopG {
		t.Fatal("the test runs on the loop goroutine?")
	}
}

func isDone(x *AsyncDial) bool {
	select {
	case <-x.Done():
		return true
	default:
		return false
	}
}

// TestAsyncDeliveryQueuedToSignalsLoop: slots with a signals.Loop as their
// executor run there, in emission order (Connected before Finished), and
// the conn they receive is usable there.
func TestAsyncDeliveryQueuedToSignalsLoop(t *testing.T) {
	r := outcomeReactor(t, 1)
	sl := signals.NewLoop()
	defer sl.Close()
	slG, loopG := goidOf(t, sl), goidOf(t, r.Loop(0))
	addr := quietListener(t)
	d := &Dialer{Reactor: r, Signals: new(Signals)}
	x := d.NewAsyncDial("tcp", addr)
	type call struct {
		what string
		g    uint64
		err  error
	}
	calls := make(chan call, 4)
	x.Connected.Connect(func(c *Connected) {
		defer c.Conn.Close()
		// The conn is ours, on our goroutine.
		err := c.Conn.SetDeadline(time.Now().Add(asyncWait))
		calls <- call{"connected", goid(), err}
	}, signals.On(sl)) // Auto: queued, the emission runs on the reactor loop
	x.Finished.Connect(func(*Finished) { calls <- call{"finished", goid(), nil} },
		signals.On(sl), signals.WithType(signals.QueuedConnection))
	d.Signals.Finished.Connect(func(*Finished) { calls <- call{"dialer finished", goid(), nil} },
		signals.On(sl), signals.WithType(signals.QueuedConnection))
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connected", "finished", "dialer finished"} {
		c := await(t, calls, want)
		if c.what != want || c.g != slG || c.err != nil {
			t.Errorf("got %+v, want %q on the signals loop's goroutine %d (the dial's loop is %d)", c, want, slG, loopG)
		}
	}
}

// TestAsyncDeliveryQueuedToReactorLoop: a slot queued to a loop of another
// reactor runs on that loop's goroutine.
func TestAsyncDeliveryQueuedToReactorLoop(t *testing.T) {
	r := outcomeReactor(t, 1)
	other := outcomeReactor(t, 1)
	dialG, otherG := goidOf(t, r.Loop(0)), goidOf(t, other.Loop(0))
	addr := faults.RefusedAddr(t).String()
	d := &Dialer{Reactor: r}
	x := d.NewAsyncDial("tcp4", addr)
	got := make(chan uint64, 2)
	x.Refused.Connect(func(e *DialError) { got <- goid() },
		signals.On(other.Loop(0)), signals.WithType(signals.QueuedConnection))
	x.Finished.Connect(func(*Finished) { got <- goid() }, signals.On(other.Loop(0)))
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, what := range []string{"Refused", "Finished"} {
		if g := await(t, got, what); g != otherG {
			t.Errorf("%s slot ran on goroutine %d, want the other reactor's loop %d (the dial's loop is %d)", what, g, otherG, dialG)
		}
	}
}

// TestAsyncDeliveryBlockingQueued: the dial's loop waits for a
// BlockingQueuedConnection slot on a signals.Loop to return before it goes
// on: the slot sees the dial not yet done, and its effects are visible as
// soon as Done is closed. Connected to the dial's own loop instead, the
// connection would deadlock: the emission refuses it, and the conn nobody
// received is closed.
func TestAsyncDeliveryBlockingQueued(t *testing.T) {
	r := outcomeReactor(t, 1)
	sl := signals.NewLoop()
	defer sl.Close()
	slG := goidOf(t, sl)
	addr := quietListener(t)
	d := &Dialer{Reactor: r}

	x := d.NewAsyncDial("tcp", addr)
	var g uint64
	var doneInSlot, ran bool
	x.Connected.Connect(func(c *Connected) {
		g, doneInSlot, ran = goid(), isDone(x), true
		c.Conn.Close()
	}, signals.On(sl), signals.WithType(signals.BlockingQueuedConnection))
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	// No synchronisation with sl here on purpose: the emitter waited.
	if !ran || g != slG || doneInSlot {
		t.Errorf("blocking slot: ran %v on goroutine %d (want %d), dial done inside it: %v", ran, g, slG, doneInSlot)
	}

	before := faults.FDCount(t)
	x = d.NewAsyncDial("tcp", addr)
	x.Connected.Connect(func(c *Connected) { t.Error("blocking slot on the emitting loop was called") },
		signals.On(r.Loop(0)), signals.WithType(signals.BlockingQueuedConnection))
	fins := 0
	x.Finished.Connect(func(*Finished) { fins++ })
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitDial(t, x)
	if x.Outcome() != OutcomeConnected || fins != 1 {
		t.Errorf("outcome %v, %d Finished", x.Outcome(), fins)
	}
	if after := faults.FDCount(t); after > before {
		t.Errorf("%d fds before, %d after: the conn the deadlocked slot could not take leaked", before, after)
	}
}

// TestAsyncDeliveryUnique: a Unique key lets a subscriber connect once:
// the second connection is refused, and the slot runs once per dial.
func TestAsyncDeliveryUnique(t *testing.T) {
	r := outcomeReactor(t, 1)
	ok := quietListener(t)
	refused := faults.RefusedAddr(t).String()
	d := &Dialer{Reactor: r, Signals: new(Signals)}
	type key struct{ name string }
	var n int
	health := func(*Finished) { n++ }
	c1, err := d.Signals.Finished.Connect(health, signals.Unique(key{"health"}))
	if err != nil || !c1.Valid() {
		t.Fatalf("first Unique connection: %v", err)
	}
	c2, err := d.Signals.Finished.Connect(health, signals.Unique(key{"health"}), signals.WithType(signals.DirectConnection))
	if !errors.Is(err, signals.ErrDuplicate) || c2.Valid() {
		t.Fatalf("second Unique connection: %v, valid %v; want ErrDuplicate", err, c2.Valid())
	}
	for i, addr := range []string{ok, refused, ok} {
		x := d.NewAsyncDial("tcp4", addr)
		var owner []net.Conn
		x.Connected.Connect(func(c *Connected) { owner = append(owner, c.Conn) }, signals.Unique("owner"))
		if _, err := x.Connected.Connect(func(c *Connected) { owner = append(owner, c.Conn) }, signals.Unique("owner")); !errors.Is(err, signals.ErrDuplicate) {
			t.Fatalf("dial %d: second owner: %v", i, err)
		}
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		awaitDial(t, x)
		for _, c := range owner {
			c.Close()
		}
		if wantOwners := map[bool]int{true: 1, false: 0}[addr == ok]; len(owner) != wantOwners {
			t.Errorf("dial %d: the conn went to %d slots, want %d", i, len(owner), wantOwners)
		}
		if n != i+1 {
			t.Errorf("after %d dials the Unique slot ran %d times", i+1, n)
		}
	}
	// Disconnecting frees the key.
	c1.Disconnect()
	if _, err := d.Signals.Finished.Connect(health, signals.Unique(key{"health"})); err != nil {
		t.Errorf("Unique key not freed by Disconnect: %v", err)
	}
}

// TestAsyncDeliverySingleShot: a single-shot slot on the Dialer's signals
// fires for exactly one of many concurrent dials on two loops; one on a
// dial's own Connected takes the conn once.
func TestAsyncDeliverySingleShot(t *testing.T) {
	r := outcomeReactor(t, 2)
	refused := faults.RefusedAddr(t).String()
	d := &Dialer{Reactor: r, Signals: new(Signals)}
	var mu sync.Mutex
	var first []*DialError
	d.Signals.Refused.Connect(func(e *DialError) {
		mu.Lock()
		first = append(first, e)
		mu.Unlock()
	}, signals.WithType(signals.SingleShotConnection))
	const n = 64
	xs := make([]*AsyncDial, n)
	for i := range xs {
		xs[i] = d.NewAsyncDial("tcp4", refused)
		if err := xs[i].Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range xs {
		awaitDial(t, x)
		if x.Outcome() != OutcomeRefused {
			t.Fatalf("outcome %v", x.Outcome())
		}
	}
	mu.Lock()
	if len(first) != 1 {
		t.Errorf("single-shot slot ran %d times over %d dials", len(first), n)
	}
	mu.Unlock()

	sl := signals.NewLoop()
	defer sl.Close()
	addr := quietListener(t)
	x := d.NewAsyncDial("tcp4", addr)
	got := make(chan net.Conn, 2)
	x.Connected.Connect(func(c *Connected) { got <- c.Conn },
		signals.On(sl), signals.WithType(signals.QueuedConnection|signals.SingleShotConnection))
	if err := x.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := await(t, got, "the single-shot Connected slot")
	c.Close()
	drainExecutor(t, sl)
	if len(got) != 0 {
		t.Error("single-shot slot ran twice")
	}
}

// TestAsyncUndeliveredConnClosedExecutor: a conn queued to an executor that
// is closed before the delivery runs is closed by sigdial — for a
// signals.Loop and for a reactor loop.
func TestAsyncUndeliveredConnClosedExecutor(t *testing.T) {
	r := outcomeReactor(t, 1)
	addr := quietListener(t)
	d := &Dialer{Reactor: r}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) (signals.Executor, func())
	}{
		{"signals.Loop", func(t *testing.T) (signals.Executor, func()) {
			l := signals.NewLoop()
			return l, func() { l.Close() }
		}},
		{"reactor loop", func(t *testing.T) (signals.Executor, func()) {
			o, err := reactor.New(reactor.WithLoops(1))
			if err != nil {
				t.Fatal(err)
			}
			return o.Loop(0), func() { o.Close() }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := faults.FDCount(t)
			ex, closeEx := tc.make(t)
			type closedReporter interface{ Closed() bool }
			// Hold the executor so the delivery stays queued behind us.
			hold, held := make(chan struct{}), make(chan struct{})
			if err := ex.Post(func() { close(held); <-hold }); err != nil {
				t.Fatal(err)
			}
			await(t, held, "the executor to be held")
			x := d.NewAsyncDial("tcp4", addr)
			x.Connected.Connect(func(c *Connected) {
				t.Error("slot ran on a closed executor")
				c.Conn.Close()
			}, signals.On(ex))
			if err := x.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			awaitDial(t, x)
			if x.Outcome() != OutcomeConnected {
				t.Fatalf("outcome %v (%v)", x.Outcome(), x.Err())
			}
			if faults.FDCount(t) <= before {
				t.Fatal("no conn is open while its delivery is queued")
			}
			// Close the executor while the delivery is queued: mark it
			// closed, then let the held function return.
			closed := make(chan struct{})
			go func() { closeEx(); close(closed) }()
			deadline := time.Now().Add(asyncWait)
			for !ex.(closedReporter).Closed() {
				if time.Now().After(deadline) {
					t.Fatal("the executor was not marked closed")
				}
				runtime.Gosched()
			}
			close(hold)
			await(t, closed, "Close to return")
			if after := faults.FDCount(t); after > before {
				t.Errorf("%d fds before, %d after: the undelivered conn leaked", before, after)
			}
		})
	}
}

// quietListener returns the address of a loopback listener that never
// accepts: connects to it complete in the kernel and wait in its accept
// queue (4096 deep), which holds no fd of this process, so fd counts see
// the client's sockets alone.
func quietListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
