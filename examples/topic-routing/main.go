// Command topic-routing shows how a topic exchange routes: each queue binds
// a pattern ("*" is one word, "#" zero or more), and a message goes to every
// queue whose pattern matches its routing key. A mandatory publish that no
// queue takes fails with conn.ErrReturned.
//
//	go run ./examples/topic-routing
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all"
)

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

	logs := route.NewExchange("logs", route.Topic)
	queues := []route.Queue{
		route.NewQueue("logs.errors", route.Bind(logs, "*.error")),
		route.NewQueue("logs.db", route.Bind(logs, "db.#")),
		route.NewQueue("logs.all", route.Bind(logs, "#")),
	}
	for _, q := range queues {
		if err := c.Declare(ctx, q); err != nil {
			return err
		}
	}

	// Mandatory: the broker returns what no queue takes, and Publish
	// reports it (publisher confirms are on by default).
	p := c.Producer(conn.WithExchange(logs.Name), conn.WithMandatory())
	for _, key := range []string{"db.error", "web.error", "db.slow.query", "web.info"} {
		if err := p.Publish(ctx, "event "+key, conn.WithRoutingKey(key)); err != nil {
			return err
		}
	}
	// An exchange without bindings routes nowhere: the mandatory publish
	// comes back, as an error matching conn.ErrReturned.
	empty := route.NewExchange("audit", route.Topic)
	if err := c.Declare(ctx, empty); err != nil {
		return err
	}
	err = p.Publish(ctx, "nobody listens", conn.WithExchange(empty.Name), conn.WithRoutingKey("user.login"))
	fmt.Fprintf(out, "publish to audit: returned=%t\n", errors.Is(err, conn.ErrReturned))

	// Get (basic.get) polls one queue at a time: here, to list each queue.
	for _, q := range queues {
		var got []string
		for {
			d, err := c.Get(ctx, q.Name)
			if errors.Is(err, conn.ErrEmpty) {
				break
			}
			if err != nil {
				return err
			}
			got = append(got, d.Info.RoutingKey)
			if err := d.Ack(ctx); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "%-11s %-9q got %s\n", q.Name, q.Bindings[0].RoutingKey, strings.Join(got, ", "))
	}
	return nil
}
