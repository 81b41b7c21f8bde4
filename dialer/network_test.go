// sigdial-helper-tests

package dialer

import (
	"context"
	"net"
	"reflect"
	"testing"
)

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		network    string
		needsProto bool
		afnet      string
		proto      int
	}{
		{"tcp", true, "tcp", 0},
		{"tcp6", true, "tcp6", 0},
		{"udp4", true, "udp4", 0},
		{"unixpacket", true, "unixpacket", 0},
		{"ip", false, "ip", 0},
		{"ip4:1", true, "ip4", 1},
		{"ip4:icmp", true, "ip4", 1},
		{"ip4:ICMP", true, "ip4", 1},
		{"ip6:ipv6-icmp", true, "ip6", 58},
		{"ip6:58", true, "ip6", 58},
		{"ip:255", true, "ip", 255},
		{"ip:tcp", true, "ip", 6},
		{"ip:udp", true, "ip", 17},
	}
	for _, tt := range tests {
		afnet, proto, err := parseNetwork(tt.network, tt.needsProto)
		if err != nil || afnet != tt.afnet || proto != tt.proto {
			t.Errorf("parseNetwork(%q, %v) = %q, %d, %v; want %q, %d", tt.network, tt.needsProto, afnet, proto, err, tt.afnet, tt.proto)
		}
	}
}

// TestParseNetworkErrorsMatchNet checks that bad networks fail with the
// error net.Dialer reports for them.
func TestParseNetworkErrorsMatchNet(t *testing.T) {
	for _, network := range []string{
		"", ":", "tcp7", "TCP", "ip", "ip4", "ip6", "ip:", "ip4:nosuchproto",
		"ip6:999999999", "ip4:icmpx", "udp:1", "unix:x", "IP4:icmp",
		"ip4:rsvp-e2e-ignore-and-then-some-more",
	} {
		_, _, err := parseNetwork(network, true)
		if err == nil {
			t.Errorf("parseNetwork(%q): no error", network)
			continue
		}
		var d net.Dialer
		_, nerr := d.DialContext(context.Background(), network, "127.0.0.1")
		ours := opError(network, nil, nil, err)
		if nerr == nil || nerr.Error() != ours.Error() {
			t.Errorf("%q: net: %v; ours: %v", network, nerr, ours)
			continue
		}
		if got, want := reflect.TypeOf(err), reflect.TypeOf(nerr.(*net.OpError).Err); got != want {
			t.Errorf("%q: error type %v, net's %v", network, got, want)
		}
	}
}

func TestDtoi(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n, i int
		ok   bool
	}{
		{"", 0, 0, false},
		{"x", 0, 0, false},
		{"0", 0, 1, true},
		{"12x", 12, 2, true},
		{"16777215", big, 7, false},
	} {
		n, i, ok := dtoi(tt.s)
		if n != tt.n || i != tt.i || ok != tt.ok {
			t.Errorf("dtoi(%q) = %d, %d, %v; want %d, %d, %v", tt.s, n, i, ok, tt.n, tt.i, tt.ok)
		}
	}
}

func TestGODEBUGLookup(t *testing.T) {
	for _, tt := range []struct {
		s, want string
		ok      bool
	}{
		{"", "", false},
		{"multipathtcp=1", "1", true},
		{"http2client=0,multipathtcp=3", "3", true},
		{"multipathtcp=1,multipathtcp=0", "0", true},
		{"multipathtcp=3#bisect", "3", true},
		{"xmultipathtcp=1", "", false},
		{"multipathtcp", "", false},
	} {
		got, ok := lookupGODEBUG(tt.s, "multipathtcp")
		if got != tt.want || ok != tt.ok {
			t.Errorf("lookupGODEBUG(%q) = %q, %v; want %q, %v", tt.s, got, ok, tt.want, tt.ok)
		}
	}
}

// TestMultipathTCPMatchesNet compares MultipathTCP with net.Dialer's under
// each GODEBUG=multipathtcp value, with and without SetMultipathTCP.
func TestMultipathTCPMatchesNet(t *testing.T) {
	for _, godebug := range []string{"", "multipathtcp=0", "multipathtcp=1", "multipathtcp=2", "multipathtcp=3"} {
		t.Setenv("GODEBUG", godebug)
		for _, set := range []int{-1, 0, 1} {
			var nd net.Dialer
			var od Dialer
			if set >= 0 {
				nd.SetMultipathTCP(set == 1)
				od.SetMultipathTCP(set == 1)
			}
			if n, o := nd.MultipathTCP(), od.MultipathTCP(); n != o {
				t.Errorf("GODEBUG=%q, set %d: net %v, ours %v", godebug, set, n, o)
			}
		}
	}
}

// TestDialerFields checks that Dialer has every exported field of
// net.Dialer with the same type, and that netDialer copies them all.
func TestDialerFields(t *testing.T) {
	nt, ot := reflect.TypeFor[net.Dialer](), reflect.TypeFor[Dialer]()
	for f := range nt.Fields() {
		if !f.IsExported() {
			continue
		}
		of, ok := ot.FieldByName(f.Name)
		if !ok {
			t.Errorf("Dialer has no field %s", f.Name)
			continue
		}
		if of.Type != f.Type {
			t.Errorf("Dialer.%s is a %v, net.Dialer's a %v", f.Name, of.Type, f.Type)
		}
	}
	// A Dialer with every field set to a non-zero value.
	d := Dialer{}
	dv := reflect.ValueOf(&d).Elem()
	for f := range nt.Fields() {
		if !f.IsExported() {
			continue
		}
		v := dv.FieldByName(f.Name)
		switch v.Kind() {
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int64:
			v.SetInt(int64(len(f.Name)))
		case reflect.Interface:
			v.Set(reflect.ValueOf(&net.TCPAddr{Port: 7}))
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
		case reflect.Chan:
			v.Set(reflect.MakeChan(reflect.ChanOf(reflect.BothDir, v.Type().Elem()), 0).Convert(v.Type()))
		case reflect.Func:
			v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value { return []reflect.Value{reflect.Zero(v.Type().Out(0))} }))
		case reflect.Struct:
			switch v.Interface().(type) {
			case net.KeepAliveConfig:
				v.Set(reflect.ValueOf(net.KeepAliveConfig{Enable: true, Count: 3}))
			default:
				v.Set(reflect.ValueOf(timeNowForTest()))
			}
		default:
			t.Fatalf("field %s: kind %v not handled", f.Name, v.Kind())
		}
	}
	d.SetMultipathTCP(true)
	nd := d.netDialer()
	nv := reflect.ValueOf(nd).Elem()
	for f := range nt.Fields() {
		if !f.IsExported() {
			continue
		}
		a, b := dv.FieldByName(f.Name), nv.FieldByName(f.Name)
		if a.Kind() == reflect.Func {
			if a.Pointer() != b.Pointer() {
				t.Errorf("netDialer: field %s not copied", f.Name)
			}
			continue
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			t.Errorf("netDialer: field %s = %v, want %v", f.Name, b, a)
		}
	}
	if !nd.MultipathTCP() {
		t.Errorf("netDialer: MPTCP not copied")
	}
}
