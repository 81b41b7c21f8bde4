package reactor

import (
	"errors"
	"net"
)

// ErrClosed is the error of every operation that the closing of its reactor
// ended, and of every call made on a closed reactor. It wraps net.ErrClosed,
// so errors.Is(err, net.ErrClosed) is true.
var ErrClosed = &closedError{}

type closedError struct{}

func (*closedError) Error() string {
	return "sigdial/reactor: reactor closed: " + net.ErrClosed.Error()
}
func (*closedError) Unwrap() error { return net.ErrClosed }

// ErrUnsupported is returned by New on platforms that have no reactor yet.
// It wraps errors.ErrUnsupported.
var ErrUnsupported = &unsupportedError{}

type unsupportedError struct{}

func (*unsupportedError) Error() string {
	return "sigdial/reactor: no event-loop backend on this platform: " + errors.ErrUnsupported.Error()
}
func (*unsupportedError) Unwrap() error { return errors.ErrUnsupported }
