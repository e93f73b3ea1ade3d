package route_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// Bind, Unbind and UnbindDest run while other goroutines route. Run with
// -race; the routers must also never lose the one binding nobody touches.
func TestRoutersConcurrent(t *testing.T) {
	const (
		writers = 4
		readers = 4
		rounds  = 300
	)
	for _, k := range allKinds {
		t.Run(string(k), func(t *testing.T) {
			r, _ := route.NewRouter(k)
			if _, err := r.Bind("a.b", route.Table{"h": 1}, "stable"); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			errs := make(chan error, readers)
			var writersWG, readersWG sync.WaitGroup
			for w := range writers {
				writersWG.Go(func() {
					for i := range rounds {
						dest := fmt.Sprintf("w%d-%d", w, i%7)
						key := []string{"a.b", "a.*", "#", "a.#", "b"}[i%5]
						args := route.Table{"h": i % 3}
						if _, err := r.Bind(key, args, dest); err != nil {
							t.Error(err)
							return
						}
						switch i % 3 {
						case 0:
							r.Unbind(key, args, dest)
						case 1:
							r.UnbindDest(dest)
						}
					}
				})
			}
			for range readers {
				readersWG.Go(func() {
					var dst []string
					for {
						select {
						case <-done:
							return
						default:
						}
						dst = r.Route("a.b", route.Table{"h": 1}, dst[:0])
						if !slices.Contains(dst, "stable") {
							errs <- fmt.Errorf("Route lost the stable binding: %v", dst)
							return
						}
						_ = r.Len()
					}
				})
			}
			writersWG.Wait()
			close(done)
			readersWG.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			// Remove what the writers left; only the stable binding remains.
			for w := range writers {
				for i := range 7 {
					r.UnbindDest(fmt.Sprintf("w%d-%d", w, i))
				}
			}
			if n := r.Len(); n != 1 {
				t.Errorf("Len() = %d after cleanup, want 1", n)
			}
		})
	}
}

func TestTopicRouteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	r := route.NewTopicRouter()
	for i := range 1000 {
		for _, p := range []string{"svc.%d.*.#", "*.event.%d", "svc.%d.created"} {
			if _, err := r.Bind(fmt.Sprintf(p, i), nil, fmt.Sprint("q", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := r.Bind("#.a.#.b", nil, "two-hashes"); err != nil {
		t.Fatal(err)
	}
	dst := make([]string, 0, 16)
	keys := []string{"svc.7.x.y", "order.event.42", "svc.9.created", "x.a.y.b", "nothing"}
	r.Route(keys[0], nil, dst) // warm the pool
	allocs := testing.AllocsPerRun(200, func() {
		for _, k := range keys {
			dst = r.Route(k, nil, dst[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("Route allocates %v times per run of %d keys, want 0", allocs, len(keys))
	}
}
