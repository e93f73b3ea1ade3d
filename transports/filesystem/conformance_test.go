package filesystem_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/filesystem"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// connectors maps the Connectors the suite got to themselves as
// *filesystem.Connector, for the fault hooks.
var connectors sync.Map // transports.Connector -> *filesystem.Connector

// fsFeatures is what the filesystem transport claims. Each false flag
// says why.
var fsFeatures = transporttest.Features{
	ExchangeKinds: []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
	FIFO:          true,
	// RoundRobin false: waiting consumers poll the directory; whoever
	// looks first takes the file, so service is only roughly fair.
	RoundRobin: false,
	Priorities: true,
	Confirms:   true,
	// Returns false: a mandatory publish to the default exchange never
	// comes back, since the queue may be declared in another process.
	Returns: false,
	// ExchangeBindings false: the binding files hold queue bindings only.
	ExchangeBindings:   false,
	Recover:            true,
	BlockNotifications: false, // a directory has no flow control
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
	// BinaryHeaders and TimeHeaders false: headers are stored as JSON,
	// where bytes and times become strings.
	BinaryHeaders:  false,
	TimeHeaders:    false,
	UserID:         "kelp",
	MaxMessageSize: 1 << 20,
	Hooks: transporttest.Hooks{
		DropConnections: func(t *testing.T, c transports.Connector) {
			fc, ok := connectors.Load(c)
			if !ok {
				t.Fatalf("no filesystem.Connector behind %s", c.Address())
			}
			fc.(*filesystem.Connector).DropConnections()
		},
	},
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, fsFeatures, func(t *testing.T) transports.Connector {
		c := newConnector(t, filesystem.Config{Dir: t.TempDir()})
		connectors.Store(transports.Connector(c), c)
		t.Cleanup(func() { connectors.Delete(transports.Connector(c)) })
		return c
	})
}

// newConnector returns a Connector for cfg, failing t on error.
func newConnector(t testing.TB, cfg filesystem.Config) *filesystem.Connector {
	t.Helper()
	c, err := filesystem.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dial connects through c and closes the Conn at cleanup.
func dial(t testing.TB, c transports.Connector) transports.Conn {
	t.Helper()
	conn, err := c.Connect(context.Background(), transports.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn
}

// channel opens a channel on a new Conn through c with queue declared.
func channel(t testing.TB, c transports.Connector, queue string) transports.Channel {
	t.Helper()
	ctx := context.Background()
	ch, err := dial(t, c).Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if queue != "" {
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: queue}); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}
