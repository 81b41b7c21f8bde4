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
// A pending AsyncDial of a literal address is one 320-byte allocation: its
// nine signals and the dial state, with the reactor's Op inside. Once its
// connect is in the poller it keeps no resolved address (one is derived
// again from the address string if the connect fails). A dial whose
// context can be canceled adds no watcher of its own: each loop watches
// each context Done channel once, however many of its dials share it, so
// canceling a server's lifetime context wakes each loop once. The README
// compares the footprint with net.Dialer's goroutine per dial.
//
// A Control or ControlContext that panics while the dial runs on a loop —
// always for an AsyncDial, and for a blocking dial's attempts after its
// first connect went to the poller — has no caller to reach: the panic
// goes to the reactor's panic handler (reactor.WithPanicHandler) and the
// attempt fails with an error that says so. On the caller's goroutine the
// panic propagates, as net.Dialer's does.
//
// A blocking dial is the same machinery plus a wait, with one shortcut:
// the calling goroutine makes the connect's system calls itself, and a
// connect the kernel finished inside connect(2) — loopback, usually —
// returns without touching a loop.
//
// # Errors of connect(2)
//
// Each errno that connect(2), and the socket(2) and bind(2) calls before
// it, can fail with lands on one outcome signal, and the blocking API
// returns it as net.Dialer does, naming the system call that failed:
// "dial tcp 127.0.0.1:80: connect: connection refused", "dial tcp
// 127.0.0.1:1->127.0.0.1:80: bind: address already in use", "socket:
// too many open files", or "getsockopt" when reading SO_ERROR itself
// failed. The table has the errnos of connect(2) in POSIX, Linux and glibc,
// plus EMFILE, ENFILE and ENOBUFS, with the way the package's tests make a
// dial meet each one; every row has a test, made for real wherever the
// kernel can be driven to the errno, and compared with net.Dialer's error
// for the same setup. "Seam" marks errnos that come through the reactor's
// system call hooks, because the kernel cannot be made to return them to
// the dialer on demand; for EALREADY and EISCONN the hook also gets the
// kernel's own answer, by calling connect(2) a second or third time.
//
//	errno          outcome      how the tests produce it
//	EACCES         Failed       a "prohibit" route (IPv4, IPv6); ICMPv6 administratively prohibited
//	EPERM          Failed       a cgroup BPF connect program that refuses the port (a local firewall)
//	EADDRINUSE     Failed       bind: LocalAddr is a port in use, or port 0 with no ephemeral port left
//	EADDRNOTAVAIL  Failed       no ephemeral port left for the destination; bind: LocalAddr not local
//	EAFNOSUPPORT   Failed       Control puts an IPv4 socket in place of a tcp6 dial's
//	EAGAIN         Failed       a unix stream listener with a full backlog
//	EALREADY       waits        seam: connect(2) again on a socket whose SYN is unanswered; injected
//	EBADF          Failed       Control puts an O_PATH descriptor in place of the socket
//	ECONNREFUSED   Refused      a port bound but not listening (RST); ICMP port unreachable
//	EINPROGRESS    waits        every connect that does not finish inside the call
//	EINTR          waits        seam: connect(2) interrupted, the connect goes on
//	EISCONN        Connected    seam: connect(2) again on a connected socket; from SO_ERROR, injected
//	ENETUNREACH    Unreachable  no route; ICMP network unreachable, answered late
//	EHOSTUNREACH   Unreachable  an "unreachable" route; ICMP host unreachable, answered late
//	ENOTSOCK       Failed       Control puts /dev/null in place of the socket
//	ETIMEDOUT      TimedOut     a SYN dropped silently, TCP_USER_TIMEOUT or TCP_SYNCNT, no deadline
//	EMFILE         Failed       RLIMIT_NOFILE reached (in a child process)
//	ENFILE         Failed       seam (socket)
//	ENOBUFS        Failed       seam (socket, connect, SO_ERROR)
//
// "Waits" means the connect is in progress: the dial waits for it and ends
// in whatever outcome the connect reaches, as net's does. EINTR is not
// answered with a second connect(2): POSIX says the connect goes on
// asynchronously. Any errno not in the table is Failed. Notes:
//
//   - ETIMEDOUT is the kernel giving up on a SYN with no answer: "connect:
//     connection timed out", errors.Is(err, syscall.ETIMEDOUT), Timeout
//     true. A deadline (Timeout, Deadline, the context's) instead gives
//     "i/o timeout"; both are TimedOut.
//   - EAGAIN is Failed even though the error's Timeout method reports true,
//     as it does for net.Dialer's (syscall.Errno counts EAGAIN as a
//     timeout): connect(2) returns it at once; nothing timed out.
//   - An ICMP destination unreachable is a soft error in the seeds' BSD
//     sense, but Linux ends a connect in SYN_SENT as soon as one arrives,
//     unless it arrives while connect(2) still holds the socket (a reject
//     on the local link): then the error is only recorded, and the answer
//     to the SYN retransmitted a second later ends the connect. Either way
//     the outcome follows the errno: Unreachable, Failed for EACCES,
//     Refused for port unreachable.
//   - With exactly one descriptor free below RLIMIT_NOFILE, net.Dialer
//     connects, while this package fails with "fcntl: too many open
//     files" (EMFILE, Failed): handing the socket to net.FileConn needs a
//     second descriptor for a moment.
//
// # Guarding destinations (SSRF)
//
// A service that dials addresses it was handed (webhooks, URL previews,
// proxies) must not be steered to its own loopback, the cloud metadata
// address or its private network. Check the destination in Control (or
// ControlContext), not before dialing: Control runs for every address
// actually tried, after name resolution and Happy Eyeballs have chosen it,
// with that address as "ip:port", and before connect(2). A name that
// resolves (or re-resolves: DNS rebinding) to a forbidden address is
// caught, the socket is closed unconnected, and no SYN is sent. The dial
// fails with a *net.OpError around the guard's error (errors.Is finds it)
// on the Failed signal. The function works unchanged as net.Dialer's
// Control:
//
//	func denyLoopback(network, address string, _ syscall.RawConn) error {
//		host, _, err := net.SplitHostPort(address)
//		if err != nil {
//			return fmt.Errorf("%w: %q", errDenied, address) // fail closed
//		}
//		ip, err := netip.ParseAddr(host)
//		if err != nil || ip.Unmap().IsLoopback() {
//			return fmt.Errorf("%w: %s", errDenied, host)
//		}
//		return nil
//	}
//
//	d := &dialer.Dialer{Control: denyLoopback} // or &net.Dialer{Control: denyLoopback}
//
// Unmap catches IPv4-mapped forms such as ::ffff:127.0.0.1. Extend the
// test to every range the service must not reach (ip.IsPrivate,
// ip.IsLinkLocalUnicast for 169.254.169.254, ip.IsUnspecified, ...).
// Unix networks reach Control with a path, which this guard refuses.
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
