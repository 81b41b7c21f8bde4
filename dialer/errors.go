// Parts of this file are adapted from Go's net package (src/net/net.go,
// Go 1.26). Copyright 2009 The Go Authors. All rights reserved. Use of that
// source code is governed by a BSD-style license that can be found in Go's
// LICENSE file (https://go.dev/LICENSE).

package dialer

import (
	"context"
	"errors"
	"net"
	"os"
)

// The errors below are the values net.Dialer puts inside its *net.OpError.
// net keeps them unexported, so callers can only tell them apart by their
// text and by errors.Is; ours have the same text and answer errors.Is the
// same way (errTimeout answers it more generously, see timeoutError).
var (
	// errNoSuitableAddress is net's "no suitable address found". net only
	// ever returns its text, inside a *net.AddrError; so does this package.
	errNoSuitableAddress = errors.New("no suitable address found")

	// errMissingAddress is returned for an empty address or a missing
	// remote unix address.
	errMissingAddress = errors.New("missing address")

	// errCanceled is what a canceled dial fails with.
	errCanceled error = canceledError{}

	// errTimeout is what a dial fails with when its deadline (Timeout,
	// Deadline or the context's) passes.
	errTimeout error = &timeoutError{}
)

// canceledError returns the "operation was canceled" text net has always
// returned, while still being Is context.Canceled (net/net.go).
type canceledError struct{}

func (canceledError) Error() string { return "operation was canceled" }

// Is reports whether err is context.Canceled.
func (canceledError) Is(err error) bool { return err == context.Canceled }

// timeoutError is net's historical "i/o timeout". It is a net.Error whose
// Timeout and Temporary methods report true, like net's.
//
// net.Dialer fails a timed-out dial with either its own timeoutError (which
// is context.DeadlineExceeded for errors.Is) or os.ErrDeadlineExceeded
// (which is not), depending on whether the context's timer or the poller's
// deadline fires first (dialer-peers.md §1.8). Code written against
// net.Dialer can therefore test either; to make both tests reliable,
// timeoutError is both: errors.Is(errTimeout, context.DeadlineExceeded) and
// errors.Is(errTimeout, os.ErrDeadlineExceeded) are true. Its text is the
// same as both of those errors' "i/o timeout".
type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

// Is reports whether err is context.DeadlineExceeded or
// os.ErrDeadlineExceeded.
func (*timeoutError) Is(err error) bool {
	return err == context.DeadlineExceeded || err == os.ErrDeadlineExceeded
}

var (
	_ net.Error = (*timeoutError)(nil)
	_ error     = canceledError{}
)

// mapErr maps the context errors to the historical net error values, as net
// does: context.Canceled becomes errCanceled, context.DeadlineExceeded
// becomes errTimeout, and anything else is returned unchanged.
//
// The core also passes the reactor's os.ErrDeadlineExceeded (a connect that
// outlived its deadline) through mapErr, so that every timeout a Dialer
// returns is errTimeout: net returns os.ErrDeadlineExceeded there, which
// errTimeout also Is.
func mapErr(err error) error {
	switch err {
	case context.Canceled:
		return errCanceled
	case context.DeadlineExceeded, os.ErrDeadlineExceeded:
		return errTimeout
	default:
		return err
	}
}

// opError returns the *net.OpError that a dial through network, from source
// to addr, failed with err: net.OpError{Op: "dial", ...}.
//
// source and addr are stored as given. In particular a nil *net.TCPAddr
// wrapped in a non-nil net.Addr stays non-nil, and Error then prints
// "<nil>" for it, exactly as net does when Dialer.LocalAddr holds a nil
// pointer. The typed methods (DialTCP, ...) normalise their arguments first
// with opAddr, as net does.
func opError(network string, source, addr net.Addr, err error) *net.OpError {
	return &net.OpError{Op: "dial", Net: network, Source: source, Addr: addr, Err: err}
}

// opAddr returns a, or a nil net.Addr if a holds a nil *net.TCPAddr,
// *net.UDPAddr, *net.IPAddr or *net.UnixAddr; net's typed dial functions
// put addresses through their opAddr methods the same way before storing
// them in a *net.OpError.
func opAddr(a net.Addr) net.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a == nil {
			return nil
		}
	case *net.UDPAddr:
		if a == nil {
			return nil
		}
	case *net.IPAddr:
		if a == nil {
			return nil
		}
	case *net.UnixAddr:
		if a == nil {
			return nil
		}
	}
	return a
}

// unwrapOp returns the error inside err's *net.OpError for op, or err if it
// has none: the net package's own wrapping, removed so that the dialer can
// wrap the error as net.Dialer would have.
func unwrapOp(err error, op string) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == op {
		return oe.Err
	}
	return err
}
