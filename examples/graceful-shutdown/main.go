// Command graceful-shutdown runs a worker until SIGINT (Ctrl-C) or
// SIGTERM, then shuts down without losing work: Serve stops taking
// messages and waits for the handlers in flight, and Connection.Close,
// under a deadline of its own, waits for outstanding publisher confirms,
// requeues whatever was not settled and closes the connection.
//
//	go run ./examples/graceful-shutdown
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all"
)

// shutdownTimeout bounds the graceful close after the signal.
const shutdownTimeout = 10 * time.Second

// Task is the work item.
type Task struct {
	N int `json:"n"`
}

func main() {
	url := os.Getenv("KELP_URL")
	if url == "" {
		url = "memory://"
	}
	// ctx ends at the first signal; a second signal kills the program at
	// once, because stop restores the default behaviour.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	if err := run(ctx, url, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run works until ctx ends, then shuts down gracefully.
func run(ctx context.Context, url string, out io.Writer) (err error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := conn.Dial(dctx, url)
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		// ctx has ended by now: Close gets a deadline of its own.
		cctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if cerr := c.Close(cctx); cerr != nil {
			err = errors.Join(err, cerr)
			return
		}
		fmt.Fprintln(out, "connection closed")
	}()

	tasks := route.NewQueue("tasks")
	p := c.Producer(conn.WithRoutingKey(tasks.Name), conn.WithDeclare(tasks))
	for n := 1; n <= 3; n++ {
		if err := p.Publish(ctx, Task{N: n}); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "worker started; stop it with Ctrl-C or SIGTERM")

	// Serve returns nil once ctx ends and the handlers in flight returned.
	err = c.Serve(ctx, []route.Queue{tasks}, conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
		var t Task
		if err := d.Decode(&t); err != nil {
			return conn.Reject(err)
		}
		fmt.Fprintf(out, "task %d done\n", t.N)
		return nil
	}))
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "stopping: no new tasks taken, tasks in flight finished")
	return nil
}
