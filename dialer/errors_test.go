// sigdial-helper-tests

package dialer

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestTimeoutError(t *testing.T) {
	var ne net.Error
	if !errors.As(errTimeout, &ne) || !ne.Timeout() || !ne.Temporary() {
		t.Errorf("errTimeout is not a net.Error with Timeout and Temporary")
	}
	if got := errTimeout.Error(); got != "i/o timeout" {
		t.Errorf("errTimeout.Error() = %q", got)
	}
	for _, target := range []error{context.DeadlineExceeded, os.ErrDeadlineExceeded} {
		if !errors.Is(errTimeout, target) {
			t.Errorf("errors.Is(errTimeout, %v) = false", target)
		}
		if !errors.Is(opError("tcp", nil, nil, errTimeout), target) {
			t.Errorf("errors.Is(OpError{errTimeout}, %v) = false", target)
		}
	}
	if errors.Is(errTimeout, context.Canceled) {
		t.Errorf("errTimeout is context.Canceled")
	}
	if !opError("tcp", nil, nil, errTimeout).Timeout() {
		t.Errorf("OpError{errTimeout}.Timeout() = false")
	}
}

func TestCanceledError(t *testing.T) {
	if got := errCanceled.Error(); got != "operation was canceled" {
		t.Errorf("errCanceled.Error() = %q", got)
	}
	if !errors.Is(errCanceled, context.Canceled) || errors.Is(errCanceled, context.DeadlineExceeded) {
		t.Errorf("errCanceled: wrong errors.Is answers")
	}
	if opError("tcp", nil, nil, errCanceled).Timeout() {
		t.Errorf("OpError{errCanceled}.Timeout() = true")
	}
}

// TestMapErrMatchesNet compares mapErr's results with what net.Dialer
// returns for a context that is already done.
func TestMapErrMatchesNet(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, ctx := range []context.Context{canceled, expired} {
		var d net.Dialer
		_, nerr := d.DialContext(ctx, "tcp", "127.0.0.1:1")
		ours := opError("tcp", nil, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, mapErr(ctx.Err()))
		if nerr == nil || nerr.Error() != ours.Error() {
			t.Errorf("net: %v; ours: %v", nerr, ours)
		}
		if errors.Is(nerr, context.Canceled) != errors.Is(ours, context.Canceled) {
			t.Errorf("%v: errors.Is(context.Canceled) differs", ours)
		}
		if errors.Is(nerr, context.DeadlineExceeded) && !errors.Is(ours, context.DeadlineExceeded) {
			t.Errorf("%v: errors.Is(context.DeadlineExceeded) differs", ours)
		}
	}
	other := errors.New("other")
	if mapErr(other) != other || mapErr(os.ErrDeadlineExceeded) != errTimeout {
		t.Errorf("mapErr: wrong mapping")
	}
}

func TestOpAddr(t *testing.T) {
	var tcp *net.TCPAddr
	var unix *net.UnixAddr
	for _, a := range []net.Addr{nil, tcp, (*net.UDPAddr)(nil), (*net.IPAddr)(nil), unix} {
		if opAddr(a) != nil {
			t.Errorf("opAddr(%#v) is not nil", a)
		}
	}
	a := &net.TCPAddr{Port: 1}
	if opAddr(a) != net.Addr(a) {
		t.Errorf("opAddr changed a non-nil address")
	}
}
