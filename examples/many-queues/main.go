// Command many-queues waits on several queues at once: one Consumer reads
// them all through a single Go channel, so a plain select can combine it
// with a timer and ctx, the way Go programs wait on anything else.
//
//	go run ./examples/many-queues
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all"
)

// idleTimeout ends the program once no message came for this long.
const idleTimeout = 200 * time.Millisecond

func main() {
	url := os.Getenv("KELP_URL")
	if url == "" {
		url = "memory://"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, url, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, url string, out io.Writer) (err error) {
	c, err := conn.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close(ctx)) }()

	queues := []route.Queue{route.NewQueue("email"), route.NewQueue("sms"), route.NewQueue("push")}
	// One broker channel per queue, each with its own prefetch window, so a
	// busy queue cannot hold back the others.
	cons, err := c.Consume(ctx, queues, conn.WithChannels(len(queues)))
	if err != nil {
		return err
	}
	defer cons.Stop()

	p := c.Producer()
	for i, q := range []string{"email", "sms", "email", "push", "sms", "email"} {
		if err := p.Publish(ctx, map[string]int{"notification": i}, conn.WithRoutingKey(q)); err != nil {
			return err
		}
	}

	counts := map[string]int{}
	idle := time.NewTimer(idleTimeout)
	defer idle.Stop()
	for {
		select {
		case d, ok := <-cons.C():
			if !ok {
				return cons.Err() // the consumer ended
			}
			counts[d.Info.Queue]++
			if err := d.Ack(ctx); err != nil {
				return err
			}
			idle.Reset(idleTimeout)
		case <-idle.C:
			for _, q := range slices.Sorted(maps.Keys(counts)) {
				fmt.Fprintf(out, "%-5s %d\n", q, counts[q])
			}
			fmt.Fprintf(out, "nothing for %v: done\n", idleTimeout)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
