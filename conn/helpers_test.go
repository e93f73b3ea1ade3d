package conn_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/memory"
)

// testCtx returns a context that ends with the test, bounded so that a
// hang fails instead of blocking the run.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// open starts an isolated memory broker and a connection to it, both
// closed when the test ends.
func open(t *testing.T, cfg conn.Config) (*memory.Broker, *conn.Connection) {
	t.Helper()
	b := memory.New()
	c, err := conn.Open(testCtx(t), b.Connector(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		_ = b.Close(ctx)
	})
	return b, c
}

// next receives one delivery or fails the test.
func next(t *testing.T, cons *conn.Consumer) conn.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := cons.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return d
}

// waitEpoch waits until the connection is open in epoch e or later.
func waitEpoch(t *testing.T, c *conn.Connection, e uint64) {
	t.Helper()
	ctx := testCtx(t)
	for {
		if _, err := c.WaitState(ctx, conn.StateOpen); err != nil {
			t.Fatalf("WaitState: %v", err)
		}
		if c.Epoch() >= e && c.State() == conn.StateOpen {
			return
		}
		time.Sleep(time.Millisecond) // the state is Open for the old epoch only briefly
	}
}

// publishRaw publishes a raw envelope through a transport connection of
// its own, bypassing conn's serialization.
func publishRaw(ctx context.Context, t *testing.T, b *memory.Broker, queue string, body []byte, headers route.Table) error {
	t.Helper()
	tc, err := b.Connector().Connect(ctx, transports.ConnectOptions{Name: "raw"})
	if err != nil {
		return err
	}
	defer tc.Close(ctx)
	ch, err := tc.Channel(ctx)
	if err != nil {
		return err
	}
	_, err = ch.Publish(ctx, transports.Publishing{RoutingKey: queue, Message: transports.Message{
		Body: body, Headers: headers, Properties: transports.Properties{ContentType: "text/plain", ContentEncoding: "utf-8"},
	}})
	return err
}
