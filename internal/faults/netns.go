package faults

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// InFreshNetNS gives the calling test its own network namespace (recipe R8,
// method A). In the test process it re-executes the test binary, running only
// the calling test, in a child created with CLONE_NEWNET (plus CLONE_NEWUSER
// when not root), and returns false once the child has finished: the child's
// verdict becomes the caller's (failure fails it, skip skips it). In the child
// it brings lo up and returns true, so the test body runs there:
//
//	if !faults.InFreshNetNS(t) {
//		return
//	}
//
// The whole child process is in the new namespace, which has nothing but lo:
// no packet a test sends there can reach the host's network.
//
// Code before the call runs in both processes; so does the code of enclosing
// tests when t is a subtest. Call t.Parallel first if the test is parallel.
// extraCloneflags adds namespaces to the child, e.g. syscall.CLONE_NEWNS for
// HostsFile. If namespaces cannot be created (no root and no unprivileged
// user namespaces, or a container that forbids them), the test is skipped
// with a message that says so.
//
// Benchmarks cannot use it, since the child selects the test with -test.run;
// give their package MainInFreshNetNS instead.
func InFreshNetNS(t testing.TB, extraCloneflags ...uintptr) bool {
	t.Helper()
	return inFreshNetNS(t, extraCloneflags)
}

// TestingM is the part of *testing.M that MainInFreshNetNS and CheckFDsMain
// use. goleak.VerifyTestMain accepts it too, so wrappers compose:
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(faults.CheckFDsMain(faults.MainInFreshNetNS(m)))
//	}
type TestingM interface {
	Run() int
}

// MainInFreshNetNS runs a whole test binary in a fresh network namespace
// (recipe R8, method B), for packages whose tests all need one. The returned
// TestingM's Run re-executes the binary with the same arguments in a child
// with CLONE_NEWNET (and CLONE_NEWUSER when not root) and returns the child's
// exit code; in the child it brings lo up and calls m.Run.
//
// If no namespace can be created, Run prints a warning and runs the tests in
// the current namespace; RequireIsolated then skips the tests that need
// isolation, naming the reason.
func MainInFreshNetNS(m TestingM) TestingM {
	return mainInFreshNetNS(m)
}

// Isolated reports whether the calling thread is provably in a network
// namespace other than the one the test binary was started in by go test:
// inside InFreshNetNS or MainInFreshNetNS, or in NetNS.Do. It compares
// namespace inodes; it does not consult PID 1, whose namespace link may be
// unreadable even for root.
func Isolated() bool {
	return isolated()
}

// RequireIsolated stops the test unless the whole test process runs in a
// network namespace of its own (InFreshNetNS or MainInFreshNetNS). Call it
// before sending to any address that is not loopback, and before changing
// namespace-wide settings. It fails the test, or skips it when
// MainInFreshNetNS already found that namespaces are unavailable.
func RequireIsolated(t testing.TB) {
	t.Helper()
	requireIsolated(t)
}

// NetNS is a handle on a network namespace: an open nsfs file descriptor
// (recipe R8, method C). The namespace, and the interfaces in it, disappear
// once the handle is closed and nothing else (a socket, a process) holds it.
// Its methods are safe for concurrent use.
type NetNS struct {
	fd int // -1 once closed; guarded by nsMu (netns_linux.go)
}

// NewNetNS creates a network namespace with lo up, without moving the
// caller into it. It needs CAP_SYS_ADMIN: root, or any test inside
// InFreshNetNS.
func NewNetNS() (*NetNS, error) {
	return newNetNS()
}

// Do runs fn on a fresh OS thread that has entered n, and returns its error.
// Sockets fn creates belong to n for their whole life and may be used from
// any goroutine afterwards; processes fn starts run in n. Goroutines that fn
// starts do not: they run on other threads, in the caller's namespace. The
// thread is never reused when fn returns (the runtime ends it), so the
// namespace cannot leak to other goroutines.
func (n *NetNS) Do(fn func() error) error {
	return n.do(fn)
}

// Run runs a command inside n and returns its combined output. The error
// includes the command line and the output.
func (n *NetNS) Run(name string, args ...string) (string, error) {
	return n.run("", name, args...)
}

// SetSysctl writes a per-namespace sysctl such as "net.ipv4.icmp_ratelimit"
// inside n.
func (n *NetNS) SetSysctl(name, value string) error {
	return n.Do(func() error { return writeSysctl(name, value) })
}

// Path names n for other programs, as in "ip link set X netns PATH" or
// "nsenter --net=PATH". It is valid while n is open.
func (n *NetNS) Path() string {
	return n.path()
}

// Close releases the handle. Closing twice returns an error.
func (n *NetNS) Close() error {
	return n.close()
}

// Veth creates a veth pair with end a in the calling thread's namespace and
// end b in peer, adds the addresses (CIDR notation; IPv6 ones with nodad, so
// they are usable at once), brings both ends up and waits until the kernel
// reports both operational. It needs iproute2. The pair disappears with
// either namespace; deleting end a removes it at once, which matters when
// the names are reused (namespace teardown is asynchronous).
func Veth(peer *NetNS, a, b string, addrsA, addrsB []string) error {
	return veth(peer, a, b, addrsA, addrsB)
}

// Sh runs a command in the calling thread's namespace and returns its
// combined output, failing the test if the command fails. Commands that
// change the network must only be run when RequireIsolated passes.
func Sh(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(lookCmd(name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// HaveCmd reports whether a program is installed: on PATH, or in /usr/sbin
// or /sbin, which are missing from the PATH of some non-root environments.
func HaveCmd(name string) bool {
	_, err := exec.LookPath(lookCmd(name))
	return err == nil
}

// RequireCmd skips the test unless program name is installed, naming the
// Debian package that provides it (e.g. RequireCmd(t, "nft", "nftables")).
func RequireCmd(t testing.TB, name, pkg string) {
	t.Helper()
	if !HaveCmd(name) {
		t.Skipf("%s is not installed (Debian package %s)", name, pkg)
	}
}

// Sysctl reads a sysctl by its dotted name, e.g.
// "net.ipv4.ip_local_port_range". net.* values are those of the calling
// thread's network namespace.
func Sysctl(name string) (string, error) {
	return readSysctl(name)
}

// SetSysctl sets a per-namespace sysctl (a "net." name) in the test's own
// namespace and restores the old value when the test ends. It calls
// RequireIsolated first: the host's settings are never touched.
func SetSysctl(t testing.TB, name, value string) {
	t.Helper()
	RequireIsolated(t)
	if !strings.HasPrefix(name, "net.") {
		t.Fatalf("faults: SetSysctl(%q): only per-namespace net.* sysctls may be changed", name)
	}
	old, err := readSysctl(name)
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	if err := writeSysctl(name, value); err != nil {
		t.Fatalf("faults: %v", err)
	}
	t.Cleanup(func() {
		if err := writeSysctl(name, old); err != nil {
			t.Errorf("faults: restore %s=%q: %v", name, old, err)
		}
	})
}

// HostsFile replaces /etc/hosts, for this test process only, with content
// (recipe R7), so that Go's resolver sees test names such as a dual-stack
// "dual.test". It needs a private mount namespace: call
// InFreshNetNS(t, syscall.CLONE_NEWNS) first. The original file is visible
// again when the test ends.
func HostsFile(t testing.TB, content string) {
	t.Helper()
	hostsFile(t, content)
}

// errorf prefixes package errors consistently.
func errorf(format string, args ...any) error {
	return fmt.Errorf("faults: "+format, args...)
}

// lookCmd returns name, or its path in /usr/sbin or /sbin when it is only
// there: iproute2 and nftables install to /usr/sbin, which the PATH of
// non-root shells and some CI environments leaves out.
func lookCmd(name string) string {
	if _, err := exec.LookPath(name); err == nil || strings.Contains(name, "/") {
		return name
	}
	for _, dir := range []string{"/usr/sbin/", "/sbin/"} {
		if _, err := exec.LookPath(dir + name); err == nil {
			return dir + name
		}
	}
	return name
}
