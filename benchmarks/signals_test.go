package benchmarks

import (
	"sync"
	"testing"

	"github.com/sigdial/sigdial/signals"
)

// The signals benchmarks: the subjects (a plain func call, Direct emit with
// 0, 1 and 8 slots, Queued emit to a Loop including the slot running there,
// BlockingQueued round trip, and the Loop's own post-and-wait round trip)
// and their peers (an unbuffered channel hand-off
// to a goroutine, a channel request/reply, a sync.RWMutex-guarded
// []func(T) observer). Run them together:
//
//	go test -run='^$' -bench=Signals -count=6 ./benchmarks/

var sigSink int

//go:noinline
func sigSlot(v int) { sigSink += v }

// sigObserver is the usual hand-rolled observer: a slice of funcs under a
// RWMutex, read-locked while the funcs run.
type sigObserver struct {
	mu    sync.RWMutex
	slots []func(int)
}

func (o *sigObserver) add(f func(int)) {
	o.mu.Lock()
	o.slots = append(o.slots, f)
	o.mu.Unlock()
}

func (o *sigObserver) emit(v int) {
	o.mu.RLock()
	for _, f := range o.slots {
		f(v)
	}
	o.mu.RUnlock()
}

// sigDrain waits until l has run everything posted before.
func sigDrain(l *signals.Loop) {
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
}

func BenchmarkSignals(b *testing.B) {
	b.Run("PlainCall", func(b *testing.B) {
		f := sigSlot // a func value, as a slot is
		b.ReportAllocs()
		for b.Loop() {
			f(1)
		}
	})
	for _, n := range []int{0, 1, 8} {
		b.Run("Direct/slots="+itoa(n), func(b *testing.B) {
			var s signals.Signal[int]
			for range n {
				s.Connect(sigSlot, signals.WithType(signals.DirectConnection))
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Emit(1)
			}
		})
	}
	for _, n := range []int{1, 8} {
		b.Run("RWMutexObserver/slots="+itoa(n), func(b *testing.B) {
			var o sigObserver
			for range n {
				o.add(sigSlot)
			}
			b.ReportAllocs()
			for b.Loop() {
				o.emit(1)
			}
		})
	}
	// Emitters on every P at once: the copy-on-write list is read with one
	// atomic load, the observer's RWMutex is a shared counter.
	nop := func(int) {}
	b.Run("DirectParallel/slots=1", func(b *testing.B) {
		var s signals.Signal[int]
		s.Connect(nop)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Emit(1)
			}
		})
	})
	b.Run("RWMutexObserverParallel/slots=1", func(b *testing.B) {
		var o sigObserver
		o.add(nop)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o.emit(1)
			}
		})
	})
	b.Run("Queued", func(b *testing.B) {
		// Throughput: the emitter posts, the loop runs the slot; the time
		// includes the loop finishing the last call.
		l := signals.NewLoop()
		defer l.Close()
		var s signals.Signal[int]
		n := 0
		s.Connect(func(v int) { n += v }, signals.WithType(signals.QueuedConnection), signals.On(l))
		b.ReportAllocs()
		for b.Loop() {
			s.Emit(1)
		}
		sigDrain(l)
	})
	b.Run("ChanHandoff", func(b *testing.B) {
		// Peer of Queued: an unbuffered channel to a consumer goroutine.
		ch := make(chan int)
		done := make(chan struct{})
		go func() {
			n := 0
			for v := range ch {
				n += v
			}
			_ = n
			close(done)
		}()
		b.ReportAllocs()
		for b.Loop() {
			ch <- 1
		}
		close(ch)
		<-done
	})
	b.Run("BlockingQueued", func(b *testing.B) {
		// Round trip: post, the loop runs the slot, the emitter resumes.
		l := signals.NewLoop()
		defer l.Close()
		var s signals.Signal[int]
		n := 0
		s.Connect(func(v int) { n += v }, signals.WithType(signals.BlockingQueuedConnection), signals.On(l))
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Emit(1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoopPostRoundTrip", func(b *testing.B) {
		// The executor's share of BlockingQueued: post a function to a
		// Loop and wait for it to signal a channel.
		l := signals.NewLoop()
		defer l.Close()
		done := make(chan struct{}, 1)
		f := func() { done <- struct{}{} }
		b.ReportAllocs()
		for b.Loop() {
			l.Post(f)
			<-done
		}
	})
	b.Run("ChanRequestReply", func(b *testing.B) {
		// Peer of BlockingQueued: unbuffered request and reply channels to
		// a server goroutine.
		req := make(chan int)
		rep := make(chan int)
		done := make(chan struct{})
		go func() {
			for v := range req {
				rep <- v
			}
			close(done)
		}()
		b.ReportAllocs()
		for b.Loop() {
			req <- 1
			<-rep
		}
		close(req)
		<-done
	})
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}
