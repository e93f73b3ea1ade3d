package pool_test

import (
	"context"
	"crypto/rand"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pool"
	_ "github.com/kelpmq/kelp/transports/amqp"   // registers amqp://
	_ "github.com/kelpmq/kelp/transports/memory" // registers memory://
)

// broker is a transport the tests run on: url returns the URL to dial,
// skipping t when the broker is unreachable (failing it under
// KELP_CI=1).
type broker struct {
	name string
	url  func(t *testing.T) string
}

var brokers = []broker{
	{"memory", func(t *testing.T) string { return "memory://pool-" + rand.Text() }},
	{"amqp", func(t *testing.T) string {
		url := os.Getenv("KELP_AMQP_URL")
		if url == "" {
			url = "amqp://guest:guest@127.0.0.1:5672/"
		}
		amqpOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			c, err := conn.Dial(ctx, url)
			if amqpErr = err; err == nil {
				amqpErr = c.Close(ctx)
			}
		})
		if amqpErr != nil {
			msg := "amqp: RabbitMQ not reachable (" + amqpErr.Error() + "); start it or set KELP_AMQP_URL"
			if os.Getenv("KELP_CI") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		return url
	}},
}

var (
	amqpOnce sync.Once
	amqpErr  error
)

// dialer returns a Dialer for url that counts its dials.
func dialer(url string, dials *atomic.Int64) pool.Dialer {
	return func(ctx context.Context) (*conn.Connection, error) {
		dials.Add(1)
		return conn.Dial(ctx, url)
	}
}

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
