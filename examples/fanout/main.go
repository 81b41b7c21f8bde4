// Command fanout makes many asynchronous dials at once and reports how they
// ended, how fast they went and what they cost.
//
//	go run ./examples/fanout            # 10,000 dials
//	go run ./examples/fanout -n 2000 -refused-every 3
//
// It dials only endpoints it starts itself on 127.0.0.1: a few listeners
// that accept and close, and a few ports that are bound but not listening
// (refused). Every dial is an AsyncDial: no goroutine waits for a pending
// dial, so the goroutine count stays flat however many are in flight. The
// outcomes are counted once, by slots on the Dialer-wide Signals, and each
// dial's own Connected slot owns and closes its conn.
//
// Dials in flight hold file descriptors, and so do the in-process
// listeners' accepted connections. fanout raises the soft RLIMIT_NOFILE to
// the hard limit and bounds the dials in flight to what fits under it,
// with room to spare. While it runs it shows a progress line (redrawn in
// place on a terminal, a plain line a second otherwise), then a summary:
// outcomes per signal, dials per second, peak goroutines and peak memory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/sigdial/sigdial/dialer"
)

func main() {
	var cfg config
	flag.IntVar(&cfg.N, "n", 10000, "number of dials")
	flag.IntVar(&cfg.Listeners, "listeners", 4, "loopback listeners that accept and close")
	flag.IntVar(&cfg.Refused, "refused", 2, "loopback ports that refuse (bound, not listening)")
	flag.IntVar(&cfg.RefusedEvery, "refused-every", 5, "every k-th dial goes to a refusing port (0: none)")
	flag.IntVar(&cfg.InFlight, "inflight", 0, "most dials in flight (0: as many as the open-files limit allows)")
	flag.IntVar(&cfg.Loops, "loops", 0, "reactor loops (0: the reactor's default)")
	flag.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "Dialer.Timeout")
	flag.Parse()
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.TTY = true
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	N            int
	Listeners    int
	Refused      int
	RefusedEvery int
	InFlight     int
	Loops        int
	Timeout      time.Duration
	// TTY redraws the progress line in place every 100ms; otherwise a
	// line is printed every Progress (default one second).
	TTY      bool
	Progress time.Duration
}

// summary is what run measured.
type summary struct {
	N, Started int
	// Counts holds the outcomes, indexed by dialer.Outcome.
	Counts        [dialer.OutcomeFailed + 1]int64
	Elapsed       time.Duration
	SoftLimit     uint64 // RLIMIT_NOFILE after raising it
	HardLimit     uint64
	InFlightLimit int
	PeakInFlight  int
	// StartGoroutines is the count once the listeners and the reactor run,
	// before the first dial; PeakGoroutines the highest count sampled.
	StartGoroutines, PeakGoroutines int
	PeakHeap, PeakSys               uint64 // sampled runtime.MemStats HeapInuse and Sys
	PeakRSS                         uint64 // VmHWM, 0 where unknown
}
