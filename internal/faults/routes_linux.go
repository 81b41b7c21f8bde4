package faults

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func addRoute(t testing.TB, typ, prefix string) {
	t.Helper()
	p := testPrefix(t, prefix)
	requireIsolated(t)
	RequireCmd(t, "ip", "iproute2")
	fam := "-4"
	if p.Addr().Is6() {
		fam = "-6"
	}
	Sh(t, "ip", fam, "route", "add", typ, p.String())
	t.Cleanup(func() {
		if out, err := exec.Command(lookCmd("ip"), fam, "route", "del", typ, p.String()).CombinedOutput(); err != nil {
			t.Errorf("faults: ip route del %s %v: %v: %s", typ, p, err, out)
		}
	})
}

func noRoute(t testing.TB, p netip.Prefix) {
	t.Helper()
	requireIsolated(t)
	// connect(2) on a UDP socket only looks the route up.
	fd, err := unix.Socket(family(p.Addr()), unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("faults: socket: %v", err)
	}
	defer unix.Close(fd)
	// Any answer but ENETUNREACH means some route matched: a gateway or a
	// link (nil), or a reject route (EHOSTUNREACH, EACCES, EINVAL).
	if err := unix.Connect(fd, sockaddr(netip.AddrPortFrom(p.Addr(), 9))); err != unix.ENETUNREACH {
		t.Fatalf("faults: NoRoute: %v is routed in this namespace (route lookup: %v)", p, err)
	}
}

func setPortRange(t testing.TB, lo, hi uint16) {
	t.Helper()
	if lo > hi || lo < 1024 {
		t.Fatalf("faults: SetPortRange(%d, %d): want 1024 <= lo <= hi", lo, hi)
	}
	SetSysctl(t, "net.ipv4.ip_local_port_range", fmt.Sprintf("%d %d", lo, hi))
}

func exhaustedPorts(t testing.TB, ip netip.Addr) netip.AddrPort {
	t.Helper()
	requireIsolated(t)
	_, addr := listenRaw(t, netip.AddrPortFrom(ip, 0), 16) // before narrowing
	port := uint16(40000)
	if addr.Port() == port {
		port = 50000
	}
	setPortRange(t, port, port)
	o := probe(addr, 5*time.Second, true, nil)
	if o.err != 0 {
		t.Fatalf("faults: ExhaustedPorts: connect to %v: %v at %s", addr, o.err, o.stage)
	}
	t.Cleanup(func() { unix.Close(o.fd) })
	return addr
}

func nonLocalCheck(t testing.TB, a netip.Addr) {
	t.Helper()
	knob := "net.ipv4.ip_nonlocal_bind"
	if a.Is6() {
		knob = "net.ipv6.ip_nonlocal_bind"
	}
	if v, err := readSysctl(knob); err == nil && v != "0" {
		t.Skipf("faults: %s=%s: binding a non-local address would succeed", knob, v)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok && n.IP.Equal(net.IP(a.AsSlice())) {
			t.Fatalf("faults: NonLocalAddr: %v is configured on this host", a)
		}
	}
}
