// Parts of this file are adapted from Go's net package (src/net/dial.go,
// ipsock.go, lookup.go, tcpsock.go and ip.go, Go 1.26). Copyright 2009 The
// Go Authors. All rights reserved. Use of that source code is governed by a
// BSD-style license that can be found in Go's LICENSE file
// (https://go.dev/LICENSE).

package dialer

import (
	"context"
	"net"
	"net/http/httptrace"
	"net/netip"
	"reflect"
	"strings"
)

// An addrList represents a list of network endpoint addresses: *net.TCPAddr,
// *net.UDPAddr, *net.IPAddr or *net.UnixAddr values, as net's addrList.
type addrList []net.Addr

// isIPv4 reports whether addr contains an IPv4 address.
func isIPv4(addr net.Addr) bool {
	switch addr := addr.(type) {
	case *net.TCPAddr:
		return addr.IP.To4() != nil
	case *net.UDPAddr:
		return addr.IP.To4() != nil
	case *net.IPAddr:
		return addr.IP.To4() != nil
	}
	return false
}

// isNotIPv4 reports whether addr does not contain an IPv4 address.
func isNotIPv4(addr net.Addr) bool { return !isIPv4(addr) }

// forResolve returns the most appropriate address in addrs for a call to
// ResolveTCPAddr, ResolveUDPAddr or ResolveIPAddr: IPv4 is preferred, unless
// addr contains an IPv6 literal.
func (addrs addrList) forResolve(network, addr string) net.Addr {
	var want6 bool
	switch network {
	case "ip":
		// IPv6 literal (addr does NOT contain a port)
		want6 = strings.Count(addr, ":") > 0
	case "tcp", "udp":
		// IPv6 literal. (addr contains a port, so look for '[')
		want6 = strings.Count(addr, "[") > 0
	}
	if want6 {
		return addrs.first(isNotIPv4)
	}
	return addrs.first(isIPv4)
}

// first returns the first address which satisfies strategy, or if none do,
// then the first address of any kind. addrs must not be empty.
func (addrs addrList) first(strategy func(net.Addr) bool) net.Addr {
	for _, addr := range addrs {
		if strategy(addr) {
			return addr
		}
	}
	return addrs[0]
}

// partition divides an address list into two categories, using a strategy
// function to assign a boolean label to each address. The first address,
// and any with a matching label, are returned as primaries, while addresses
// with the opposite label are returned as fallbacks. For non-empty inputs,
// primaries is guaranteed to be non-empty. The Happy Eyeballs primary family
// is therefore the family of whatever address the resolver listed first.
func (addrs addrList) partition(strategy func(net.Addr) bool) (primaries, fallbacks addrList) {
	var primaryLabel bool
	for i, addr := range addrs {
		label := strategy(addr)
		if i == 0 || label == primaryLabel {
			primaryLabel = label
			primaries = append(primaries, addr)
		} else {
			fallbacks = append(fallbacks, addr)
		}
	}
	return
}

// filterAddrList applies a filter to a list of IP addresses, yielding a list
// of Addr objects. Known filters are nil, ipv4only, and ipv6only. It returns
// every address when the filter is nil. The result contains at least one
// address when error is nil; otherwise the error is
// &net.AddrError{Err: "no suitable address found", Addr: originalAddr}.
func filterAddrList(filter func(net.IPAddr) bool, ips []net.IPAddr, inetaddr func(net.IPAddr) net.Addr, originalAddr string) (addrList, error) {
	var addrs addrList
	for _, ip := range ips {
		if filter == nil || filter(ip) {
			addrs = append(addrs, inetaddr(ip))
		}
	}
	if len(addrs) == 0 {
		return nil, &net.AddrError{Err: errNoSuitableAddress.Error(), Addr: originalAddr}
	}
	return addrs, nil
}

// ipv4only reports whether addr is an IPv4 address.
func ipv4only(addr net.IPAddr) bool {
	return addr.IP.To4() != nil
}

// ipv6only reports whether addr is an IPv6 address except IPv4-mapped IPv6
// address.
func ipv6only(addr net.IPAddr) bool {
	return len(addr.IP) == net.IPv6len && addr.IP.To4() == nil
}

// resolveAddrList resolves addr for op ("dial") on network, filtered by the
// local address hint (Dialer.LocalAddr), as net's Resolver.resolveAddrList
// does, using d.Resolver (net.DefaultResolver if nil) for host names and
// service names. The result contains at least one address when err is nil.
//
// Errors are returned raw; the caller wraps them as net.Dialer does, in
// &net.OpError{Op: "dial", Net: network, Source: nil, Addr: nil, Err: err}
// (opError(network, nil, nil, err)). They are:
//   - from parseNetwork: net.UnknownNetworkError, or a *net.AddrError for an
//     unknown IP protocol name;
//   - errMissingAddress ("missing address") for an empty addr;
//   - *net.AddrError from net.SplitHostPort ("missing port in address",
//     "too many colons in address", ...), from Resolver.LookupPort
//     ("invalid port"), "no suitable address found" when no address is of
//     the network's family, "mismatched local address type" or "no suitable
//     address found" (with the hint's text as Addr) when the hint's type or
//     family rules every address out;
//   - *net.DNSError from the resolver (unknown service names, host names),
//     with the flags net sets.
//
// A literal IP address (with its zone, if any) never reaches the resolver.
// While resolving, an httptrace.ClientTrace in ctx keeps its DNS hooks but
// has its connect hooks hidden (shadowConnectTrace), as in net.Dialer, so
// that the resolver's own DNS-server dials do not show up as connects.
//
// A host name resolved for "tcp4", "tcp6", "udp4" or "udp6" goes through
// Resolver.LookupNetIP, which drops IPv6 zones; a zone can only come from an
// /etc/hosts entry such as "fe80::1%eth0 name". net keeps it (see the BUG
// note in doc.go). Literal addresses keep their zones.
func (d *Dialer) resolveAddrList(ctx context.Context, op, network, addr string, hint net.Addr) (addrList, error) {
	afnet, _, err := parseNetwork(network, true)
	if err != nil {
		return nil, err
	}
	if op == "dial" && addr == "" {
		return nil, errMissingAddress
	}
	switch afnet {
	case "unix", "unixgram", "unixpacket":
		addr, err := net.ResolveUnixAddr(afnet, addr)
		if err != nil {
			return nil, err
		}
		if op == "dial" && hint != nil && addr.Network() != hint.Network() {
			return nil, &net.AddrError{Err: "mismatched local address type", Addr: hint.String()}
		}
		return addrList{addr}, nil
	}
	addrs, err := internetAddrList(shadowConnectTrace(ctx), d.resolver(), afnet, addr)
	if err != nil || op != "dial" || hint == nil {
		return addrs, err
	}
	var (
		tcp      *net.TCPAddr
		udp      *net.UDPAddr
		ip       *net.IPAddr
		wildcard bool
	)
	switch hint := hint.(type) {
	case *net.TCPAddr:
		tcp = hint
		wildcard = isWildcard(tcp)
	case *net.UDPAddr:
		udp = hint
		wildcard = isWildcard(udp)
	case *net.IPAddr:
		ip = hint
		wildcard = isWildcard(ip)
	}
	naddrs := addrs[:0]
	for _, addr := range addrs {
		if addr.Network() != hint.Network() {
			return nil, &net.AddrError{Err: "mismatched local address type", Addr: hint.String()}
		}
		// As in net, a hint of an unexpected type whose Network matches
		// dereferences a nil pointer below.
		switch addr := addr.(type) {
		case *net.TCPAddr:
			if !wildcard && !isWildcard(addr) && !matchAddrFamily(addr.IP, tcp.IP) {
				continue
			}
			naddrs = append(naddrs, addr)
		case *net.UDPAddr:
			if !wildcard && !isWildcard(addr) && !matchAddrFamily(addr.IP, udp.IP) {
				continue
			}
			naddrs = append(naddrs, addr)
		case *net.IPAddr:
			if !wildcard && !isWildcard(addr) && !matchAddrFamily(addr.IP, ip.IP) {
				continue
			}
			naddrs = append(naddrs, addr)
		}
	}
	if len(naddrs) == 0 {
		return nil, &net.AddrError{Err: errNoSuitableAddress.Error(), Addr: hint.String()}
	}
	return naddrs, nil
}

// isWildcard reports whether a is a wildcard address, as the isWildcard
// methods of net's address types do: a nil address, an IP address with a
// nil or unspecified IP, or a unix address with an empty name. Other address
// types are not wildcards.
func isWildcard(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a == nil || a.IP == nil || a.IP.IsUnspecified()
	case *net.UDPAddr:
		return a == nil || a.IP == nil || a.IP.IsUnspecified()
	case *net.IPAddr:
		return a == nil || a.IP == nil || a.IP.IsUnspecified()
	case *net.UnixAddr:
		return a == nil || a.Name == ""
	}
	return false
}

// matchAddrFamily reports whether ip and x are both IPv4 or both IPv6 (net's
// IP.matchAddrFamily).
func matchAddrFamily(ip, x net.IP) bool {
	return ip.To4() != nil && x.To4() != nil || ip.To16() != nil && ip.To4() == nil && x.To16() != nil && x.To4() == nil
}

// internetAddrList resolves addr, which may be a literal IP address or a DNS
// name, and returns a list of internet protocol family addresses, as net's
// Resolver.internetAddrList does. The result contains at least one address
// when error is nil.
func internetAddrList(ctx context.Context, r *net.Resolver, network, addr string) (addrList, error) {
	var (
		err        error
		host, port string
		portnum    int
	)
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		if addr != "" {
			if host, port, err = net.SplitHostPort(addr); err != nil {
				return nil, err
			}
			if portnum, err = r.LookupPort(ctx, network, port); err != nil {
				return nil, err
			}
		}
	case "ip", "ip4", "ip6":
		if addr != "" {
			host = addr
		}
	default:
		return nil, net.UnknownNetworkError(network)
	}
	inetaddr := func(ip net.IPAddr) net.Addr {
		switch network {
		case "tcp", "tcp4", "tcp6":
			return &net.TCPAddr{IP: ip.IP, Port: portnum, Zone: ip.Zone}
		case "udp", "udp4", "udp6":
			return &net.UDPAddr{IP: ip.IP, Port: portnum, Zone: ip.Zone}
		case "ip", "ip4", "ip6":
			return &net.IPAddr{IP: ip.IP, Zone: ip.Zone}
		default:
			panic("unexpected network: " + network)
		}
	}
	if host == "" {
		return addrList{inetaddr(net.IPAddr{})}, nil
	}

	// Try as a literal IP address, then as a DNS name.
	ips, err := lookupIPAddr(ctx, r, network, host)
	if err != nil {
		return nil, err
	}
	// Issue 18806: if the machine has halfway configured
	// IPv6 such that it can bind on "::" (IPv6unspecified)
	// but not connect back to that same address, fall
	// back to dialing 0.0.0.0.
	if len(ips) == 1 && ips[0].IP.Equal(net.IPv6unspecified) {
		ips = append(ips, net.IPAddr{IP: net.IPv4zero})
	}

	var filter func(net.IPAddr) bool
	if network != "" && network[len(network)-1] == '4' {
		filter = ipv4only
	}
	if network != "" && network[len(network)-1] == '6' {
		filter = ipv6only
	}
	return filterAddrList(filter, ips, inetaddr, host)
}

// lookupIPAddr returns the addresses of host for network, as net's
// Resolver.lookupIPAddr does: a literal IP address (with its zone) is
// returned as a 16-byte IP without asking the resolver; a name is looked up
// through the public Resolver methods that reach the same code in net with
// a network of the same IP version (net passes "tcp4" where this passes
// "ip4"; the resolver only looks at the trailing digit), so the DNS queries,
// results and *net.DNSError values are the ones net.Dialer gets.
func lookupIPAddr(ctx context.Context, r *net.Resolver, network, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()).To16(), Zone: ip.Zone()}}, nil
	}
	switch network[len(network)-1] {
	case '4', '6':
		// LookupNetIP also filters by family and applies the ::/0.0.0.0
		// rule; internetAddrList doing both again is harmless. Its netip
		// results keep the byte length of net's IPs (a 16-byte IPv4 from
		// /etc/hosts comes back as an IPv4-mapped address, whose AsSlice
		// is 16 bytes again), but not a zone.
		addrs, err := r.LookupNetIP(ctx, "ip"+network[len(network)-1:], host)
		if err != nil {
			return nil, err
		}
		ips := make([]net.IPAddr, len(addrs))
		for i, a := range addrs {
			ips[i] = net.IPAddr{IP: net.IP(a.AsSlice()), Zone: a.Zone()}
		}
		return ips, nil
	}
	return r.LookupIPAddr(ctx, host)
}

// shadowConnectTrace returns ctx with the connect hooks of its
// httptrace.ClientTrace, if any, hidden from net's resolver, as
// net.Dialer.DialContext does while it resolves: "Shadow the nettrace (if
// any) during resolve so Connect events don't fire for DNS lookups." The DNS
// hooks keep working.
//
// httptrace.WithClientTrace stores the trace twice: as a *ClientTrace for
// callers of ContextClientTrace, and as net's internal *nettrace.Trace,
// which the resolver (DNSStart, DNSDone) and the net.Dialer it uses to reach
// DNS servers (ConnectStart, ConnectDone) read. The internal key and type
// cannot be named outside the standard library, so the returned context
// recognises the key by its type's package path and name and answers with a
// copy of the trace whose ConnectStart and ConnectDone are nil. Without a
// ClientTrace, ctx is returned unchanged.
func shadowConnectTrace(ctx context.Context) context.Context {
	if httptrace.ContextClientTrace(ctx) == nil {
		return ctx
	}
	return traceShadowCtx{ctx}
}

// traceShadowCtx is shadowConnectTrace's context. It embeds its parent, so
// cancellation propagates without a goroutine (context finds the parent's
// cancelCtx through Value).
type traceShadowCtx struct{ context.Context }

func (c traceShadowCtx) Value(key any) any {
	v := c.Context.Value(key)
	if v == nil || !isNettraceKey(key) {
		return v
	}
	return shadowTrace(v)
}

// isNettraceKey reports whether key is net's internal nettrace.TraceKey{}.
func isNettraceKey(key any) bool {
	t := reflect.TypeOf(key)
	return t != nil && t.Kind() == reflect.Struct && t.Name() == "TraceKey" && t.PkgPath() == "internal/nettrace"
}

// shadowTrace returns a copy of the *nettrace.Trace v with ConnectStart and
// ConnectDone set to nil, or v itself if it is not a pointer to a struct
// with those fields.
func shadowTrace(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return v
	}
	cp := reflect.New(rv.Elem().Type())
	cp.Elem().Set(rv.Elem())
	for _, name := range [...]string{"ConnectStart", "ConnectDone"} {
		if f := cp.Elem().FieldByName(name); f.IsValid() && f.CanSet() && f.Kind() == reflect.Func {
			f.SetZero()
		}
	}
	return cp.Interface()
}
