//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigdial/sigdial/examples/internal/loopback"
)

// fullQueue returns the address of a listener whose accept queue is full:
// listen(fd, 0) queues one connection, the queue is filled by connecting,
// and the listener never accepts. From then on the kernel drops every SYN
// to it, so a connect stays pending until its deadline (fault recipe R2).
// close closes the filling connections and the listener.
func fullQueue() (addr netip.AddrPort, close func(), err error) {
	fd, addr, err := loopback.BoundSocket()
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	if err := unix.Listen(fd, 0); err != nil {
		unix.Close(fd)
		return netip.AddrPort{}, nil, os.NewSyscallError("listen", err)
	}
	var fill []net.Conn
	close = func() {
		for _, c := range fill {
			c.Close()
		}
		unix.Close(fd)
	}
	// Fill one connect at a time: a burst could be admitted while the
	// queue still had room.
	for range 8 {
		queued, full, known := acceptQueue(fd)
		if full {
			return addr, close, nil
		}
		// Where the queue cannot be read (not Linux), a loopback SYN that
		// gets no answer within 100ms was dropped: the queue is full.
		c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond)
		var ne net.Error
		if !known && errors.As(err, &ne) && ne.Timeout() {
			return addr, close, nil
		}
		if err != nil {
			close()
			return netip.AddrPort{}, nil, err
		}
		fill = append(fill, c)
		if known {
			// The server side joins the queue when the kernel handles
			// the final ACK, which may come just after connect returned.
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if q, _, _ := acceptQueue(fd); q > queued {
					break
				}
			}
		}
	}
	close()
	return netip.AddrPort{}, nil, errors.New("the accept queue of a listen(fd, 0) socket did not fill after 8 connects")
}
