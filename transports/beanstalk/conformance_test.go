package beanstalk_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/beanstalk"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// serverURL returns the beanstalkd URL of the tests (KELP_BEANSTALK_URL or
// the default), skipping the test with one line when the server is
// unreachable, or failing it under KELP_CI=1.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("KELP_BEANSTALK_URL")
	if u == "" {
		u = "beanstalk://127.0.0.1:11300"
	}
	cfg, err := beanstalk.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, time.Second)
	if err != nil {
		if os.Getenv("KELP_CI") == "1" {
			t.Fatalf("beanstalkd unreachable at %s: %v", cfg.Addr, err)
		}
		t.Skipf("beanstalkd unreachable at %s (start it, or set KELP_BEANSTALK_URL)", cfg.Addr)
	}
	_ = c.Close()
	return u
}

// prefixes numbers the Connectors of a run.
var prefixes atomic.Int64

var connectors sync.Map // transports.Connector -> *beanstalk.Connector

// bsFeatures is what the beanstalkd transport claims. Each false flag
// says why.
var bsFeatures = transporttest.Features{
	ExchangeKinds: []route.Kind{route.Direct, route.Topic, route.Fanout, route.Headers},
	FIFO:          true,
	// RoundRobin false: waiting consumers poll; whoever reserves first wins.
	RoundRobin: false,
	Priorities: true,
	Confirms:   true,
	// Returns, ExchangeBindings, Recover and the rest as in the virtual
	// layer; the tests below say what is lost.
	Returns:            true,
	ExchangeBindings:   true,
	Recover:            true,
	BlockNotifications: false, // beanstalkd has no publisher flow control
	MessageTTL:         true,
	QueueExpires:       true,
	MaxLength:          true,
	DeadLetter:         true,
	ServerNamedQueues:  true,
	ExclusiveQueues:    true,
	AutoDelete:         true,
	Durability:         true,
	// Persistence: jobs outlive connections (beanstalkd keeps them in
	// memory, on disk with its -b binlog).
	Persistence:    true,
	MessageCounts:  true,
	ConsumerCounts: true,
	// BinaryHeaders and TimeHeaders false: headers are stored as JSON.
	BinaryHeaders:  false,
	TimeHeaders:    false,
	UserID:         "kelp",
	MaxMessageSize: 32 << 10, // beanstalkd's default max job size is 65535 bytes, envelope included
	Hooks: transporttest.Hooks{
		DropConnections: func(t *testing.T, c transports.Connector) {
			bc, ok := connectors.Load(c)
			if !ok {
				t.Fatalf("no beanstalk.Connector behind %s", c.Address())
			}
			bc.(*beanstalk.Connector).DropConnections()
		},
	},
}

func TestConformance(t *testing.T) {
	u := serverURL(t)
	transporttest.Run(t, bsFeatures, func(t *testing.T) transports.Connector {
		c := newConnector(t, u)
		connectors.Store(transports.Connector(c), c)
		t.Cleanup(func() { connectors.Delete(transports.Connector(c)) })
		return c
	})
}

// newConnector returns a Connector for the URL.
func newConnector(t testing.TB, u string) *beanstalk.Connector {
	t.Helper()
	cfg, err := beanstalk.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TubePrefix = fmt.Sprintf("kelp-test-%d-%d-", os.Getpid(), prefixes.Add(1)) // unique per run
	c, err := beanstalk.NewConnector(cfg)
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
