package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// brokers maps each Connector the suite got from newBroker to its Broker,
// so the fault-injection hooks can reach the broker behind a Connector.
var brokers sync.Map // transports.Connector -> *memory.Broker

// newBroker gives every conformance test an isolated broker, closed (with
// its timers) when the test ends.
func newBroker(t *testing.T) transports.Connector {
	b := memory.New()
	c := b.Connector()
	brokers.Store(c, b)
	t.Cleanup(func() {
		brokers.Delete(c)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("Broker.Close: %v", err)
		}
	})
	return c
}

// brokerOf returns the Broker behind a Connector made by newBroker.
func brokerOf(t *testing.T, c transports.Connector) *memory.Broker {
	t.Helper()
	b, ok := brokers.Load(c)
	if !ok {
		t.Fatalf("no memory.Broker behind Connector %s", c.Address())
	}
	return b.(*memory.Broker)
}

// memoryFeatures is everything the in-memory broker claims.
var memoryFeatures = transporttest.Features{
	ExchangeKinds:      []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
	FIFO:               true,
	RoundRobin:         true,
	Priorities:         true,
	Confirms:           true,
	Returns:            true,
	ExchangeBindings:   true,
	Recover:            true,
	BlockNotifications: true,
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
	BinaryHeaders:      true,
	TimeHeaders:        true,
	UserID:             "kelp",
	MaxMessageSize:     16 << 20,
	Hooks: transporttest.Hooks{
		DropConnections: func(t *testing.T, c transports.Connector) {
			brokerOf(t, c).DropConnections("")
		},
		Block: func(t *testing.T, c transports.Connector, active bool) {
			if active {
				brokerOf(t, c).Block("transporttest")
			} else {
				brokerOf(t, c).Unblock()
			}
		},
	},
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, memoryFeatures, newBroker)
}
