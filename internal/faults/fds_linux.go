package faults

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// openFDs maps each open descriptor of the process to its /proc link target.
func openFDs() (map[int]string, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	own := int(d.Fd())
	d.Close()
	if err != nil {
		return nil, err
	}
	fds := make(map[int]string, len(names))
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil || fd == own {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if err != nil {
			continue // closed in the meantime
		}
		fds[fd] = target
	}
	return fds, nil
}

// initPoller makes the Go runtime open its network poller's descriptors
// (an epoll instance and an eventfd, opened on first use and never closed):
// os.Pipe registers the pipe with the poller.
var initPoller = sync.OnceFunc(func() {
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
})

// leaked lists the descriptors of after that were not open, or referred to
// something else, in before.
func leaked(before, after map[int]string) []string {
	var out []string
	for fd, target := range after {
		if before[fd] != target {
			out = append(out, fmt.Sprintf("fd %d -> %s", fd, target))
		}
	}
	slices.Sort(out)
	return out
}

// waitLeaks rechecks for up to fdGrace and returns the descriptors still
// leaked.
func waitLeaks(before map[int]string) ([]string, error) {
	deadline := time.Now().Add(fdGrace)
	for {
		after, err := openFDs()
		if err != nil {
			return nil, err
		}
		l := leaked(before, after)
		if len(l) == 0 || time.Now().After(deadline) {
			return l, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fdCount(t testing.TB) int {
	t.Helper()
	fds, err := openFDs()
	if err != nil {
		t.Skipf("faults: cannot list file descriptors: %v", err)
	}
	return len(fds)
}

func checkFDs(t testing.TB) {
	t.Helper()
	// Setenv panics in parallel tests, whose neighbours' descriptors would
	// make the count meaningless.
	t.Setenv("SIGDIAL_FAULTS_CHECKFDS", t.Name())
	initPoller()
	before, err := openFDs()
	if err != nil {
		t.Logf("faults: CheckFDs disabled: %v", err)
		return
	}
	t.Cleanup(func() {
		l, err := waitLeaks(before)
		if err != nil {
			t.Errorf("faults: CheckFDs: %v", err)
		} else if len(l) > 0 {
			t.Errorf("faults: %d file descriptors leaked:\n\t%s", len(l), strings.Join(l, "\n\t"))
		}
	})
}

type fdMain struct{ m TestingM }

func checkFDsMain(m TestingM) TestingM { return fdMain{m} }

func (f fdMain) Run() int {
	initPoller()
	before, err := openFDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: CheckFDsMain disabled:", err)
		return f.m.Run()
	}
	code := f.m.Run()
	l, err := waitLeaks(before)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "faults: CheckFDsMain:", err)
	case len(l) > 0:
		fmt.Fprintf(os.Stderr, "faults: the tests leaked %d file descriptors:\n\t%s\n", len(l), strings.Join(l, "\n\t"))
		if code == 0 {
			code = 1
		}
	}
	return code
}
