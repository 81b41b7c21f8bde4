package reactor

import "sync"

var (
	defaultMu sync.Mutex
	defaultR  *Reactor
)

// Default returns the shared reactor that a zero dialer.Dialer uses, starting
// it on first use with the default options. If the shared reactor has been
// closed, Default starts a new one, so closing it (at the end of a program or
// a test) is allowed and does not break later users.
func Default() (*Reactor, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultR != nil && !defaultR.Closed() {
		return defaultR, nil
	}
	r, err := New()
	if err != nil {
		return nil, err
	}
	defaultR = r
	return r, nil
}

// CloseDefault closes the shared reactor if one is running. Programs rarely
// need it; tests that check for leaked goroutines do.
func CloseDefault() error {
	defaultMu.Lock()
	r := defaultR
	defaultR = nil
	defaultMu.Unlock()
	if r == nil {
		return nil
	}
	return r.Close()
}
