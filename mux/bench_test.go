package mux_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/mux"
)

// benchBuffer is the capacity of every channel in the benchmarks: the
// output of the mux, each source, and the baseline channels.
const benchBuffer = 128

// BenchmarkMux measures items per second from n producer goroutines to one
// receiver, three ways:
//
//   - mux: each producer sends on its own channel, served by a Mux;
//   - chan: the baseline, every producer sends on one plain channel;
//   - fanin: the naive fan-in, one goroutine per producer channel copying
//     into a shared channel, with no way to remove or stop it.
func BenchmarkMux(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("mux/sources=%d", n), func(b *testing.B) {
			m := mux.New[int](benchBuffer)
			for i := range n {
				c := make(chan int, benchBuffer)
				go feed(c, share(b.N, n, i), true)
				if _, err := m.Add(c); err != nil {
					b.Fatal(err)
				}
			}
			m.Close()
			consume(b, m.C())
		})
		b.Run(fmt.Sprintf("chan/sources=%d", n), func(b *testing.B) {
			out := make(chan int, benchBuffer)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { feed(out, share(b.N, n, i), false) })
			}
			go func() { wg.Wait(); close(out) }()
			consume(b, out)
		})
		b.Run(fmt.Sprintf("fanin/sources=%d", n), func(b *testing.B) {
			out := make(chan int, benchBuffer)
			var wg sync.WaitGroup
			for i := range n {
				c := make(chan int, benchBuffer)
				go feed(c, share(b.N, n, i), true)
				wg.Go(func() {
					for v := range c {
						out <- v
					}
				})
			}
			go func() { wg.Wait(); close(out) }()
			consume(b, out)
		})
	}
}

// BenchmarkMuxIdle measures the wake-up path: one item at a time, sent
// to the n sources in turn, each received before the next is sent, so
// every source is idle between items. The baseline, relay, is the same
// ping-pong through one goroutine copying from one channel to another: the
// least any fan-in can cost, since an item must cross a goroutine.
func BenchmarkMuxIdle(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("mux/sources=%d", n), func(b *testing.B) {
			m := mux.New[int](benchBuffer)
			srcs := make([]chan int, n)
			for i := range srcs {
				srcs[i] = make(chan int, benchBuffer)
				if _, err := m.Add(srcs[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				srcs[i%n] <- i
				<-m.C()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			m.Stop()
		})
		b.Run(fmt.Sprintf("relay/sources=%d", n), func(b *testing.B) {
			c := make(chan int, benchBuffer)
			done := make(chan struct{})
			relay := make(chan int)
			go func() {
				defer close(done)
				for v := range c {
					relay <- v
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				c <- i
				<-relay
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			close(c)
			<-done
		})
	}
}

// share returns producer i's share of total items split among n.
func share(total, n, i int) int {
	if i < total%n {
		return total/n + 1
	}
	return total / n
}

// feed sends count items on c, then closes c if closeIt is set.
func feed(c chan<- int, count int, closeIt bool) {
	for j := range count {
		c <- j
	}
	if closeIt {
		close(c)
	}
}

// consume receives every item of c until it is closed, checks there were
// b.N, and reports the rate.
func consume(b *testing.B, c <-chan int) {
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for range c {
		got++
	}
	b.StopTimer()
	if got != b.N {
		b.Fatalf("got %d items, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
