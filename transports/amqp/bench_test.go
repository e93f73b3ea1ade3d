package amqp_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// The driver-level benchmarks compare the SPI with the same workload
// written directly on amqp091-go, against the same broker in the same run:
//
//	go test ./transports/amqp -run '^$' -bench . -benchtime 20000x
//
// Each reports msg/s; the ratio kelp/amqp091 is the driver's overhead.
const (
	benchBody   = 1 << 10 // bytes per message
	benchWindow = 256     // publishes in flight, and the consumers' prefetch
)

// benchQueue declares a queue that drops its oldest messages beyond a
// bound, so a long benchmark cannot fill the broker's memory.
func benchQueue(b *testing.B, ctx context.Context, ch transports.Channel) string {
	return declareQueue(b, ctx, ch, route.Queue{Name: unique("bench"), MaxLength: 50000})
}

// window publishes n messages with at most benchWindow unconfirmed,
// calling publish for each and confirmed to wait for the next confirmation.
func window(b *testing.B, n int, publish func() error, confirmed func() bool) {
	sent, acked := 0, 0
	for acked < n {
		if sent < n && sent-acked < benchWindow {
			if err := publish(); err != nil {
				b.Fatal(err)
			}
			sent++
			continue
		}
		if !confirmed() {
			b.Fatal("nacked or confirmations closed")
		}
		acked++
	}
}

// rawChannel opens a channel directly on amqp091-go, closed with its
// connection when the benchmark ends.
func rawChannel(b *testing.B) *amqp091.Channel {
	b.Helper()
	conn, err := amqp091.Dial(brokerURL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		b.Fatal(err)
	}
	return ch
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}

func BenchmarkPublishConfirm(b *testing.B) {
	body := bytes.Repeat([]byte("k"), benchBody)
	b.Run("kelp", func(b *testing.B) {
		ctx, cancel := context.WithCancel(testCtx(b, 10*time.Minute)) // a ctx that can end: the worker path
		defer cancel()
		_, ch := open(b, ctx)
		q := benchQueue(b, ctx, ch)
		confirms, err := ch.(transports.Confirmer).Confirm(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p := transports.Publishing{RoutingKey: q, Message: transports.Message{Body: body,
			Properties: transports.Properties{ContentType: "application/data", DeliveryMode: route.Transient}}}
		b.SetBytes(benchBody)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		window(b, b.N, func() error {
			_, err := ch.Publish(ctx, p)
			return err
		}, func() bool {
			c, ok := <-confirms
			return ok && c.Ack
		})
		reportRate(b, start)
	})
	b.Run("amqp091", func(b *testing.B) {
		ctx := testCtx(b, 10*time.Minute)
		_, kch := open(b, ctx)
		q := benchQueue(b, ctx, kch)
		ch := rawChannel(b)
		if err := ch.Confirm(false); err != nil {
			b.Fatal(err)
		}
		confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, benchWindow))
		msg := amqp091.Publishing{Body: body, ContentType: "application/data", DeliveryMode: amqp091.Transient}
		b.SetBytes(benchBody)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		window(b, b.N, func() error {
			return ch.PublishWithContext(ctx, "", q, false, false, msg)
		}, func() bool {
			c, ok := <-confirms
			return ok && c.Ack
		})
		reportRate(b, start)
	})
}

// fill publishes n messages to q on a confirm-mode channel and waits for
// their confirmations, outside the timer.
func fill(b *testing.B, ctx context.Context, ch transports.Channel, q string, n int, body []byte) {
	b.Helper()
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := transports.Publishing{RoutingKey: q, Message: transports.Message{Body: body,
		Properties: transports.Properties{DeliveryMode: route.Transient}}}
	window(b, n, func() error {
		_, err := ch.Publish(ctx, p)
		return err
	}, func() bool {
		c, ok := <-confirms
		return ok && c.Ack
	})
}

func BenchmarkConsumeAck(b *testing.B) {
	body := bytes.Repeat([]byte("k"), benchBody)
	b.Run("kelp", func(b *testing.B) {
		ctx, cancel := context.WithCancel(testCtx(b, 10*time.Minute))
		defer cancel()
		c, ch := open(b, ctx)
		q := declareQueue(b, ctx, ch, route.Queue{Name: unique("bench")})
		fill(b, ctx, ch, q, b.N, body)
		cons, err := c.Channel(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := cons.Qos(ctx, transports.Qos{PrefetchCount: benchWindow}); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBody)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		sub, err := cons.Consume(ctx, transports.ConsumeArgs{Queue: q})
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			d, ok := <-sub.Deliveries()
			if !ok {
				b.Fatal(sub.Err())
			}
			if err := cons.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, start)
	})
	b.Run("amqp091", func(b *testing.B) {
		ctx := testCtx(b, 10*time.Minute)
		_, kch := open(b, ctx)
		q := declareQueue(b, ctx, kch, route.Queue{Name: unique("bench")})
		fill(b, ctx, kch, q, b.N, body)
		ch := rawChannel(b)
		if err := ch.Qos(benchWindow, 0, false); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchBody)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		deliveries, err := ch.ConsumeWithContext(ctx, q, "", false, false, false, false, nil)
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			d, ok := <-deliveries
			if !ok {
				b.Fatal("deliveries closed")
			}
			if err := ch.Ack(d.DeliveryTag, false); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, start)
	})
}
