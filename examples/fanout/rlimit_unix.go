//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package main

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxFiles bounds a limit reported as infinite.
const maxFiles = 1 << 20

// raiseNoFile raises the soft RLIMIT_NOFILE to the hard limit and returns
// both. (Go's os package already does so at start-up on some systems; doing
// it here makes the program's assumption explicit.) Where the kernel
// refuses the hard value as a soft limit (macOS reports RLIM_INFINITY), the
// soft limit stays where it was.
func raiseNoFile() (soft, hard uint64, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, os.NewSyscallError("getrlimit", err)
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return min(uint64(rl.Cur), maxFiles), min(uint64(rl.Max), maxFiles), nil
}

// openFiles counts the process's open file descriptors: from /proc where
// there is one, else by asking fcntl about every number below limit.
func openFiles(limit uint64) int {
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		return len(ents) - 1 // the directory being read
	}
	n := 0
	for fd := range int(min(limit, maxFiles)) {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			n++
		}
	}
	return n
}

// formatBytes prints n bytes in MiB with one decimal.
func formatBytes(n uint64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}
