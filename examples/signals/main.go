// Command signals demonstrates the connection types of package signals:
// Direct, Queued, Auto, BlockingQueued, Unique and SingleShot, the drop
// hook, and awaiting an emission. Its output is deterministic.
//
//	go run ./examples/signals
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/sigdial/sigdial/signals"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "signals demo:", err)
		os.Exit(1)
	}
}

// resource stands for a value that must be released if nobody takes it,
// such as a net.Conn.
type resource struct{ name string }

func (r *resource) Close() string { return r.name + " closed" }

// run runs the demo, writing to w.
func run(w io.Writer) error {
	// A receiver loop (think: a UI or a connection pool) and a worker loop
	// (think: a reactor loop that emits).
	ui := signals.NewLoop()
	defer ui.Close()
	worker := signals.NewLoop()
	defer worker.Close()

	// busy keeps ex busy until release is called.
	busy := func(ex signals.Executor) (release func()) {
		hold := make(chan struct{})
		ex.Post(func() { <-hold })
		return func() { close(hold) }
	}
	// flush waits until ex has run everything posted to it so far.
	flush := func(ex signals.Executor) {
		done := make(chan struct{})
		if err := ex.Post(func() { close(done) }); err == nil {
			<-done
		}
	}

	fmt.Fprintln(w, "== DirectConnection: inside Emit, in connection order")
	var progress signals.Signal[int]
	progress.Connect(func(p int) { fmt.Fprintf(w, "  bar: %d%%\n", p) }, signals.WithType(signals.DirectConnection))
	progress.Connect(func(p int) { fmt.Fprintf(w, "  log: progress %d\n", p) })
	progress.Emit(50)
	fmt.Fprintln(w, "  Emit returned")

	fmt.Fprintln(w, "== QueuedConnection: posted to the receiver's loop, FIFO")
	var status signals.Signal[string]
	status.Connect(func(s string) { fmt.Fprintln(w, "  ui loop shows:", s) },
		signals.WithType(signals.QueuedConnection), signals.On(ui))
	release := busy(ui) // keep the ui loop busy for a moment
	status.Emit("connecting")
	status.Emit("connected")
	fmt.Fprintln(w, "  both emitted; the ui loop has not run them yet")
	release()
	flush(ui)

	fmt.Fprintln(w, "== AutoConnection: direct on the receiver's loop, queued from elsewhere")
	var tick signals.Signal[string]
	tick.Connect(func(from string) { fmt.Fprintln(w, "  worker slot, emitted", from) }, signals.On(worker))
	worker.Post(func() {
		tick.EmitOn(worker, "on the worker loop (direct)")
		fmt.Fprintln(w, "  EmitOn returned")
	})
	flush(worker)
	tick.Emit("from main (queued)")
	flush(worker)

	fmt.Fprintln(w, "== BlockingQueuedConnection: waits for the slot; errors instead of deadlocks")
	var ask signals.Signal[*string]
	ask.Connect(func(reply *string) { *reply = "answer from the ui loop" },
		signals.WithType(signals.BlockingQueuedConnection), signals.On(ui))
	var reply string
	if err := ask.Emit(&reply); err != nil {
		return err
	}
	fmt.Fprintln(w, "  got:", reply)
	errc := make(chan error, 1)
	ui.Post(func() { errc <- ask.EmitOn(ui, &reply) })
	fmt.Fprintln(w, "  emitted on the ui loop itself:", <-errc)
	// Two loops waiting on each other: the second wait is refused.
	var back signals.Signal[int]
	back.Connect(func(int) {}, signals.WithType(signals.BlockingQueuedConnection), signals.On(worker))
	var there signals.Signal[int]
	there.Connect(func(v int) { errc <- back.EmitOn(ui, v) }, signals.WithType(signals.BlockingQueuedConnection), signals.On(ui))
	worker.Post(func() { there.EmitOn(worker, 1) })
	fmt.Fprintln(w, "  ui -> worker while worker waits on ui:", <-errc)
	flush(worker)
	closed := signals.NewLoop()
	closed.Close()
	var late signals.Signal[int]
	late.Connect(func(int) {}, signals.WithType(signals.BlockingQueuedConnection), signals.On(closed))
	fmt.Fprintln(w, "  to a closed loop:", late.Emit(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	release = busy(ui)
	err := ask.EmitContext(ctx, &reply)
	release()
	fmt.Fprintln(w, "  with a context, ui loop busy:", errors.Is(err, context.DeadlineExceeded))

	fmt.Fprintln(w, "== UniqueConnection: one connection per key")
	var events signals.Signal[string]
	c, err := events.Connect(func(string) {}, signals.Unique("audit"))
	fmt.Fprintln(w, "  first:", c.Valid(), err)
	_, err = events.Connect(func(string) {}, signals.Unique("audit"), signals.On(ui))
	fmt.Fprintln(w, "  second:", err)
	c.Disconnect()
	_, err = events.Connect(func(string) {}, signals.Unique("audit"))
	fmt.Fprintln(w, "  after disconnect:", err)

	fmt.Fprintln(w, "== SingleShotConnection: one winner among 100 concurrent emitters")
	var result signals.Signal[int]
	var mu sync.Mutex
	calls := 0
	result.Connect(func(int) { mu.Lock(); calls++; mu.Unlock() }, signals.WithType(signals.SingleShotConnection))
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { result.Emit(i) })
	}
	wg.Wait()
	fmt.Fprintln(w, "  slot calls:", calls)

	fmt.Fprintln(w, "== Drop hook: a value nobody received is released")
	var accepted signals.Signal[*resource]
	accepted.SetDropHook(func(r *resource) { fmt.Fprintln(w, "  drop hook:", r.Close()) })
	accepted.Emit(&resource{"conn A"}) // no slot yet
	pool, _ := accepted.Connect(func(r *resource) { fmt.Fprintln(w, "  pool took", r.name) }, signals.On(ui))
	release = busy(ui)
	accepted.Emit(&resource{"conn B"})
	pool.Disconnect() // conn B's queued call is dropped when the loop reaches it
	release()
	flush(ui)
	pool, _ = accepted.Connect(func(r *resource) { fmt.Fprintln(w, "  pool took", r.name) }, signals.On(ui))
	accepted.Emit(&resource{"conn C"})
	flush(ui)
	pool.Disconnect()

	fmt.Fprintln(w, "== Next: await one emission")
	var finished signals.Signal[string]
	got := make(chan string, 1)
	go func() {
		v, err := finished.Next(context.Background())
		if err != nil {
			v = err.Error()
		}
		got <- v
	}()
	for retry := true; retry; {
		retry = false
		finished.SetDropHook(func(string) { retry = true }) // Next not connected yet
		finished.Emit("done")
		if retry {
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Fprintln(w, "  Next returned:", <-got)
	return nil
}
