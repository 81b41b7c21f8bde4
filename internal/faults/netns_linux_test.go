package faults

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestInFreshNetNS(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	parent := os.Getenv(envParentNet)
	if !Isolated() || !processIsolated() || parent == "" || nsInode("net") == parent {
		t.Fatalf("not isolated: thread in %s, parent in %s", nsInode("net"), parent)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Flags&net.FlagUp == 0 {
		t.Fatalf("interfaces %v; want only lo, up", ifs)
	}
	// Loopback works; nothing else is routed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	expect(t, "loopback", dial(ln.Addr().(*net.TCPAddr).AddrPort(), dialOpts{}), 0, "so_error", 0, 100*time.Millisecond)
	expect(t, "off-host", dial(netip.MustParseAddrPort("203.0.113.9:80"), dialOpts{}), unix.ENETUNREACH, "connect", 0, 10*time.Millisecond)
}

func TestInFreshNetNSSubtest(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "with space/and.dot"} {
		t.Run(name, func(t *testing.T) {
			if !InFreshNetNS(t) {
				return
			}
			if !processIsolated() {
				t.Fatal("subtest not isolated")
			}
		})
	}
}

// TestVerdicts runs TestVerdictHelper in a separate process, which runs it
// once more through InFreshNetNS, and checks that the innermost verdict
// reaches go test.
func TestVerdicts(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		verdict string
		ok      bool
		want    []string
	}{
		{"pass", true, []string{"--- PASS: TestVerdictHelper"}},
		{"fail", false, []string{"intended failure", "failed inside its network namespace", "--- FAIL: TestVerdictHelper"}},
		{"skip", true, []string{"intended skip", "--- SKIP: TestVerdictHelper"}},
	} {
		t.Run(tc.verdict, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestVerdictHelper$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "SIGDIAL_FAULTS_TEST_VERDICT="+tc.verdict, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.ok {
				t.Errorf("exit: %v, want success=%v", err, tc.ok)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestVerdictHelper is run by TestVerdicts; on its own it does nothing.
func TestVerdictHelper(t *testing.T) {
	verdict := os.Getenv("SIGDIAL_FAULTS_TEST_VERDICT")
	if verdict == "" {
		return
	}
	if !InFreshNetNS(t) {
		return
	}
	switch verdict {
	case "fail":
		t.Fatal("intended failure")
	case "skip":
		t.Skip("intended skip")
	}
}

func TestNetNS(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	ns, err := NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	outer := nsInode("net")
	// A port of the caller's namespace: refused there, absent in ns.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	var inner string
	var o outcome
	err = ns.Do(func() error {
		inner = nsInode("net")
		if !Isolated() {
			t.Error("Isolated() false inside Do")
		}
		o = dial(dst, dialOpts{})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if inner == outer || nsInode("net") != outer {
		t.Errorf("Do ran in %s, caller in %s before and %s after", inner, outer, nsInode("net"))
	}
	expect(t, "caller's listener seen from ns", o, unix.ECONNREFUSED, "so_error", 0, 100*time.Millisecond)

	// Commands run inside; lo is up there.
	if HaveCmd("ip") {
		out, err := ns.Run("ip", "-o", "link")
		if err != nil || !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "UP") {
			t.Errorf("ip -o link in ns: %v\n%s", err, out)
		}
	}
	if err := ns.SetSysctl("net.ipv4.tcp_syn_retries", "1"); err != nil {
		t.Error(err)
	}
	if v, _ := Sysctl("net.ipv4.tcp_syn_retries"); v == "1" {
		t.Error("SetSysctl on ns changed the caller's namespace")
	}
	if p := ns.Path(); !strings.HasPrefix(p, "/proc/") {
		t.Errorf("Path() = %q", p)
	}

	// Do throws its thread away; threads do not pile up.
	before := threads(t)
	for range 50 {
		if err := ns.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if after := threads(t); after > before+5 {
		t.Errorf("threads: %d before 50 Do calls, %d after", before, after)
	}

	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ns.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if err := ns.Do(func() error { return nil }); err == nil {
		t.Error("Do after Close succeeded")
	}
}

func TestRunPattern(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"TestX":           "^TestX$",
		"TestX/sub":       "^TestX$/^sub$",
		"TestX/a.b_(c)#1": `^TestX$/^a\.b_\(c\)#1$`,
	} {
		if got := runPattern(name); got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestChildVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ out, want string }{
		{"--- PASS: TestX (0.00s)\n", "PASS"},
		{"    --- SKIP: TestX/sub (0.00s)\n", "SKIP"},
		{"--- FAIL: TestX (0.01s)\n", "FAIL"},
		{"--- PASS: TestXY (0.00s)\n", ""},
		{"ok\n", ""},
	} {
		name := "TestX"
		if strings.Contains(tc.out, "/sub") {
			name = "TestX/sub"
		}
		if got := childVerdict(name, tc.out); got != tc.want {
			t.Errorf("childVerdict(%q, %q) = %q, want %q", name, tc.out, got, tc.want)
		}
	}
}

func TestHostsFile(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t, unix.CLONE_NEWNS) {
		return
	}
	orig, err := os.ReadFile("/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("replace", func(t *testing.T) {
		HostsFile(t, "198.51.100.2 dual.test\n2001:db8:2::7 dual.test\n")
		addrs, err := (&net.Resolver{PreferGo: true}).LookupNetIP(t.Context(), "ip", "dual.test")
		if err != nil || len(addrs) != 2 {
			t.Errorf("dual.test -> %v, %v; want two addresses", addrs, err)
		}
	})
	if now, _ := os.ReadFile("/etc/hosts"); string(now) != string(orig) {
		t.Errorf("/etc/hosts not restored:\n%s", now)
	}
}

func TestHostsFileNeedsMountNS(t *testing.T) {
	t.Parallel()
	if !InFreshNetNS(t) {
		return
	}
	f := newFake(t)
	f.run(func(tb testing.TB) { HostsFile(tb, "") })
	f.finish()
	if !f.failed || !strings.Contains(f.output(), "private mount namespace") {
		t.Errorf("HostsFile without CLONE_NEWNS: failed=%v %q", f.failed, f.output())
	}
}
