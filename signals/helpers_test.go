package signals

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// timeout bounds every wait in these tests: a hang fails the test instead
// of stalling CI.
const timeout = 5 * time.Second

// within runs f on a new goroutine and fails the test if f has not
// returned within timeout. f must report failures with t.Error, not
// t.Fatal.
func within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("%s did not return within %v", what, timeout)
	}
}

// recv receives from ch or fails the test after timeout.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("nothing received within %v", timeout)
		panic("unreachable")
	}
}

// waitUntil polls cond, yielding between polls, and fails the test if it
// is not true within timeout. It waits for a state, never for a duration.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %v", what, timeout)
		}
		runtime.Gosched()
	}
}

// newLoop returns a Loop closed at the end of the test.
func newLoop(t testing.TB, opts ...LoopOption) *Loop {
	t.Helper()
	l := NewLoop(opts...)
	t.Cleanup(func() {
		// Bounded: a loop stuck in a slot (a failed deadlock test) must
		// not hang the test binary.
		done := make(chan struct{})
		go func() { l.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(timeout):
			t.Errorf("Loop.Close did not return within %v", timeout)
		}
	})
	return l
}

// drain waits until ex has run everything posted to it before the call.
func drain(t testing.TB, ex Executor) {
	t.Helper()
	done := make(chan struct{})
	if err := ex.Post(func() { close(done) }); err != nil {
		t.Fatalf("Post: %v", err)
	}
	recv(t, done)
}

// hold makes ex busy until the returned function is called; it returns
// once ex is running the holding function.
func hold(t testing.TB, ex Executor) (release func()) {
	t.Helper()
	running := make(chan struct{})
	released := make(chan struct{})
	if err := ex.Post(func() {
		close(running)
		<-released
	}); err != nil {
		t.Fatalf("Post: %v", err)
	}
	recv(t, running)
	var once sync.Once
	release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(release)
	return release
}

// goid returns the current goroutine's id, parsed from its stack header.
// Tests only: it tells on which goroutine a slot ran.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	b = b[:bytes.IndexByte(b, ' ')]
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// loopGoid returns the id of the goroutine running ex's functions.
func loopGoid(t testing.TB, ex Executor) uint64 {
	t.Helper()
	ch := make(chan uint64, 1)
	if err := ex.Post(func() { ch <- goid() }); err != nil {
		t.Fatalf("Post: %v", err)
	}
	return recv(t, ch)
}

// spyExec is a Loop that reports each Post on posted.
type spyExec struct {
	*Loop
	posted chan struct{}
}

func newSpy(t testing.TB) *spyExec {
	return &spyExec{Loop: newLoop(t), posted: make(chan struct{}, 100)}
}

func (s *spyExec) Post(f func()) error {
	err := s.Loop.Post(f)
	select {
	case s.posted <- struct{}{}:
	default:
	}
	return err
}

// manualExec is an Executor the test drives by hand: Post queues, run
// calls what is queued, closeAndRun marks it closed and then calls what is
// queued, as the Executor contract says.
type manualExec struct {
	mu     sync.Mutex
	queue  []func()
	closed bool
	posted chan struct{}
}

func newManual() *manualExec { return &manualExec{posted: make(chan struct{}, 100)} }

func (m *manualExec) Post(f func()) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.queue = append(m.queue, f)
	m.mu.Unlock()
	select {
	case m.posted <- struct{}{}:
	default:
	}
	return nil
}

func (m *manualExec) Closed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *manualExec) take() []func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}

func (m *manualExec) run() {
	for _, f := range m.take() {
		f()
	}
}

func (m *manualExec) closeAndRun() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.run()
}
