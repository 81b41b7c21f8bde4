package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// demo runs the proxy in front of an echo backend on loopback, sends a
// message through it, then stops the backend and shows the proxy marking
// it down.
func demo(w io.Writer) error {
	backend, stopBackend, err := echoServer()
	if err != nil {
		return err
	}
	defer stopBackend()
	p, err := startProxy(config{Listen: "127.0.0.1:0", Backend: backend, Timeout: 2 * time.Second, Retry: time.Second}, w)
	if err != nil {
		return err
	}
	defer p.Close()
	fmt.Fprintf(w, "proxy %s -> echo backend %s\n", p.Addr(), backend)

	msg := "hello through gnet and sigdial"
	got, err := roundTrip(p.Addr().String(), msg)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sent %q, got back %q\n", msg, got)

	fmt.Fprintln(w, "stopping the backend")
	stopBackend()
	for i := range 2 {
		_, err := roundTrip(p.Addr().String(), msg)
		if closedByPeer(err) {
			fmt.Fprintf(w, "client %d: closed by the proxy\n", i+1)
		} else {
			fmt.Fprintf(w, "client %d: %v\n", i+1, err)
		}
	}
	return nil
}

// roundTrip connects to addr, sends msg and reads as many bytes back. A
// connection the proxy closes gives io.EOF.
func roundTrip(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return string(buf), err
	}
	return string(buf), nil
}

// closedByPeer reports whether err says that the other end closed the
// connection: EOF, or a reset when it closed with bytes still unread.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// echoServer serves TCP echo on 127.0.0.1 until stop is called; stop may
// be called more than once.
func echoServer() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		once  sync.Once
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				io.Copy(c, c)
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			})
		}
	})
	stop = func() {
		once.Do(func() {
			ln.Close()
			mu.Lock()
			for c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	return ln.Addr().String(), stop, nil
}
