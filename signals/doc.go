// Package signals provides typed signals and slots with the delivery modes
// of Qt's Qt::ConnectionType, for Go programs that run event loops.
//
// A [Signal] of T carries values of type T to the slots (func(T)) connected
// to it. Go has no thread affinity, so an [Executor] — a [Loop] from this
// package, or a reactor loop — takes the place of Qt's receiver thread: a
// connection may name the executor its slot belongs to ([On]), and that
// executor is fixed for the life of the connection.
//
//	var done signals.Signal[string]
//	loop := signals.NewLoop()
//	defer loop.Close()
//	conn, err := done.Connect(func(s string) { fmt.Println(s) }, signals.On(loop))
//	...
//	done.Emit("finished")  // queued to loop: the slot runs on the loop's goroutine
//	conn.Disconnect()
//
// # Semantics
//
//	behaviour                     sigdial
//	----------------------------  ------------------------------------------------------------
//	DirectConnection              slot runs inside Emit, on the emitting goroutine, in
//	                              connection order
//	QueuedConnection              a call capturing the value (a shallow Go copy) is posted to
//	                              the receiver's executor; FIFO per executor; no registration
//	AutoConnection (zero value)   decided per emission and connection: Direct if the
//	                              connection has no executor or the emission runs on it
//	                              (declared with EmitOn or WithExecutor), else Queued
//	BlockingQueuedConnection      posts the call and waits for the slot to return; returns an
//	                              error instead of hanging (see below)
//	UniqueConnection              refused (ErrDuplicate, invalid handle) while a connection
//	                              with the same explicit key exists; the type is not part of
//	                              the identity; disconnecting frees the key
//	SingleShotConnection          claimed atomically before the slot is called or posted:
//	                              exactly one emission wins, across goroutines and re-entrancy
//	connect during emission       not called by that emission
//	disconnect during emission    a slot not yet called is skipped
//	queued call pending at        dropped when the executor reaches it
//	disconnect
//	executor closed with calls    the calls are dropped; blocked emitters get ErrClosed
//	pending
//	value nobody received         goes to the drop hook (SetDropHook), at most once per
//	                              emission: no slot, blocked, all deliveries dropped
//	ordering                      connection order; removal never reorders; across executors
//	                              unspecified
//	slot panics                   queued: recovered and reported, the loop goes on;
//	                              blocking: returned to the emitter as *PanicError;
//	                              direct: propagate to the emitter, unless the signal has a
//	                              panic handler (then recovered, reported, next slot)
//	blocking (SetBlocked)         emissions while blocked are lost, not buffered
//	thread safety                 every method is safe for concurrent use; Emit holds no lock
//	                              while slots run, and does not allocate for direct slots
//	awaiting                      Next(ctx), Notify(ch), Chan(ctx, buf)
//	waiting for running slots     Connection.DisconnectWait (with Tracked)
//
// # Differences from Qt, on purpose
//
//   - A queued call still pending when its connection is disconnected is
//     dropped when the executor reaches it; Qt delivers it. A receiver that
//     disconnects is done with the slot.
//   - BlockingQueuedConnection returns an error instead of deadlocking; Qt
//     warns and then deadlocks. Emitting on the receiver's own executor
//     returns ErrDeadlock at once, and so does closing a cycle of executors
//     that wait on each other (A blocks on B, whose slot blocks on A): every
//     declared blocking wait is an edge of a wait-for graph that is checked
//     before waiting. A receiver executor closed before or during the wait
//     gives ErrClosed, a done context the context's error, a panic a
//     *PanicError.
//   - Unique identity is an explicit comparable key given with [Unique], so
//     it works for closures too; Qt compares pointers to member functions
//     (Go func values are not comparable, and their code pointers are not
//     identities).
//   - Auto is decided per emission by the emitter's declared executor,
//     since Go has no thread ids (and reading a goroutine id would cost
//     microseconds). A plain Emit counts as coming from no executor, so a
//     receiver with an executor gets a queued call: receiver code never runs
//     off its executor.
//   - Direct slots may run concurrently when several goroutines emit; a
//     slot that needs exclusion has its executor for that.
//
// # Limits
//
// The emitter's executor is what the emitter declares. A blocking emission
// made by code that runs on the target executor but uses plain Emit (no
// EmitOn, no WithExecutor) cannot be detected without goroutine ids: it
// waits for itself. Bound such waits with EmitContext and a deadline; the
// abandoned call is then dropped, not made later. For the same reason
// DisconnectWait called by a slot on its own connection from a direct call
// waits until its context is done.
//
// Queued values are shallow copies: slices, maps and pointers are shared
// with the emitter.
//
// # Costs
//
// Emit with direct slots is a few nanoseconds per slot with no allocation:
// the connection list is an immutable slice replaced on change
// (copy-on-write) behind an atomic pointer, so Connect and Disconnect copy
// the list (linear in the number of connections). A queued emission costs one
// allocation (the posted closure) and one more per emission when a drop
// hook and several connections need shared drop accounting. A blocking
// emission does not allocate once warm; its round trip is close to a
// channel request and reply. The benchmarks are in sigdial/benchmarks.
package signals
