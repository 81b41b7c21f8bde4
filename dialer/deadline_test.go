// sigdial-helper-tests

package dialer

import (
	"context"
	"testing"
	"time"
)

// The cases are net's TestDialerPartialDeadline (net/dial_test.go).
func TestPartialDeadline(t *testing.T) {
	var (
		t0 = time.Unix(1e9, 0)
		t1 = t0.Add(1 * time.Second)
	)
	tests := []struct {
		now            time.Time
		deadline       time.Time
		addrs          int
		expectDeadline time.Time
		expectErr      error
	}{
		// Regular division.
		{t0, t0.Add(10 * time.Second), 1, t0.Add(10 * time.Second), nil},
		{t0, t0.Add(10 * time.Second), 2, t0.Add(5 * time.Second), nil},
		{t0, t0.Add(10 * time.Second), 3, t0.Add(10 * time.Second / 3), nil},
		// Bump against the 2-second sane minimum.
		{t0, t0.Add(10 * time.Second), 5, t0.Add(2 * time.Second), nil},
		// Total available is now below the sane minimum.
		{t0, t0.Add(1 * time.Second), 3, t0.Add(1 * time.Second), nil},
		// Null deadline.
		{t0, time.Time{}, 1, time.Time{}, nil},
		// Step the clock forward and cross the deadline.
		{t1.Add(-1 * time.Millisecond), t1, 1, t1, nil},
		{t1.Add(0 * time.Millisecond), t1, 1, time.Time{}, errTimeout},
		{t1.Add(1 * time.Millisecond), t1, 1, time.Time{}, errTimeout},
	}
	for i, tt := range tests {
		deadline, err := partialDeadline(tt.now, tt.deadline, tt.addrs)
		if err != tt.expectErr {
			t.Errorf("#%d: got err=%q, want %q", i, err, tt.expectErr)
		}
		if !deadline.Equal(tt.expectDeadline) {
			t.Errorf("#%d: got deadline=%v, want %v", i, deadline, tt.expectDeadline)
		}
	}
}

func TestDeadline(t *testing.T) {
	now := time.Unix(1e9, 0)
	bg := context.Background()
	ctx, cancel := context.WithDeadline(bg, now.Add(3*time.Second))
	defer cancel()
	tests := []struct {
		d    Dialer
		ctx  context.Context
		want time.Time
	}{
		{Dialer{}, bg, time.Time{}},
		{Dialer{Timeout: time.Second}, bg, now.Add(time.Second)},
		{Dialer{Timeout: -time.Second}, bg, now.Add(-time.Second)}, // for historical reasons
		{Dialer{Deadline: now.Add(2 * time.Second)}, bg, now.Add(2 * time.Second)},
		{Dialer{Timeout: 5 * time.Second, Deadline: now.Add(2 * time.Second)}, bg, now.Add(2 * time.Second)},
		{Dialer{Timeout: time.Second, Deadline: now.Add(2 * time.Second)}, ctx, now.Add(time.Second)},
		{Dialer{Timeout: 5 * time.Second}, ctx, now.Add(3 * time.Second)},
		{Dialer{}, ctx, now.Add(3 * time.Second)},
	}
	for i, tt := range tests {
		if got := tt.d.deadline(tt.ctx, now); !got.Equal(tt.want) {
			t.Errorf("#%d: deadline = %v, want %v", i, got, tt.want)
		}
	}
}

func TestFallbackDelay(t *testing.T) {
	for _, tt := range []struct {
		fd        time.Duration
		want      time.Duration
		dualStack bool
	}{
		{0, 300 * time.Millisecond, true},
		{time.Second, time.Second, true},
		{-1, 300 * time.Millisecond, false},
	} {
		d := Dialer{FallbackDelay: tt.fd}
		if got := d.fallbackDelay(); got != tt.want {
			t.Errorf("FallbackDelay %v: fallbackDelay() = %v, want %v", tt.fd, got, tt.want)
		}
		if got := d.dualStack(); got != tt.dualStack {
			t.Errorf("FallbackDelay %v: dualStack() = %v", tt.fd, got)
		}
	}
}

func timeNowForTest() time.Time { return time.Unix(1e9, 0) }
