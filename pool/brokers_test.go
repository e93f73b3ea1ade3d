package pool_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pool"
	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/amqp"   // registers amqp://
	_ "github.com/kelpmq/kelp/transports/memory" // registers memory://
	_ "github.com/kelpmq/kelp/transports/redis"  // registers redis://
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
		return reachable(t, "KELP_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	}},
	{"redis", func(t *testing.T) string { return reachable(t, "KELP_REDIS_URL", "redis://127.0.0.1:6379/10") }},
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
