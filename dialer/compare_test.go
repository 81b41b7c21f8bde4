// sigdial-helper-tests

package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// isTargets are the errors.Is targets compared between net's and our
// errors. The two deadline errors are special: see compareErr.
var isTargets = []struct {
	name string
	err  error
}{
	{"context.Canceled", context.Canceled},
	{"context.DeadlineExceeded", context.DeadlineExceeded},
	{"os.ErrDeadlineExceeded", os.ErrDeadlineExceeded},
	{"ECONNREFUSED", syscall.ECONNREFUSED},
	{"ENOENT", syscall.ENOENT},
	{"EADDRNOTAVAIL", syscall.EADDRNOTAVAIL},
	{"net.ErrClosed", net.ErrClosed},
	{"EAGAIN", syscall.EAGAIN},
	{"EINVAL", syscall.EINVAL},
	{"EPERM", syscall.EPERM},
	{"EACCES", syscall.EACCES},
	{"ECONNRESET", syscall.ECONNRESET},
}

// asTargets lists the error types callers can name, for errors.As.
var asTargets = []struct {
	name string
	as   func(error) (error, bool)
}{
	{"*net.OpError", asType[*net.OpError]},
	{"*os.SyscallError", asType[*os.SyscallError]},
	{"*net.AddrError", asType[*net.AddrError]},
	{"*net.DNSError", asType[*net.DNSError]},
	{"net.UnknownNetworkError", asType[net.UnknownNetworkError]},
	{"*net.ParseError", asType[*net.ParseError]},
	{"net.InvalidAddrError", asType[net.InvalidAddrError]},
	{"syscall.Errno", asType[syscall.Errno]},
	{"net.Error", asType[net.Error]},
}

func asType[T error](err error) (error, bool) {
	var v T
	if errors.As(err, &v) {
		return v, true
	}
	return nil, false
}

// cmpOpts adjusts compareErr for inherently different values.
type cmpOpts struct {
	// normalize rewrites both texts before they are compared (ephemeral
	// ports, temporary paths). nil: texts must be identical.
	normalize func(string) string
	// timeout marks a dial that ends with a timeout: net.Dialer returns
	// os.ErrDeadlineExceeded or its own timeoutError by a race, so for the
	// two deadline targets ours must answer errors.Is true for both
	// whenever net answers true for either, and the dynamic type inside
	// the OpError is not compared.
	timeout bool
}

func (o cmpOpts) norm(s string) string {
	if o.normalize == nil {
		return s
	}
	return o.normalize(s)
}

// compareErr reports every way in which ours differs from net's error.
func compareErr(t testing.TB, nerr, oerr error, o cmpOpts) {
	t.Helper()
	if (nerr == nil) != (oerr == nil) {
		t.Errorf("error: ours %v, net's %v", oerr, nerr)
		return
	}
	if nerr == nil {
		return
	}
	if n, g := o.norm(nerr.Error()), o.norm(oerr.Error()); n != g {
		t.Errorf("Error():\n\tours %q\n\tnet  %q", g, n)
	}
	if n, g := isTimeout(nerr), isTimeout(oerr); n != g {
		t.Errorf("Timeout(): ours %v, net's %v (%v)", g, n, oerr)
	}
	netDeadline := errors.Is(nerr, context.DeadlineExceeded) || errors.Is(nerr, os.ErrDeadlineExceeded)
	for _, tt := range isTargets {
		n, g := errors.Is(nerr, tt.err), errors.Is(oerr, tt.err)
		if o.timeout && (tt.err == context.DeadlineExceeded || tt.err == os.ErrDeadlineExceeded) {
			if netDeadline && !g {
				t.Errorf("errors.Is(err, %s): ours false; net's error is a deadline error (%v), ours must be both", tt.name, nerr)
			}
			continue
		}
		if n != g {
			t.Errorf("errors.Is(err, %s): ours %v, net's %v (%v)", tt.name, g, n, oerr)
		}
	}
	for _, tt := range asTargets {
		nv, n := tt.as(nerr)
		ov, g := tt.as(oerr)
		if n != g {
			t.Errorf("errors.As(err, %s): ours %v, net's %v (%v)", tt.name, g, n, oerr)
			continue
		}
		if n && o.norm(nv.Error()) != o.norm(ov.Error()) {
			t.Errorf("errors.As(err, %s): ours %q, net's %q", tt.name, ov, nv)
		}
	}
	var nd, od *net.DNSError
	if errors.As(nerr, &nd) && errors.As(oerr, &od) {
		if nd.Err != od.Err || nd.Name != od.Name || nd.Server != od.Server ||
			nd.IsTimeout != od.IsTimeout || nd.IsTemporary != od.IsTemporary || nd.IsNotFound != od.IsNotFound ||
			(nd.UnwrapErr == nil) != (od.UnwrapErr == nil) {
			t.Errorf("DNSError:\n\tours %s\n\tnet  %s", dnsFields(od), dnsFields(nd))
		}
	}
	var nop, oop *net.OpError
	if errors.As(nerr, &nop) && errors.As(oerr, &oop) {
		if n, g := opShape(nop, o), opShape(oop, o); n != g {
			t.Errorf("OpError:\n\tours %s\n\tnet  %s", g, n)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func dnsFields(e *net.DNSError) string {
	return fmt.Sprintf("{Err:%q Name:%q Server:%q IsTimeout:%v IsTemporary:%v IsNotFound:%v UnwrapErr:%v}",
		e.Err, e.Name, e.Server, e.IsTimeout, e.IsTemporary, e.IsNotFound, e.UnwrapErr)
}

// opShape describes an OpError's fields: the addresses by presence, type and
// text, and the inner error by type (package name removed, so that net's
// and this package's unexported error types of the same name match).
func opShape(e *net.OpError, o cmpOpts) string {
	addr := func(a net.Addr) string {
		if a == nil {
			return "nil"
		}
		return fmt.Sprintf("%T(%s)", a, o.norm(a.String()))
	}
	errType := typeName(e.Err)
	if o.timeout {
		errType = "(timeout)"
	}
	return fmt.Sprintf("{Op:%s Net:%s Source:%s Addr:%s Err:%s}", e.Op, e.Net, addr(e.Source), addr(e.Addr), errType)
}

func typeName(v any) string {
	s := reflect.TypeOf(v).String()
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		p := strings.TrimLeft(s[:i], "*")
		s = strings.Repeat("*", len(s[:i])-len(p)) + s[i+1:]
	}
	return s
}
