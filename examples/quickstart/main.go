// Command quickstart is sigdial's first demo: four asynchronous dials over
// loopback, one for each of the outcomes connected, refused, timed out and
// canceled. For each it prints the signal that fired and the loop its slot
// ran on.
//
//	go run ./examples/quickstart
//
// It starts everything it dials: a listener that accepts, a port that is
// bound but not listening (the kernel answers a SYN with RST: refused), and
// a listener whose accept queue is full (the kernel drops the SYN: the dial
// times out, or is canceled while it waits). Nothing leaves 127.0.0.1.
//
// The dials run on a reactor of two loops. Each dial's slots are connected
// with signals.On(reactor loop 1): a slot connected to an executor always
// runs there, called directly when the dial emits on loop 1 and queued to
// loop 1 when it emits on loop 0. The Dialer-wide Finished signal is
// connected to an application signals.Loop with a QueuedConnection, where a
// counter of outcomes lives without locks.
//
// The dials are made one after the other, so the output is deterministic
// (except for the port numbers).
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}
