// Command publish-consume is the smallest kelp program: it publishes a
// message and consumes it.
//
// It runs on the embedded memory broker; point it at RabbitMQ with
//
//	KELP_URL=amqp://guest:guest@localhost:5672// go run ./examples/publish-consume
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all" // memory://, amqp://, ...
)

// Greeting is the message. JSON is the default serializer.
type Greeting struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

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

	// Publishing to the default exchange routes by queue name. WithDeclare
	// declares the queue first (once per connection).
	q := route.NewQueue("greetings")
	p := c.Producer(conn.WithRoutingKey(q.Name), conn.WithDeclare(q))
	if err := p.Publish(ctx, Greeting{To: "world", Text: "hello"}); err != nil {
		return err
	}

	cons, err := c.Consume(ctx, []route.Queue{q})
	if err != nil {
		return err
	}
	defer cons.Stop()

	d, err := cons.Next(ctx)
	if err != nil {
		return err
	}
	var g Greeting
	if err := d.Decode(&g); err != nil {
		return errors.Join(err, d.Reject(ctx)) // a malformed message: drop it
	}
	fmt.Fprintf(out, "%s, %s! (%s from queue %s)\n", g.Text, g.To, d.ContentType, d.Info.Queue)
	return d.Ack(ctx)
}
