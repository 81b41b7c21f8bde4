package dialer

import "golang.org/x/sys/unix"

// The TCP-level options for the keep-alive idle time (seconds), probe
// interval (seconds) and probe count, as net/tcpsockopt_darwin.go sets them:
// macOS calls the idle time TCP_KEEPALIVE.
const (
	keepAliveTunable = true
	tcpKeepIdle      = unix.TCP_KEEPALIVE
	tcpKeepIntvl     = unix.TCP_KEEPINTVL
	tcpKeepCnt       = unix.TCP_KEEPCNT
)
