package transporttest

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

var concurrencyTests = []test{
	{"PublishConsume", testConcurrentPublishConsume},
}

// testConcurrentPublishConsume: several channels on two connections
// publish and consume at once; when nothing fails, every message is
// delivered exactly once to the queue it was routed to. Each goroutine
// drives its own channel, as the SPI's concurrency contract asks.
func testConcurrentPublishConsume(h *harness) {
	const (
		publishers = 4
		perPub     = 250
		total      = publishers * perPub
	)
	conns := []transports.Conn{h.conn(), h.conn()}
	admin := h.channel(conns[0])
	ex := h.exchange(admin, route.Direct)
	queues := []string{h.queue(admin), h.queue(admin)}
	for i, q := range queues {
		h.bind(admin, q, ex, fmt.Sprint(i), nil)
	}
	// Two consumers share queue 0, one takes queue 1.
	type consumer struct {
		ch  transports.Channel
		sub transports.Subscription
		q   int
	}
	var cons []consumer
	for i, qi := range []int{0, 0, 1} {
		ch := h.channel(conns[i%2])
		h.qos(ch, 10)
		cons = append(cons, consumer{ch, h.consume(ch, transports.ConsumeArgs{Queue: queues[qi]}), qi})
	}
	pubs := make([]transports.Channel, publishers)
	for i := range pubs {
		pubs[i] = h.channel(conns[i%2])
	}

	var (
		mu       sync.Mutex
		received = make([][]string, len(queues))
		count    int
		all      = make(chan struct{})
	)
	g, ctx := errgroup.WithContext(h.ctx)
	for _, c := range cons {
		g.Go(func() error {
			for {
				select {
				case d, ok := <-c.sub.Deliveries():
					if !ok {
						return fmt.Errorf("consumer %q ended early: %w", c.sub.Tag(), c.sub.Err())
					}
					if err := c.ch.Ack(ctx, d.Tag, false); err != nil {
						return fmt.Errorf("Ack: %w", err)
					}
					mu.Lock()
					received[c.q] = append(received[c.q], string(d.Body))
					count++
					if count == total {
						close(all)
					}
					mu.Unlock()
				case <-all:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		})
	}
	for i, ch := range pubs {
		g.Go(func() error { return publishAll(ctx, h.f.Confirms, ch, ex, i, perPub) })
	}
	if err := g.Wait(); err != nil {
		h.t.Fatal(err)
	}

	for qi := range queues {
		var want []string
		for p := range publishers {
			for j := range perPub {
				if j%2 == qi {
					want = append(want, fmt.Sprintf("p%d-%d", p, j))
				}
			}
		}
		if got := received[qi]; !sameSet(got, want) {
			h.t.Errorf("queue %d received %d messages, want %d, each exactly once", qi, len(got), len(want))
		}
	}
	for _, c := range cons {
		h.quiet(c.sub, "a delivery after every message was received")
	}
}

// publishAll publishes n messages on ch, alternating between routing keys
// "0" and "1", and with confirms waits until every one is acked. It runs
// on a goroutine of its own, so it reports failures as errors.
func publishAll(ctx context.Context, confirms bool, ch transports.Channel, ex string, id, n int) error {
	var acks *collector[transports.Confirmation]
	if confirms {
		cf, ok := ch.(transports.Confirmer)
		if !ok {
			return fmt.Errorf("%T does not implement transports.Confirmer", ch)
		}
		c, err := cf.Confirm(ctx)
		if err != nil {
			return fmt.Errorf("Confirm: %w", err)
		}
		acks = collect(c)
	}
	for j := range n {
		if _, err := ch.Publish(ctx, msg(ex, fmt.Sprint(j%2), fmt.Sprintf("p%d-%d", id, j))); err != nil {
			return fmt.Errorf("publisher %d: Publish %d: %w", id, j, err)
		}
	}
	if acks == nil {
		return nil
	}
	cs, ok := acks.wait(ctx.Done(), func(cs []transports.Confirmation, _ bool) bool { return len(cs) >= n })
	if !ok {
		return fmt.Errorf("publisher %d: %d of %d confirmations arrived", id, len(cs), n)
	}
	for _, c := range cs {
		if !c.Ack {
			return fmt.Errorf("publisher %d: sequence number %d nacked", id, c.Seq)
		}
	}
	return nil
}
