// Package dialer provides Dialer, a drop-in replacement for net.Dialer whose
// connects run on the event loops of a reactor.Reactor instead of parking a
// goroutine per pending connect.
//
// # Drop-in contract
//
// Code written for net.Dialer keeps working when the type changes:
//
//   - Dialer has every exported field of Go 1.26's net.Dialer, with the same
//     names, types, zero values and meanings, plus Reactor (nil: the shared
//     default reactor). Its methods have net.Dialer's signatures: Dial,
//     DialContext, DialTCP, DialUDP, DialIP, DialUnix, MultipathTCP and
//     SetMultipathTCP; the package functions Dial and DialTimeout match
//     net's. DialContext fits http.Transport.DialContext and every other
//     API that takes a func(ctx, network, address) (net.Conn, error).
//   - The same networks ("tcp", "tcp4", "tcp6", "udp", "udp4", "udp6",
//     "ip:proto", "ip4:proto", "ip6:proto", "unix", "unixgram",
//     "unixpacket") and address forms are accepted, and host and service
//     names are resolved through Resolver (net.DefaultResolver if nil).
//   - A successful dial returns the real *net.TCPConn, *net.UDPConn,
//     *net.IPConn or *net.UnixConn, so type assertions, SetNoDelay,
//     CloseWrite, SyscallConn and the splice/sendfile paths of io.Copy keep
//     working. TCP conns get TCP_NODELAY and net's keep-alive settings.
//   - Failures are the errors net.Dialer returns for the same situation:
//     a *net.OpError{Op: "dial", ...} around an *os.SyscallError, a
//     *net.AddrError, a *net.DNSError or a net.UnknownNetworkError, with
//     the same Error text, the same errors.Is and errors.As answers and the
//     same Timeout result. Timeouts print "i/o timeout"; cancellations print
//     "operation was canceled" and are context.Canceled.
//   - Timeout arithmetic (a dial's deadline split over the addresses of a
//     name, at least 2 s each), Happy Eyeballs for "tcp" (FallbackDelay),
//     Control and ControlContext (called with "tcp4"/"tcp6"... and the
//     resolved address), MPTCP (SetMultipathTCP, GODEBUG=multipathtcp) and
//     net/http/httptrace's ConnectStart/ConnectDone are as in net.
//
// # Outcome signals
//
// Every dial ends in exactly one outcome, classified by Classify:
// Connected, Refused (ECONNREFUSED), Unreachable (EHOSTUNREACH,
// ENETUNREACH, EHOSTDOWN, ENETDOWN), TimedOut (Timeout, Deadline, the
// context's deadline, ETIMEDOUT), Canceled (the context, Cancel, the
// reactor closed) or Failed (anything else). Set Dialer.Signals to observe
// every dial made through the Dialer, blocking or asynchronous, in one
// place: the outcome signal, then Finished, and AttemptStarted and
// AttemptFailed for each address tried. A failure's payload carries the
// error the blocking API returns.
//
// # Asynchronous dials
//
// NewAsyncDial returns an AsyncDial whose signals can be connected before
// Start, so no outcome is lost. Start returns at once; no goroutine waits
// for the dial. Its connects wait in a reactor loop's poller, its deadlines
// in the loop's timer heap, and Happy Eyeballs and the fallback over
// several addresses run on the loop. Only a host name that needs the
// resolver is resolved on a goroutine. The outcome is emitted from the
// loop, never inside Start, with the delivery rules of package signals:
// a slot connected without an executor runs on the loop; one connected
// with signals.On(ex) runs on ex (a signals.Loop, another reactor loop).
// The conn in the dial's Connected payload belongs to its slots; one that
// no slot takes is closed (see AsyncDial).
//
// A blocking dial is the same machinery plus a wait, with one shortcut:
// the calling goroutine makes the connect's system calls itself, and a
// connect the kernel finished inside connect(2) — loopback, usually —
// returns without touching a loop.
//
// # Where it differs
//
// Deliberately:
//
//   - A timed-out dial's error is both context.DeadlineExceeded and
//     os.ErrDeadlineExceeded for errors.Is. net.Dialer returns one or the
//     other, depending on which of its timers fires first; code that checks
//     either keeps working, and code that checks net.Error's Timeout method
//     sees no change.
//
// Because the connection is made outside the net package and handed over
// with net.FileConn:
//
//   - The returned conn's own I/O errors (from Read, Write, ...) name the
//     socket's network as "tcp", "udp" or "ip": for a dial on "tcp4",
//     "tcp6", "udp4", "udp6", "ip4:..." or "ip6:..." net names that network
//     instead ("read tcp4 ..."). Dial errors are not affected.
//   - The syscall.RawConn given to Control and ControlContext is valid only
//     while the function runs; afterwards its methods fail with
//     net.ErrClosed. Its Read and Write call their function once and cannot
//     wait, which is also what net's RawConn does at that point.
//   - When keep-alive is disabled, or a KeepAliveConfig field is negative,
//     net leaves the socket option unset, so it follows later changes of the
//     kernel's default; this package writes the default back and pins it.
//   - Handing a socket to the net package costs a few system calls that
//     net.Dialer does not make (see newConn in conn_unix.go for the count).
//
// # Other systems
//
// The reactor exists on Linux, macOS, FreeBSD, NetBSD, OpenBSD and
// DragonFly. On every other system (Windows among them) a Dialer makes its
// dials with a net.Dialer built from its fields, so it behaves exactly as
// net.Dialer there, and the Reactor field is ignored.
package dialer

// BUG(sigdial): A host name resolved for "tcp4", "tcp6", "udp4" or "udp6"
// loses an IPv6 zone given in /etc/hosts ("fe80::1%eth0 name"): the family
// filtered lookup goes through net.Resolver.LookupNetIP, which drops zones.
