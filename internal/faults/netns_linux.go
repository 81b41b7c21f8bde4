package faults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The parent tells the child what to run and which namespaces it came from
// through the environment: the child can then prove its isolation by
// comparing inodes (readlink of /proc/1/ns/net was denied even to root on the
// development machines, so PID 1 is no reference).
const (
	envChild     = "SIGDIAL_FAULTS_NETNS_CHILD" // test name, or "*" for MainInFreshNetNS
	envParentNet = "SIGDIAL_FAULTS_PARENT_NETNS"
	envParentMnt = "SIGDIAL_FAULTS_PARENT_MNTNS"
)

// startNetNS is the namespace the process started in. Package initialisation
// runs on the main thread before any test can move a thread elsewhere.
var startNetNS = nsInode("net")

// unavailable is set by MainInFreshNetNS when it had to run the tests in the
// current namespace; RequireIsolated then skips with this reason.
var unavailable string

// nsInode identifies the calling thread's namespace of the given kind, e.g.
// "net:[4026531840]", or returns "" if it cannot be read.
func nsInode(kind string) string {
	s, _ := os.Readlink("/proc/thread-self/ns/" + kind)
	return s
}

func isolated() bool {
	me := nsInode("net")
	if me == "" {
		return false
	}
	if p := os.Getenv(envParentNet); p != "" && p != me {
		return true
	}
	return startNetNS != "" && me != startNetNS
}

// processIsolated reports whether the whole process, not just a NetNS.Do
// thread, is in a namespace of its own: it is the child of InFreshNetNS or
// MainInFreshNetNS (it started in a namespace other than its parent's), and
// the calling thread is still in that namespace. Namespace-wide changes
// (routes, sysctls, firewall rules) are made only then.
//
// The main thread is no reference: when a NetNS.Do goroutine happens to run
// on it, the runtime parks that thread for good instead of destroying it, so
// /proc/self/ns/net can name another namespace.
func processIsolated() bool {
	p := os.Getenv(envParentNet)
	return p != "" && startNetNS != "" && startNetNS != p && nsInode("net") == startNetNS
}

func requireIsolated(t testing.TB) {
	t.Helper()
	if processIsolated() {
		return
	}
	if unavailable != "" {
		t.Skipf("faults: not in a private network namespace: %s", unavailable)
	}
	t.Fatal("faults: refusing to touch the network: this test is not provably in a private network namespace " +
		"(use faults.InFreshNetNS or faults.MainInFreshNetNS)")
}

// linkUp sets IFF_UP on an interface with SIOCGIFFLAGS/SIOCSIFFLAGS, so that
// bringing up lo needs no iproute2 (R8: a fresh namespace's lo is down, and
// then even 127.0.0.1 gives ENETUNREACH).
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS %s: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS %s: %w", name, err)
	}
	return nil
}

// childAttr returns the attributes of a child in new namespaces. As root it
// needs only CLONE_NEWNET. Otherwise it adds CLONE_NEWUSER and maps the
// caller to root inside, which works where unprivileged user namespaces are
// allowed (verified as nobody, R8). Pdeathsig kills the child if the parent
// dies, e.g. on the -test.timeout panic.
func childAttr(extra uintptr) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | extra, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

func childEnv(child string) []string {
	// The race detector sleeps a second before a process exits, by default,
	// so that racing goroutines can report; for the child that second
	// would be added to every namespaced test.
	gorace := os.Getenv("GORACE")
	if !strings.Contains(gorace, "atexit_sleep_ms") {
		gorace = strings.TrimSpace(gorace + " atexit_sleep_ms=0")
	}
	// os/exec keeps the last of duplicate variables, so a grandchild's
	// values replace those this process inherited.
	return append(os.Environ(),
		"GORACE="+gorace,
		envChild+"="+child,
		envParentNet+"="+nsInode("net"),
		envParentMnt+"="+nsInode("mnt"))
}

// runPattern builds a -test.run pattern that matches exactly one test or
// subtest: the flag splits on "/", so every level is anchored on its own.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func inFreshNetNS(t testing.TB, extra []uintptr) bool {
	t.Helper()
	if _, ok := t.(*testing.B); ok {
		// The child selects the test with -test.run, which runs no
		// benchmark.
		t.Fatal("faults: InFreshNetNS supports tests, not benchmarks: use MainInFreshNetNS")
	}
	if os.Getenv(envChild) == t.Name() {
		if err := linkUp("lo"); err != nil {
			// A user namespace can be created without granting
			// capabilities (Ubuntu 24.04's AppArmor restriction).
			t.Skipf("faults: cannot bring lo up in the new network namespace: %v", err)
		}
		requireIsolated(t)
		return true
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	args := []string{"-test.run=" + runPattern(t.Name()), "-test.v", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			// Let the child time out (and print its goroutines) a
			// little before the parent's own -test.timeout kills both.
			if left := time.Until(dl) * 9 / 10; left > 0 {
				args = append(args, "-test.timeout="+left.String())
			}
		}
	}
	var flags uintptr
	for _, f := range extra {
		flags |= f
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = childEnv(t.Name())
	cmd.SysProcAttr = childAttr(flags)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	// Pdeathsig fires when the thread that forked the child exits, not the
	// process (Go issue 27505). Keep this goroutine on its thread until the
	// child is reaped, so that no thread exit can kill it early.
	runtime.LockOSThread()
	err = cmd.Start()
	started := err == nil
	if started {
		err = cmd.Wait()
	}
	runtime.UnlockOSThread()
	if !started {
		t.Skipf("faults: cannot create a network namespace (%v): need root or unprivileged user namespaces", err)
	}

	verdict := childVerdict(t.Name(), out.String())
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		t.Log("netns| " + sc.Text())
	}
	switch {
	case err != nil:
		t.Fatalf("faults: the test failed inside its network namespace: %v", err)
	case verdict == "SKIP":
		t.Skip("faults: skipped inside its network namespace (reason above)")
	case verdict != "PASS":
		t.Fatalf("faults: the child process did not run %s", t.Name())
	}
	return false
}

// childVerdict finds the "--- PASS: name (" line (or SKIP, FAIL) that
// go test's -test.v prints for the test, indented when it is a subtest.
func childVerdict(name, out string) string {
	for _, v := range []string{"PASS", "SKIP", "FAIL"} {
		re := regexp.MustCompile(`(?m)^\s*--- ` + v + `: ` + regexp.QuoteMeta(name) + ` \(`)
		if re.MatchString(out) {
			return v
		}
	}
	return ""
}

type netnsMain struct{ m TestingM }

func mainInFreshNetNS(m TestingM) TestingM { return netnsMain{m} }

func (n netnsMain) Run() int {
	if os.Getenv(envChild) == "*" {
		if err := linkUp("lo"); err != nil {
			fmt.Fprintf(os.Stderr, "faults: cannot bring lo up in the new network namespace: %v\n", err)
			return 1
		}
		return n.m.Run()
	}
	exe, err := os.Executable()
	if err == nil {
		cmd := exec.Command(exe, os.Args[1:]...)
		cmd.Env = childEnv("*")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = childAttr(0)
		runtime.LockOSThread() // see inFreshNetNS: Pdeathsig is per thread
		err = cmd.Start()
		if err == nil {
			err = cmd.Wait()
			runtime.UnlockOSThread()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return ee.ExitCode()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "faults:", err)
				return 1
			}
			return 0
		}
		runtime.UnlockOSThread()
	}
	unavailable = fmt.Sprintf("cannot create a network namespace (%v): need root or unprivileged user namespaces", err)
	fmt.Fprintf(os.Stderr, "faults: warning: %s; running the tests in the current namespace\n", unavailable)
	return n.m.Run()
}

func newNetNS() (*NetNS, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		// Never unlocked on purpose: when this goroutine exits, the
		// runtime destroys the thread, whose namespace was changed.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{-1, os.NewSyscallError("unshare(CLONE_NEWNET)", err)}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{-1, err}
			return
		}
		if err := linkUp("lo"); err != nil {
			unix.Close(fd)
			ch <- result{-1, err}
			return
		}
		ch <- result{fd, nil}
	}()
	r := <-ch
	if r.err != nil {
		return nil, errorf("new network namespace: %w", r.err)
	}
	return &NetNS{fd: r.fd}, nil
}

// nsMu guards NetNS.fd against Close racing with Do or Path. One lock for all
// handles is enough: the critical sections are a few syscalls.
var nsMu sync.RWMutex

func (n *NetNS) do(fn func() error) error {
	ch := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		nsMu.RLock()
		fd := n.fd
		var err error
		if fd < 0 {
			err = errorf("network namespace handle is closed")
		} else if err = unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			err = errorf("setns: %w", err)
		}
		nsMu.RUnlock()
		if err != nil {
			ch <- err
			return
		}
		ch <- fn()
	}()
	return <-ch
}

func (n *NetNS) run(stdin, name string, args ...string) (string, error) {
	var out []byte
	err := n.do(func() error {
		cmd := exec.Command(lookCmd(name), args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		var err error
		out, err = cmd.CombinedOutput()
		return err
	})
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

func (n *NetNS) path() string {
	nsMu.RLock()
	defer nsMu.RUnlock()
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.fd)
}

func (n *NetNS) close() error {
	nsMu.Lock()
	defer nsMu.Unlock()
	if n.fd < 0 {
		return errorf("network namespace handle already closed")
	}
	err := unix.Close(n.fd)
	n.fd = -1
	return err
}

func veth(peer *NetNS, a, b string, addrsA, addrsB []string) error {
	cmds := [][]string{{"link", "add", a, "type", "veth", "peer", "name", b, "netns", peer.path()}}
	for _, c := range addrsA {
		cmds = append(cmds, addrCmd(a, c))
	}
	cmds = append(cmds, []string{"link", "set", a, "up"})
	for _, c := range cmds {
		if out, err := exec.Command(lookCmd("ip"), c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(c, " "), err, bytes.TrimSpace(out))
		}
	}
	for _, c := range addrsB {
		if _, err := peer.run("", "ip", addrCmd(b, c)...); err != nil {
			return err
		}
	}
	if _, err := peer.run("", "ip", "link", "set", b, "up"); err != nil {
		return err
	}
	// Packets sent before the kernel has activated both ends are dropped,
	// and a dropped ARP or ND solicitation costs a 1 s retransmission
	// (seen as a first connect taking 1.02 s). Wait until both ends report
	// operational state UP.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		outA, errA := exec.Command(lookCmd("ip"), "-o", "link", "show", a).CombinedOutput()
		outB, errB := peer.run("", "ip", "-o", "link", "show", b)
		if errA == nil && errB == nil && strings.Contains(string(outA), " state UP ") && strings.Contains(outB, " state UP ") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth %s/%s not up after 5 s: %s%s", a, b, outA, outB)
		}
	}
}

func addrCmd(dev, cidr string) []string {
	c := []string{"addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		c = append(c, "nodad") // no duplicate address detection: usable at once
	}
	return c
}

func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

func readSysctl(name string) (string, error) {
	b, err := os.ReadFile(sysctlPath(name))
	if err != nil {
		return "", errorf("read sysctl %s: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeSysctl(name, value string) error {
	if err := os.WriteFile(sysctlPath(name), []byte(value), 0); err != nil {
		return errorf("set sysctl %s=%q: %w", name, value, err)
	}
	return nil
}

func hostsFile(t testing.TB, content string) {
	t.Helper()
	requireIsolated(t)
	if p := os.Getenv(envParentMnt); p == "" || p == nsInode("mnt") {
		t.Fatal("faults: HostsFile needs a private mount namespace: use InFreshNetNS(t, syscall.CLONE_NEWNS)")
	}
	// Without MS_PRIVATE the bind mount could propagate to the parent's
	// mount namespace through a shared "/".
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Skipf("faults: make / private in the mount namespace: %v", err)
	}
	f := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(f, "/etc/hosts", "", unix.MS_BIND, ""); err != nil {
		t.Skipf("faults: bind-mount /etc/hosts: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount("/etc/hosts", 0); err != nil {
			t.Errorf("faults: unmount /etc/hosts: %v", err)
		}
	})
}
