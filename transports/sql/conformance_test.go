package sql_test

import (
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// connectors maps the Connectors the suite got to themselves as
// *kelpsql.Connector, for the fault hooks.
var connectors sync.Map // transports.Connector -> *kelpsql.Connector

// sqlFeatures is what the SQL transport claims, on every database. Each
// false flag says why.
var sqlFeatures = transporttest.Features{
	// Every kind routes through package virtual over the bindings table;
	// fanout stores a copy in every bound queue.
	ExchangeKinds: []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
	FIFO:          true,
	// RoundRobin false: waiting consumers race to claim the next row
	// (SKIP LOCKED, or SQLite's single writer); no line of waiters.
	RoundRobin: false,
	Priorities: true,
	Confirms:   true,
	// Returns false: a mandatory publish to the default exchange is never
	// returned, since the queue may be declared by another process and the
	// database keeps nothing for an empty queue.
	Returns: false,
	// ExchangeBindings false: the bindings table holds queue bindings only
	// (package virtual refuses exchange bindings over a Catalog).
	ExchangeBindings: false,
	Recover:          true,
	// BlockNotifications false: databases have no publisher flow control.
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
	// BinaryHeaders and TimeHeaders false: headers are stored as JSON in
	// the meta column, where bytes and times become strings.
	BinaryHeaders:  false,
	TimeHeaders:    false,
	UserID:         "kelp",
	MaxMessageSize: 1 << 20,
	Hooks: transporttest.Hooks{
		DropConnections: func(t *testing.T, c transports.Connector) {
			sc, ok := connectors.Load(c)
			if !ok {
				t.Fatalf("no sql.Connector behind %s", c.Address())
			}
			sc.(*kelpsql.Connector).DropConnections()
		},
	},
}

func TestConformance(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			d.config(t) // skip now when the server is down
			transporttest.Run(t, sqlFeatures, func(t *testing.T) transports.Connector {
				cfg := d.config(t)
				cfg.PollInterval = 200 * time.Millisecond
				c := newConnector(t, cfg)
				connectors.Store(transports.Connector(c), c)
				t.Cleanup(func() { connectors.Delete(transports.Connector(c)) })
				return c
			})
		})
	}
}
