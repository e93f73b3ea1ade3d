package memory_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Several channels publish while consumers on other channels and
// connections share the queue: every message arrives exactly once.
func TestConcurrentPublishConsumeExactlyOnce(t *testing.T) {
	const publishers, consumers, each = 4, 3, 500
	e := newEnv(t)
	e.declare(e.ch, route.NewQueue("q"))
	var (
		mu   sync.Mutex
		seen = make(map[string]int)
		wg   sync.WaitGroup
	)
	total := publishers * each
	got := make(chan struct{}, total)
	var subs []transports.Channel
	for i := range consumers {
		ch := e.channel(e.dial(fmt.Sprint("c", i)))
		if err := ch.Qos(e.ctx, transports.Qos{PrefetchCount: 10}); err != nil {
			t.Fatal(err)
		}
		s, err := ch.Consume(e.ctx, transports.ConsumeArgs{Queue: "q"})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ch)
		wg.Go(func() {
			for d := range s.Deliveries() {
				mu.Lock()
				seen[string(d.Body)]++
				mu.Unlock()
				if err := ch.Ack(e.ctx, d.Tag, false); err != nil {
					t.Error(err)
					return
				}
				got <- struct{}{}
			}
		})
	}
	var pwg sync.WaitGroup
	for p := range publishers {
		ch := e.channel(e.conn)
		pwg.Go(func() {
			for i := range each {
				body := fmt.Sprintf("%d-%d", p, i)
				if _, err := ch.Publish(e.ctx, transports.Publishing{RoutingKey: "q",
					Message: transports.Message{Body: []byte(body)}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	pwg.Wait()
	for range total {
		select {
		case <-got:
		case <-e.ctx.Done():
			t.Fatal("timed out waiting for deliveries")
		}
	}
	for _, ch := range subs {
		if err := ch.Close(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("%d distinct messages, want %d", len(seen), total)
	}
	for body, n := range seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", body, n)
		}
	}
}
