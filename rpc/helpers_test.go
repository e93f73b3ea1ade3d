package rpc_test

import (
	"context"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/rpc"
)

// newClient returns an RPC client on c, closed when the test ends.
func newClient(t *testing.T, c *conn.Connection) *rpc.Client {
	t.Helper()
	cl, err := rpc.NewClient(testCtx(t), c, rpc.ClientConfig{})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := cl.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return cl
}

// serve declares q and serves it with h until the test ends; the server's
// error is checked then.
func serve(t *testing.T, c *conn.Connection, q route.Queue, h rpc.HandlerFunc, opts ...conn.ConsumeOption) {
	t.Helper()
	if err := c.Declare(testCtx(t), q); err != nil {
		t.Fatalf("declare %s: %v", q.Name, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rpc.Serve(ctx, c, []route.Queue{q}, h, opts...) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}
