package rpc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/rpc"
	"github.com/kelpmq/kelp/transports/memory"
)

// A server answers calls on the "adder" queue; a client calls it.
func Example() {
	ctx := context.Background()
	broker := memory.New()
	defer broker.Close(ctx)
	c, err := conn.Open(ctx, broker.Connector(), conn.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	q := route.NewQueue("adder")
	_ = c.Declare(ctx, q)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- rpc.Serve(sctx, c, []route.Queue{q}, rpc.HandlerFunc(
			func(_ context.Context, req *conn.Delivery) (any, error) {
				var nums []int
				if err := req.Decode(&nums); err != nil {
					return nil, err
				}
				if len(nums) == 0 {
					return nil, errors.New("nothing to add")
				}
				sum := 0
				for _, n := range nums {
					sum += n
				}
				return sum, nil
			}))
	}()

	cl, err := rpc.NewClient(ctx, c, rpc.ClientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close(ctx)

	var sum int
	err = cl.Call(ctx, "adder", []int{1, 2, 39}, &sum)
	fmt.Println(sum, err)
	err = cl.Call(ctx, "adder", []int{}, &sum)
	fmt.Println(err, errors.Is(err, rpc.ErrRemote))

	stop()
	fmt.Println("serve:", <-served)
	// Output:
	// 42 <nil>
	// rpc: remote error: nothing to add true
	// serve: <nil>
}
