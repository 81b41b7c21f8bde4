package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	cfg := config{
		N:            600,
		Listeners:    2,
		Refused:      1,
		RefusedEvery: 3,
		InFlight:     64,
		Loops:        2,
		Timeout:      5 * time.Second,
		Progress:     10 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out strings.Builder
	s, err := run(ctx, cfg, &out)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("output:\n%s", out.String())
	checkSummary(t, s, out.String())
}

// checkSummary checks the outcomes of TestRun's configuration, and that
// the run kept its bounds.
func checkSummary(t *testing.T, s summary, out string) {
	t.Helper()
	if s.Started != 600 {
		t.Errorf("started %d dials, want 600", s.Started)
	}
	var total int64
	for _, n := range s.Counts {
		total += n
	}
	if total != 600 {
		t.Errorf("%d outcomes for 600 dials: %v", total, s.Counts)
	}
	if got := s.Counts[1]; got != 400 { // OutcomeConnected
		t.Errorf("connected %d, want 400", got)
	}
	if got := s.Counts[2]; got != 200 { // OutcomeRefused
		t.Errorf("refused %d, want 200", got)
	}
	if s.InFlightLimit != 64 || s.PeakInFlight > 64 || s.PeakInFlight < 1 {
		t.Errorf("in flight: peak %d, limit %d; want a peak in 1..64 and the limit 64", s.PeakInFlight, s.InFlightLimit)
	}
	if s.SoftLimit == 0 || s.SoftLimit != s.HardLimit && s.HardLimit < 1<<20 {
		t.Errorf("RLIMIT_NOFILE soft %d, hard %d: the soft limit was not raised", s.SoftLimit, s.HardLimit)
	}
	// No goroutine per pending dial: up to 64 are pending at a time.
	if extra := s.PeakGoroutines - s.StartGoroutines; extra > 16 {
		t.Errorf("goroutines: peak %d, %d at the start: %d more while dialing", s.PeakGoroutines, s.StartGoroutines, extra)
	}
	for _, want := range []string{"600/600 done", "  Connected    400\n", "  Refused      200\n", "dials/s", "goroutines: peak", "memory: peak Go heap"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
