package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// want is the demo's output with every port shown as PORT.
const want = `sigdial quickstart: 4 asynchronous dials on a reactor of 2 loops
each dial's slots are connected with signals.On(reactor loop 1); the Dialer-wide Finished is queued to the app loop
dial 1: tcp 127.0.0.1:PORT, a listener that accepts
  Connected   on reactor loop 1: 127.0.0.1:PORT -> 127.0.0.1:PORT (*net.TCPConn); the slot owns the conn and closes it
  Finished    on reactor loop 1: connected
dial 2: tcp 127.0.0.1:PORT, a port bound but not listening
  Refused     on reactor loop 1: dial tcp 127.0.0.1:PORT: connect: connection refused
  Finished    on reactor loop 1: refused
dial 3: tcp 127.0.0.1:PORT, a full accept queue, Timeout 200ms
  TimedOut    on reactor loop 1: dial tcp 127.0.0.1:PORT: i/o timeout
  Finished    on reactor loop 1: timed out
dial 4: tcp 127.0.0.1:PORT, the full accept queue, Cancel() right after Start
  Canceled    on reactor loop 1: dial tcp 127.0.0.1:PORT: operation was canceled
  Finished    on reactor loop 1: canceled
Dialer-wide Finished, counted on the app loop: connected 1, refused 1, timed out 1, canceled 1
`

var port = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func TestRun(t *testing.T) {
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- run(&out) }()
	select {
	case err := <-done:
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return within 20s")
	}
	if got := port.ReplaceAllString(out.String(), "127.0.0.1:PORT"); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
