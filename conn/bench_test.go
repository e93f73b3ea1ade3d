package conn_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/memory"
)

// benchConn opens a memory broker and connection for a benchmark.
func benchConn(b *testing.B, cfg conn.Config) *conn.Connection {
	b.Helper()
	ctx := context.Background()
	broker := memory.New()
	c, err := conn.Open(ctx, broker.Connector(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Close(ctx)
		_ = broker.Close(ctx)
	})
	return c
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkPublish publishes small JSON bodies to a queue, with and without
// confirms, from 1 and 8 goroutines.
func BenchmarkPublish(b *testing.B) {
	for _, confirms := range []bool{true, false} {
		for _, par := range []int{1, 8} {
			b.Run(fmt.Sprintf("memory/confirms=%v/goroutines=%d", confirms, par), func(b *testing.B) {
				c := benchConn(b, conn.Config{DisableConfirms: !confirms})
				ctx := context.Background()
				q := route.Queue{Name: "bench", MaxLength: 10000} // keep memory flat
				if err := c.Declare(ctx, q); err != nil {
					b.Fatal(err)
				}
				p := c.Producer(conn.WithRoutingKey("bench"))
				body := map[string]int{"n": 1}
				b.ReportAllocs()
				b.SetParallelism(par)
				b.ResetTimer()
				if par == 1 {
					for b.Loop() {
						if err := p.Publish(ctx, body); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := p.Publish(ctx, body); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
				reportRate(b)
			})
		}
	}
}

// BenchmarkPublishConsumeAck measures the full path: publish (confirmed),
// consume through the mux, decode, ack.
func BenchmarkPublishConsumeAck(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		c := benchConn(b, conn.Config{})
		ctx := context.Background()
		q := route.NewQueue("pca")
		cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(100))
		if err != nil {
			b.Fatal(err)
		}
		defer cons.Stop()
		p := c.Producer(conn.WithRoutingKey("pca"))
		errs := make(chan error, 1)
		b.ReportAllocs()
		b.ResetTimer()
		go func() {
			for i := 0; i < b.N; i++ {
				if err := p.Publish(ctx, i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		for i := 0; i < b.N; i++ {
			d := <-cons.C()
			var n int
			if err := d.Decode(&n); err != nil {
				b.Fatal(err)
			}
			if err := d.Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		reportRate(b)
	})
}
