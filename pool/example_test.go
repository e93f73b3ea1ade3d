package pool_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pool"
	"github.com/kelpmq/kelp/route"
)

// A pool of two connections: the third acquire is refused when asked
// not to wait, and succeeds once a connection is released.
func Example() {
	ctx := context.Background()
	p, err := pool.New(func(ctx context.Context) (*conn.Connection, error) {
		return conn.Dial(ctx, "memory://pool-example")
	}, pool.Config{Limit: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(ctx)

	a, _ := p.Acquire(ctx)
	b, _ := p.Acquire(ctx)
	_, err = p.TryAcquire(ctx)
	fmt.Println(errors.Is(err, pool.ErrLimitExceeded))

	b.Release()
	c, err := p.TryAcquire(ctx)
	fmt.Println(err, c.Connection == b.Connection)
	c.Release()
	a.Release()

	// Do acquires, runs and releases.
	err = p.Do(ctx, func(ctx context.Context, c *conn.Connection) error {
		if err := c.Declare(ctx, route.NewQueue("work")); err != nil {
			return err
		}
		return c.Producer(conn.WithRoutingKey("work")).Publish(ctx, "job")
	})
	fmt.Println(err, p.Stats())
	// Output:
	// true
	// <nil> true
	// <nil> {2 0 2}
}
