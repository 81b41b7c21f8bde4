package faults

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// responder answers TCP SYNs to chosen addresses with crafted ICMP
// destination-unreachable messages, after a chosen delay (recipe R4f). It
// lives in the peer namespace: an AF_PACKET socket on the peer's link sees
// the SYNs, which a blackhole route then drops, and raw ICMP and ICMPv6
// sockets send the answers. Because the answer arrives after connect(2) has
// returned, it shows what a real network's ICMP does: Linux aborts SYN_SENT
// at once. Kernel-generated ICMP on veth instead races with connect(2) (see
// Peer.Reject).
//
// One goroutine runs the loop; it waits in poll(2) on the packet socket and
// an eventfd that stop uses to wake it, with a timeout for the earliest
// delayed answer, so no timer goroutines are needed.
type responder struct {
	pfd, raw4, raw6, efd int
	done                 chan struct{}

	mu    sync.Mutex // guards rules
	rules map[netip.AddrPort]reply
}

// reply is the ICMP answer for one destination.
type reply struct {
	typ, code uint8
	delay     time.Duration
}

// due is an answer waiting for its time.
type due struct {
	at  time.Time
	msg []byte
	to  unix.Sockaddr
	v6  bool
}

func startResponder(ns *NetNS, link string) (*responder, error) {
	r := &responder{pfd: -1, raw4: -1, raw6: -1, efd: -1, done: make(chan struct{}), rules: map[netip.AddrPort]reply{}}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(link)
		if err != nil {
			return err
		}
		proto := htons(unix.ETH_P_ALL)
		if r.pfd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(proto)); err != nil {
			return os.NewSyscallError("socket(AF_PACKET)", err)
		}
		if err = unix.Bind(r.pfd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index}); err != nil {
			return os.NewSyscallError("bind(AF_PACKET)", err)
		}
		if r.raw4, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP); err != nil {
			return os.NewSyscallError("socket(ICMP)", err)
		}
		if r.raw6, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6); err != nil {
			return os.NewSyscallError("socket(ICMPv6)", err)
		}
		return nil
	})
	if err == nil {
		r.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	}
	if err != nil {
		r.closeFDs()
		return nil, errorf("ICMP responder: %w", err)
	}
	go r.loop()
	return r, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (r *responder) closeFDs() {
	for _, fd := range []int{r.pfd, r.raw4, r.raw6, r.efd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (r *responder) set(dst netip.AddrPort, rep reply) {
	r.mu.Lock()
	r.rules[dst] = rep
	r.mu.Unlock()
}

func (r *responder) del(dst netip.AddrPort) {
	r.mu.Lock()
	delete(r.rules, dst)
	r.mu.Unlock()
}

// stop ends the loop, waits for it and closes the sockets. Answers not yet
// due are dropped.
func (r *responder) stop() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(r.efd, one[:])
	<-r.done
	r.closeFDs()
}

func (r *responder) loop() {
	defer close(r.done)
	var queue []due
	buf := make([]byte, 1<<16)
	for {
		timeout := -1
		if len(queue) > 0 {
			timeout = max(0, int((time.Until(queue[0].at)+time.Millisecond-1)/time.Millisecond))
		}
		fds := []unix.PollFd{{Fd: int32(r.pfd), Events: unix.POLLIN}, {Fd: int32(r.efd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, timeout); err != nil && err != unix.EINTR {
			fmt.Fprintln(os.Stderr, "faults: ICMP responder: poll:", err)
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		for fds[0].Revents&unix.POLLIN != 0 {
			n, from, err := unix.Recvfrom(r.pfd, buf, unix.MSG_DONTWAIT)
			if err != nil {
				break // EAGAIN: drained
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue // our own answers
			}
			if d, ok := r.answer(buf[:n]); ok {
				i, _ := slices.BinarySearchFunc(queue, d.at, func(e due, at time.Time) int { return e.at.Compare(at) })
				queue = slices.Insert(queue, i, d)
			}
		}
		for len(queue) > 0 && !queue[0].at.After(time.Now()) {
			d := queue[0]
			queue = queue[1:]
			fd := r.raw4
			if d.v6 {
				fd = r.raw6
			}
			if err := unix.Sendto(fd, d.msg, 0, d.to); err != nil {
				fmt.Fprintln(os.Stderr, "faults: ICMP responder: send:", err)
			}
		}
	}
}

// answer builds the ICMP answer to pkt (an IP packet without link header) if
// pkt is a TCP SYN to an address with a rule.
func (r *responder) answer(pkt []byte) (due, bool) {
	var dst netip.AddrPort
	var src netip.Addr
	var tcp, quote []byte
	v6 := len(pkt) > 0 && pkt[0]>>4 == 6
	switch {
	case len(pkt) >= 20 && pkt[0]>>4 == 4:
		ihl := int(pkt[0]&0xf) * 4
		if pkt[9] != unix.IPPROTO_TCP || len(pkt) < ihl+20 {
			return due{}, false
		}
		tcp = pkt[ihl:]
		src = netip.AddrFrom4([4]byte(pkt[12:16]))
		dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(pkt[16:20])), binary.BigEndian.Uint16(tcp[2:]))
		quote = pkt[:ihl+8] // RFC 792: IP header and the first 8 bytes
	case v6 && len(pkt) >= 60:
		// Linux sends SYNs without extension headers.
		if pkt[6] != unix.IPPROTO_TCP {
			return due{}, false
		}
		tcp = pkt[40:]
		src = netip.AddrFrom16([16]byte(pkt[8:24]))
		dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(pkt[24:40])), binary.BigEndian.Uint16(tcp[2:]))
		quote = pkt[:min(len(pkt), 1232-8)] // RFC 4443: as much as fits the minimum MTU
	default:
		return due{}, false
	}
	if tcp[13]&0x12 != 0x02 { // SYN without ACK
		return due{}, false
	}
	r.mu.Lock()
	rep, ok := r.rules[dst]
	r.mu.Unlock()
	if !ok {
		return due{}, false
	}
	msg := make([]byte, 8, 8+len(quote))
	msg[0], msg[1] = rep.typ, rep.code
	msg = append(msg, quote...)
	d := due{at: time.Now().Add(rep.delay), msg: msg, v6: v6}
	if v6 {
		// The kernel fills in the ICMPv6 checksum on raw ICMPv6 sockets.
		d.to = &unix.SockaddrInet6{Addr: src.As16()}
	} else {
		binary.BigEndian.PutUint16(msg[2:], checksum(msg))
		d.to = &unix.SockaddrInet4{Addr: src.As4()}
	}
	return d, true
}

// checksum is the Internet checksum (RFC 1071).
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
