package dialer

import (
	"net"
	"time"

	"github.com/sigdial/sigdial/signals"
)

// emitter says where an emission is made from: a loop (Auto connections
// whose executor is that loop run directly), or a goroutine of unknown
// identity.
type emitter struct {
	loop signals.Executor // nil: not on a loop
}

func emitTo[T any](e emitter, s *signals.Signal[T], v T) {
	if e.loop != nil {
		s.EmitOn(e.loop, v)
	} else {
		s.Emit(v)
	}
}

// report emits a dial's outcome, then Finished, on the Dialer's Signals.
// Connected carries c for observation only: the caller owns it.
func (d *Dialer) report(e emitter, network, address string, start time.Time, attempts int, c net.Conn, err error) {
	if d.Signals == nil {
		return
	}
	emitOutcome(e, d.Signals, network, address, time.Since(start), attempts, c, err)
}

// emitOutcome emits the outcome signal and then Finished on s.
func emitOutcome(e emitter, s *Signals, network, address string, elapsed time.Duration, attempts int, c net.Conn, err error) {
	o := Classify(err)
	if err == nil {
		emitTo(e, &s.Connected, &Connected{Conn: c, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts})
	} else {
		emitTo(e, s.errorSignal(o), &DialError{Err: err, Outcome: o, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts})
	}
	emitTo(e, &s.Finished, &Finished{Outcome: o, Err: err, Network: network, Address: address, Elapsed: elapsed, Attempts: attempts})
}
