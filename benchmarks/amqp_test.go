package benchmarks_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/benchmarks"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/amqp"
)

// The AMQP workloads of issue 7, kelp (package conn) against the best
// hand-written amqp091-go, on the same RabbitMQ in the same run. Messages
// are 1 KiB, transient, to a non-durable queue, so that the broker's disk
// is not what is measured. Each sub-benchmark is named impl=<name> for
// benchstat -col /impl.
const (
	bodySize   = 1 << 10
	publishers = 8   // concurrent blocking publishers
	prefetch   = 100 // consumers' prefetch
	window     = conn.DefaultConfirmWindow
	maxQueued  = 50000 // x-max-length of publish queues: a long run cannot fill the broker
	multiAck   = prefetch / 2
)

var body = bytes.Repeat([]byte("k"), bodySize)

// rawMsg is the message the raw benchmarks publish: what kelp sends for a
// []byte body with WithDeliveryMode(route.Transient).
var rawMsg = amqp091.Publishing{ContentType: "application/data", ContentEncoding: "binary",
	DeliveryMode: amqp091.Transient, Body: body}

// rawChannel opens a channel on a raw amqp091-go connection, closed with
// it when the benchmark ends.
func rawChannel(b *testing.B) *amqp091.Channel {
	b.Helper()
	c, err := amqp091.Dial(integration.AMQPURL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	ch, err := c.Channel()
	if err != nil {
		b.Fatal(err)
	}
	return ch
}

// queue declares a non-durable queue deleted when the benchmark ends.
func queue(b *testing.B, args amqp091.Table) string {
	b.Helper()
	ch := rawChannel(b)
	q, err := ch.QueueDeclare(integration.Unique("bench"), false, false, false, false, args)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
			b.Errorf("deleting %s: %v", q.Name, err)
		}
	})
	return q.Name
}

// kelpConn opens a kelp connection to the test RabbitMQ.
func kelpConn(b *testing.B) *conn.Connection {
	b.Helper()
	ctr, err := amqp.Driver{}.OpenConnector(integration.AMQPURL(b))
	if err != nil {
		b.Fatal(err)
	}
	return integration.Open(b, ctr, conn.Config{Name: "kelp benchmark"})
}

// measure runs b.N calls of op spread over n goroutines, timed, and
// reports msg/s.
func measure(b *testing.B, n int, op func(ctx context.Context) error) {
	b.Helper()
	ctx := b.Context()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(bodySize)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range n {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := op(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	report(b, start)
}

func report(b *testing.B, start time.Time) {
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

// Publish with confirms: 8 goroutines each call a blocking publish that
// returns once the broker confirmed the message.
func BenchmarkPublishConfirm(b *testing.B) {
	b.Run("impl=kelp", func(b *testing.B) {
		c := kelpConn(b)
		q := queue(b, amqp091.Table{"x-max-length": maxQueued})
		p := c.Producer(conn.WithRoutingKey(q), conn.WithDeliveryMode(route.Transient))
		measure(b, publishers, func(ctx context.Context) error { return p.Publish(ctx, body) })
	})
	b.Run("impl=amqp091", func(b *testing.B) {
		q := queue(b, amqp091.Table{"x-max-length": maxQueued})
		p, err := benchmarks.NewConfirmPublisher(rawChannel(b), window)
		if err != nil {
			b.Fatal(err)
		}
		measure(b, publishers, func(ctx context.Context) error { return p.Publish(ctx, "", q, rawMsg) })
	})
}

// Consume and ack b.N messages, already queued, with prefetch 100: kelp
// and raw amqp091-go ack every message; impl=amqp091-multiack acks every
// 50th with multiple=true, which kelp's per-delivery API does not offer.
func BenchmarkConsumeAck(b *testing.B) {
	filled := func(b *testing.B) string {
		b.Helper()
		q := queue(b, nil)
		if err := benchmarks.Fill(b.Context(), rawChannel(b), q, b.N, window, rawMsg); err != nil {
			b.Fatal(err)
		}
		return q
	}
	b.Run("impl=kelp", func(b *testing.B) {
		q := filled(b)
		c := kelpConn(b)
		ctx := b.Context()
		b.SetBytes(bodySize)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		cons, err := c.Consume(ctx, conn.QueueNames(q), conn.WithPrefetch(prefetch))
		if err != nil {
			b.Fatal(err)
		}
		defer cons.Stop()
		for range b.N {
			d, err := cons.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
		report(b, start)
	})
	raw := func(every int) func(b *testing.B) {
		return func(b *testing.B) {
			q := filled(b)
			ch := rawChannel(b)
			if err := ch.Qos(prefetch, 0, false); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bodySize)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			deliveries, err := ch.ConsumeWithContext(b.Context(), q, "", false, false, false, false, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				d, ok := <-deliveries
				if !ok {
					b.Fatal("deliveries closed")
				}
				if (i+1)%every == 0 || i == b.N-1 {
					if err := d.Ack(every > 1); err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, start)
		}
	}
	b.Run("impl=amqp091", raw(1))
	b.Run("impl=amqp091-multiack", raw(multiAck))
}
