package carrot_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/internal/brokertest"
)

// brokers are memory, RabbitMQ and Redis (database 12); see brokertest.
var brokers = brokertest.Brokers(brokertest.Config{Label: "carrot", RedisDB: 12})

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context { return brokertest.Ctx(t) }
