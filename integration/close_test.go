package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
)

// closeConnection closes c (named name) from the broker's side and waits
// until it noticed. A Redis connection is a pool that silently replaces
// an idle client killed under it (nothing was lost, so nothing needs
// healing): a consumer on an empty queue keeps a client blocked in Redis,
// and the kill is repeated until it hit that busy client.
func closeConnection(t *testing.T, ctx context.Context, b integration.Broker, c *conn.Connection, w *integration.Watch, name string) {
	t.Helper()
	if b.Transport() == "redis" {
		idle := b.Queue(t, "idle")
		if err := c.Declare(ctx, idle); err != nil {
			t.Fatal(err)
		}
		cons, err := c.Consume(ctx, []route.Queue{idle})
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Stop()
	}
	e := c.Epoch()
	for try := 1; ; try++ {
		if n := b.CloseConnections(t, name); n != 1 {
			t.Fatalf("closed %d connections named %s, want 1", n, name)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		err := w.WaitLost(wctx, e)
		cancel()
		switch {
		case err == nil:
			return
		case try == 20:
			t.Fatalf("the connection never noticed %d kills: %v", try, err)
		}
	}
}
