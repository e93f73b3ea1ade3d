package pidbox_test

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pidbox"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/memory"
)

// Two nodes answer a broadcast ping, as Celery workers do.
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

	m, err := pidbox.New(c, "celery", pidbox.Config{Type: route.Fanout})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close(ctx)

	for _, host := range []string{"w1@example", "w2@example"} {
		n := m.Node(host)
		n.HandleFunc("ping", func(context.Context, *pidbox.Request) (any, error) {
			return map[string]string{"ok": "pong"}, nil
		})
		l, err := n.Listen(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer l.Stop()
	}

	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	replies, err := m.MultiCall(wctx, "ping", nil, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	sort.Slice(replies, func(i, j int) bool { return replies[i].Node < replies[j].Node })
	for _, r := range replies {
		var res map[string]string
		_ = r.Decode(&res)
		fmt.Println(r.Node, res["ok"])
	}
	// Output:
	// w1@example pong
	// w2@example pong
}
