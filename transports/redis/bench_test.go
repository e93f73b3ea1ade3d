package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// The benchmarks compare kelp's Redis transport, through the SPI, with raw
// go-redis doing the same work by hand (LPUSH pipelined / BRPOP), on the
// same server in the same run. Each reports msg/s.

var benchBody = make([]byte, 256)

func BenchmarkPublish(b *testing.B) {
	cfg := testConfig(b)
	ctx := context.Background()
	b.Run("kelp", func(b *testing.B) {
		// In confirm mode, and timed until the last confirmation: Publish
		// only queues the message for the channel's writer, which stores
		// it in Redis with the others of the moment.
		ch := benchChannel(b, cfg, "bp")
		confirms, err := ch.(transports.Confirmer).Confirm(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p := transports.Publishing{RoutingKey: "bp", Message: transports.Message{Body: benchBody,
			Properties: transports.Properties{ContentType: "application/data", DeliveryMode: 2}}}
		b.ReportAllocs()
		start := time.Now()
		var seq uint64
		for b.Loop() {
			if seq, err = ch.Publish(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		for cf := range confirms {
			if !cf.Ack {
				b.Fatalf("publish %d nacked", cf.Seq)
			}
			if cf.Seq == seq {
				break
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
	b.Run("go-redis-lpush-pipelined", func(b *testing.B) {
		rc := rawClient(b, cfg)
		key := cfg.GlobalKeyPrefix + "raw-bp"
		b.ReportAllocs()
		start := time.Now()
		pipe := rc.Pipeline()
		i := 0
		for b.Loop() {
			pipe.LPush(ctx, key, benchBody)
			if i++; i%100 == 0 {
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && i%100 != 0 {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}

func BenchmarkConsume(b *testing.B) {
	cfg := testConfig(b)
	ctx := context.Background()
	b.Run("kelp", func(b *testing.B) {
		ch := benchChannel(b, cfg, "bc")
		p := transports.Publishing{RoutingKey: "bc", Message: transports.Message{Body: benchBody}}
		for range b.N {
			if _, err := ch.Publish(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
		if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 100}); err != nil {
			b.Fatal(err)
		}
		sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bc"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			d := <-sub.Deliveries()
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
		b.StopTimer()
		_ = ch.Cancel(ctx, sub.Tag())
	})
	b.Run("go-redis-brpop", func(b *testing.B) {
		rc := rawClient(b, cfg)
		key := cfg.GlobalKeyPrefix + "raw-bc"
		pipe := rc.Pipeline()
		for range b.N {
			pipe.LPush(ctx, key, benchBody)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if err := rc.BRPop(ctx, time.Second, key).Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}

// benchChannel opens a channel on a new Connector with queue declared
// and empty.
func benchChannel(b *testing.B, cfg redis.Config, queue string) transports.Channel {
	b.Helper()
	ctx := context.Background()
	conn := dial(b, newConnector(b, cfg))
	ch, err := conn.Channel(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: queue}); err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueuePurge(ctx, queue); err != nil {
		b.Fatal(err)
	}
	return ch
}
