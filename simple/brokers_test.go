package simple_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/internal/brokertest"
)

// brokers are memory, RabbitMQ and Redis (database 9); see brokertest.
var brokers = brokertest.Brokers(brokertest.Config{Label: "simple", RedisDB: 9})

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context { return brokertest.Ctx(t) }
