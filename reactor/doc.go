// Package reactor runs nonblocking connects on event loops.
//
// A Reactor owns N loops (New, WithLoops; Default is the shared one that a
// zero dialer.Dialer uses). Each loop is one poller from gnet's pkg/netpoll —
// epoll on Linux, kqueue on the BSDs and macOS — driven by one goroutine.
// A loop runs three kinds of work, always one at a time on its goroutine:
//
//   - functions posted with Post, from any goroutine, in FIFO order (a Loop
//     is a signals.Executor);
//   - timers (AfterFunc, At), kept in a per-loop heap under a single
//     runtime timer, so a pending deadline costs neither a goroutine nor a
//     runtime timer;
//   - connect completions.
//
// # Connects
//
// Connect, StartConnect and ConnectOnLoop follow the nonblocking-connect
// pattern of UNIX Network Programming and net/fd_unix.go. The socket is born
// with SOCK_NONBLOCK|SOCK_CLOEXEC. Control runs before bind and connect.
// connect(2) then either finishes (0, EISCONN), fails at once (ECONNREFUSED
// on loopback, ENETUNREACH, EHOSTUNREACH, EACCES, EPERM, EADDRNOTAVAIL,
// EAGAIN for a unix socket with a full backlog, ...), or goes on in the
// background (EINPROGRESS, EALREADY, and EINTR, which must not be retried).
// Only the last case reaches the poller: the fd is registered for
// writability, edge-triggered, and every wake-up reads SO_ERROR and confirms
// success with getpeername, so wake-ups that carry EPOLLERR alone and
// spurious ones are both handled, and a stray event for a reused fd number
// cannot complete the wrong connect.
//
// On loopback the kernel usually finishes the handshake inside connect(2)
// even though it returns EINPROGRESS. A getpeername right after EINPROGRESS
// finds that and completes without the poller (ConnectRequest.NoFastPath
// turns it off).
//
// Every connect completes exactly once: connected, failed, timed out at its
// Deadline, canceled through Op.Cancel from any goroutine, or ended by Close
// with ErrClosed, which wraps net.ErrClosed. The fd leaves the poller before
// it is closed or handed over, and a failed socket is always closed.
//
// # Memory
//
// A pending connect costs its Op (64 bytes), a slot in the loop's fd table
// and, with a deadline, one in its timer heap. The reactor reads a
// ConnectRequest only during the call that starts the connect (it keeps a
// copy only when RetrySpurious asks for retries), so a caller can build
// the request on its stack. A caller that keeps many connects pending can
// embed the Op in its own state and pass a Completer instead of a done
// function (StartOp, ConnectOnLoopOp, Op.WatchWith): a connect then
// allocates nothing in the reactor. Loop.Local gives packages built on the
// reactor per-loop state without locks; package dialer keeps its context
// watchers there.
//
// # Platforms
//
// Linux is tested. darwin, freebsd, netbsd, openbsd and dragonfly build
// against gnet's kqueue poller. On other systems (Windows) New returns
// ErrUnsupported, which wraps errors.ErrUnsupported, and dialer.Dialer falls
// back to net.Dialer.
//
// gnet's poll_opt build tag changes pkg/netpoll's API; building this package
// with it fails with a message that says so.
//
// Importing this package imports gnet's pkg/netpoll, whose logging package
// reads GNET_LOGGING_LEVEL and GNET_LOGGING_FILE at init.
package reactor
