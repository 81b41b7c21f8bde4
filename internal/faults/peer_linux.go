package faults

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	clientLink = "vc" // the test's end of the veth pair
	peerLink   = "vs" // the peer's end
)

func newPeer(t testing.TB) *Peer {
	t.Helper()
	requireIsolated(t)
	RequireCmd(t, "ip", "iproute2")
	ns, err := newNetNS()
	if err != nil {
		t.Fatalf("faults: NewPeer: %v", err)
	}
	p := &Peer{ns: ns, port: 7000}
	t.Cleanup(p.close)

	err = veth(ns, clientLink, peerLink,
		[]string{clientAddr4.String() + "/24", clientAddr6.String() + "/64"},
		[]string{peerAddr4.String() + "/24", peerAddr6.String() + "/64"})
	if err != nil {
		if strings.Contains(err.Error(), "File exists") {
			t.Fatalf("faults: NewPeer: this namespace already has a Peer: %v", err)
		}
		t.Fatalf("faults: NewPeer: %v", err)
	}
	p.linked = true
	Sh(t, "ip", "-4", "route", "add", routed4.String(), "via", peerAddr4.String())
	Sh(t, "ip", "-6", "route", "add", routed6.String(), "via", peerAddr6.String())

	// ICMP rate limits of the peer, per namespace (R4g): by default only
	// the first six rejected SYNs of a burst get an ICMP error, then one a
	// second. icmp_msgs_* (the namespace-wide budget, burst 50) are per
	// namespace only on recent kernels, hence best effort.
	for _, kv := range [][2]string{{"net.ipv4.icmp_ratelimit", "0"}, {"net.ipv6.icmp.ratelimit", "0"}} {
		if err := ns.SetSysctl(kv[0], kv[1]); err != nil {
			t.Fatalf("faults: NewPeer: %v", err)
		}
	}
	_ = ns.SetSysctl("net.ipv4.icmp_msgs_per_sec", "1000000")
	_ = ns.SetSysctl("net.ipv4.icmp_msgs_burst", "1000000")
	// The routed prefixes end in a blackhole on the peer: SYNs to them are
	// dropped without an answer, for IPv4 and IPv6 (R5; without the route,
	// IPv6 would answer with ICMPv6 no-route even with forwarding off).
	for _, r := range [][]string{
		{"-4", "route", "add", "blackhole", routed4.String()},
		{"-6", "route", "add", "blackhole", routed6.String()},
	} {
		if _, err := ns.run("", "ip", r...); err != nil {
			t.Fatalf("faults: NewPeer: %v", err)
		}
	}

	// Warm the neighbour caches (ARP, ND) with a refused connect each way,
	// which also proves that the link works.
	for _, a := range []netip.Addr{peerAddr4, peerAddr6} {
		if o := probe(netip.AddrPortFrom(a, 1), 5*time.Second, false, nil); o.err != unix.ECONNREFUSED {
			t.Fatalf("faults: NewPeer: connect to %v:1 gave %v at %s, want ECONNREFUSED", a, o.err, o.stage)
		}
	}
	return p
}

// close removes the peer: the responder first (it uses sockets in the
// namespace), then the link, at once rather than with the asynchronous
// namespace teardown, then the handle.
func (p *Peer) close() {
	p.mu.Lock()
	r := p.resp
	p.resp = nil
	p.mu.Unlock()
	if r != nil {
		r.stop()
	}
	if p.linked { // not when the name belonged to another Peer
		_ = exec.Command(lookCmd("ip"), "link", "del", clientLink).Run()
	}
	_ = p.ns.close()
}

func (p *Peer) nextPort() uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.port++
	return p.port
}

func peerIs6(t testing.TB, network string) bool {
	t.Helper()
	switch network {
	case "tcp", "tcp4":
		return false
	case "tcp6":
		return true
	}
	t.Fatalf("faults: network %q: want tcp, tcp4 or tcp6", network)
	return false
}

func (p *Peer) listen(t testing.TB, network string) net.Listener {
	t.Helper()
	addr := netip.AddrPortFrom(p.Addr(network), 0)
	if peerIs6(t, network) {
		network = "tcp6"
	} else {
		network = "tcp4"
	}
	var ln net.Listener
	err := p.ns.Do(func() (err error) {
		ln, err = new(net.ListenConfig).Listen(context.Background(), network, addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("faults: listen in the peer: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func (p *Peer) refused(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	peerIs6(t, network)
	var fd int
	var ap netip.AddrPort
	// Inside Do only return errors: t.Fatal must run on the test goroutine.
	err := p.ns.Do(func() error {
		var err error
		a := p.Addr(network)
		if fd, err = unix.Socket(family(a), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err = unix.Bind(fd, sockaddr(netip.AddrPortFrom(a, 0))); err != nil {
			unix.Close(fd)
			return err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ap = addrPort(sa)
		return nil
	})
	if err != nil {
		t.Fatalf("faults: reserve a port on the peer: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return ap
}

// nftReject is the firewall path of Reject (R4a): icmpx types map to the
// right message per family (no-route 3/0 and 1/0, host-unreachable 3/1 and
// 1/3, port-unreachable 3/3 and 1/4, admin-prohibited 3/13 and 1/1).
func (p *Peer) nftReject(t testing.TB, v6 bool, u Unreach) netip.AddrPort {
	t.Helper()
	RequireCmd(t, "nft", "nftables")
	icmpx := map[Unreach]string{
		NetUnreachable:  "no-route",
		HostUnreachable: "host-unreachable",
		PortUnreachable: "port-unreachable",
		AdminProhibited: "admin-prohibited",
	}[u]
	fam, addr := "ipv4", peerAddr4
	if v6 {
		fam, addr = "ipv6", peerAddr6
	}
	port := p.nextPort()
	var script strings.Builder
	p.mu.Lock()
	if !p.nftReady {
		script.WriteString("add table inet faults\n")
		script.WriteString("add chain inet faults input { type filter hook input priority 0; policy accept; }\n")
	}
	fmt.Fprintf(&script, "add rule inet faults input meta nfproto %s tcp dport %d reject with icmpx type %s\n", fam, port, icmpx)
	_, err := p.ns.run(script.String(), "nft", "-f", "-")
	if err == nil {
		p.nftReady = true
	}
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	return netip.AddrPortFrom(addr, port)
}

func (p *Peer) reject(t testing.TB, network string, u Unreach) netip.AddrPort {
	t.Helper()
	v6 := peerIs6(t, network)
	if _, ok := unreachNames[u]; !ok {
		t.Fatalf("faults: Reject: unknown %v", u)
	}
	if !HaveCmd("nft") {
		t.Logf("faults: nft is not installed (Debian package nftables): Reject(%s, %v) uses the ICMP responder instead", network, u)
		return p.delayedReject(t, network, u, 0)
	}
	return p.nftReject(t, v6, u)
}

func (p *Peer) delayedReject(t testing.TB, network string, u Unreach, delay time.Duration) netip.AddrPort {
	t.Helper()
	v6 := peerIs6(t, network)
	if _, ok := unreachNames[u]; !ok {
		t.Fatalf("faults: DelayedReject: unknown %v", u)
	}
	if delay < 0 {
		t.Fatalf("faults: DelayedReject: negative delay %v", delay)
	}
	p.mu.Lock()
	if p.resp == nil {
		r, err := startResponder(p.ns, peerLink)
		if err != nil {
			p.mu.Unlock()
			t.Fatalf("faults: DelayedReject: %v", err)
		}
		p.resp = r
	}
	r := p.resp
	p.mu.Unlock()

	dst := netip.AddrPortFrom(responder4, p.nextPort())
	if v6 {
		dst = netip.AddrPortFrom(responder6, dst.Port())
	}
	typ, code := u.icmp(v6)
	r.set(dst, reply{typ: typ, code: code, delay: delay})
	t.Cleanup(func() { r.del(dst) })
	return dst
}

func (p *Peer) blackhole(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	if peerIs6(t, network) {
		return netip.AddrPortFrom(blackhole6, p.nextPort())
	}
	return netip.AddrPortFrom(blackhole4, p.nextPort())
}

func (p *Peer) noNeighbor(t testing.TB, network string) netip.AddrPort {
	t.Helper()
	v6 := peerIs6(t, network)
	requireIsolated(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.neighTuned {
		// One multicast probe, 100 ms apart: failure after ~110 ms instead
		// of 3 probes 1 s apart (3.07 s). Per interface, in our namespace.
		for _, fam := range []string{"ipv4", "ipv6"} {
			for _, kv := range [][2]string{{"mcast_solicit", "1"}, {"retrans_time_ms", "100"}} {
				name := fmt.Sprintf("net.%s.neigh.%s.%s", fam, clientLink, kv[0])
				if err := writeSysctl(name, kv[1]); err != nil {
					t.Fatalf("faults: NoNeighbor: %v", err)
				}
			}
		}
		p.neighTuned = true
	}
	if p.host >= 63 {
		t.Fatal("faults: NoNeighbor: all 63 addresses of this Peer are used")
	}
	p.host++
	p.port++
	port := p.port
	if v6 {
		// 2001:db8:1::64:<host>, in the link's /64 and never assigned.
		a := peerAddr6.As16()
		a[12], a[13], a[14], a[15] = 0, 0x64, 0, byte(p.host)
		return netip.AddrPortFrom(netip.AddrFrom16(a), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(64 + p.host)}), port)
}
