// Command rpc runs a request/reply service with package rpc: a server
// answering on a queue with four handlers at once, and a client making
// concurrent calls, receiving a handler's error, and giving up on a call
// nobody answers.
//
// On RabbitMQ the client receives its replies through direct reply-to
// (amq.rabbitmq.reply-to), declaring no queue; elsewhere through a reply
// queue of its own. A Python Kombu client or server can take either side.
//
// It runs on the embedded memory broker; point it at RabbitMQ with
//
//	KELP_URL=amqp://guest:guest@localhost:5672// go run ./examples/rpc
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/rpc"
	_ "github.com/kelpmq/kelp/transports/all" // memory://, amqp://, ...
)

// Quote is a request: how much do n items of sku cost?
type Quote struct {
	SKU string `json:"sku"`
	N   int    `json:"n"`
}

// Price is the reply.
type Price struct {
	SKU   string `json:"sku"`
	Cents int    `json:"cents"`
}

// prices is the server's catalogue.
var prices = map[string]int{"apple": 30, "pear": 45, "plum": 20}

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

// quote is the server's handler. Its error reaches the caller as an
// *rpc.RemoteError.
func quote(_ context.Context, req *conn.Delivery) (any, error) {
	var q Quote
	if err := req.Decode(&q); err != nil {
		return nil, err
	}
	cents, ok := prices[q.SKU]
	if !ok {
		return nil, fmt.Errorf("no such item: %q", q.SKU)
	}
	return Price{SKU: q.SKU, Cents: cents * q.N}, nil
}

func run(ctx context.Context, url string, out io.Writer) (err error) {
	c, err := conn.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close(ctx)) }()

	// The server: rpc.Serve consumes the queue until its ctx ends, then
	// drains.
	q := route.NewQueue("quotes")
	if err := c.Declare(ctx, q); err != nil {
		return err
	}
	sctx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- rpc.Serve(sctx, c, []route.Queue{q}, rpc.HandlerFunc(quote), conn.WithConcurrency(4))
	}()
	defer func() {
		stopServer()
		err = errors.Join(err, <-served)
	}()

	// The client: one per process is enough, calls may run concurrently.
	cl, err := rpc.NewClient(ctx, c, rpc.ClientConfig{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cl.Close(ctx)) }()

	skus := []string{"apple", "pear", "plum"}
	got := make([]Price, len(skus))
	errs := make([]error, len(skus))
	var wg sync.WaitGroup
	for i, sku := range skus {
		wg.Go(func() { errs[i] = cl.Call(ctx, q.Name, Quote{SKU: sku, N: 3}, &got[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, p := range got {
		fmt.Fprintf(out, "3 x %-5s = %3d cents\n", p.SKU, p.Cents)
	}

	// A handler's error comes back as a remote error.
	var p Price
	err = cl.Call(ctx, q.Name, Quote{SKU: "kiwi", N: 1}, &p)
	var remote *rpc.RemoteError
	if errors.As(err, &remote) {
		fmt.Fprintf(out, "remote error: %s\n", remote.Message)
	} else {
		return fmt.Errorf("want a remote error, got %v", err)
	}

	// Nobody serves "nobody" (no such queue: the broker drops the
	// request): the call ends with its deadline.
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = cl.Call(dctx, "nobody", Quote{SKU: "apple", N: 1}, &p)
	fmt.Fprintf(out, "no server: timed out %v, no reply %v\n", errors.Is(err, conn.ErrTimeout), errors.Is(err, rpc.ErrNoReply))
	return nil
}
