package pidbox_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/internal/brokertest"
)

// broker is one test's broker: its URL, Connector, connections and
// unique queues, released when the test ends.
type broker = *brokertest.Target

// brokerConfig puts these tests on Redis database 9, behind a key prefix
// per test.
var brokerConfig = brokertest.Config{Label: "pidbox", RedisDB: 9}

// run runs fn as one subtest per broker (memory, amqp, redis), each
// checked for goroutine leaks.
func run(t *testing.T, fn func(t *testing.T, b broker)) { brokertest.Run(t, brokerConfig, fn) }

// testCtx ends with the test, bounded so that a hang fails.
func testCtx(t *testing.T) context.Context { return brokertest.Ctx(t) }
