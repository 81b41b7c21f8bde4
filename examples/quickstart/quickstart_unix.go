//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/examples/internal/loopback"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// timeout is the Dialer's Timeout: how long the dial to the full accept
// queue waits before it ends with TimedOut.
const timeout = 200 * time.Millisecond

// run makes the four dials, writing what happens to w.
func run(w io.Writer) error {
	r, err := reactor.New(reactor.WithLoops(2))
	if err != nil {
		return err
	}
	defer r.Close()
	app := signals.NewLoop()
	defer app.Close()

	// The endpoints, all on 127.0.0.1.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-served }()
	refused, closeRefused, err := loopback.RefusedPort()
	if err != nil {
		return err
	}
	defer closeRefused()
	full, closeFull, err := fullQueue()
	if err != nil {
		return err
	}
	defer closeFull()

	// One Dialer for the four dials. Its Signals see every dial made
	// through it: a metrics counter subscribes once, on the app loop, where
	// counts needs no lock because only that loop touches it.
	d := &dialer.Dialer{Reactor: r, Timeout: timeout, Signals: &dialer.Signals{}}
	var counts [dialer.OutcomeFailed + 1]int
	if _, err := d.Signals.Finished.Connect(func(f *dialer.Finished) { counts[f.Outcome]++ },
		signals.On(app), signals.WithType(signals.QueuedConnection)); err != nil {
		return err
	}

	recv := r.Loop(1)
	fmt.Fprintf(w, "sigdial quickstart: 4 asynchronous dials on a reactor of %d loops\n", r.Len())
	fmt.Fprintf(w, "each dial's slots are connected with signals.On(reactor loop %d); the Dialer-wide Finished is queued to the app loop\n", recv.Index())
	cases := []struct {
		what   string
		addr   string
		cancel bool
	}{
		{"a listener that accepts", ln.Addr().String(), false},
		{"a port bound but not listening", refused.String(), false},
		{fmt.Sprintf("a full accept queue, Timeout %v", timeout), full.String(), false},
		{"the full accept queue, Cancel() right after Start", full.String(), true},
	}
	for i, c := range cases {
		fmt.Fprintf(w, "dial %d: tcp %s, %s\n", i+1, c.addr, c.what)
		if err := dialOne(w, d, recv, c.addr, c.cancel); err != nil {
			return err
		}
	}

	// Queued calls run in order: once this one runs, the four counts are in.
	done := make(chan struct{})
	if err := app.Post(func() {
		fmt.Fprintf(w, "Dialer-wide Finished, counted on the app loop: connected %d, refused %d, timed out %d, canceled %d\n",
			counts[dialer.OutcomeConnected], counts[dialer.OutcomeRefused],
			counts[dialer.OutcomeTimedOut], counts[dialer.OutcomeCanceled])
		close(done)
	}); err != nil {
		return err
	}
	<-done
	return nil
}

// dialOne makes one asynchronous dial of addr whose slots run on recv, and
// waits until its Finished slot has run. With cancel, it cancels the dial
// as soon as it has started.
func dialOne(w io.Writer, d *dialer.Dialer, recv *reactor.Loop, addr string, cancel bool) error {
	x := d.NewAsyncDial("tcp", addr)

	// Connect the slots before Start: no outcome can be missed. With an
	// executor named, each slot runs on it whichever loop emits.
	on := signals.On(recv)
	where := fmt.Sprintf("on reactor loop %d", recv.Index())
	if _, err := x.Connected.Connect(func(c *dialer.Connected) {
		fmt.Fprintf(w, "  %-11s %s: %s -> %s (%T); the slot owns the conn and closes it\n",
			"Connected", where, c.Conn.LocalAddr(), c.Conn.RemoteAddr(), c.Conn)
		c.Conn.Close()
	}, on); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		sig  *signals.Signal[*dialer.DialError]
	}{
		{"Refused", &x.Refused},
		{"Unreachable", &x.Unreachable},
		{"TimedOut", &x.TimedOut},
		{"Canceled", &x.Canceled},
		{"Failed", &x.Failed},
	} {
		if _, err := s.sig.Connect(func(e *dialer.DialError) {
			fmt.Fprintf(w, "  %-11s %s: %v\n", s.name, where, e.Err)
		}, on); err != nil {
			return err
		}
	}
	finished := make(chan struct{})
	if _, err := x.Finished.Connect(func(f *dialer.Finished) {
		fmt.Fprintf(w, "  %-11s %s: %v\n", "Finished", where, f.Outcome)
		close(finished)
	}, on); err != nil {
		return err
	}

	if err := x.Start(context.Background()); err != nil {
		return err
	}
	if cancel {
		x.Cancel()
	}
	// finished: the slots on recv have run. Done: the dial is over, and the
	// Dialer-wide signals have been emitted too (here: queued to the app
	// loop), since they come after the dial's own.
	limit := time.After(5 * time.Second)
	for _, ch := range []<-chan struct{}{finished, x.Done()} {
		select {
		case <-ch:
		case <-limit:
			x.Cancel()
			return errors.New("dial of " + addr + " did not finish within 5s")
		}
	}
	return nil
}
