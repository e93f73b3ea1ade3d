package sql_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// TestExactlyOncePerDelivery: N consumers spread over two Connectors (two
// "processes" sharing the tables) drain one queue while a publisher fills
// it; every message is delivered exactly once (no duplicate without a
// failure, none lost) and none is marked redelivered.
func TestExactlyOncePerDelivery(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			cfg.PollInterval = 50 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const consumers, total = 8, 600
			q := "exactly-once"
			var chans []transports.Channel
			for range 2 {
				conn := dial(t, newConnector(t, cfg))
				for range consumers / 2 {
					ch, err := conn.Channel(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := ch.QueueDeclare(ctx, route.Queue{Name: q, Durable: true}); err != nil {
						t.Fatal(err)
					}
					if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 4}); err != nil {
						t.Fatal(err)
					}
					chans = append(chans, ch)
				}
			}
			var (
				mu   sync.Mutex
				seen = make(map[string]int)
				done = make(chan struct{})
				errs = make(chan error, consumers)
				wg   sync.WaitGroup
			)
			for i, ch := range chans {
				sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q, Tag: fmt.Sprint("c", i)})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						case dv, ok := <-sub.Deliveries():
							if !ok {
								errs <- fmt.Errorf("consumer %d ended: %v", i, sub.Err())
								return
							}
							if dv.Redelivered {
								errs <- fmt.Errorf("%s redelivered without a failure", dv.Body)
							}
							if err := ch.Ack(ctx, dv.Tag, false); err != nil {
								errs <- err
								return
							}
							mu.Lock()
							seen[string(dv.Body)]++
							n := len(seen)
							mu.Unlock()
							if n == total {
								select {
								case <-done:
								default:
									close(done)
								}
							}
						}
					}
				})
			}
			pub := chans[0]
			for i := range total {
				if _, err := pub.Publish(ctx, transports.Publishing{RoutingKey: q,
					Message: transports.Message{Body: fmt.Appendf(nil, "m%d", i)}}); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-done:
			case err := <-errs:
				t.Fatal(err)
			case <-ctx.Done():
				mu.Lock()
				t.Fatalf("%d of %d messages delivered before the timeout", len(seen), total)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for i := range total {
				if n := seen[fmt.Sprint("m", i)]; n != 1 {
					t.Errorf("m%d delivered %d times", i, n)
				}
			}
			info, err := pub.QueueDeclare(ctx, route.Queue{Name: q, Durable: true, Passive: true})
			if err != nil || info.Messages != 0 {
				t.Errorf("after draining: %+v, %v; want 0 messages", info, err)
			}
		})
	}
}
