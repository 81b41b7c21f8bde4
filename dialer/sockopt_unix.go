//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

// Parts of this file are adapted from Go's net package (src/net/tcpsock.go,
// tcpsock_unix.go and tcpsockopt_unix.go, Go 1.26). Copyright 2009 The Go
// Authors. All rights reserved. Use of that source code is governed by a
// BSD-style license that can be found in Go's LICENSE file
// (https://go.dev/LICENSE).

package dialer

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Keep-alive defaults, as at the top of net/dial.go (go.dev/issue/31510).
const (
	defaultTCPKeepAliveIdle     = 15 * time.Second
	defaultTCPKeepAliveInterval = 15 * time.Second
	defaultTCPKeepAliveCount    = 9
)

// keepAlivePlan is what net's newTCPConn does to a freshly connected TCP
// socket for given Dialer.KeepAlive and Dialer.KeepAliveConfig values, after
// setting TCP_NODELAY. If enable is false it touches no keep-alive option at
// all. Otherwise it sets SO_KEEPALIVE to 1 and then, in this order, the idle
// time, interval and count in vals (seconds, seconds, probes); a negative
// entry is skipped (the option keeps the kernel's default), and the first
// failing setsockopt ends the sequence (TCPConn.SetKeepAliveConfig returns
// there, and newTCPConn ignores the error), leaving it and the options after
// it at their defaults. Where the options do not exist (keepAliveTunable is
// false) only SO_KEEPALIVE is set.
type keepAlivePlan struct {
	enable bool
	vals   [3]int
}

// keepAliveOpt lists the options of keepAlivePlan.vals.
var keepAliveOpt = [3]int{tcpKeepIdle, tcpKeepIntvl, tcpKeepCnt}

// netKeepAlive computes net's keepAlivePlan: KeepAliveConfig wins if
// Enable is set; otherwise a KeepAlive of zero or more enables keep-alive
// with that idle time (zero: 15 s), and a negative KeepAlive disables it
// (nothing is set). Zero fields of KeepAliveConfig mean 15 s, 15 s and 9;
// durations are rounded up to whole seconds.
func netKeepAlive(keepAlive time.Duration, cfg net.KeepAliveConfig) keepAlivePlan {
	if !cfg.Enable && keepAlive >= 0 {
		cfg = net.KeepAliveConfig{Enable: true, Idle: keepAlive}
	}
	if !cfg.Enable {
		return keepAlivePlan{}
	}
	return keepAlivePlan{enable: true, vals: [3]int{
		keepAliveSeconds(cfg.Idle, defaultTCPKeepAliveIdle),
		keepAliveSeconds(cfg.Interval, defaultTCPKeepAliveInterval),
		keepAliveCount(cfg.Count),
	}}
}

// keepAliveSeconds is net's setKeepAliveIdle/setKeepAliveInterval value:
// zero means def, negative means unchanged (-1), otherwise rounded up to
// seconds.
func keepAliveSeconds(d, def time.Duration) int {
	if d == 0 {
		d = def
	} else if d < 0 {
		return -1
	}
	return int((d + time.Second - 1) / time.Second)
}

// keepAliveCount is net's setKeepAliveCount value.
func keepAliveCount(n int) int {
	if n == 0 {
		return defaultTCPKeepAliveCount
	} else if n < 0 {
		return -1
	}
	return n
}

// fileConnKeepAlive is what net.FileConn itself does to a TCP socket: it
// builds the *net.TCPConn with net's newTCPConn and the default keep-alive
// (15 s idle, 15 s interval, 9 probes), whatever the Dialer says.
var fileConnKeepAlive = netKeepAlive(0, net.KeepAliveConfig{})

// keepAliveFix brings a TCP socket that net.FileConn has configured with
// fileConnKeepAlive to the state net.Dialer's own newTCPConn would have left
// it in, with as few system calls as possible:
//
//   - with the default settings (KeepAlive 0, KeepAliveConfig unset) there
//     is nothing to do;
//   - with a positive KeepAlive (http.Transport uses 30 s), one setsockopt
//     for the idle time;
//   - with explicit KeepAliveConfig values, one setsockopt per value that
//     differs from 15 s, 15 s, 9;
//   - where net leaves an option at the kernel's default (keep-alive
//     disabled, or a negative KeepAliveConfig field), its value is read with
//     getsockopt before FileConn overwrites it (prepareKeepAlive) and
//     written back afterwards if it differs; SO_KEEPALIVE is turned off
//     again if net would not have turned it on.
//
// The restored value is the kernel default at dial time: net leaves such an
// option unset, so it would follow a later change of the sysctl behind it
// (net.ipv4.tcp_keepalive_time etc.), which the restored copy does not.
//
// If a setsockopt net makes fails (an idle time the kernel rejects, say),
// net leaves that option and the ones after it at their defaults; the
// defaults then come from a scratch socket of the same family, since
// FileConn has already overwritten the socket's own.
type keepAliveFix struct {
	plan  keepAlivePlan
	saved [3]int // kernel defaults read by prepareKeepAlive; -1 if not read
}

// prepareKeepAlive computes the fix for a Dialer's keep-alive settings and
// reads, from fd, the defaults the fix will need to restore. Call it before
// net.FileConn.
func prepareKeepAlive(fd int, keepAlive time.Duration, cfg net.KeepAliveConfig) keepAliveFix {
	fix := keepAliveFix{plan: netKeepAlive(keepAlive, cfg), saved: [3]int{-1, -1, -1}}
	if !keepAliveTunable {
		return fix
	}
	for i, v := range fix.plan.vals {
		if !fix.plan.enable || v < 0 {
			if d, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, keepAliveOpt[i]); err == nil {
				fix.saved[i] = d
			}
		}
	}
	return fix
}

// apply runs the fix on fd, a TCP socket of family that net.FileConn has
// configured; fd may be the descriptor FileConn duplicated, since both name
// the same socket. Errors are ignored, as net's newTCPConn ignores them.
func (fix *keepAliveFix) apply(fd, family int) {
	fc := fileConnKeepAlive
	if !fix.plan.enable {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0)
	}
	if !keepAliveTunable {
		return
	}
	for i, v := range fix.plan.vals {
		if !fix.plan.enable || v < 0 {
			fix.restore(fd, family, i)
			continue
		}
		if v == fc.vals[i] {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, keepAliveOpt[i], v); err != nil {
			// net's SetKeepAliveConfig stops here: this option and the
			// ones after it keep their defaults.
			for j := i; j < len(fix.plan.vals); j++ {
				fix.restore(fd, family, j)
			}
			return
		}
	}
}

// restore sets option i back to its kernel default, if FileConn changed it.
func (fix *keepAliveFix) restore(fd, family, i int) {
	if fix.saved[i] < 0 {
		fix.readDefaults(family)
	}
	if d := fix.saved[i]; d >= 0 && d != fileConnKeepAlive.vals[i] {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, keepAliveOpt[i], d)
	}
}

// readDefaults fills the unread entries of saved from a scratch TCP socket
// of family. It is only reached when a setsockopt net would make fails.
func (fix *keepAliveFix) readDefaults(family int) {
	syscall.ForkLock.RLock()
	s, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(s)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return
	}
	defer unix.Close(s)
	for i := range fix.saved {
		if fix.saved[i] < 0 {
			if d, err := unix.GetsockoptInt(s, unix.IPPROTO_TCP, keepAliveOpt[i]); err == nil {
				fix.saved[i] = d
			} else {
				fix.saved[i] = fileConnKeepAlive.vals[i] // unknown: leave it
			}
		}
	}
}
