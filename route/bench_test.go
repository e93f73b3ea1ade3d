package route_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kelpmq/kelp/route"
)

// BenchmarkTopicRoute routes realistic keys through topic exchanges of
// growing size: per binding one of "svc.<n>.*.#", "*.event.<n>" and the
// exact key "svc.<n>.created", each to its own queue.
func BenchmarkTopicRoute(b *testing.B) {
	for _, n := range []int{10, 1000, 10000, 100000} {
		b.Run(fmt.Sprint("bindings=", n), func(b *testing.B) {
			r := route.NewTopicRouter()
			for i := range n {
				var p string
				switch i % 3 {
				case 0:
					p = fmt.Sprintf("svc.%d.*.#", i)
				case 1:
					p = fmt.Sprintf("*.event.%d", i)
				default:
					p = fmt.Sprintf("svc.%d.created", i)
				}
				if _, err := r.Bind(p, nil, fmt.Sprint("q", i)); err != nil {
					b.Fatal(err)
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([]string, 256)
			for i := range keys {
				j := rng.IntN(n)
				switch i % 4 {
				case 0:
					keys[i] = fmt.Sprintf("svc.%d.orders.eu.paid", j)
				case 1:
					keys[i] = fmt.Sprintf("billing.event.%d", j)
				case 2:
					keys[i] = fmt.Sprintf("svc.%d.created", j)
				default:
					keys[i] = "nobody.listens.here"
				}
			}
			dst := make([]string, 0, 8)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = r.Route(keys[i%len(keys)], nil, dst[:0])
				i++
			}
		})
	}
}

// BenchmarkTopicRouteParallel routes from every P at once through 10,000
// bindings: Route holds only a read lock.
func BenchmarkTopicRouteParallel(b *testing.B) {
	r := route.NewTopicRouter()
	for i := range 10000 {
		if _, err := r.Bind(fmt.Sprintf("svc.%d.*.#", i), nil, fmt.Sprint("q", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]string, 0, 8)
		for pb.Next() {
			dst = r.Route("svc.4242.orders.eu", nil, dst[:0])
		}
	})
}

func BenchmarkMatchTopic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		route.MatchTopic("svc.*.orders.#.paid", "svc.42.orders.eu.west.paid")
	}
}

func BenchmarkMatchHeaders(b *testing.B) {
	args := route.Table{"x-match": "all", "format": "pdf", "type": "report", "n": 3}
	headers := route.Table{"format": []byte("pdf"), "type": "report", "n": int64(3), "other": true}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := route.MatchHeaders(args, headers); !ok {
			b.Fatal("no match")
		}
	}
}
