package mux_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kelpmq/kelp/mux"
)

// item is what the tests send: which source, and its sequence number there.
type item struct{ src, seq int }

// filled returns a channel of capacity n holding items seq 0..n-1 of
// source src, left open.
func filled(src, n int) chan item {
	c := make(chan item, n)
	for seq := range n {
		c <- item{src, seq}
	}
	return c
}

// mustAdd adds src to m and fails the test on error.
func mustAdd[T any](t *testing.T, m *mux.Mux[T], src <-chan T) (remove func()) {
	t.Helper()
	remove, err := m.Add(src)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return remove
}

// recorder collects what OnAbandon receives.
type recorder[T any] struct {
	mu    sync.Mutex
	items []T
}

func (r *recorder[T]) option() mux.Option[T] {
	return mux.OnAbandon(func(v T) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.items = append(r.items, v)
	})
}

func (r *recorder[T]) got() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

// TestBounded checks that with nobody receiving, the mux holds at most
// buffer items in C plus one per source, that Stop hands exactly those to
// OnAbandon, and that the rest stay in the sources.
func TestBounded(t *testing.T) {
	const perSource = 50
	for _, buffer := range []int{0, 1, 5} {
		for _, sources := range []int{1, 3} {
			for _, when := range []string{"before", "after"} {
				name := fmt.Sprintf("buffer=%d/sources=%d/filled-%s-Add", buffer, sources, when)
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						var abandoned recorder[item]
						m := mux.New(buffer, abandoned.option())
						srcs := make([]chan item, sources)
						for i := range srcs {
							srcs[i] = make(chan item, perSource)
							if when == "before" {
								srcs[i] = filled(i, perSource)
							}
							mustAdd(t, m, srcs[i])
						}
						if when == "after" {
							synctest.Wait()
							for i, c := range srcs {
								for seq := range perSource {
									c <- item{i, seq}
								}
							}
						}
						synctest.Wait()
						taken := 0
						for _, c := range srcs {
							taken += perSource - len(c)
						}
						if limit := buffer + sources; taken > limit || taken < buffer {
							t.Fatalf("mux took %d items, want between %d and %d", taken, buffer, limit)
						}
						if got := len(m.C()); got != buffer {
							t.Fatalf("C holds %d items, want %d", got, buffer)
						}

						m.Stop()
						if _, ok := <-m.C(); ok {
							t.Fatal("C yielded an item after Stop")
						}
						// Each source gave a prefix of its items; all the
						// mux took went to OnAbandon, each once.
						got := abandoned.got()
						if len(got) != taken {
							t.Fatalf("OnAbandon got %d items, want the %d taken", len(got), taken)
						}
						for i, c := range srcs {
							var seqs []int
							for _, it := range got {
								if it.src == i {
									seqs = append(seqs, it.seq)
								}
							}
							slices.Sort(seqs)
							want := perSource - len(c)
							for k, seq := range seqs {
								if seq != k {
									t.Fatalf("source %d: abandoned %v, want 0..%d", i, seqs, want-1)
								}
							}
							if len(seqs) != want {
								t.Fatalf("source %d: abandoned %d items, want %d", i, len(seqs), want)
							}
						}
					})
				})
			}
		}
	}
}

// TestNoLoss runs producers, a consumer, and a goroutine that keeps
// removing and re-adding sources, all at once, and checks that every item
// sent is received or abandoned exactly once (or, after Stop, left in its
// source), and that each source's received items keep their order.
func TestNoLoss(t *testing.T) {
	for _, end := range []string{"Close", "Stop"} {
		t.Run(end, func(t *testing.T) {
			const (
				sources   = 6
				perSource = 3000
				swaps     = 300
			)
			var abandoned recorder[item]
			m := mux.New(3, abandoned.option())

			srcs := make([]chan item, sources)
			sent := make([]int, sources)
			quit := make(chan struct{})
			var producers sync.WaitGroup
			for i := range srcs {
				srcs[i] = make(chan item, i%3)
				producers.Go(func() {
					defer close(srcs[i])
					for seq := range perSource {
						select {
						case srcs[i] <- item{i, seq}:
							sent[i]++
						case <-quit:
							return
						}
					}
				})
			}
			removes := make([]func(), sources)
			for i, c := range srcs {
				removes[i] = mustAdd(t, m, c)
			}

			swapped := make(chan error, 1)
			go func() {
				for k := range swaps {
					i := k % sources
					removes[i]()
					r, err := m.Add(srcs[i])
					if err != nil {
						swapped <- err
						return
					}
					removes[i] = r
				}
				swapped <- nil
			}()

			received := make([][]int, sources)
			count := 0
			switch end {
			case "Close":
				consumed := make(chan struct{})
				go func() {
					defer close(consumed)
					for it := range m.C() {
						received[it.src] = append(received[it.src], it.seq)
					}
				}()
				if err := <-swapped; err != nil {
					t.Fatalf("Add while swapping: %v", err)
				}
				m.Close()
				<-consumed
				producers.Wait()
			case "Stop":
				for it := range m.C() {
					received[it.src] = append(received[it.src], it.seq)
					if count++; count == sources*perSource/3 {
						m.Stop()
					}
				}
				if err := <-swapped; err != nil && !errors.Is(err, mux.ErrClosed) {
					t.Fatalf("Add while swapping: %v", err)
				}
				close(quit)
				producers.Wait()
			}
			if !mux.IsClosed(m.Done()) {
				t.Fatal("Done not closed after C was")
			}

			lost := abandoned.got()
			for i := range srcs {
				if !slices.IsSorted(received[i]) {
					t.Fatalf("source %d: items received out of order", i)
				}
				all := slices.Clone(received[i])
				for _, it := range lost {
					if it.src == i {
						all = append(all, it.seq)
					}
				}
				for it := range srcs[i] {
					all = append(all, it.seq)
				}
				slices.Sort(all)
				for k, seq := range all {
					if seq != k {
						t.Fatalf("source %d: item %d missing or duplicated (sent %d, accounted %d)", i, k, sent[i], len(all))
					}
				}
				if len(all) != sent[i] {
					t.Fatalf("source %d: accounted for %d items, sent %d", i, len(all), sent[i])
				}
			}
			total := 0
			for _, r := range received {
				total += len(r)
			}
			t.Logf("received %d, abandoned %d", total, len(lost))
		})
	}
}

// TestClose checks the graceful end: C closes only once every source has
// ended, after all their items; Add and Next then report ErrClosed.
func TestClose(t *testing.T) {
	t.Run("no sources", func(t *testing.T) {
		m := mux.New[int](1)
		m.Close()
		m.Close()
		if !mux.IsClosed(m.Done()) {
			t.Fatal("Done not closed")
		}
		if _, err := m.Next(context.Background()); !errors.Is(err, mux.ErrClosed) {
			t.Fatalf("Next = %v, want ErrClosed", err)
		}
		if _, err := m.Add(make(chan int)); !errors.Is(err, mux.ErrClosed) {
			t.Fatalf("Add = %v, want ErrClosed", err)
		}
	})
	t.Run("waits for sources", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mux.New[int](5)
			a, b := make(chan int, 3), make(chan int)
			mustAdd(t, m, a)
			mustAdd(t, m, b)
			a <- 1
			a <- 2
			close(a)
			m.Close()
			synctest.Wait()
			if mux.IsClosed(m.Done()) {
				t.Fatal("Done closed while a source is still open")
			}
			if _, err := m.Add(make(chan int)); !errors.Is(err, mux.ErrClosed) {
				t.Fatalf("Add after Close = %v, want ErrClosed", err)
			}
			b <- 3
			close(b)
			synctest.Wait()
			if !mux.IsClosed(m.Done()) {
				t.Fatal("Done not closed after every source closed")
			}
			var got []int
			for v := range m.C() {
				got = append(got, v)
			}
			slices.Sort(got)
			if !slices.Equal(got, []int{1, 2, 3}) {
				t.Fatalf("got %v, want [1 2 3]: Close dropped items", got)
			}
		})
	})
	t.Run("remove ends a source", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mux.New[int](0)
			remove := mustAdd(t, m, make(chan int))
			m.Close()
			synctest.Wait()
			if mux.IsClosed(m.Done()) {
				t.Fatal("Done closed while a source is served")
			}
			remove()
			if !mux.IsClosed(m.Done()) {
				t.Fatal("Done not closed after the last source was removed")
			}
		})
	})
}

// TestStop checks the immediate end, including sources that never close.
func TestStop(t *testing.T) {
	t.Run("never closed sources", func(t *testing.T) {
		m := mux.New[int](0)
		mustAdd(t, m, make(chan int))      // empty, never closed
		mustAdd(t, m, nil)                 // never ready
		mustAdd(t, m, make(chan int, 1))   // ready later
		mustAdd(t, m, make(chan int, 100)) // empty
		m.Stop()
		if !mux.IsClosed(m.Done()) {
			t.Fatal("Done not closed after Stop")
		}
		if n := m.Len(); n != 0 {
			t.Fatalf("Len = %d after Stop, want 0", n)
		}
		if _, err := m.Add(make(chan int)); !errors.Is(err, mux.ErrClosed) {
			t.Fatalf("Add after Stop = %v, want ErrClosed", err)
		}
	})
	t.Run("after Close abandons buffered items", func(t *testing.T) {
		var abandoned recorder[int]
		m := mux.New(4, abandoned.option())
		src := make(chan int, 3)
		src <- 1
		src <- 2
		src <- 3
		close(src)
		mustAdd(t, m, src)
		m.Close()
		<-m.Done()
		if v := <-m.C(); v != 1 {
			t.Fatalf("first item = %d, want 1", v)
		}
		m.Stop()
		if got := abandoned.got(); !slices.Equal(got, []int{2, 3}) {
			t.Fatalf("OnAbandon got %v, want [2 3]", got)
		}
		if _, ok := <-m.C(); ok {
			t.Fatal("C not empty after Stop")
		}
	})
	t.Run("concurrent calls", func(t *testing.T) {
		m := mux.New[int](0)
		mustAdd(t, m, make(chan int))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				m.Stop()
				if !mux.IsClosed(m.Done()) {
					t.Error("Stop returned before Done was closed")
				}
			})
		}
		wg.Go(m.Close)
		wg.Wait()
	})
	t.Run("without OnAbandon", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mux.New[item](1)
			src := filled(0, 5)
			mustAdd(t, m, src)
			synctest.Wait()
			m.Stop()
			if len(src) != 3 {
				t.Fatalf("source holds %d items after Stop, want 3 (1 in C, 1 in hand)", len(src))
			}
		})
	})
}

// TestRemove checks that remove stops the mux receiving from the source
// at once, abandons the item in hand, and leaves C's items in C.
func TestRemove(t *testing.T) {
	t.Run("in hand", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var abandoned recorder[item]
			m := mux.New(2, abandoned.option())
			src := filled(0, 5)
			remove := mustAdd(t, m, src)
			synctest.Wait() // 2 items in C, the third in hand
			remove()
			if got := abandoned.got(); !slices.Equal(got, []item{{0, 2}}) {
				t.Fatalf("OnAbandon got %v, want the item in hand {0 2}", got)
			}
			if n := m.Len(); n != 0 {
				t.Fatalf("Len = %d after remove, want 0", n)
			}
			src <- item{0, 5}
			synctest.Wait()
			if len(src) != 3 {
				t.Fatalf("source holds %d items, want 3: the mux still receives from it", len(src))
			}
			for want := range 2 {
				if got := <-m.C(); got != (item{0, want}) {
					t.Fatalf("C yielded %v, want %v", got, item{0, want})
				}
			}
			remove() // again: no effect
			if n := len(abandoned.got()); n != 1 {
				t.Fatalf("second remove abandoned again: %d items", n)
			}
			m.Close()
			if !mux.IsClosed(m.Done()) {
				t.Fatal("Done not closed after Close with no sources")
			}
		})
	})
	t.Run("idle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var abandoned recorder[int]
			m := mux.New(0, abandoned.option())
			idle, busy := make(chan int, 1), make(chan int, 1)
			removeIdle := mustAdd(t, m, idle)
			mustAdd(t, m, busy)
			synctest.Wait() // both empty: each has a waiter
			removeIdle()
			idle <- 1
			busy <- 2
			if got := <-m.C(); got != 2 {
				t.Fatalf("C yielded %d, want 2", got)
			}
			synctest.Wait()
			if len(idle) != 1 {
				t.Fatal("the mux received from a removed source")
			}
			if got := abandoned.got(); len(got) != 0 {
				t.Fatalf("OnAbandon got %v, want nothing", got)
			}
			m.Stop()
		})
	})
	t.Run("after the source closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mux.New[int](0)
			src := make(chan int)
			remove := mustAdd(t, m, src)
			close(src)
			synctest.Wait()
			if n := m.Len(); n != 0 {
				t.Fatalf("Len = %d after the source closed, want 0", n)
			}
			remove()
			m.Stop()
			remove()
		})
	})
}

// TestRestart checks that a mux whose sources all ended serves new ones.
func TestRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mux.New[int](0)
		for round := range 3 {
			src := make(chan int, 1)
			src <- round
			close(src)
			mustAdd(t, m, src)
			if got := <-m.C(); got != round {
				t.Fatalf("round %d: got %d", round, got)
			}
			synctest.Wait()
			if n := m.Len(); n != 0 {
				t.Fatalf("round %d: Len = %d, want 0", round, n)
			}
		}
		m.Close()
		if _, ok := <-m.C(); ok {
			t.Fatal("C not closed")
		}
	})
}

// TestNext checks Next's results and errors.
func TestNext(t *testing.T) {
	errCause := errors.New("test cause")
	tests := []struct {
		name  string
		ctx   func(context.Context) (context.Context, context.CancelFunc)
		ready bool  // an item waits in C
		want  error // nil: the item
	}{
		{"item", nil, true, nil},
		{"deadline", func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Second)
		}, false, context.DeadlineExceeded},
		{"cause", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancelCause(ctx)
			time.AfterFunc(time.Second, func() { cancel(errCause) })
			return ctx, func() { cancel(nil) }
		}, false, errCause},
		{"ended before, item ready", func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx, cancel
		}, true, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mux.New[int](1)
				src := make(chan int, 1)
				mustAdd(t, m, src)
				if tt.ready {
					src <- 7
					synctest.Wait()
				}
				ctx := t.Context()
				if tt.ctx != nil {
					var cancel context.CancelFunc
					ctx, cancel = tt.ctx(ctx)
					defer cancel()
				}
				start := time.Now()
				v, err := m.Next(ctx)
				switch {
				case tt.want == nil && (err != nil || v != 7):
					t.Fatalf("Next = %d, %v; want 7, nil", v, err)
				case tt.want != nil && !errors.Is(err, tt.want):
					t.Fatalf("Next error = %v, want %v", err, tt.want)
				case tt.want != nil && !errors.Is(err, ctx.Err()):
					t.Fatalf("Next error = %v, does not match ctx.Err() %v", err, ctx.Err())
				}
				if !tt.ready && time.Since(start) != time.Second {
					t.Fatalf("Next returned after %v, want 1s", time.Since(start))
				}
				if tt.ready && tt.want != nil {
					if v, err := m.Next(t.Context()); err != nil || v != 7 {
						t.Fatalf("item lost to an ended context: Next = %d, %v", v, err)
					}
				}
				m.Close()
				m.Stop()
				if _, err := m.Next(t.Context()); !errors.Is(err, mux.ErrClosed) {
					t.Fatalf("Next after Stop = %v, want ErrClosed", err)
				}
			})
		})
	}
}

// TestAll checks the iterator: every item then stop at close, one error
// then stop when the context ends, and resuming after a break.
func TestAll(t *testing.T) {
	t.Run("until closed", func(t *testing.T) {
		m := mux.New[int](0)
		a, b := make(chan int, 3), make(chan int, 3)
		for i := range 3 {
			a <- i
			b <- 10 + i
		}
		close(a)
		close(b)
		mustAdd(t, m, a)
		mustAdd(t, m, b)
		m.Close()

		var got []int
		for v, err := range m.All(t.Context()) {
			if err != nil {
				t.Fatalf("All yielded %v", err)
			}
			got = append(got, v)
			if len(got) == 2 {
				break
			}
		}
		for v, err := range m.All(t.Context()) { // resumes
			if err != nil {
				t.Fatalf("All yielded %v", err)
			}
			got = append(got, v)
		}
		slices.Sort(got)
		if want := []int{0, 1, 2, 10, 11, 12}; !slices.Equal(got, want) {
			t.Fatalf("All yielded %v, want %v", got, want)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mux.New[int](0)
			src := make(chan int, 1)
			mustAdd(t, m, src)
			src <- 1
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			var items, errs int
			for v, err := range m.All(ctx) {
				switch {
				case err == nil && v == 1:
					items++
				case errors.Is(err, context.DeadlineExceeded) && v == 0:
					errs++
				default:
					t.Fatalf("All yielded %d, %v", v, err)
				}
			}
			if items != 1 || errs != 1 {
				t.Fatalf("All yielded %d items and %d errors, want 1 and 1", items, errs)
			}
			m.Stop()
		})
	})
}

// TestNewNegativeBuffer checks that New refuses a negative buffer as make
// does.
func TestNewNegativeBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(-1) did not panic")
		}
	}()
	mux.New[int](-1)
}
