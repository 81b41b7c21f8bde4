package faults

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestFDCount(t *testing.T) {
	n := FDCount(t)
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if got := FDCount(t); got != n+1 {
		t.Errorf("FDCount with one more file open = %d, want %d", got, n+1)
	}
	f.Close()
	if got := FDCount(t); got != n {
		t.Errorf("FDCount after closing it = %d, want %d", got, n)
	}
}

func TestCheckFDs(t *testing.T) {
	defer func(g time.Duration) { fdGrace = g }(fdGrace)
	fdGrace = 50 * time.Millisecond
	// A leak is reported, with what the descriptor refers to.
	f := newFake(t)
	CheckFDs(f)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.finish()
	if !f.failed || !strings.Contains(f.output(), "2 file descriptors leaked") || !strings.Contains(f.output(), "pipe:[") {
		t.Errorf("leaked pipe: failed=%v %q", f.failed, f.output())
	}
	r.Close()
	w.Close()

	// Descriptors closed by the test's cleanups are not leaks.
	f = newFake(t)
	CheckFDs(f)
	r, w, err = os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f.Cleanup(func() { r.Close(); w.Close() })
	f.finish()
	if f.failed {
		t.Errorf("no leak reported as one: %q", f.output())
	}
}

func TestLeaked(t *testing.T) {
	t.Parallel()
	before := map[int]string{0: "/dev/null", 3: "socket:[1]", 4: "pipe:[2]"}
	after := map[int]string{0: "/dev/null", 3: "socket:[9]", 5: "anon_inode:[eventpoll]"}
	got := strings.Join(leaked(before, after), ",")
	if want := "fd 3 -> socket:[9],fd 5 -> anon_inode:[eventpoll]"; got != want {
		t.Errorf("leaked = %q, want %q", got, want)
	}
}
