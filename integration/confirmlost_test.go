package integration_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// A publish whose confirmation is lost when the connection dies is
// published again under WithRetry, even when the driver reports its
// channel as closed (transports.ErrClosed) rather than lost: RabbitMQ does
// that when the connection dies before amqp091 has shut its channels
// down, and conn closes them itself. This reproduces that order
// deterministically on memory: the first connection swallows
// confirmations, and dies while its channels still look alive.
func TestLostConfirmIsRetried(t *testing.T) {
	integration.NoLeaks(t)
	ctx := integration.Ctx(t, 20*time.Second)
	b := memory.New()
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	ctr := &laggingConnector{Connector: b.Connector(), swallowed: make(chan struct{}, 1)}
	cfg, w := integration.Config(t, "confirmlost")
	c := integration.Open(t, ctr, cfg)
	q := route.NewQueue("confirmlost")
	if err := c.Declare(ctx, q); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		res <- c.Producer(conn.WithRoutingKey(q.Name), conn.WithRetry(conn.RetryPolicy{IntervalStep: -1})).Publish(ctx, "m")
	}()
	select {
	case <-ctr.swallowed: // the publish waits for a confirmation that will not come
	case <-ctx.Done():
		t.Fatal("no publish reached the broker")
	}
	ctr.first.kill()
	if err := w.WaitOpen(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("Publish with WithRetry across a lost connection: %v", err)
	}
}

// laggingConnector dials memory; its first connection swallows
// confirmations and can be killed without its channels noticing.
type laggingConnector struct {
	transports.Connector
	swallowed chan struct{}
	dials     atomic.Int64
	first     *laggingConn
}

func (l *laggingConnector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	tc, err := l.Connector.Connect(ctx, opts)
	if err != nil || l.dials.Add(1) > 1 {
		return tc, err
	}
	l.first = &laggingConn{Conn: tc, swallowed: l.swallowed, dead: make(chan struct{})}
	return l.first, nil
}

// laggingConn is a connection whose death its channels learn only when
// they are closed.
type laggingConn struct {
	transports.Conn
	swallowed chan struct{}
	once      sync.Once
	dead      chan struct{}
}

func (c *laggingConn) kill() { c.once.Do(func() { close(c.dead) }) }

func (c *laggingConn) Done() <-chan struct{} { return c.dead }

func (c *laggingConn) Err() error {
	select {
	case <-c.dead:
		return fmt.Errorf("%w: killed by the test", transports.ErrConnLost)
	default:
		return nil
	}
}

func (c *laggingConn) Channel(ctx context.Context) (transports.Channel, error) {
	ch, err := c.Conn.Channel(ctx)
	if err != nil {
		return nil, err
	}
	return &swallowingChannel{Channel: ch, swallowed: c.swallowed}, nil
}

// swallowingChannel drops every confirmation; its Go channel of
// confirmations closes with the channel.
type swallowingChannel struct {
	transports.Channel
	swallowed chan struct{}
}

func (ch *swallowingChannel) Confirm(ctx context.Context) (<-chan transports.Confirmation, error) {
	in, err := ch.Channel.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan transports.Confirmation)
	go func() {
		defer close(out)
		for range in {
			select {
			case ch.swallowed <- struct{}{}:
			default:
			}
		}
	}()
	return out, nil
}
