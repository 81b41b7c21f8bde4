package dialer

import (
	"testing"
	"unsafe"
)

// TestAsyncDialSize guards the size of a pending AsyncDial, which a server
// with thousands of dials in flight pays for each: 320 bytes is a Go
// allocation size class, and one field more would move it to 352. See the
// layout notes on the dial and racer types before adding one.
func TestAsyncDialSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are kept for 64-bit systems")
	}
	if n := unsafe.Sizeof(AsyncDial{}); n > 320 {
		t.Errorf("AsyncDial is %d bytes, want at most 320", n)
	}
}
