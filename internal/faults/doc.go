// Package faults makes the network faults that sigdial's tests dial into:
// refused ports, connects that stay pending, synchronous route errors, ICMP
// unreachables (immediate or delayed), silent drops, ephemeral-port
// exhaustion and a broken-IPv6 fixture for Happy Eyeballs. Each helper is one
// call that returns what a test dials, takes a testing.TB, and undoes itself
// with t.Cleanup, leaving no file descriptor and no goroutine behind.
//
// The helpers implement the recipes of the project's fault-recipes.md
// (R1 to R8), which were measured on the development machines; the recipe
// is cited next to each helper, with the errno it was verified to produce.
//
// # Where traffic may go
//
// Helpers that only use loopback (RefusedAddr, FullBacklog, NonLocalAddr)
// work anywhere and need no privileges. Everything else sends to documentation
// addresses and therefore runs only inside a network namespace that the test
// created itself, and refuses to run anywhere else (RequireIsolated):
//
//	func TestUnreachable(t *testing.T) {
//		if !faults.InFreshNetNS(t) {
//			return // parent: the child process ran the test in its own namespace
//		}
//		faults.RouteUnreachable(t, "198.51.100.0/24")
//		// dial 198.51.100.1: connect(2) fails with EHOSTUNREACH at once
//	}
//
// Inside a namespace only 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32
// are used, never 192.0.2.0/24: the development machines' own interface is in
// that prefix. Helpers that take a prefix reject anything else.
//
// # Address plan of a Peer
//
// NewPeer joins the test's namespace ("client") to a second one ("peer") with
// a veth pair and routes two more prefixes to the peer, which drops them.
// Tests that add their own routes next to a Peer must avoid these:
//
//	link      vc 198.51.100.1/24 2001:db8:1::1/64  <->  vs 198.51.100.2/24 2001:db8:1::2/64
//	routed via the peer, where a blackhole route drops them:
//	          203.0.113.0/24, 2001:db8:2::/48   (Blackhole, DelayedReject, BrokenIPv6)
//	on the link, owned by nobody:
//	          198.51.100.64/26, 2001:db8:1::64:0/112   (NoNeighbor)
//
// # Requirements
//
// Namespaces need root, or unprivileged user namespaces (InFreshNetNS then
// adds CLONE_NEWUSER); without either, namespaced tests skip with a message
// saying so. Routes, veth pairs and neighbour settings need iproute2 ("ip");
// tests that lack it skip and name the Debian package to install.
// Peer.Reject uses nftables ("nft") for kernel-generated ICMP errors and
// falls back to a userspace ICMP responder without it. .ci/run installs
// both.
//
// Everything except the stubs is Linux-only. On other systems the package
// compiles, and its helpers skip the calling test.
package faults
