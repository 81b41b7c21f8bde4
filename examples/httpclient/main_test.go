package main

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// want is the output with every port shown as PORT.
const want = `GET http://127.0.0.1:PORT/sigdial
  httptrace ConnectStart: tcp 127.0.0.1:PORT
  httptrace ConnectDone:  tcp 127.0.0.1:PORT, err <nil>
  Dialer.Signals Connected: tcp 127.0.0.1:PORT, *net.TCPConn, 1 attempt(s)
  Dialer.Signals Finished: connected
  httptrace GotConn: reused false
  200 OK: "hello, sigdial"
GET http://127.0.0.1:PORT/again
  httptrace GotConn: reused true
  200 OK: "hello, again"
GET http://127.0.0.1:PORT/
  httptrace ConnectStart: tcp 127.0.0.1:PORT
  httptrace ConnectDone:  tcp 127.0.0.1:PORT, err dial tcp 127.0.0.1:PORT: connect: connection refused
  Dialer.Signals Refused: dial tcp 127.0.0.1:PORT: connect: connection refused
  Dialer.Signals Finished: refused
  error: Get "http://127.0.0.1:PORT/": dial tcp 127.0.0.1:PORT: connect: connection refused
`

var port = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func TestRun(t *testing.T) {
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- run(&out) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s")
	}
	got := port.ReplaceAllString(out.String(), "127.0.0.1:PORT")
	if runtime.GOOS == "windows" {
		// net.Dialer dials there, and Winsock words the refusal its own way.
		for _, line := range []string{"Dialer.Signals Finished: connected", "reused true", "Dialer.Signals Finished: refused"} {
			if !strings.Contains(got, line) {
				t.Errorf("output lacks %q:\n%s", line, got)
			}
		}
		return
	}
	if got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
