//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package reactor

// Reactor is not implemented on this platform: New returns ErrUnsupported.
// dialer.Dialer falls back to net.Dialer here (see the dialer package).
type Reactor struct{}

// New returns ErrUnsupported: there is no event-loop backend for this
// platform yet (Windows needs an IOCP or FD_CONNECT one).
func New(...Option) (*Reactor, error) { return nil, ErrUnsupported }

// Close does nothing.
func (*Reactor) Close() error { return nil }

// Closed reports true: a reactor that cannot exist is never open.
func (*Reactor) Closed() bool { return true }

// Loop is not implemented on this platform; the type exists so that code
// referring to it builds everywhere.
type Loop struct{}
