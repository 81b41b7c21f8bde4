package dialer

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sigdial/sigdial/signals"
)

// An Outcome is how a dial ended.
type Outcome uint8

const (
	// OutcomeConnected: the connection is established (TCP handshake done;
	// peer set for UDP, unixgram and IP).
	OutcomeConnected Outcome = iota + 1
	// OutcomeRefused: ECONNREFUSED, an RST because nothing listens.
	OutcomeRefused
	// OutcomeUnreachable: EHOSTUNREACH, ENETUNREACH, EHOSTDOWN or ENETDOWN,
	// from a route or an ICMP destination-unreachable.
	OutcomeUnreachable
	// OutcomeTimedOut: Timeout, Deadline or the context's deadline passed,
	// or the kernel gave up (ETIMEDOUT).
	OutcomeTimedOut
	// OutcomeCanceled: the context was canceled, Cancel was closed, the
	// dial was canceled, or its reactor was closed.
	OutcomeCanceled
	// OutcomeFailed: anything else (name resolution, EADDRNOTAVAIL,
	// EACCES, EPERM, EAFNOSUPPORT, EMFILE, a bad address, a Control error).
	OutcomeFailed
)

func (o Outcome) String() string {
	switch o {
	case OutcomeConnected:
		return "connected"
	case OutcomeRefused:
		return "refused"
	case OutcomeUnreachable:
		return "unreachable"
	case OutcomeTimedOut:
		return "timed out"
	case OutcomeCanceled:
		return "canceled"
	case OutcomeFailed:
		return "failed"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Classify returns the outcome that err, an error returned by a dial, stands
// for; nil is OutcomeConnected. It is how the outcome signals are chosen.
func Classify(err error) Outcome {
	if err == nil {
		return OutcomeConnected
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, net.ErrClosed):
		return OutcomeCanceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return OutcomeRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ENETDOWN):
		return OutcomeUnreachable
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimedOut
	case errors.Is(err, syscall.EAGAIN):
		// syscall.Errno's Timeout method is true for EAGAIN, so net.Error
		// would call it a timeout; but connect(2) fails with EAGAIN at
		// once (a unix socket's full backlog), nothing timed out.
		return OutcomeFailed
	case errors.As(err, &ne) && ne.Timeout():
		// A *net.DNSError with IsTimeout, for one.
		return OutcomeTimedOut
	}
	return OutcomeFailed
}

// Connected is the payload of a Connected signal.
type Connected struct {
	// Conn is the connection: a *net.TCPConn, *net.UDPConn, *net.UnixConn
	// or *net.IPConn. On a Dialer's Signals it is for observation only:
	// the code that made the dial owns it and may already have closed it.
	Conn net.Conn
	// Network and Address are what the dial was asked for.
	Network, Address string
	// Elapsed is the time from the start of the dial to the connection.
	Elapsed time.Duration
	// Attempts is the number of connects made, one per address tried.
	Attempts int
	// Dial is the asynchronous dial, or nil for a blocking one.
	Dial *AsyncDial
}

// DialError is the payload of the Refused, Unreachable, TimedOut, Canceled
// and Failed signals.
type DialError struct {
	// Err is the error the blocking API returns for the same dial: a
	// *net.OpError, exactly as net.Dialer's.
	Err error
	// Outcome says which signal carried it.
	Outcome Outcome
	// Network, Address, Elapsed, Attempts and Dial are as in Connected.
	Network, Address string
	Elapsed          time.Duration
	Attempts         int
	Dial             *AsyncDial
}

// Error returns Err's text.
func (e *DialError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *DialError) Unwrap() error { return e.Err }

// Finished is the payload of the Finished signal, emitted once per dial
// after its single terminal outcome.
type Finished struct {
	Outcome          Outcome
	Err              error // nil when Outcome is OutcomeConnected
	Network, Address string
	Elapsed          time.Duration
	Attempts         int
	Dial             *AsyncDial // nil for a blocking dial
}

// Attempt is the payload of AttemptStarted and AttemptFailed: one connect
// to one resolved address, as Qt's stateChanged or httptrace's
// ConnectStart and ConnectDone report. As with httptrace, the connects
// that net makes again within one attempt — after a spurious failure (a
// socket connected to itself, EADDRNOTAVAIL) or MPTCP falling back to
// plain TCP — are part of that attempt, not attempts of their own.
type Attempt struct {
	// Network is the dial's network, Addr the address tried.
	Network string
	Addr    net.Addr
	// Primary is false for an address of the Happy Eyeballs fallback
	// family.
	Primary bool
	// Err is nil on AttemptStarted, and the attempt's *net.OpError on
	// AttemptFailed.
	Err error
	// Dial is the asynchronous dial, or nil for a blocking one.
	Dial *AsyncDial
}

// Signals is the set of signals a dial emits. A Dialer with Signals set
// emits them for every dial made through it. Each dial emits exactly one of the
// six outcome signals, then Finished; AttemptStarted and AttemptFailed may
// come before, once per address tried.
//
// The zero value is ready to use. Signals must not be copied after first
// use. Slots follow the delivery rules of package signals: a slot connected
// without an executor runs on the goroutine that emits (a reactor loop for
// asynchronous dials and for attempts that completed there, the dialing
// goroutine otherwise); a slot connected with an executor runs there.
//
// A slot that panics never cuts a dial short. Queued slots are recovered
// by package signals (reported to the signal's handler, or the executor's:
// a signals.Loop's or the reactor's). A direct slot with no handler on its
// signal panics through the emission; when a loop emits, sigdial recovers
// it, reports it to the reactor's panic handler and goes on, so the dial
// still emits Finished and finishes. On a blocking dial's own goroutine the
// panic propagates to the caller of Dial, as a panic in a callback does. A
// Connected slot that panics has received the conn and owns it: the drop
// hook does not close it.
type Signals struct {
	Connected   signals.Signal[*Connected]
	Refused     signals.Signal[*DialError]
	Unreachable signals.Signal[*DialError]
	TimedOut    signals.Signal[*DialError]
	Canceled    signals.Signal[*DialError]
	Failed      signals.Signal[*DialError]
	Finished    signals.Signal[*Finished]

	AttemptStarted signals.Signal[*Attempt]
	AttemptFailed  signals.Signal[*Attempt]
}

// errorSignal returns the signal for a failure outcome.
func (s *Signals) errorSignal(o Outcome) *signals.Signal[*DialError] {
	switch o {
	case OutcomeRefused:
		return &s.Refused
	case OutcomeUnreachable:
		return &s.Unreachable
	case OutcomeTimedOut:
		return &s.TimedOut
	case OutcomeCanceled:
		return &s.Canceled
	}
	return &s.Failed
}
