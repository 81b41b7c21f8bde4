// Parts of this file are adapted from Go's net package (src/net/dial.go,
// lookup.go, lookup_unix.go and parse.go, Go 1.26). Copyright 2009 The Go
// Authors. All rights reserved. Use of that source code is governed by a
// BSD-style license that can be found in Go's LICENSE file
// (https://go.dev/LICENSE).

package dialer

import (
	"net"
	"os"
	"strings"
	"sync"
)

// parseNetwork splits network into its address family network ("tcp",
// "udp4", "ip6", "unix", ...) and, for "ip", "ip4" and "ip6", the protocol
// number after the colon, as net's parseNetwork does. The protocol is a
// decimal number or a name from /etc/protocols (with a built-in fallback
// table: icmp, igmp, tcp, udp, ipv6-icmp).
//
// Errors, returned raw for the caller to wrap in a *net.OpError: a
// net.UnknownNetworkError for an unknown network, for "ip"/"ip4"/"ip6"
// without a protocol when needsProto is true, and for a colon after a
// non-IP network; a *net.AddrError{Err: "unknown IP protocol specified"}
// for an unknown protocol name.
func parseNetwork(network string, needsProto bool) (afnet string, proto int, err error) {
	i := strings.LastIndexByte(network, ':')
	if i < 0 { // no colon
		switch network {
		case "tcp", "tcp4", "tcp6":
		case "udp", "udp4", "udp6":
		case "ip", "ip4", "ip6":
			if needsProto {
				return "", 0, net.UnknownNetworkError(network)
			}
		case "unix", "unixgram", "unixpacket":
		default:
			return "", 0, net.UnknownNetworkError(network)
		}
		return network, 0, nil
	}
	afnet = network[:i]
	switch afnet {
	case "ip", "ip4", "ip6":
		protostr := network[i+1:]
		proto, i, ok := dtoi(protostr)
		if !ok || i != len(protostr) {
			proto, err = lookupProtocol(protostr)
			if err != nil {
				return "", 0, err
			}
		}
		return afnet, proto, nil
	}
	return "", 0, net.UnknownNetworkError(network)
}

// protocols maps IP protocol names to numbers: net's minimal built-in table,
// completed from /etc/protocols on first use (readProtocols). Entries
// already present are never overwritten.
var protocols = map[string]int{
	"icmp":      1,
	"igmp":      2,
	"tcp":       6,
	"udp":       17,
	"ipv6-icmp": 58,
}

// maxProtoLength bounds the protocol names lookupProtocol accepts, as in net.
const maxProtoLength = len("RSVP-E2E-IGNORE") + 10 // with room to grow

// readProtocols loads /etc/protocols into protocols once, as net's
// readProtocolsOnce does: "name number alias..." per line, '#' starts a
// comment, names and aliases are added only if not already known. A missing
// file (as on Windows) leaves the built-in table.
var readProtocols = sync.OnceFunc(func() {
	data, err := os.ReadFile("/etc/protocols")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		// tcp    6   TCP    # transmission control protocol
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\r' || r == '\t' || r == '\n'
		})
		if len(f) < 2 {
			continue
		}
		if proto, _, ok := dtoi(f[1]); ok {
			if _, ok := protocols[f[0]]; !ok {
				protocols[f[0]] = proto
			}
			for _, alias := range f[2:] {
				if _, ok := protocols[alias]; !ok {
					protocols[alias] = proto
				}
			}
		}
	}
})

// lookupProtocol returns the number of the IP protocol called name, matched
// case-insensitively against the lower-cased table, as net's lookupProtocol
// on Unix does. An unknown or overlong name yields
// &net.AddrError{Err: "unknown IP protocol specified", Addr: name}.
func lookupProtocol(name string) (int, error) {
	readProtocols()
	var lower [maxProtoLength]byte
	n := copy(lower[:], name)
	lowerASCIIBytes(lower[:n])
	proto, found := protocols[string(lower[:n])]
	if !found || n != len(name) {
		return 0, &net.AddrError{Err: "unknown IP protocol specified", Addr: name}
	}
	return proto, nil
}

// lowerASCIIBytes makes x ASCII lowercase in place.
func lowerASCIIBytes(x []byte) {
	for i, b := range x {
		if 'A' <= b && b <= 'Z' {
			x[i] += 'a' - 'A'
		}
	}
}

// big bounds dtoi, as in net: bigger than we need, not too big to worry
// about overflow.
const big = 0xFFFFFF

// dtoi parses the decimal number at the start of s and returns it, the
// number of bytes used, and whether any digit was found and the value stayed
// below big (net's dtoi).
func dtoi(s string) (n int, i int, ok bool) {
	n = 0
	for i = 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n >= big {
			return big, i, false
		}
	}
	if i == 0 {
		return 0, 0, false
	}
	return n, i, true
}
