package amqp_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// proxies maps each Connector the suite got to the proxy it dials through,
// so DropConnections can cut its connections as a network failure would.
var proxies sync.Map // transports.Connector -> *proxy

// newProxiedConnector gives every conformance test a Connector to the test
// broker through a proxy of its own.
func newProxiedConnector(t *testing.T) transports.Connector {
	cfg := brokerConfig(t)
	p := newProxy(t, fmt.Sprintf("%s:%d", cfg.Host, cfg.Port))
	cfg.Host, cfg.Port = "127.0.0.1", p.port()
	ctr, err := amqp.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxies.Store(ctr, p)
	t.Cleanup(func() { proxies.Delete(ctr) })
	return ctr
}

// rabbitFeatures is what RabbitMQ 3.10 with this driver claims. Blocking
// events are not injected: that needs a broker-wide resource alarm, which
// would stall every other user of a shared broker.
func rabbitFeatures(t *testing.T) transporttest.Features {
	return transporttest.Features{
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
		UserID:             brokerConfig(t).Username,
		MaxMessageSize:     1 << 20,
		Timeout:            15 * time.Second,
		Hooks: transporttest.Hooks{
			DropConnections: func(t *testing.T, c transports.Connector) {
				p, ok := proxies.Load(c)
				if !ok {
					t.Fatalf("no proxy behind Connector %s", c.Address())
				}
				p.(*proxy).cut()
			},
		},
	}
}

func TestConformance(t *testing.T) {
	brokerURL(t) // skip (or fail under KELP_CI=1) without a broker
	transporttest.Run(t, rabbitFeatures(t), newProxiedConnector)
}
