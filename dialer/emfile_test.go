//go:build linux

package dialer

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEMFILE runs out of file descriptors for real: in a child process of
// the test binary (the limit is process-wide, and other tests must not feel
// it), RLIMIT_NOFILE is lowered and every descriptor number below it taken.
//
//   - With none free, socket(2) fails: DialContext, an AsyncDial and
//     net.Dialer all fail with "socket: too many open files", on the Failed
//     signal.
//   - With one free, net.Dialer connects, but this package needs a second
//     descriptor for a moment (net.FileConn duplicates the socket, see
//     newConn): the dial fails with "fcntl: too many open files", still
//     EMFILE, still Failed, and leaves nothing open.
//   - Once descriptors are freed, under the same lowered limit, the same
//     reactor dials successfully again, blocking and asynchronously.
func TestEMFILE(t *testing.T) {
	const env = "SIGDIAL_EMFILE_CHILD"
	if os.Getenv(env) == "" {
		out := runChild(t, []string{env + "=1"}, nil)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "emfile_test.go") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return
	}

	r := errnoReactor(t)
	ln := listen4(t, "tcp4", "127.0.0.1:0") // never accepted from: the kernel queues the connections
	addr := ln.Addr().String()
	tcp := errnoSetup{network: "tcp", address: addr}

	// Lower the limit to a few numbers above the highest descriptor in
	// use, then take every free number below it.
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	null, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(null)
	limit := uint64(highestFD(t)) + 1 + 8
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	var fill []int
	release := func(keep int) {
		for len(fill) > keep {
			unix.Close(fill[len(fill)-1])
			fill = fill[:len(fill)-1]
		}
	}
	defer release(0)
	for {
		fd, err := unix.FcntlInt(uintptr(null), unix.F_DUPFD_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil || len(fill) > int(limit) {
			t.Fatalf("filling the descriptor table: %v after %d", err, len(fill))
		}
		fill = append(fill, fd)
	}
	t.Logf("RLIMIT_NOFILE %d, %d descriptors taken to fill it", limit, len(fill))

	t.Run("none free", func(t *testing.T) {
		errnoDial(t, r, tcp).check(t, tcp, errnoWant{OutcomeFailed, unix.EMFILE,
			dialText("tcp", nil, addr, "socket", unix.EMFILE)})
	})

	t.Run("one free", func(t *testing.T) {
		// One dial at a time: each gets the one free descriptor.
		release(len(fill) - 1)
		defer func() {
			fd, err := unix.FcntlInt(uintptr(null), unix.F_DUPFD_CLOEXEC, 0)
			if err != nil {
				t.Fatalf("the free descriptor was not given back: %v", err)
			}
			fill = append(fill, fd)
		}()
		want := dialText("tcp", nil, addr, "fcntl", unix.EMFILE)
		d := &Dialer{Reactor: r, Signals: new(Signals)}
		sink := errnoWatch(t, d.Signals, false)
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil || err.Error() != want || !errors.Is(err, unix.EMFILE) {
			if c != nil {
				c.Close()
			}
			t.Errorf("DialContext: %v, want %q", err, want)
		}
		t.Logf("one descriptor free: DialContext: %v", err)
		if o, _ := sink.one(t, "Dialer.Signals of DialContext"); o != OutcomeFailed {
			t.Errorf("DialContext's outcome signal: %v, want failed", o)
		}
		x := d.NewAsyncDial("tcp", addr)
		own := errnoWatch(t, &x.Signals, true)
		if err := x.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case <-x.Done():
		case <-time.After(errnoWait):
			t.Fatalf("AsyncDial did not end within %v", errnoWait)
		}
		if o, err := own.one(t, "AsyncDial.Signals"); o != OutcomeFailed || errText(err) != want {
			t.Errorf("AsyncDial: %v %v, want failed, %q", o, err, want)
		}
		c, err = new(net.Dialer).DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Errorf("net.Dialer with one descriptor free: %v, want a connection", err)
		} else {
			c.Close()
		}
	})

	t.Run("freed", func(t *testing.T) {
		release(0) // the limit stays where it is
		s := errnoSetup{network: "tcp", address: addr}
		errnoDial(t, r, s).check(t, s, errnoWant{outcome: OutcomeConnected})
	})
}

// highestFD returns the highest descriptor number open in the process.
func highestFD(t *testing.T) int {
	t.Helper()
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list descriptors: %v", err)
	}
	high := 0
	for _, e := range names {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > high {
			high = n
		}
	}
	return high
}
