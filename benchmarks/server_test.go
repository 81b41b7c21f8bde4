package benchmarks

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// The dial benchmarks need a loopback server in another process, so that
// the client's CPU (getrusage of this process) is the client's alone, as in
// ../shared/reference/perf-baselines.md. The test binary re-runs itself as
// that server: TestBenchServer is a no-op unless SIGDIAL_BENCH_SERVER is
// set, and then accepts and closes until its stdin is closed.

// TestBenchServer is the server process of the dial benchmarks.
func TestBenchServer(t *testing.T) {
	if os.Getenv("SIGDIAL_BENCH_SERVER") == "" {
		t.Skip("runs only as the benchmarks' server process")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0") // backlog: somaxconn
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fmt.Printf("ADDR %s\n", ln.Addr())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close() // the server closes first; clients end with RST
			}
		}()
	}
	io.Copy(io.Discard, os.Stdin) // until the parent closes the pipe
	ln.Close()
	wg.Wait()
}

var (
	serverOnce sync.Once
	serverAddr string
	serverErr  error
	serverStop func()
)

// benchServer starts the server process once per benchmark binary and
// returns its address. It is stopped from TestMain's cleanup path when the
// binary exits (stdin closes).
func benchServer(b *testing.B) string {
	b.Helper()
	serverOnce.Do(func() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServer$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SIGDIAL_BENCH_SERVER=1")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			serverErr = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			serverErr = err
			return
		}
		cmd.Stderr = os.Stderr
		if serverErr = cmd.Start(); serverErr != nil {
			return
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				serverAddr = a
				break
			}
		}
		if serverAddr == "" {
			serverErr = fmt.Errorf("bench server printed no address")
		}
		go io.Copy(io.Discard, out)
		serverStop = func() { stdin.Close(); cmd.Wait() }
	})
	if serverErr != nil {
		b.Fatal(serverErr)
	}
	return serverAddr
}
