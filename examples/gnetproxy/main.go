// Command gnetproxy is a TCP proxy built from a gnet server, sigdial's
// asynchronous dials and a gnet client:
//
//   - a gnet server engine accepts client connections;
//   - for each, an AsyncDial connects to the backend on a sigdial reactor
//     loop, with no goroutine waiting for it;
//   - on Connected, the backend conn is enrolled into a gnet.Client
//     (Client.Enroll), and bytes flow both ways between the two gnet
//     engines;
//   - Refused, Unreachable and TimedOut, observed once on the Dialer-wide
//     signals, mark the backend down: the client is closed, and clients
//     that arrive within -retry are closed at once, without a dial.
//
// Without -backend it runs a self-contained demo on loopback: an echo
// backend, a message through the proxy and back, then the backend goes
// away and the proxy marks it down.
//
//	go run ./examples/gnetproxy
//	go run ./examples/gnetproxy -listen 127.0.0.1:7000 -backend 127.0.0.1:8000
//
// The proxy has no flow control: a fast sender in front of a slow reader
// grows gnet's outbound buffers.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "address to listen on")
	flag.StringVar(&cfg.Backend, "backend", "", "backend address, an IP literal and a port (empty: run the loopback demo)")
	flag.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "backend dial timeout")
	flag.DurationVar(&cfg.Retry, "retry", time.Second, "how long a failed backend stays down")
	flag.Parse()

	if cfg.Backend == "" {
		if err := demo(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "gnetproxy:", err)
			os.Exit(1)
		}
		return
	}
	p, err := startProxy(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gnetproxy:", err)
		os.Exit(1)
	}
	fmt.Printf("proxying %s -> %s; interrupt to stop\n", p.Addr(), cfg.Backend)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	if err := p.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "gnetproxy:", err)
		os.Exit(1)
	}
}
