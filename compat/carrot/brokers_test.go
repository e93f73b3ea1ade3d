package carrot_test

import (
	"context"
	"crypto/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	_ "github.com/kelpmq/kelp/transports/amqp"   // registers amqp://
	_ "github.com/kelpmq/kelp/transports/memory" // registers memory://
)

// broker is a transport the tests run on, reached by URL; url skips t
// when the broker is unreachable (failing it under KELP_CI=1).
type broker struct {
	name string
	url  func(t *testing.T) string
}

var brokers = []broker{
	{"memory", func(*testing.T) string { return "memory://carrot-" + rand.Text() }},
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

// dial connects to url until the test ends.
func dial(t *testing.T, url string) *conn.Connection {
	t.Helper()
	c, err := conn.Dial(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
