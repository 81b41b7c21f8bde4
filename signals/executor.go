package signals

// Executor runs functions posted to it, one at a time and in the order they
// were posted, on a goroutine it owns. It takes the place of the receiver's
// thread in Qt: a connection made with an executor never runs its slot
// anywhere else (see ConnectionType).
//
// The contract every Executor must keep:
//
//   - Post is safe to call from any goroutine, including the executor's own.
//   - Post returns a non-nil error once the executor is closed (implementations
//     should wrap net.ErrClosed or an equivalent sentinel) and then never calls f.
//   - If Post returns nil, f is called exactly once. An executor closed with
//     functions still queued calls them after it has been marked closed (from
//     the goroutine that closes it), so that the code that posted them can
//     release what they hold. Such an executor reports the closed state through
//     an optional Closed() bool method; signals uses it to drop a queued
//     delivery instead of running a slot off its executor.
//
// Loop in this package and every reactor loop implement Executor.
type Executor interface {
	Post(f func()) error
}

// closedReporter is implemented by executors that can say they have been
// closed. A queued delivery that finds its executor closed is dropped.
type closedReporter interface {
	Closed() bool
}
