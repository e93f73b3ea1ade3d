package broadcast_test

import (
	"context"
	"crypto/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	_ "github.com/kelpmq/kelp/transports/amqp" // registers amqp://
	"github.com/kelpmq/kelp/transports/memory"
)

// broker is a transport the tests run on: dial returns a connection that
// the test's cleanup closes.
type broker struct {
	name string
	dial func(t *testing.T) *conn.Connection
}

// brokers are memory, and RabbitMQ at $KELP_AMQP_URL (default local),
// which skips with one line when unreachable (fails under KELP_CI=1).
var brokers = []broker{
	{"memory", func(t *testing.T) *conn.Connection {
		b := memory.New()
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return openConn(t, func(ctx context.Context) (*conn.Connection, error) {
			return conn.Open(ctx, b.Connector(), conn.Config{})
		})
	}},
	{"amqp", func(t *testing.T) *conn.Connection {
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
		return openConn(t, func(ctx context.Context) (*conn.Connection, error) { return conn.Dial(ctx, url) })
	}},
}

var (
	amqpOnce sync.Once
	amqpErr  error
)

func openConn(t *testing.T, open func(context.Context) (*conn.Connection, error)) *conn.Connection {
	t.Helper()
	c, err := open(testCtx(t))
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

// unique returns a name no earlier run left on a shared broker.
func unique(prefix string) string { return prefix + "-" + rand.Text()[:10] }
