package dialer

import (
	"errors"
	"net"
	"sync/atomic"

	"github.com/sigdial/sigdial/reactor"
)

// An AsyncDial is one asynchronous dial. Make it with Dialer.NewAsyncDial, connect
// slots to its signals, then Start it; Start returns at once and the
// outcome arrives on the signals. No goroutine waits for a pending dial:
// its connects sit in a reactor loop's poller, its deadlines in the loop's
// timer heap, and Happy Eyeballs runs on the loop too. Only a host name
// that needs resolving uses a goroutine, the resolver's, while it resolves.
//
// Each AsyncDial emits exactly one of Connected, Refused, Unreachable, TimedOut,
// Canceled and Failed, then Finished, and never from inside Start: even a
// connect that finished inside connect(2) is reported from the loop. The
// Dialer's own Signals, if set, receive the same outcome after the dial's.
// Emissions are made on the dial's loop, so a slot connected without an
// executor runs on that loop, and must not block it; a slot connected with
// an executor (a signals.Loop, another reactor loop) runs there.
//
// # Who owns the connection
//
// The net.Conn in the dial's own Connected payload belongs to the dial's
// Connected slots. With one slot, that slot owns it. With several, they all
// receive the same Conn, and the program must decide which one keeps it
// (typically only one slot uses it and the others only look at addresses).
// If no slot takes it — no slot is connected, the only slots were
// disconnected while their call was queued, their executor closed, a
// SingleShot slot already fired — sigdial closes it: the dial emits
// Connected with signals.Signal.EmitOwned, whose drop function closes a
// conn that no slot received. (A drop hook set on the signal with
// SetDropHook is not called for that emission.) The Dialer-wide Connected
// signal only observes the Conn.
//
// An AsyncDial is used once: a second Start returns an error.
type AsyncDial struct {
	Signals

	state asyncState                    // the dial in progress, kept inline: one allocation per dial
	done  atomic.Pointer[chan struct{}] // made on first use by Done; closedDone once finished
}

// The AsyncDial's flags (asyncState.flags): what has happened to it, and,
// once finished, its Outcome in the bits from outcomeShift.
const (
	asyncStarted   = 1 << iota // Start was called
	asyncCanceled              // Cancel was called
	asyncPublished             // Start has set up what Cancel and Loop read
	asyncFinished              // the outcome and error are set

	outcomeShift = 8
)

// closedDone is what Done returns for a dial that finished before Done was
// first called.
var closedDone = func() *chan struct{} {
	c := make(chan struct{})
	close(c)
	return &c
}()

// ErrStarted is returned by a second call of AsyncDial.Start.
var ErrStarted = errors.New("sigdial/dialer: dial already started")

// NewAsyncDial returns an asynchronous dial of address on network, not yet
// started. network and address are as for DialContext.
func (d *Dialer) NewAsyncDial(network, address string) *AsyncDial {
	x := new(AsyncDial)
	x.state.init(d, network, address)
	return x
}

// Loop returns the reactor loop the dial runs on and emits its signals
// from, once Start has been called; nil before. On systems without a
// reactor it is a placeholder with no methods. (Slots connected with an executor run there instead: connect
// them with signals.On(r.Loop(i)) to pick a loop of the Dialer's reactor.)
func (x *AsyncDial) Loop() *reactor.Loop {
	if x.state.flags().Load()&asyncPublished == 0 {
		return nil
	}
	return x.state.loop()
}

// Network returns the network the dial was made for.
func (x *AsyncDial) Network() string { return x.state.network() }

// Address returns the address the dial was made for.
func (x *AsyncDial) Address() string { return x.state.address() }

// Done returns a channel that is closed once the dial has finished: after
// the Finished signal was emitted on the dial's own Signals and then on the
// Dialer's. Queued slots may still be waiting on their executors.
func (x *AsyncDial) Done() <-chan struct{} {
	if p := x.done.Load(); p != nil {
		return *p
	}
	// Made on demand: a pending dial that nobody waits on does not carry a
	// channel. If the dial finishes meanwhile, finishDial either finds
	// this channel and closes it, or has put closedDone in its place.
	ch := make(chan struct{})
	if x.done.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *x.done.Load()
}

// finished reports whether the dial has finished.
func (x *AsyncDial) finished() bool { return x.state.flags().Load()&asyncFinished != 0 }

// Outcome returns how the dial ended; it is zero until Done is closed.
func (x *AsyncDial) Outcome() Outcome {
	f := x.state.flags().Load()
	if f&asyncFinished == 0 {
		return 0
	}
	return Outcome(f >> outcomeShift)
}

// Err returns the dial's error, as the blocking API would have returned it,
// once Done is closed; nil before, and nil for a dial that connected.
func (x *AsyncDial) Err() error {
	if !x.finished() {
		return nil
	}
	return x.state.result()
}

// Cancel cancels the dial. A dial still in progress then ends with
// Canceled and an error that is context.Canceled ("operation was
// canceled"); a dial that already finished is not affected. Cancel may be
// called from any goroutine, any number of times, also before Start.
func (x *AsyncDial) Cancel() {
	for {
		f := x.state.flags().Load()
		if f&asyncCanceled != 0 {
			return
		}
		if x.state.flags().CompareAndSwap(f, f|asyncCanceled) {
			if f&asyncPublished != 0 {
				x.cancelStarted()
			}
			// Otherwise Start has not published the dial yet; it
			// cancels it when it does.
			return
		}
	}
}

// canceled reports whether Cancel was called.
func (x *AsyncDial) canceled() bool { return x.state.flags().Load()&asyncCanceled != 0 }

// publish makes the started dial visible to Cancel and Loop, and cancels it
// if Cancel came first. Called once by Start, after everything Cancel and
// Loop read has been written.
func (x *AsyncDial) publish() {
	if x.state.flags().Or(asyncPublished)&asyncCanceled != 0 {
		x.cancelStarted()
	}
}

// closeUnclaimed is the drop function of a dial's Connected emission
// (signals.Signal.EmitOwned): it closes a conn that no slot received.
func closeUnclaimed(c *Connected) {
	if c.Conn != nil {
		c.Conn.Close()
	}
}

// finishDial records the outcome and closes done. Called once.
func (x *AsyncDial) finishDial(err error) {
	// The error is written before the flag that publishes it: Err reads
	// it only after seeing the flag.
	x.state.setResult(err)
	x.state.flags().Or(asyncFinished | uint32(Classify(err))<<outcomeShift)
	if p := x.done.Swap(closedDone); p != nil {
		close(*p)
	}
}

var _ net.Conn = (*net.TCPConn)(nil)
