package mux_test

import (
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/kelpmq/kelp/mux"
)

// fill returns a closed channel holding n copies of v.
func fill(n int, v string) <-chan string {
	c := make(chan string, n)
	for range n {
		c <- v
	}
	close(c)
	return c
}

// lastPosition receives every item of m (after a Close) and returns the
// 1-based position of the last item equal to v, and how many there were.
// If step is set, it runs after every receive.
func lastPosition(m *mux.Mux[string], v string, step func()) (last, count int) {
	pos := 0
	for got := range m.C() {
		pos++
		if got == v {
			last, count = pos, count+1
		}
		if step != nil {
			step()
		}
	}
	return last, count
}

// TestFairness checks that a source that always has items ready does not
// starve another: with 10,000 items waiting in one source and 10 in the
// other, the 10 all come out among the first 40 items, for any buffer,
// under the real scheduler.
func TestFairness(t *testing.T) {
	const rounds = 20
	for _, buffer := range []int{0, 1, 8} {
		t.Run(fmt.Sprintf("buffer=%d", buffer), func(t *testing.T) {
			for range rounds {
				m := mux.New[string](buffer)
				for _, src := range []<-chan string{fill(10000, "busy"), fill(10, "quiet")} {
					if _, err := m.Add(src); err != nil {
						t.Fatal(err)
					}
				}
				m.Close()
				last, count := lastPosition(m, "quiet", nil)
				if count != 10 {
					t.Fatalf("got %d quiet items, want 10", count)
				}
				if last > 40 {
					t.Fatalf("last quiet item came out at position %d, want <= 40", last)
				}
			}
		})
	}
}

// TestRoundRobin checks the bound in a bubble where every goroutine of the
// mux is parked before each receive, so the receiver is never faster than
// the mux: the quiet source's 10 items are all out within buffer + 2*10
// items (what the busy source had put into C before the quiet one was
// added, then strict turns).
func TestRoundRobin(t *testing.T) {
	for _, buffer := range []int{0, 1, 8} {
		t.Run(fmt.Sprintf("buffer=%d", buffer), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mux.New[string](buffer)
				for _, src := range []<-chan string{fill(10000, "busy"), fill(10, "quiet")} {
					if _, err := m.Add(src); err != nil {
						t.Fatal(err)
					}
				}
				m.Close()
				synctest.Wait()
				last, count := lastPosition(m, "quiet", synctest.Wait)
				if count != 10 {
					t.Fatalf("got %d quiet items, want 10", count)
				}
				if want := buffer + 2*10; last > want {
					t.Fatalf("last quiet item came out at position %d, want <= %d", last, want)
				}
			})
		})
	}
}
