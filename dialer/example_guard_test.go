package dialer_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/sigdial/sigdial/dialer"
)

// errSSRFDenied is what ssrfGuard refuses a destination with.
var errSSRFDenied = errors.New("destination denied")

// ssrfGuard is a Control function that refuses loopback destinations. It
// runs for every address actually tried, after name resolution, before
// connect(2); the address is "ip:port" then. It fails closed: anything it
// cannot parse is refused too.
func ssrfGuard(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errSSRFDenied, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Unmap().IsLoopback() {
		return fmt.Errorf("%w: %s", errSSRFDenied, host)
	}
	return nil
}

// A Control function that refuses forbidden destinations guards against
// server-side request forgery: the socket is made, the guard refuses it,
// and no SYN is sent. The same function works unchanged with net.Dialer.
func ExampleDialer_ssrfGuard() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()

	d := &dialer.Dialer{Control: ssrfGuard, Signals: new(dialer.Signals)}
	d.Signals.Failed.Connect(func(e *dialer.DialError) {
		fmt.Println("Failed signal:", errors.Is(e, errSSRFDenied))
	})
	_, err = d.Dial("tcp", ln.Addr().String())
	var op *net.OpError
	if errors.As(err, &op) {
		fmt.Println("dialer.Dialer:", op.Err)
	}

	nd := &net.Dialer{Control: ssrfGuard}
	_, err = nd.Dial("tcp", ln.Addr().String())
	if errors.As(err, &op) {
		fmt.Println("net.Dialer:", op.Err)
	}
	// Output:
	// Failed signal: true
	// dialer.Dialer: destination denied: 127.0.0.1
	// net.Dialer: destination denied: 127.0.0.1
}
