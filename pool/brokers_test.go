package pool_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
	"github.com/kelpmq/kelp/pool"
)

// brokers are memory, RabbitMQ and Redis (database 10); see brokertest.
var brokers = brokertest.Brokers(brokertest.Config{Label: "pool", RedisDB: 10})

// dialer returns a Dialer for url that counts its dials.
func dialer(url string, dials *atomic.Int64) pool.Dialer {
	return func(ctx context.Context) (*conn.Connection, error) {
		dials.Add(1)
		return conn.Dial(ctx, url)
	}
}

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context { return brokertest.Ctx(t) }
