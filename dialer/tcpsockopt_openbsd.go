package dialer

// OpenBSD has no per-socket keep-alive idle time, interval or count; net
// fails those settings with ENOPROTOOPT without a system call
// (net/tcpsockopt_openbsd.go), so only SO_KEEPALIVE is ever set.
const (
	keepAliveTunable = false
	tcpKeepIdle      = 0
	tcpKeepIntvl     = 0
	tcpKeepCnt       = 0
)
