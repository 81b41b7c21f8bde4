package signals

import (
	"context"
	"fmt"
)

// Next waits for the next emission of the signal and returns its value, or
// returns ctx.Err() when ctx is done first. It connects a single-shot
// direct connection for the wait, so the value is taken on the emitting
// goroutine and handed over; a value emitted while ctx ends is either
// returned or left to the signal's other slots and drop hook, never lost
// in between. Emissions while the signal is blocked are not seen.
func (s *Signal[T]) Next(ctx context.Context) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ch := make(chan T, 1)
	c, err := s.connect(func(v T) { ch <- v }, nil, []ConnectOption{WithType(DirectConnection | SingleShotConnection)})
	if err != nil {
		return zero, err // unreachable: the request is valid
	}
	if testHookNextConnected != nil {
		testHookNextConnected()
	}
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		if c.Disconnect() {
			return zero, ctx.Err()
		}
		// An emission claimed the connection: its value is being sent.
		return <-ch, nil
	}
}

// testHookNextConnected, if set by a test, runs in Next between connecting
// and waiting.
var testHookNextConnected func()

// Notify connects a slot that sends each value to ch without blocking, as
// os/signal.Notify does: when ch is not ready (full, or unbuffered with no
// receiver waiting), the value is not taken by this connection, and goes
// to the drop hook unless another slot received it. Size ch for the
// expected bursts. The options are those of Connect; with On(ex) the send
// happens on ex.
//
// Notify never closes ch. To close it, stop the sends first: connect with
// Tracked and call DisconnectWait, or use Chan.
func (s *Signal[T]) Notify(ch chan<- T, opts ...ConnectOption) (Connection, error) {
	if ch == nil {
		return Connection{}, fmt.Errorf("%w: nil channel", ErrInvalid)
	}
	return s.connect(nil, func(v T) bool {
		select {
		case ch <- v:
			return true
		default:
			return false
		}
	}, opts)
}

// Chan returns a channel with buffer size buf that receives the signal's
// values (as Notify: a value that finds the channel full is not taken),
// until ctx is done; then the connection is broken and the channel closed,
// once no send can happen any more. A buf below zero is treated as zero.
func (s *Signal[T]) Chan(ctx context.Context, buf int) <-chan T {
	ch := make(chan T, max(buf, 0))
	c, _ := s.Notify(ch, Tracked())
	context.AfterFunc(ctx, func() {
		// Sends do not block, so this wait is short.
		c.DisconnectWait(context.Background())
		close(ch)
	})
	return ch
}
