package signals

import (
	"errors"
	"fmt"
	"net"
)

var (
	// ErrInvalid is wrapped by the errors of Connect for a request that can
	// never be satisfied: a nil slot, unknown type bits, a queued type
	// without an executor, UniqueConnection without a key, a key or
	// executor that is not comparable.
	ErrInvalid = errors.New("signals: invalid connection request")

	// ErrDuplicate is returned by Connect when a Unique key is already in
	// use on the signal.
	ErrDuplicate = errors.New("signals: duplicate unique connection")

	// ErrDeadlock is returned, at once and without waiting, for a blocking
	// delivery that could never complete: a BlockingQueuedConnection emitted
	// on its own executor, or closing a cycle of executors that wait on
	// each other. DisconnectWait returns it when called from the slot's
	// own queued invocation.
	ErrDeadlock = errors.New("signals: blocking emission would deadlock")

	// ErrClosed reports that a delivery could not be made because the
	// receiver's executor is closed, or was closed while the call was
	// queued. It satisfies errors.Is(err, net.ErrClosed), like the errors
	// of the reactor's executors.
	ErrClosed error = closedError{}

	// ErrDisconnected is returned for a blocking delivery whose connection
	// was disconnected while the call was queued: the slot was not called.
	ErrDisconnected = errors.New("signals: connection disconnected before delivery")

	// ErrNotTracked is returned by DisconnectWait for a connection made
	// without Tracked: it has been disconnected, but running invocations
	// cannot be waited for.
	ErrNotTracked = errors.New("signals: connection is not tracked")
)

type closedError struct{}

func (closedError) Error() string { return "signals: executor closed" }

// Is makes errors.Is(ErrClosed, net.ErrClosed) true.
func (closedError) Is(target error) bool { return target == net.ErrClosed }

// postError is the error of a blocking delivery whose Post failed: the
// executor is closed (the Executor contract), and its own error is kept.
type postError struct{ err error }

func (e *postError) Error() string   { return "signals: executor refused the call: " + e.err.Error() }
func (e *postError) Unwrap() []error { return []error{ErrClosed, e.err} }

// PanicError is returned by an emission whose BlockingQueuedConnection slot
// panicked. Value is what the slot panicked with, Stack the goroutine's
// stack when the panic was recovered.
type PanicError struct {
	Value any
	Stack []byte
}

// Error describes the panic value; the stack is in e.Stack.
func (e *PanicError) Error() string { return fmt.Sprintf("signals: slot panicked: %v", e.Value) }

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
