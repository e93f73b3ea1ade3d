package beanstalk_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	bs "github.com/beanstalkd/go-beanstalk"

	"github.com/kelpmq/kelp/internal/benchcmp"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// The benchmarks compare kelp's SPI with raw go-beanstalk doing the same
// work by hand on the same server (put; reserve and delete), in
// alternating blocks of one benchmark (package benchcmp), which reports
// kelp-msg/s, raw-msg/s and their ratio. kelp does one round trip more per
// consumed message than the raw client: stats-job after reserve, for the
// redelivered flag.

var benchBody = make([]byte, 256)

var benchPublishing = transports.Publishing{RoutingKey: "bench", Message: transports.Message{Body: benchBody,
	Properties: transports.Properties{ContentType: "application/data", DeliveryMode: 2}}}

// rawTube is the raw side: a connection and a tube of the benchmark's own.
type rawTube struct {
	c  *bs.Conn
	t  *bs.Tube
	ts *bs.TubeSet
}

func newRawTube(b *testing.B) *rawTube {
	c, err := bs.Dial("tcp", "127.0.0.1:11300")
	if err != nil {
		b.Fatal(err)
	}
	tube := fmt.Sprintf("kelp-raw-bench-%d-%d", os.Getpid(), prefixes.Add(1))
	r := &rawTube{c: c, t: bs.NewTube(c, tube), ts: bs.NewTubeSet(c, tube)}
	b.Cleanup(func() {
		for r.take(nil) {
		}
		_ = c.Close()
	})
	return r
}

func (r *rawTube) put(b *testing.B) {
	if _, err := r.t.Put(benchBody, 0, 0, time.Minute); err != nil {
		b.Fatal(err)
	}
}

// take reserves and deletes a job, and reports whether there was one.
func (r *rawTube) take(b *testing.B) bool {
	id, _, err := r.ts.Reserve(0)
	if err != nil {
		if b != nil {
			b.Fatal(err)
		}
		return false
	}
	if err := r.c.Delete(id); err != nil && b != nil {
		b.Fatal(err)
	}
	return true
}

// kelpChannel dials a Connector on the test server and declares "bench".
func kelpChannel(b *testing.B) transports.Channel {
	ch, err := dial(b, newConnector(b, serverURL(b))).Channel(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(context.Background(), route.Queue{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	return ch
}

func kelpPublish(b *testing.B, ch transports.Channel, n int) {
	for range n {
		if _, err := ch.Publish(context.Background(), benchPublishing); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish: one message at a time.
func BenchmarkPublish(b *testing.B) {
	ch, r := kelpChannel(b), newRawTube(b)
	benchcmp.Compare(b, func(n int) { kelpPublish(b, ch, n) }, func(n int) {
		for range n {
			r.put(b)
		}
	})
	b.StopTimer()
	_, _ = ch.QueuePurge(context.Background(), "bench")
}

// BenchmarkConsume: a tube of b.N jobs consumed with an ack each (kelp:
// Consume with prefetch consumePrefetch).
func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	ch, r := kelpChannel(b), newRawTube(b)
	kelpPublish(b, ch, b.N)
	for range b.N {
		r.put(b)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: consumePrefetch}); err != nil {
		b.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ch.Cancel(ctx, sub.Tag()) }()
	benchcmp.CompareBlocks(b, consumeBlock, func(n int) {
		for range n {
			d := <-sub.Deliveries()
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
	}, func(n int) {
		for range n {
			r.take(b)
		}
	})
}

// BenchmarkRoundTrip: publish, basic.get and ack of one message at a time,
// against put, reserve and delete.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	ch, r := kelpChannel(b), newRawTube(b)
	benchcmp.Compare(b, func(n int) {
		for range n {
			kelpPublish(b, ch, 1)
			d, ok, err := ch.Get(ctx, "bench", false)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
	}, func(n int) {
		for range n {
			r.put(b)
			r.take(b)
		}
	})
}

// The consumer's prefetch window in BenchmarkConsume, and the turns of its
// comparison: ten windows, so that what the consumer claims ahead while the
// raw side has its turn weighs at most a tenth.
const (
	consumePrefetch = 20
	consumeBlock    = 10 * consumePrefetch
)
