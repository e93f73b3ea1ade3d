package broadcast_test

import (
	"context"
	"fmt"

	"github.com/kelpmq/kelp/broadcast"
	"github.com/kelpmq/kelp/conn"
)

// Two subscribers each get every message.
func Example() {
	ctx := context.Background()
	c, err := conn.Dial(ctx, "memory://broadcast-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	b, _ := broadcast.New(c, "news")
	alice, _ := b.Subscribe(ctx)
	defer alice.Close(ctx)
	bob, _ := b.Subscribe(ctx)
	defer bob.Close(ctx)

	_ = b.Publish(ctx, "extra! extra!")
	for _, sub := range []*broadcast.Subscription{alice, bob} {
		d, _ := sub.Next(ctx)
		var s string
		_ = d.Decode(&s)
		fmt.Println(s, len(sub.Queue()) == len("bcast.")+36)
		_ = d.Ack(ctx)
	}
	// Output:
	// extra! extra! true
	// extra! extra! true
}
