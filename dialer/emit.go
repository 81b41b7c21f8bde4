package dialer

import (
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/sigdial/sigdial/signals"
)

// emitter says where an emission is made from: a loop (Auto connections
// whose executor is that loop run directly), or a goroutine of unknown
// identity.
type emitter struct {
	loop signals.Executor // nil: not on a loop
	// detached: a goroutine of sigdial's own with no caller to take a
	// panic (the resolver goroutine of an asynchronous dial); panics are
	// reported, as on a loop.
	detached bool
}

// emitTo emits v on s from e.
//
// On a loop, the panic of a direct slot is reported and the dial goes on.
// Package signals lets the panic of a direct slot on a signal without a
// panic handler propagate to the emitter (the slots after it on that signal
// are not called). On a loop the emitter is the dial's state machine, and
// the panic would skip the rest of it: the Finished signal, the Dialer's
// signals, Done, the next attempt, and for a blocking dial the wake-up of
// its caller, which would then wait forever. So it is recovered here and
// reported, once, to the loop's panic handler (reactor.WithPanicHandler),
// which is where the loop would have reported it.
func emitTo[T any](e emitter, s *signals.Signal[T], v T) {
	emitOwned(e, s, v, nil)
}

// emitOwned is emitTo with drop called on v if no slot receives it
// (signals.Signal.EmitOwned); a nil drop is emitTo.
func emitOwned[T any](e emitter, s *signals.Signal[T], v T, drop func(T)) {
	if e.loop == nil && !e.detached {
		// The caller's goroutine: a panic is the caller's.
		if drop == nil {
			s.Emit(v)
		} else {
			s.EmitOwned(nil, v, drop)
		}
		return
	}
	defer func() {
		if r := recover(); r != nil {
			reportPanic(e.loop, r, debug.Stack())
		}
	}()
	if drop == nil {
		s.EmitOn(e.loop, v)
	} else {
		s.EmitOwned(e.loop, v, drop)
	}
}

// reportPanic reports a slot's panic recovered on executor ex.
func reportPanic(ex signals.Executor, recovered any, stack []byte) {
	if r, ok := ex.(signals.PanicReporter); ok {
		r.ReportPanic(recovered, stack)
		return
	}
	fmt.Fprintf(os.Stderr, "sigdial/dialer: panic in a slot: %v\n%s", recovered, stack)
}

// reportReturn is report for a blocking dial about to return c to its
// caller: if a slot's panic propagates out of the emission (a direct slot
// on a signal without a panic handler runs on the caller's goroutine), c
// never reaches the caller, so it is closed on the way out.
func (d *Dialer) reportReturn(network, address string, start time.Time, attempts int, c net.Conn, err error) {
	if d.Signals == nil {
		return
	}
	returned := false
	defer func() {
		if !returned && c != nil {
			c.Close()
		}
	}()
	d.report(emitter{}, nil, network, address, start, attempts, c, err)
	returned = true
}

// report emits a dial's outcome, then Finished, on the Dialer's Signals.
// Connected carries c for observation only: the caller owns it.
func (d *Dialer) report(e emitter, x *AsyncDial, network, address string, start time.Time, attempts int, c net.Conn, err error) {
	if d.Signals == nil {
		return
	}
	emitOutcome(e, d.Signals, x, false, network, address, time.Since(start), attempts, c, err)
}

// emitOutcome emits the outcome signal and then Finished on s.
//
// owner says that s owns c (an AsyncDial's own Signals): a conn that no
// slot takes is closed. A signal with nothing connected gets no payload
// built for it.
func emitOutcome(e emitter, s *Signals, x *AsyncDial, owner bool, network, address string, elapsed time.Duration, attempts int, c net.Conn, err error) {
	o := Classify(err)
	if err == nil {
		switch {
		case !s.Connected.Idle():
			var drop func(*Connected)
			if owner {
				drop = closeUnclaimed
			}
			emitOwned(e, &s.Connected, &Connected{Conn: c, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts, Dial: x}, drop)
		case owner && c != nil:
			c.Close() // no slot to take it
		}
	} else if sig := s.errorSignal(o); !sig.Idle() {
		emitTo(e, sig, &DialError{Err: err, Outcome: o, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts, Dial: x})
	}
	if !s.Finished.Idle() {
		emitTo(e, &s.Finished, &Finished{Outcome: o, Err: err, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts, Dial: x})
	}
}
