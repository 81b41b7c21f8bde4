// Package loopback holds the 127.0.0.1 endpoints the examples dial that
// net.Listen cannot make: a port where nothing listens but that no other
// program can take meanwhile (RefusedPort), and the bound, non-listening
// socket it is made of (BoundSocket), from which an example can build a
// listener of its own backlog.
//
// Both need socket calls that the net package does not expose, so they are
// made on the systems where sigdial's reactor runs (Linux and the BSDs,
// macOS included). Elsewhere BoundSocket returns an error wrapping
// errors.ErrUnsupported, and RefusedPort falls back to a port that was
// listened on and closed.
package loopback
