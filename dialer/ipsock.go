package dialer

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// dialIPNet makes one raw IP attempt ("ip", "ip4" or "ip6" with a protocol,
// as in network) with net.Dialer.DialIP instead of the reactor, and returns
// net's *net.IPConn, or net's error unwrapped from its *net.OpError for the
// caller to wrap like any other attempt's error (the inner errors are the
// same: *os.SyscallError "socket" with EPERM without privileges, "connect",
// a Control error, mapErr'd context errors).
//
// Raw IP sockets cannot go through newConn: net.FileConn learns the peer
// with getpeername, which fails with ENOTCONN for a connected raw socket on
// Linux, so the conn's RemoteAddr would be nil where net.Dialer's is the
// dialed address (net falls back to the address it was given). connect(2)
// on a raw socket never waits, so the reactor has nothing to offer here.
//
// ctx must already carry the dial's deadline and cancellation (Timeout,
// Deadline and Cancel are not applied again). Control and ControlContext
// are called by net, with the same arguments net.Dialer.DialContext gives
// them ("ip4"/"ip6" and the remote address); httptrace hooks are not
// (net's typed methods do not call them), so the caller reports the attempt
// as for any other.
func (d *Dialer) dialIPNet(ctx context.Context, network string, laddr, raddr *net.IPAddr) (*net.IPConn, error) {
	nd := d.netDialer()
	nd.Timeout, nd.Deadline, nd.Cancel = 0, time.Time{}, nil
	c, err := nd.DialIP(ctx, network, netipAddr(laddr), netipAddr(raddr))
	if err != nil {
		return nil, unwrapOp(err, "dial")
	}
	return c, nil
}

// netipAddr converts a for net.Dialer.DialIP, which turns it back into a
// *net.IPAddr with the same IP bytes (4 or 16) and zone. A nil address
// becomes the zero netip.Addr, which DialIP treats as the wildcard.
func netipAddr(a *net.IPAddr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(a.IP)
	return ip.WithZone(a.Zone)
}
