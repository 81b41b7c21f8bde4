package main

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const want = `== DirectConnection: inside Emit, in connection order
  bar: 50%
  log: progress 50
  Emit returned
== QueuedConnection: posted to the receiver's loop, FIFO
  both emitted; the ui loop has not run them yet
  ui loop shows: connecting
  ui loop shows: connected
== AutoConnection: direct on the receiver's loop, queued from elsewhere
  worker slot, emitted on the worker loop (direct)
  EmitOn returned
  worker slot, emitted from main (queued)
== BlockingQueuedConnection: waits for the slot; errors instead of deadlocks
  got: answer from the ui loop
  emitted on the ui loop itself: signals: blocking emission would deadlock
  ui -> worker while worker waits on ui: signals: blocking emission would deadlock
  to a closed loop: signals: executor refused the call: signals: executor closed
  with a context, ui loop busy: true
== UniqueConnection: one connection per key
  first: true <nil>
  second: signals: duplicate unique connection: key audit
  after disconnect: <nil>
== SingleShotConnection: one winner among 100 concurrent emitters
  slot calls: 1
== Drop hook: a value nobody received is released
  drop hook: conn A closed
  drop hook: conn B closed
  pool took conn C
== Next: await one emission
  Next returned: done
`

func TestRun(t *testing.T) {
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- run(&out) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s")
	}
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
