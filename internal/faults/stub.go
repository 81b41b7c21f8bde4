//go:build !linux

package faults

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// This file keeps the package compiling where its mechanisms (network
// namespaces, /proc, Linux socket options) do not exist: every helper skips
// the calling test, and the rest reports errors.ErrUnsupported.

const skipMsg = "faults: needs Linux (network namespaces, /proc)"

var errUnsupported = errorf("needs Linux: %w", errors.ErrUnsupported)

type responder struct{}

func inFreshNetNS(t testing.TB, _ []uintptr) bool {
	t.Helper()
	t.Skip(skipMsg)
	return false
}

func mainInFreshNetNS(m TestingM) TestingM { return m }

func isolated() bool { return false }

func requireIsolated(t testing.TB) {
	t.Helper()
	t.Skip(skipMsg)
}

func newNetNS() (*NetNS, error)                                { return nil, errUnsupported }
func (n *NetNS) do(func() error) error                         { return errUnsupported }
func (n *NetNS) run(string, string, ...string) (string, error) { return "", errUnsupported }
func (n *NetNS) path() string                                  { return "" }
func (n *NetNS) close() error                                  { return errUnsupported }
func veth(*NetNS, string, string, []string, []string) error    { return errUnsupported }
func readSysctl(string) (string, error)                        { return "", errUnsupported }
func writeSysctl(string, string) error                         { return errUnsupported }

func hostsFile(t testing.TB, _ string) { t.Helper(); t.Skip(skipMsg) }

func reserveTCPPort(t testing.TB, _ netip.Addr) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func fullBacklog(t testing.TB, _ netip.Addr) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func addRoute(t testing.TB, _, _ string)       { t.Helper(); t.Skip(skipMsg) }
func noRoute(t testing.TB, _ netip.Prefix)     { t.Helper(); t.Skip(skipMsg) }
func setPortRange(t testing.TB, _, _ uint16)   { t.Helper(); t.Skip(skipMsg) }
func nonLocalCheck(t testing.TB, _ netip.Addr) { t.Helper(); t.Skip(skipMsg) }

func exhaustedPorts(t testing.TB, _ netip.Addr) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func newPeer(t testing.TB) *Peer {
	t.Helper()
	t.Skip(skipMsg)
	return nil
}

func (p *Peer) listen(t testing.TB, _ string) net.Listener {
	t.Helper()
	t.Skip(skipMsg)
	return nil
}

func (p *Peer) refused(t testing.TB, _ string) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func (p *Peer) reject(t testing.TB, _ string, _ Unreach) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func (p *Peer) delayedReject(t testing.TB, _ string, _ Unreach, _ time.Duration) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func (p *Peer) blackhole(t testing.TB, _ string) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func (p *Peer) noNeighbor(t testing.TB, _ string) netip.AddrPort {
	t.Helper()
	t.Skip(skipMsg)
	return netip.AddrPort{}
}

func fdCount(t testing.TB) int {
	t.Helper()
	t.Skip(skipMsg)
	return 0
}

func checkFDs(t testing.TB) { t.Helper() }

func checkFDsMain(m TestingM) TestingM { return m }
