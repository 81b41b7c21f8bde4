package signals_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sigdial/sigdial/signals"
)

// A DirectConnection calls its slot inside Emit, on the emitting
// goroutine, in connection order.
func Example_directConnection() {
	var temperature signals.Signal[float64]
	temperature.Connect(func(c float64) { fmt.Printf("display: %.1f°C\n", c) }, signals.WithType(signals.DirectConnection))
	temperature.Connect(func(c float64) { fmt.Printf("log: %.1f\n", c) })
	temperature.Emit(21.5)
	fmt.Println("Emit returned")
	// Output:
	// display: 21.5°C
	// log: 21.5
	// Emit returned
}

// A QueuedConnection posts a call with a copy of the value to the
// receiver's executor; the emitter does not wait.
func Example_queuedConnection() {
	loop := signals.NewLoop()
	defer loop.Close()
	var jobs signals.Signal[string]
	jobs.Connect(func(job string) { fmt.Println("loop runs", job) },
		signals.WithType(signals.QueuedConnection), signals.On(loop))
	jobs.Emit("job 1")
	jobs.Emit("job 2")
	// Wait for the loop to reach this point: the queue is FIFO.
	done := make(chan struct{})
	loop.Post(func() { close(done) })
	<-done
	// Output:
	// loop runs job 1
	// loop runs job 2
}

// An AutoConnection (the default) is direct when the emission runs on the
// connection's executor, which the emitter declares with EmitOn (or a
// context from WithExecutor), and queued otherwise.
func Example_autoConnection() {
	loop := signals.NewLoop()
	defer loop.Close()
	var sig signals.Signal[string]
	sig.Connect(func(from string) { fmt.Println("slot called, emitted", from) }, signals.On(loop))

	done := make(chan struct{})
	loop.Post(func() {
		sig.EmitOn(loop, "on the loop") // direct: the slot runs before EmitOn returns
		fmt.Println("EmitOn returned")
		sig.Emit("by undeclared code") // foreign: queued behind this function
		fmt.Println("Emit returned")
		close(done)
	})
	<-done
	flushed := make(chan struct{})
	loop.Post(func() { close(flushed) })
	<-flushed
	// Output:
	// slot called, emitted on the loop
	// EmitOn returned
	// Emit returned
	// slot called, emitted by undeclared code
}

// A BlockingQueuedConnection waits for the slot to return on its executor,
// and returns an error where Qt would deadlock.
func Example_blockingQueuedConnection() {
	loop := signals.NewLoop()
	defer loop.Close()
	var query signals.Signal[*int]
	query.Connect(func(p *int) { *p = 42 },
		signals.WithType(signals.BlockingQueuedConnection), signals.On(loop))

	var answer int
	err := query.Emit(&answer) // the loop has written answer when Emit returns
	fmt.Println(answer, err)

	// Emitting on the receiver's own loop would wait for itself.
	errc := make(chan error)
	loop.Post(func() { errc <- query.EmitOn(loop, &answer) })
	fmt.Println(errors.Is(<-errc, signals.ErrDeadlock))

	// A context bounds the wait.
	busy := make(chan struct{})
	loop.Post(func() { <-busy })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err = query.EmitContext(ctx, &answer)
	close(busy)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// 42 <nil>
	// true
	// true
}

// UniqueConnection refuses a second connection with the same key; the
// delivery type is not part of the identity, and disconnecting frees the
// key.
func Example_uniqueConnection() {
	var sig signals.Signal[int]
	c, err := sig.Connect(func(int) {}, signals.Unique("metrics"))
	fmt.Println(c.Valid(), err)
	dup, err := sig.Connect(func(int) {}, signals.Unique("metrics"), signals.WithType(signals.DirectConnection))
	fmt.Println(dup.Valid(), errors.Is(err, signals.ErrDuplicate))
	c.Disconnect()
	_, err = sig.Connect(func(int) {}, signals.Unique("metrics"))
	fmt.Println(err)
	// Output:
	// true <nil>
	// false true
	// <nil>
}

// A SingleShotConnection is broken by the first emission that reaches it.
func Example_singleShotConnection() {
	var ready signals.Signal[string]
	c, _ := ready.Connect(func(s string) { fmt.Println("first:", s) },
		signals.WithType(signals.SingleShotConnection))
	ready.Emit("a")
	ready.Emit("b")
	fmt.Println(c.Connected())
	// Output:
	// first: a
	// false
}

// The drop hook receives the values that no slot received, so that a value
// owning a resource can be released.
func ExampleSignal_SetDropHook() {
	var conns signals.Signal[string]
	conns.SetDropHook(func(c string) { fmt.Println("nobody took", c, "- closing it") })
	conns.Emit("conn 1")
	c, _ := conns.Connect(func(c string) { fmt.Println("took", c) })
	conns.Emit("conn 2")
	c.Disconnect()
	defer conns.SetBlocked(conns.SetBlocked(true))
	conns.Emit("conn 3")
	// Output:
	// nobody took conn 1 - closing it
	// took conn 2
	// nobody took conn 3 - closing it
}

func ExampleSignal_Next() {
	var done signals.Signal[string]
	// Until Next has connected, an emission reaches no slot and goes to
	// the drop hook: the emitter then tries again.
	dropped := make(chan struct{}, 1)
	done.SetDropHook(func(string) { dropped <- struct{}{} })
	go func() {
		for {
			done.Emit("finished")
			select {
			case <-dropped:
				time.Sleep(time.Millisecond)
			default:
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := done.Next(ctx)
	fmt.Println(v, err)
	// Output:
	// finished <nil>
}

// A Loop runs posted functions one at a time, in order, on its goroutine.
// Close calls the functions still queued in closed mode and returns when
// the goroutine is gone.
func ExampleLoop() {
	loop := signals.NewLoop(signals.WithPanicHandler(func(r any, _ []byte) {
		fmt.Println("recovered:", r)
	}))
	loop.Post(func() { fmt.Println("first") })
	loop.Post(func() { panic("oops") }) // reported; the loop goes on
	loop.Post(func() { fmt.Println("second") })
	done := make(chan struct{})
	loop.Post(func() { close(done) })
	<-done
	loop.Close()
	fmt.Println(loop.Post(func() {}))
	// Output:
	// first
	// recovered: oops
	// second
	// signals: executor closed
}

// Notify sends values to a channel without ever blocking the emitter; a
// value that finds the channel full goes to the drop hook.
func ExampleSignal_Notify() {
	var events signals.Signal[int]
	events.SetDropHook(func(v int) { fmt.Println("dropped", v) })
	ch := make(chan int, 2)
	events.Notify(ch)
	for v := range 3 {
		events.Emit(v)
	}
	fmt.Println(<-ch, <-ch)
	// Output:
	// dropped 2
	// 0 1
}
