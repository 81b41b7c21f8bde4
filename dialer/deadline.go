// Parts of this file are adapted from Go's net package (src/net/dial.go,
// Go 1.26). Copyright 2010 The Go Authors. All rights reserved. Use of that
// source code is governed by a BSD-style license that can be found in Go's
// LICENSE file (https://go.dev/LICENSE).

package dialer

import (
	"context"
	"time"
)

// defaultFallbackDelay is the Happy Eyeballs head start of the primary
// address family when FallbackDelay is zero (RFC 6555 suggests 300 ms).
const defaultFallbackDelay = 300 * time.Millisecond

// saneMinimum is the least time partialDeadline gives one address of many,
// unless less than that is left in total (go.dev/issue/11796).
const saneMinimum = 2 * time.Second

// dualStack reports whether Happy Eyeballs is on: FallbackDelay is not
// negative. The deprecated DualStack field is not read, as in net.
func (d *Dialer) dualStack() bool { return d.FallbackDelay >= 0 }

// fallbackDelay returns how long the primary family races alone: the
// FallbackDelay field if positive, else 300 ms.
func (d *Dialer) fallbackDelay() time.Duration {
	if d.FallbackDelay > 0 {
		return d.FallbackDelay
	}
	return defaultFallbackDelay
}

// minNonzeroTime returns the earlier of a and b, a zero time meaning "none".
func minNonzeroTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	if b.IsZero() || a.Before(b) {
		return a
	}
	return b
}

// deadline returns the earliest of now+Timeout, Deadline and ctx's deadline,
// or the zero time if none is set. A negative Timeout counts, "for
// historical reasons": it yields a deadline in the past, and the dial fails
// at once with an i/o timeout.
func (d *Dialer) deadline(ctx context.Context, now time.Time) (earliest time.Time) {
	if d.Timeout != 0 { // including negative, for historical reasons
		earliest = now.Add(d.Timeout)
	}
	if d, ok := ctx.Deadline(); ok {
		earliest = minNonzeroTime(earliest, d)
	}
	return minNonzeroTime(earliest, d.Deadline)
}

// partialDeadline returns the deadline for one address when addrsRemaining
// addresses (this one included) share the time up to deadline: an equal
// share, but at least saneMinimum (2 s) when that much is left, stolen from
// the end of the list. A zero deadline yields a zero deadline; a deadline
// that has passed yields errTimeout. net.Dialer applies it in dialSerial,
// only when the context has a deadline.
func partialDeadline(now, deadline time.Time, addrsRemaining int) (time.Time, error) {
	if deadline.IsZero() {
		return deadline, nil
	}
	timeRemaining := deadline.Sub(now)
	if timeRemaining <= 0 {
		return time.Time{}, errTimeout
	}
	// Tentatively allocate equal time to each remaining address.
	timeout := timeRemaining / time.Duration(addrsRemaining)
	// If the time per address is too short, steal from the end of the list.
	if timeout < saneMinimum {
		if timeRemaining < saneMinimum {
			timeout = timeRemaining
		} else {
			timeout = saneMinimum
		}
	}
	return now.Add(timeout), nil
}
