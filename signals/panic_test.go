package signals

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// panicLog is a panic handler that records the panics it gets.
type panicLog struct {
	mu     sync.Mutex
	values []any
	stacks [][]byte
}

func (p *panicLog) handle(r any, stack []byte) {
	p.mu.Lock()
	p.values = append(p.values, r)
	p.stacks = append(p.stacks, stack)
	p.mu.Unlock()
}

func (p *panicLog) get() ([]any, [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.values, p.stacks
}

func TestQueuedPanicLoopGoesOn(t *testing.T) {
	var lp panicLog
	l := newLoop(t, WithPanicHandler(lp.handle))
	var s Signal[int]
	var got []int
	s.Connect(func(v int) {
		if v == 1 {
			panic("slot 1")
		}
		got = append(got, v)
	}, On(l))
	s.Emit(1)
	s.Emit(2)
	drain(t, l)
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("after a panicking call the loop delivered %v, want [2]", got)
	}
	values, stacks := lp.get()
	if len(values) != 1 || values[0] != "slot 1" || !bytes.Contains(stacks[0], []byte("panic_test.go")) {
		t.Fatalf("loop handler got %v", values)
	}
}

func TestQueuedPanicSignalHandlerFirst(t *testing.T) {
	var lp, sp panicLog
	l := newLoop(t, WithPanicHandler(lp.handle))
	var s Signal[int]
	s.SetPanicHandler(sp.handle)
	s.Connect(func(int) { panic("q") }, On(l))
	s.Emit(1)
	drain(t, l)
	if v, _ := sp.get(); len(v) != 1 {
		t.Fatalf("signal handler got %v, want the panic", v)
	}
	if v, _ := lp.get(); len(v) != 0 {
		t.Fatalf("loop handler got %v, want nothing", v)
	}
}

func TestQueuedPanicOnPlainExecutor(t *testing.T) {
	// An executor without PanicReporter and no handlers: the default handler.
	var buf lockedBuffer
	restore := setPanicOutput(&buf)
	defer restore()
	m := newManual()
	var s Signal[int]
	s.Connect(func(int) { panic("plain") }, On(m))
	s.Emit(1)
	m.run() // must not panic
	if !strings.Contains(buf.String(), "plain") {
		t.Fatalf("default handler output %q", buf.String())
	}
}

func TestDefaultPanicHandlerWritesStack(t *testing.T) {
	var buf lockedBuffer
	restore := setPanicOutput(&buf)
	defer restore()
	l := newLoop(t)
	var s Signal[int]
	s.Connect(func(int) { panic("kaboom") }, On(l))
	s.Emit(1)
	drain(t, l)
	out := buf.String()
	if !strings.Contains(out, "kaboom") || !strings.Contains(out, "goroutine ") || !strings.Contains(out, "panic_test.go") {
		t.Fatalf("default handler wrote %q, want the value and the stack", out)
	}
}

func TestDirectPanicPropagates(t *testing.T) {
	var s Signal[int]
	later := false
	s.Connect(func(int) { panic("direct") })
	s.Connect(func(int) { later = true })
	r := func() (r any) {
		defer func() { r = recover() }()
		s.Emit(1)
		return nil
	}()
	if r != "direct" {
		t.Fatalf("Emit recovered %v, want the panic to propagate", r)
	}
	if later {
		t.Fatal("slot after the panicking one was called")
	}
}

func TestDirectPanicWithHandler(t *testing.T) {
	var s Signal[int]
	var sp panicLog
	s.SetPanicHandler(sp.handle)
	var calls []int
	s.Connect(func(int) { calls = append(calls, 1); panic("one") })
	s.Connect(func(int) { calls = append(calls, 2) })
	s.Connect(func(int) { calls = append(calls, 3); panic("three") })
	s.Connect(func(int) { calls = append(calls, 4) })
	if err := s.Emit(1); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 4 {
		t.Fatalf("calls %v, want all four slots", calls)
	}
	if v, _ := sp.get(); len(v) != 2 || v[0] != "one" || v[1] != "three" {
		t.Fatalf("handler got %v", v)
	}
}

func TestPanicNonSlotPropagates(t *testing.T) {
	// A panic from an Executor's Post is not a slot's: it propagates even
	// with a panic handler.
	var s Signal[int]
	s.SetPanicHandler(func(any, []byte) { t.Error("reported as a slot panic") })
	s.Connect(func(int) {}, On(panicExec{}))
	r := func() (r any) {
		defer func() { r = recover() }()
		s.Emit(1)
		return nil
	}()
	if r != "post" {
		t.Fatalf("recovered %v, want post", r)
	}
}

type panicExec struct{}

func (panicExec) Post(func()) error { panic("post") }

func TestLoopFunctionPanic(t *testing.T) {
	var lp panicLog
	l := newLoop(t, WithPanicHandler(lp.handle))
	l.Post(func() { panic(errors.New("f")) })
	ran := make(chan struct{})
	l.Post(func() { close(ran) })
	recv(t, ran)
	if v, _ := lp.get(); len(v) != 1 {
		t.Fatalf("loop handler got %v", v)
	}
}

func TestLoopSurvivesGoexit(t *testing.T) {
	l := newLoop(t)
	before := loopGoid(t, l)
	third := make(chan struct{})
	l.Post(func() { runtime.Goexit() })
	l.Post(func() { close(third) })
	recv(t, third)
	if after := loopGoid(t, l); after == before {
		t.Fatal("the loop goroutine did not change after Goexit")
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func setPanicOutput(w *lockedBuffer) (restore func()) {
	panicOutput.Lock()
	old := panicOutput.w
	panicOutput.w = w
	panicOutput.Unlock()
	return func() {
		panicOutput.Lock()
		panicOutput.w = old
		panicOutput.Unlock()
	}
}
