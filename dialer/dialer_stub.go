//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package dialer

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// On systems without a reactor backend (Windows, and every system gnet's
// pkg/netpoll does not support) a Dialer dials through a net.Dialer built
// from its fields (netDialer): every method behaves exactly as net.Dialer's,
// and the Reactor field is ignored.

// Dial connects to the address on the named network.
//
// See net.Dial for a description of the network and address parameters.
//
// Dial uses context.Background internally; to specify the context, use
// [Dialer.DialContext].
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to the address on the named network using the
// provided context, as net.Dialer.DialContext does; on this system it is
// net.Dialer.DialContext.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	start := time.Now()
	c, err := d.netDialer().DialContext(ctx, network, address)
	d.reportReturn(network, address, start, 1, c, err)
	return c, err
}

// DialTCP acts like Dial for TCP networks using the provided context, as
// net.Dialer.DialTCP does; on this system it is net.Dialer.DialTCP.
func (d *Dialer) DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error) {
	return d.netDialer().DialTCP(ctx, network, laddr, raddr)
}

// DialUDP acts like Dial for UDP networks using the provided context, as
// net.Dialer.DialUDP does; on this system it is net.Dialer.DialUDP.
func (d *Dialer) DialUDP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.UDPConn, error) {
	return d.netDialer().DialUDP(ctx, network, laddr, raddr)
}

// DialIP acts like Dial for IP networks using the provided context, as
// net.Dialer.DialIP does; on this system it is net.Dialer.DialIP.
func (d *Dialer) DialIP(ctx context.Context, network string, laddr, raddr netip.Addr) (*net.IPConn, error) {
	return d.netDialer().DialIP(ctx, network, laddr, raddr)
}

// DialUnix acts like Dial for Unix networks using the provided context, as
// net.Dialer.DialUnix does; on this system it is net.Dialer.DialUnix.
func (d *Dialer) DialUnix(ctx context.Context, network string, laddr, raddr *net.UnixAddr) (*net.UnixConn, error) {
	return d.netDialer().DialUnix(ctx, network, laddr, raddr)
}
