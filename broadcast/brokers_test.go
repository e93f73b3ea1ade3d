package broadcast_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/amqp" // registers amqp://
	"github.com/kelpmq/kelp/transports/memory"
	_ "github.com/kelpmq/kelp/transports/redis" // registers redis://
)

// broker is a transport the tests run on: dial returns a connection that
// the test's cleanup closes.
type broker struct {
	name string
	dial func(t *testing.T) *conn.Connection
}

// brokers are memory, RabbitMQ at $KELP_AMQP_URL and Redis at
// $KELP_REDIS_URL (default local), which skip with one line when
// unreachable (fail under KELP_CI=1).
var brokers = []broker{
	{"memory", func(t *testing.T) *conn.Connection {
		b := memory.New()
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		return openConn(t, func(ctx context.Context) (*conn.Connection, error) {
			return conn.Open(ctx, b.Connector(), conn.Config{})
		})
	}},
	{"amqp", func(t *testing.T) *conn.Connection {
		return dialURL(t, reachable(t, "KELP_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
	}},
	{"redis", func(t *testing.T) *conn.Connection {
		return dialURL(t, reachable(t, "KELP_REDIS_URL", "redis://127.0.0.1:6379/11"))
	}},
}

func dialURL(t *testing.T, url string) *conn.Connection {
	return openConn(t, func(ctx context.Context) (*conn.Connection, error) { return conn.Dial(ctx, url) })
}

// reachable returns the URL in $env, or def, skipping t with one line
// when no broker answers there (failing it under KELP_CI=1). Each URL is
// probed once per test binary.
func reachable(t *testing.T, env, def string) string {
	t.Helper()
	url := cmp.Or(os.Getenv(env), def)
	probes.Lock()
	err, seen := probes.err[url]
	if !seen {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		var c *conn.Connection
		if c, err = conn.Dial(ctx, url); err == nil {
			err = c.Close(ctx)
		}
		cancel()
		probes.err[url] = err
	}
	probes.Unlock()
	if err != nil {
		msg := fmt.Sprintf("%s: broker not reachable (%v); start it or set %s", transports.RedactURL(url), err, env)
		if os.Getenv("KELP_CI") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return url
}

var probes = struct {
	sync.Mutex
	err map[string]error
}{err: map[string]error{}}

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
