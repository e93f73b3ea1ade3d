package conn_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// countingConnector counts the broker channels opened through it.
type countingConnector struct {
	transports.Connector
	channels atomic.Int64
}

func (cc *countingConnector) Connect(ctx context.Context, o transports.ConnectOptions) (transports.Conn, error) {
	tc, err := cc.Connector.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	return countingConn{tc, cc}, nil
}

type countingConn struct {
	transports.Conn
	cc *countingConnector
}

func (c countingConn) Channel(ctx context.Context) (transports.Channel, error) {
	ch, err := c.Conn.Channel(ctx)
	if err == nil {
		c.cc.channels.Add(1)
	}
	return ch, err
}

// TestPublishChannels checks that publishes spread over exactly the
// configured number of publisher channels, opened lazily, and that
// concurrent publishers lose nothing.
func TestPublishChannels(t *testing.T) {
	for _, tc := range []struct {
		n, want int // Config.PublishChannels, publisher channels expected
	}{
		{0, 1}, {1, 1}, {3, 3}, {conn.MaxPublishChannels, 8}, // 8 publishes open 8 channels at most
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			ctx := testCtx(t)
			b := memory.New()
			defer b.Close(context.Background())
			cc := &countingConnector{Connector: b.Connector()}
			c, err := conn.Open(ctx, cc, conn.Config{PublishChannels: tc.n})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			q := route.NewQueue("pp")
			if err := c.Declare(ctx, q); err != nil {
				t.Fatal(err)
			}
			ctl := cc.channels.Load() // the declaration channel
			p := c.Producer(conn.WithRoutingKey("pp"))
			for i := range 8 {
				if err := p.Publish(ctx, i); err != nil {
					t.Fatal(err)
				}
			}
			if got := int(cc.channels.Load() - ctl); got != tc.want {
				t.Fatalf("publisher channels opened = %d, want %d", got, tc.want)
			}
			// Concurrent publishers over the pool: every message arrives.
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 25 {
						if err := p.Publish(ctx, g*100+i); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if got := int(cc.channels.Load() - ctl); got > max(tc.n, 1) {
				t.Fatalf("publisher channels opened = %d, above the bound %d", got, max(tc.n, 1))
			}
			n, err := c.QueuePurge(ctx, "pp")
			if err != nil || n != 8+8*25 {
				t.Fatalf("queue holds %d (%v), want %d", n, err, 8+8*25)
			}
		})
	}
}
