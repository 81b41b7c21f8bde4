package main

import "golang.org/x/sys/unix"

// acceptQueue reads a listener's accept queue: the connections waiting for
// accept(2), and whether that is more than the backlog, the kernel's test
// for dropping a SYN. For a listening socket TCP_INFO reports the queue
// length in tcpi_unacked and the backlog in tcpi_sacked (what ss shows as
// Recv-Q and Send-Q). known is false if TCP_INFO cannot be read.
func acceptQueue(lfd int) (queued uint32, full, known bool) {
	ti, err := unix.GetsockoptTCPInfo(lfd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, false, false
	}
	return ti.Unacked, ti.Unacked > ti.Sacked, true
}
