//go:build linux || dragonfly || freebsd || netbsd

package dialer

import "golang.org/x/sys/unix"

// The TCP-level options for the keep-alive idle time (seconds), probe
// interval (seconds) and probe count, as net/tcpsockopt_unix.go sets them.
const (
	keepAliveTunable = true
	tcpKeepIdle      = unix.TCP_KEEPIDLE
	tcpKeepIntvl     = unix.TCP_KEEPINTVL
	tcpKeepCnt       = unix.TCP_KEEPCNT
)
