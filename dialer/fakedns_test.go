// sigdial-helper-tests

package dialer

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// fakeDNS is an in-memory DNS server for net.Resolver's Dial hook: the
// resolver gets one end of a net.Pipe, speaks DNS over it with TCP framing
// (a Conn that is not a PacketConn), and a goroutine answers from a table.
// No packet leaves the process. Names not in the table get NXDOMAIN.
type fakeDNS struct {
	hosts map[string][]netip.Addr // lower-case name without the final dot

	mu      sync.Mutex
	queries []string // "A name", "AAAA name"
	closed  bool     // the test is over: dial fails
	wg      sync.WaitGroup
}

// fakeResolver returns a Go resolver whose every query fakeDNS answers, and
// waits at cleanup for the goroutines that served it.
func fakeResolver(t testing.TB, hosts map[string][]string) (*net.Resolver, *fakeDNS) {
	t.Helper()
	f := &fakeDNS{hosts: make(map[string][]netip.Addr)}
	for name, addrs := range hosts {
		for _, a := range addrs {
			f.hosts[strings.ToLower(name)] = append(f.hosts[strings.ToLower(name)], netip.MustParseAddr(a))
		}
	}
	// A lookup whose context was canceled goes on in the background
	// (net's lookup group) and may dial after the test has ended.
	t.Cleanup(func() {
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.wg.Wait()
	})
	return &net.Resolver{PreferGo: true, Dial: f.dial}, f
}

var errFakeDNSClosed = errors.New("fake DNS server: test over")

func (f *fakeDNS) dial(ctx context.Context, network, address string) (net.Conn, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, errFakeDNSClosed
	}
	f.wg.Add(1)
	f.mu.Unlock()
	client, server := net.Pipe()
	go func() {
		defer f.wg.Done()
		defer server.Close()
		for {
			var l [2]byte
			if _, err := io.ReadFull(server, l[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(server, q); err != nil {
				return
			}
			resp, err := f.answer(q)
			if err != nil {
				return
			}
			binary.BigEndian.PutUint16(l[:], uint16(len(resp)))
			if _, err := server.Write(append(l[:], resp...)); err != nil {
				return
			}
		}
	}()
	return client, nil
}

const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
)

// answer builds the response to one query: the header, the question as
// asked, and one A or AAAA record per address of the name.
func (f *fakeDNS) answer(q []byte) ([]byte, error) {
	if len(q) < 12 {
		return nil, errors.New("short query")
	}
	// The question: labels, then type and class.
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil, errors.New("bad name")
		}
		n := int(q[i])
		i++
		if n == 0 {
			break
		}
		if i+n > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[i:i+n]))
		i += n
	}
	if i+4 > len(q) {
		return nil, errors.New("short question")
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	f.mu.Lock()
	kind := "A"
	if qtype == dnsTypeAAAA {
		kind = "AAAA"
	}
	f.queries = append(f.queries, kind+" "+name)
	f.mu.Unlock()

	addrs, known := f.hosts[name]
	var answers []byte
	count := 0
	for _, a := range addrs {
		switch {
		case qtype == dnsTypeA && a.Is4():
			b := a.As4()
			answers = appendRR(answers, dnsTypeA, b[:])
			count++
		case qtype == dnsTypeAAAA && a.Is6():
			b := a.As16()
			answers = appendRR(answers, dnsTypeAAAA, b[:])
			count++
		}
	}
	resp := make([]byte, 12, 12+len(question)+len(answers))
	copy(resp, q[:2])                                  // ID
	flags := uint16(1<<15 | 1<<10 | 1<<7)              // QR, AA, RA
	flags |= binary.BigEndian.Uint16(q[2:]) & (1 << 8) // RD as asked
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(count))
	resp = append(resp, question...)
	return append(resp, answers...), nil
}

// appendRR appends a resource record for the question's name (a
// compression pointer to offset 12), class IN, TTL 60.
func appendRR(b []byte, typ uint16, data []byte) []byte {
	b = append(b, 0xc0, 12)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	b = binary.BigEndian.AppendUint32(b, 60)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// seen returns the queries answered so far.
func (f *fakeDNS) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

// TestFakeDNS checks the fake server through net.Resolver itself.
func TestFakeDNS(t *testing.T) {
	r, f := fakeResolver(t, map[string][]string{
		"dual.test": {"::1", "127.0.0.1"},
	})
	addrs, err := r.LookupNetIP(context.Background(), "ip", "dual.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 2 {
		t.Errorf("dual.test: %v", addrs)
	}
	_, err = r.LookupNetIP(context.Background(), "ip", "nosuch.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("nosuch.test: %v", err)
	}
	if len(f.seen()) == 0 {
		t.Errorf("no query reached the fake server")
	}
}
