//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/examples/internal/loopback"
	"github.com/sigdial/sigdial/reactor"
)

const (
	// fdsPerDial is what one dial in flight may hold: its socket (the
	// conversion to a net.Conn duplicates it only for an instant, one per
	// loop at a time) and the socket the in-process listener accepts for it.
	fdsPerDial = 2
	// spareFDs is left for everything else: stdio, the reactor's and the
	// runtime's pollers, the listeners, the transient duplicates.
	spareFDs = 256
	// sampleEvery is how often goroutines and memory are sampled.
	sampleEvery = 20 * time.Millisecond
)

// run makes cfg.N dials and writes progress and a summary to w.
func run(ctx context.Context, cfg config, w io.Writer) (summary, error) {
	s := summary{N: cfg.N}
	switch {
	case cfg.N < 0:
		return s, errors.New("-n must not be negative")
	case cfg.Listeners < 1:
		return s, errors.New("-listeners must be at least 1")
	case cfg.RefusedEvery < 0:
		return s, errors.New("-refused-every must not be negative")
	case cfg.RefusedEvery > 0 && cfg.Refused < 1:
		return s, errors.New("-refused-every needs -refused of at least 1")
	}
	soft, hard, err := raiseNoFile()
	if err != nil {
		return s, err
	}
	s.SoftLimit, s.HardLimit = soft, hard

	// The endpoints: listeners that accept and close at once, and ports
	// where nothing listens.
	var (
		accepting, refusing []string
		closers             []func()
		served              sync.WaitGroup
	)
	defer func() {
		for _, c := range closers {
			c()
		}
		served.Wait()
	}()
	for range cfg.Listeners {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return s, err
		}
		closers = append(closers, func() { ln.Close() })
		accepting = append(accepting, ln.Addr().String())
		served.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
	}
	if cfg.RefusedEvery > 0 {
		for range cfg.Refused {
			addr, closeFn, err := loopback.RefusedPort()
			if err != nil {
				return s, err
			}
			closers = append(closers, closeFn)
			refusing = append(refusing, addr.String())
		}
	}
	target := func(i int) string {
		if k := cfg.RefusedEvery; k > 0 && i%k == k-1 {
			return refusing[(i/k)%len(refusing)]
		}
		return accepting[i%len(accepting)]
	}

	var opts []reactor.Option
	if cfg.Loops > 0 {
		opts = append(opts, reactor.WithLoops(cfg.Loops))
	}
	r, err := reactor.New(opts...)
	if err != nil {
		return s, err
	}
	defer r.Close()

	// Bound the dials in flight by what the open-files limit leaves.
	open := openFiles(soft)
	limit := (int(soft) - open - spareFDs) / fdsPerDial
	if limit < 1 {
		return s, fmt.Errorf("open-files limit %d leaves no room for dials (%d files open)", soft, open)
	}
	if cfg.InFlight > 0 && cfg.InFlight < limit {
		limit = cfg.InFlight
	}
	s.InFlightLimit = limit

	fmt.Fprintf(w, "fanout: %d dials to %d accepting listeners", cfg.N, len(accepting))
	if len(refusing) > 0 {
		fmt.Fprintf(w, " and %d refusing ports (1 dial in %d)", len(refusing), cfg.RefusedEvery)
	}
	fmt.Fprintf(w, " on 127.0.0.1, reactor of %d loops\n", r.Len())
	fmt.Fprintf(w, "open files: soft limit %d (hard %d), %d open: at most %d dials in flight (%d files each, %d spare)\n",
		soft, hard, open, limit, fdsPerDial, spareFDs)

	// The outcomes are counted once, on the Dialer-wide Signals. The slot
	// has no executor: it runs directly on the loop that emits, so it only
	// counts, and frees the dial's place in flight.
	sem := make(chan struct{}, limit)
	var counts [dialer.OutcomeFailed + 1]atomic.Int64
	var finished atomic.Int64
	d := &dialer.Dialer{Reactor: r, Timeout: cfg.Timeout, Signals: &dialer.Signals{}}
	if _, err := d.Signals.Finished.Connect(func(f *dialer.Finished) {
		counts[f.Outcome].Add(1)
		finished.Add(1)
		<-sem
	}); err != nil {
		return s, err
	}

	s.StartGoroutines = runtime.NumGoroutine()
	var started atomic.Int64
	progress := func(final bool) {
		n := finished.Load()
		line := fmt.Sprintf("%d/%d done, %d in flight, connected %d, refused %d, other %d",
			n, cfg.N, started.Load()-n,
			counts[dialer.OutcomeConnected].Load(), counts[dialer.OutcomeRefused].Load(),
			n-counts[dialer.OutcomeConnected].Load()-counts[dialer.OutcomeRefused].Load())
		switch {
		case cfg.TTY && final:
			fmt.Fprintf(w, "\r%s\033[K\n", line)
		case cfg.TTY:
			fmt.Fprintf(w, "\r%s\033[K", line)
		default:
			fmt.Fprintln(w, line)
		}
	}
	every := cfg.Progress
	if every <= 0 {
		every = time.Second
		if cfg.TTY {
			every = 100 * time.Millisecond
		}
	}
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		var ms runtime.MemStats
		last := time.Now()
		for {
			s.PeakGoroutines = max(s.PeakGoroutines, runtime.NumGoroutine())
			runtime.ReadMemStats(&ms)
			s.PeakHeap, s.PeakSys = max(s.PeakHeap, ms.HeapInuse), max(s.PeakSys, ms.Sys)
			if now := time.Now(); now.Sub(last) >= every {
				progress(false)
				last = now
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	var launchErr error
launch:
	for i := range cfg.N {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			launchErr = ctx.Err()
			break launch
		}
		x := d.NewAsyncDial("tcp", target(i))
		// The dial's own Connected slot owns the conn.
		if _, err := x.Connected.Connect(closeConn); err != nil {
			<-sem
			launchErr = err
			break
		}
		if err := x.Start(ctx); err != nil {
			<-sem
			launchErr = err
			break
		}
		n := started.Add(1)
		s.PeakInFlight = max(s.PeakInFlight, int(n-finished.Load()))
	}
	// Every dial started ends with Finished, which frees its place: once
	// all places are taken here, they have all finished.
	for range limit {
		sem <- struct{}{}
	}
	s.Elapsed = time.Since(start)
	close(stop)
	<-sampled
	s.Started = int(started.Load())
	for o := range counts {
		s.Counts[o] = counts[o].Load()
	}
	s.PeakRSS, _ = peakRSS()
	progress(true)
	printSummary(w, &s)
	if launchErr != nil && !errors.Is(launchErr, context.Canceled) {
		return s, launchErr
	}
	return s, nil
}

// closeConn is every dial's Connected slot: the conn is the slot's, and it
// only closes it. SO_LINGER 0 resets the connection instead of leaving the
// client's port in TIME_WAIT, so that runs one after the other do not use
// up the ephemeral ports.
func closeConn(c *dialer.Connected) {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Conn.Close()
}

func printSummary(w io.Writer, s *summary) {
	fmt.Fprintln(w, "outcomes, from the Dialer-wide signals:")
	for o := dialer.OutcomeConnected; o <= dialer.OutcomeFailed; o++ {
		fmt.Fprintf(w, "  %-12s %d\n", signalName(o), s.Counts[o])
	}
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Started) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "%d dials in %v: %.0f dials/s\n", s.Started, s.Elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "in flight: peak %d, limit %d\n", s.PeakInFlight, s.InFlightLimit)
	fmt.Fprintf(w, "goroutines: peak %d, %d before the first dial\n", s.PeakGoroutines, s.StartGoroutines)
	fmt.Fprintf(w, "memory: peak Go heap in use %s, Go runtime total (Sys) %s", formatBytes(s.PeakHeap), formatBytes(s.PeakSys))
	if s.PeakRSS > 0 {
		fmt.Fprintf(w, ", peak RSS (VmHWM) %s", formatBytes(s.PeakRSS))
	}
	fmt.Fprintln(w)
}

// signalName is the name of the signal that carries outcome o.
func signalName(o dialer.Outcome) string {
	return [...]string{
		dialer.OutcomeConnected:   "Connected",
		dialer.OutcomeRefused:     "Refused",
		dialer.OutcomeUnreachable: "Unreachable",
		dialer.OutcomeTimedOut:    "TimedOut",
		dialer.OutcomeCanceled:    "Canceled",
		dialer.OutcomeFailed:      "Failed",
	}[o]
}
