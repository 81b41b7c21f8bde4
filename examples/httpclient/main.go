// Command httpclient uses a sigdial Dialer as the dialer of an
// http.Transport, the drop-in case:
//
//	tr := &http.Transport{DialContext: d.DialContext}
//
//	go run ./examples/httpclient
//
// It starts an HTTP server on 127.0.0.1 and makes three GETs: one that
// dials a new connection, one that reuses it (no dial at all), and one to a
// port where nothing listens. httptrace hooks print ConnectStart and
// ConnectDone, which the Dialer calls as net.Dialer does, and slots on the
// Dialer-wide Signals print the outcome of every dial the Transport makes:
// the place for a health check or metrics, subscribed once.
//
// The Dialer is a zero Dialer apart from Timeout and Signals, so it dials
// on the shared default reactor, which run closes at the end with
// reactor.CloseDefault. The slots have no executor: for a blocking dial
// they run on the goroutine that dials (the Transport's), before
// DialContext returns, so their output comes in a fixed order.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sync"
	"time"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/examples/internal/loopback"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpclient:", err)
		os.Exit(1)
	}
}

// run serves, makes the three requests and writes what happens to w.
func run(w io.Writer) error {
	out := &lockedWriter{w: w}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
			fmt.Fprintf(rw, "hello, %s", req.URL.Path[1:])
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	defer func() { srv.Close(); <-served }()
	refused, closeRefused, err := loopback.RefusedPort()
	if err != nil {
		return err
	}
	defer closeRefused()

	// The Dialer: net.Dialer's fields, plus Signals for every dial made
	// through it.
	defer reactor.CloseDefault()
	d := &dialer.Dialer{Timeout: 5 * time.Second, Signals: &dialer.Signals{}}
	if err := observe(out, d.Signals); err != nil {
		return err
	}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	trace := &httptrace.ClientTrace{
		ConnectStart: func(network, addr string) {
			fmt.Fprintf(out, "  httptrace ConnectStart: %s %s\n", network, addr)
		},
		ConnectDone: func(network, addr string, err error) {
			fmt.Fprintf(out, "  httptrace ConnectDone:  %s %s, err %v\n", network, addr, err)
		},
		GotConn: func(info httptrace.GotConnInfo) {
			fmt.Fprintf(out, "  httptrace GotConn: reused %v\n", info.Reused)
		},
	}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	for _, url := range []string{
		"http://" + ln.Addr().String() + "/sigdial",
		"http://" + ln.Addr().String() + "/again",
		"http://" + refused.String() + "/",
	} {
		fmt.Fprintf(out, "GET %s\n", url)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(out, "  error: %v\n", err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s: %q\n", resp.Status, body)
	}
	return nil
}

// observe connects slots that print every outcome on s, and Finished.
func observe(w io.Writer, s *dialer.Signals) error {
	if _, err := s.Connected.Connect(func(c *dialer.Connected) {
		// Observation only: the Transport owns the conn.
		fmt.Fprintf(w, "  Dialer.Signals Connected: %s %s, %T, %d attempt(s)\n",
			c.Network, c.Address, c.Conn, c.Attempts)
	}); err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		sig  *signals.Signal[*dialer.DialError]
	}{
		{"Refused", &s.Refused},
		{"Unreachable", &s.Unreachable},
		{"TimedOut", &s.TimedOut},
		{"Canceled", &s.Canceled},
		{"Failed", &s.Failed},
	} {
		if _, err := e.sig.Connect(func(de *dialer.DialError) {
			fmt.Fprintf(w, "  Dialer.Signals %s: %v\n", e.name, de.Err)
		}); err != nil {
			return err
		}
	}
	_, err := s.Finished.Connect(func(f *dialer.Finished) {
		fmt.Fprintf(w, "  Dialer.Signals Finished: %v\n", f.Outcome)
	})
	return err
}

// lockedWriter serialises writes from the goroutines that print: the
// request's, the Transport's dialing one.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
