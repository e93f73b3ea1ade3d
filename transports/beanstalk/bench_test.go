package beanstalk_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	bs "github.com/beanstalkd/go-beanstalk"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// BenchmarkRoundTrip compares publish+consume+ack through the SPI with raw
// go-beanstalk put/reserve/delete, on the same server in the same run.
func BenchmarkRoundTrip(b *testing.B) {
	u := serverURL(b)
	ctx := context.Background()
	body := make([]byte, 256)
	b.Run("kelp", func(b *testing.B) {
		ch, err := dial(b, newConnector(b, u)).Channel(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
		p := transports.Publishing{RoutingKey: "bench", Message: transports.Message{Body: body}}
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := ch.Publish(ctx, p); err != nil {
				b.Fatal(err)
			}
			d, ok, err := ch.Get(ctx, "bench", false)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
	b.Run("go-beanstalk", func(b *testing.B) {
		c, err := bs.Dial("tcp", "127.0.0.1:11300")
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		tube := fmt.Sprintf("kelp-raw-bench-%d", os.Getpid())
		t, ts := bs.NewTube(c, tube), bs.NewTubeSet(c, tube)
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := t.Put(body, 0, 0, time.Minute); err != nil {
				b.Fatal(err)
			}
			id, _, err := ts.Reserve(0)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Delete(id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}
