package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sigdial/sigdial/dialer"
	"github.com/sigdial/sigdial/reactor"
	"github.com/sigdial/sigdial/signals"
)

// config is what the flags set.
type config struct {
	Listen  string        // host:port the proxy listens on
	Backend string        // host:port of the backend, an IP literal
	Timeout time.Duration // Dialer.Timeout for backend dials
	// Retry is how long the backend stays down after a failed dial:
	// clients that arrive meanwhile are closed at once, without a dial.
	Retry time.Duration
}

// proxy is a TCP proxy. Its gnet server engine accepts clients (proxy
// implements gnet.EventHandler for it); for each, an AsyncDial connects to
// the backend on a sigdial reactor, and the backend conn is enrolled into
// a gnet.Client, so both sides of every session are served by gnet event
// loops.
type proxy struct {
	gnet.BuiltinEventEngine

	cfg    config
	log    io.Writer
	r      *reactor.Reactor
	d      *dialer.Dialer
	ctl    *signals.Loop // runs the Connected slots: Enroll waits for the client loop
	cli    *gnet.Client
	health health

	eng     gnet.Engine   // set by OnBoot
	addr    net.Addr      // set by OnBoot
	booted  chan struct{} // closed by OnBoot
	stopped chan struct{} // closed when gnet.Run has returned
	runErr  error         // gnet.Run's error, once stopped is closed
}

// session is one proxied connection. Calls from one gnet engine into the
// other (AsyncWrite, Close) are made under mu, after checking that the
// other side has not closed: each side's OnClose sets its flag under mu
// before its loop can exit, so no call ever reaches a poller that gnet
// has closed.
type session struct {
	p      *proxy
	client gnet.Conn
	dial   *dialer.AsyncDial

	mu           sync.Mutex
	backend      gnet.Conn // nil until enrolled
	pending      [][]byte  // client bytes read before the backend was up
	clientClosed bool      // the client conn's OnClose ran
	backendGone  bool      // the backend conn's OnClose ran, or it never came
}

// maxPending bounds what a client may send before its backend is up.
const maxPending = 1 << 20

// startProxy starts a proxy and returns once it listens.
func startProxy(cfg config, log io.Writer) (*proxy, error) {
	if _, _, err := net.SplitHostPort(cfg.Backend); err != nil {
		return nil, fmt.Errorf("backend address: %w", err)
	}
	log = &lockedWriter{w: log}
	p := &proxy{cfg: cfg, log: log, booted: make(chan struct{}), stopped: make(chan struct{})}
	var err error
	if p.r, err = reactor.New(reactor.WithLoops(1)); err != nil {
		return nil, err
	}
	p.ctl = signals.NewLoop()
	p.d = &dialer.Dialer{Reactor: p.r, Timeout: cfg.Timeout, Signals: &dialer.Signals{}}
	if err := p.health.watch(p.d.Signals, log); err != nil {
		p.closeDialing()
		return nil, err
	}
	logger := gnetLogger{log}
	if p.cli, err = gnet.NewClient(backendSide{p}, gnet.WithLogger(logger)); err == nil {
		err = p.cli.Start()
	}
	if err != nil {
		p.closeDialing()
		return nil, err
	}
	go func() {
		defer close(p.stopped)
		p.runErr = gnet.Run(p, "tcp://"+cfg.Listen, gnet.WithLogger(logger))
	}()
	select {
	case <-p.booted:
		return p, nil
	case <-p.stopped:
		p.closeDialing()
		p.cli.Stop()
		if p.runErr == nil {
			p.runErr = errors.New("gnet engine stopped before it booted")
		}
		return nil, p.runErr
	}
}

// Addr returns the address the proxy listens on.
func (p *proxy) Addr() net.Addr { return p.addr }

// Close stops the proxy: the server engine first (its OnClose ends every
// session: backend conns are closed, dials in progress canceled), then the
// reactor (a dial still running ends with Canceled), then the loop that
// runs Connected slots (a conn whose slot had not run yet is closed by the
// dial's drop hook), and the gnet client last, since the steps before may
// still close backend conns through it.
func (p *proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.eng.Stop(ctx)
	<-p.stopped
	p.closeDialing()
	return errors.Join(err, p.runErr, p.cli.Stop())
}

func (p *proxy) closeDialing() {
	p.r.Close()
	p.ctl.Close()
}

// OnBoot learns the engine and the address it listens on (the port may
// have been 0).
func (p *proxy) OnBoot(eng gnet.Engine) gnet.Action {
	p.eng = eng
	addr, err := listenAddr(eng)
	if err != nil {
		fmt.Fprintf(p.log, "cannot read the bound address (%v); using %s\n", err, p.cfg.Listen)
		addr, _ = net.ResolveTCPAddr("tcp", p.cfg.Listen)
	}
	p.addr = addr
	close(p.booted)
	return gnet.None
}

// listenAddr returns the address of eng's listener, from a duplicate of
// its socket.
func listenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "gnet listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	return ln.Addr(), nil
}

// OnOpen starts a session: an asynchronous dial of the backend, unless the
// backend is known to be down.
func (p *proxy) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if down, err := p.health.down(p.cfg.Retry); down {
		fmt.Fprintf(p.log, "client %s: backend down (%v), closed\n", c.RemoteAddr(), err)
		return nil, gnet.Close
	}
	s := &session{p: p, client: c}
	c.SetContext(s)
	x := p.d.NewAsyncDial("tcp", p.cfg.Backend)
	s.dial = x
	// Connected is queued to p.ctl: Enroll waits for the gnet client's
	// loop, which must not hold up the reactor loop that emits. If the
	// call cannot run (ctl closed), the dial's drop hook closes the conn.
	if _, err := x.Connected.Connect(s.connected, signals.On(p.ctl)); err != nil {
		return nil, gnet.Close
	}
	// Any other outcome ends the session. The health check learns why
	// from the Dialer-wide signals, which are emitted just after the
	// dial's own: a client that arrives in between still gets a dial.
	if _, err := x.Finished.Connect(func(f *dialer.Finished) {
		if f.Outcome != dialer.OutcomeConnected {
			s.closeClient()
		}
	}); err != nil {
		return nil, gnet.Close
	}
	if err := x.Start(context.Background()); err != nil {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

// OnTraffic forwards client bytes to the backend, or keeps them until it
// is up.
func (p *proxy) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*session)
	buf, _ := c.Next(-1)
	b := append([]byte(nil), buf...) // buf is gnet's until OnTraffic returns
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.backendGone:
		return gnet.Close
	case s.backend != nil:
		s.backend.AsyncWrite(b, nil)
	default:
		if n := pendingLen(s.pending); n+len(b) > maxPending {
			return gnet.Close
		}
		s.pending = append(s.pending, b)
	}
	return gnet.None
}

// OnClose ends the session from the client side.
func (p *proxy) OnClose(c gnet.Conn, _ error) gnet.Action {
	s, ok := c.Context().(*session)
	if !ok {
		return gnet.None // closed in OnOpen
	}
	s.mu.Lock()
	s.clientClosed = true
	b := s.backend
	if b != nil && !s.backendGone {
		b.Close()
	}
	s.mu.Unlock()
	if b == nil {
		s.dial.Cancel() // no effect once the dial has finished
	}
	return gnet.None
}

// connected runs on p.ctl with the backend conn, which it owns: the conn
// goes to the gnet client (Enroll takes a duplicate of its socket and
// closes it) or is closed.
func (s *session) connected(c *dialer.Connected) {
	bc, err := s.p.cli.EnrollContext(c.Conn, s)
	if err != nil {
		fmt.Fprintf(s.p.log, "enroll %s: %v\n", c.Address, err)
		s.closeClient()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientClosed {
		bc.Close()
		return
	}
	s.backend = bc
	if len(s.pending) > 0 {
		bc.AsyncWritev(s.pending, nil)
		s.pending = nil
	}
}

// closeClient closes the client conn unless gnet already did.
func (s *session) closeClient() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backendGone = true
	if !s.clientClosed {
		s.client.Close()
	}
}

func pendingLen(bs [][]byte) (n int) {
	for _, b := range bs {
		n += len(b)
	}
	return n
}

// backendSide is the gnet.Client's event handler: the backend conns.
type backendSide struct{ p *proxy }

func (backendSide) OnBoot(gnet.Engine) gnet.Action         { return gnet.None }
func (backendSide) OnShutdown(gnet.Engine)                 {}
func (backendSide) OnOpen(gnet.Conn) ([]byte, gnet.Action) { return nil, gnet.None }
func (backendSide) OnTick() (time.Duration, gnet.Action)   { return 0, gnet.None }
func (backendSide) OnClose(c gnet.Conn, _ error) gnet.Action {
	c.Context().(*session).closeClient()
	return gnet.None
}
func (backendSide) OnTraffic(c gnet.Conn) gnet.Action { return c.Context().(*session).fromBackend(c) }

// fromBackend forwards backend bytes to the client.
func (s *session) fromBackend(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	b := append([]byte(nil), buf...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientClosed {
		return gnet.Close
	}
	s.client.AsyncWrite(b, nil)
	return gnet.None
}

// health is the backend's state as the Dialer-wide signals report it:
// down after a dial was refused, found no route or timed out; up after a
// dial connected.
type health struct {
	mu    sync.Mutex
	known bool
	up    bool
	err   error // why it is down
	since time.Time
}

// watch subscribes the health check to every dial made with s's Dialer.
// The slots run on the reactor loop that emits; they only take a lock.
func (h *health) watch(s *dialer.Signals, log io.Writer) error {
	if _, err := s.Connected.Connect(func(*dialer.Connected) { h.set(true, nil, log) }); err != nil {
		return err
	}
	for _, sig := range []*signals.Signal[*dialer.DialError]{&s.Refused, &s.Unreachable, &s.TimedOut} {
		if _, err := sig.Connect(func(e *dialer.DialError) { h.set(false, e.Err, log) }); err != nil {
			return err
		}
	}
	return nil
}

func (h *health) set(up bool, err error, log io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.known || h.up != up {
		if up {
			fmt.Fprintln(log, "backend up")
		} else {
			fmt.Fprintf(log, "backend down: %v\n", err)
		}
	}
	h.known, h.up, h.err = true, up, err
	if !up {
		h.since = time.Now() // every failure starts the retry interval again
	}
}

// down reports whether the backend was marked down less than retry ago,
// and why.
func (h *health) down(retry time.Duration) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.known && !h.up && time.Since(h.since) < retry, h.err
}

// state returns the current state for display: "unknown", "up" or
// "down: <error>".
func (h *health) state() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.known:
		return "unknown"
	case h.up:
		return "up"
	}
	return "down: " + h.err.Error()
}

// gnetLogger passes gnet's warnings and errors to the proxy's log and
// drops its debug and info messages.
type gnetLogger struct{ w io.Writer }

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (l gnetLogger) Warnf(format string, args ...any) {
	fmt.Fprintf(l.w, "gnet warning: "+format+"\n", args...)
}
func (l gnetLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(l.w, "gnet error: "+format+"\n", args...)
}
func (l gnetLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(l.w, "gnet fatal: "+format+"\n", args...)
}

// lockedWriter serialises writes from the goroutines that log: gnet's
// loops, the reactor loop, the ctl loop.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
