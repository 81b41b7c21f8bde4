//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package reactor_test

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/reactor"
)

// Example starts a reactor, connects to a loopback listener and hands the
// connected socket to the net package.
func Example() {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()

	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	type outcome struct {
		conn net.Conn
		err  error
	}
	ch := make(chan outcome, 1)
	req := &reactor.ConnectRequest{
		Family:   unix.AF_INET,
		Type:     unix.SOCK_STREAM,
		Remote:   &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())},
		Deadline: time.Now().Add(5 * time.Second),
	}
	// done runs once, on the loop; on success it owns fd.
	_, err = r.Next().Connect(req, func(fd int, err error) {
		if err != nil {
			ch <- outcome{err: err}
			return
		}
		f := os.NewFile(uintptr(fd), "tcp")
		c, err := net.FileConn(f) // dups fd
		f.Close()
		ch <- outcome{c, err}
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	select {
	case o := <-ch:
		if o.err != nil {
			fmt.Println("connect failed:", o.err)
			return
		}
		defer o.conn.Close()
		fmt.Printf("connected: %T, remote is the listener: %v\n",
			o.conn, o.conn.RemoteAddr().String() == ln.Addr().String())
	case <-time.After(10 * time.Second):
		fmt.Println("no outcome in 10s")
	}
	// Output:
	// connected: *net.TCPConn, remote is the listener: true
}

// ExampleLoop_AfterFunc posts functions to a loop and schedules timers on
// it. Functions run one at a time on the loop goroutine, so the state they
// share needs no lock; timers are created and stopped from the loop.
func ExampleLoop_AfterFunc() {
	r, err := reactor.New(reactor.WithLoops(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	l := r.Loop(0)

	var events []string // touched only on the loop
	done := make(chan struct{})
	_ = l.Post(func() {
		events = append(events, "first post")
		l.AfterFunc(20*time.Millisecond, func() {
			events = append(events, "timer 20ms")
			close(done)
		})
		l.AfterFunc(10*time.Millisecond, func() {
			events = append(events, "timer 10ms")
		})
		stopped := l.AfterFunc(time.Millisecond, func() {
			events = append(events, "never runs")
		})
		stopped.Stop()
	})
	_ = l.Post(func() { events = append(events, "second post") })

	select {
	case <-done:
		for _, e := range events {
			fmt.Println(e)
		}
	case <-time.After(10 * time.Second):
		fmt.Println("timers did not fire in 10s")
	}
	// Output:
	// first post
	// second post
	// timer 10ms
	// timer 20ms
}
