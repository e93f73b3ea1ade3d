package redis_test

import (
	"sync"
	"testing"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// connectors maps the Connectors the suite got to themselves as
// *redis.Connector, for the fault hooks.
var connectors sync.Map // transports.Connector -> *redis.Connector

// redisFeatures is what the Redis transport claims. Each false flag says
// why.
var redisFeatures = transporttest.Features{
	// Headers exchanges are kelp's own (Kombu has none); their bindings
	// keep the match table in the pattern part of the member. Fanout meets
	// the suite (a copy in every bound queue, kept until consumed) only
	// with Config.DurableFanout, which the suite's Connectors set: by
	// default fanout is Kombu's PUB/SUB, which keeps nothing for a queue
	// without a consumer, and fanout_test.go tests that mode.
	ExchangeKinds: []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
	FIFO:          true,
	// RoundRobin false: waiting consumers poll with a claim script, and
	// Redis's FIFO service of blocked clients does not carry over to the
	// claim that follows, so service is only roughly fair.
	RoundRobin: false,
	// Priorities: exact with one step per priority, which the suite's
	// Connector is configured with (priority_steps=0..9). Kombu's default
	// steps [0 3 6 9] coarsen priorities into four buckets.
	Priorities: true,
	Confirms:   true,
	// Returns false: a mandatory publish to a named exchange without a
	// matching binding comes back, but one to the default exchange never
	// does: the queue may be declared in another process, and Redis keeps
	// nothing for an empty queue (Kombu has the same blind spot).
	Returns: false,
	// ExchangeBindings false: Kombu's binding sets hold queue bindings
	// only.
	ExchangeBindings: false,
	Recover:          true,
	// BlockNotifications false: Redis has no publisher flow control.
	BlockNotifications: false,
	MessageTTL:         true,
	QueueExpires:       true,
	MaxLength:          true,
	DeadLetter:         true,
	ServerNamedQueues:  true,
	ExclusiveQueues:    true,
	AutoDelete:         true,
	Durability:         true,
	Persistence:        true,
	MessageCounts:      true,
	ConsumerCounts:     true,
	// BinaryHeaders and TimeHeaders false: headers travel as JSON in
	// Kombu's envelope, where bytes and times become strings.
	BinaryHeaders:  false,
	TimeHeaders:    false,
	UserID:         "kelp",
	MaxMessageSize: 1 << 20,
	SkipLeakCheck:  false,
	Hooks: transporttest.Hooks{
		DropConnections: func(t *testing.T, c transports.Connector) {
			rc, ok := connectors.Load(c)
			if !ok {
				t.Fatalf("no redis.Connector behind %s", c.Address())
			}
			rc.(*redis.Connector).DropConnections()
		},
	},
}

func TestConformance(t *testing.T) {
	serverConfig(t)
	transporttest.Run(t, redisFeatures, func(t *testing.T) transports.Connector {
		cfg := testConfig(t)
		cfg.DurableFanout = true
		cfg.PrioritySteps = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		c := newConnector(t, cfg)
		connectors.Store(transports.Connector(c), c)
		t.Cleanup(func() { connectors.Delete(transports.Connector(c)) })
		return c
	})
}
