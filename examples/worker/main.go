// Command worker processes jobs with Connection.Serve: several handlers at
// once, middleware around them (shaped like net/http's), and Serve's settle
// rule deciding each job's fate from the handler's error:
//
//   - nil acks the job;
//   - an error requeues a job the first time and rejects it when it comes
//     back redelivered (a poison job is retried once, then dead-lettered);
//   - conn.Reject(err) rejects at once, conn.Requeue(err) always requeues;
//   - a panic counts as an error.
//
// Rejected jobs go to the queue's dead-letter exchange.
//
//	go run ./examples/worker
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all"
)

// Job is the work item.
type Job struct {
	N int `json:"n"`
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

// square is the business logic. Negative numbers fail every time; 13
// fails on its first delivery only, like a flaky dependency.
func square(ctx context.Context, d *conn.Delivery) error {
	var job Job
	if err := d.Decode(&job); err != nil {
		return conn.Reject(err) // retrying will not fix a malformed job
	}
	switch {
	case job.N < 0:
		return fmt.Errorf("job %d: negative input", job.N)
	case job.N == 13 && !d.Info.Redelivered:
		return errors.New("job 13: dependency unavailable")
	}
	return nil
}

// journal is a middleware that records every attempt and its outcome. A
// configurable middleware is a struct with a method returning the
// conn.Middleware.
type journal struct {
	mu      sync.Mutex
	entries []string
	want    int    // attempts to wait for before done is called
	done    func() // stops Serve
}

func (j *journal) middleware(next conn.Handler) conn.Handler {
	return conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
		err := next.Handle(ctx, d)
		outcome := "ok"
		switch {
		case errors.Is(err, conn.ErrDecode):
			outcome = "failed: malformed job"
		case err != nil:
			outcome = "failed: " + err.Error()
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		j.entries = append(j.entries, fmt.Sprintf("%-22s redelivered=%-5t %s", d.Body, d.Info.Redelivered, outcome))
		if len(j.entries) == j.want {
			j.done()
		}
		return err
	})
}

func run(ctx context.Context, url string, out io.Writer) (err error) {
	c, err := conn.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close(ctx)) }()

	dlx := route.NewExchange("jobs.dlx", route.Fanout)
	dead := route.NewQueue("jobs.dead", route.Bind(dlx, ""))
	jobs := route.NewQueue("jobs")
	jobs.DeadLetterExchange = dlx.Name
	if err := c.Declare(ctx, dead, jobs); err != nil {
		return err
	}

	p := c.Producer(conn.WithRoutingKey(jobs.Name))
	for _, n := range []int{1, 2, 3, 13, -1} {
		if err := p.Publish(ctx, Job{N: n}); err != nil {
			return err
		}
	}
	if err := p.Publish(ctx, "not a job"); err != nil {
		return err
	}

	// 1, 2, 3 once; 13 and -1 twice each; the malformed job once.
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	j := &journal{want: 8, done: stop}
	h := conn.Chain(conn.HandlerFunc(square), j.middleware)
	// Serve returns nil once sctx ends and the handlers in flight finished.
	if err := c.Serve(sctx, []route.Queue{jobs}, h, conn.WithConcurrency(4), conn.WithPrefetch(8)); err != nil {
		return err
	}

	var deadLettered []string
	for {
		d, err := c.Get(ctx, dead.Name)
		if errors.Is(err, conn.ErrEmpty) {
			break
		}
		if err != nil {
			return err
		}
		deadLettered = append(deadLettered, "dead-lettered: "+string(d.Body))
		if err := d.Ack(ctx); err != nil {
			return err
		}
	}
	// Handlers run concurrently: sort for a stable listing.
	for _, lines := range [][]string{j.entries, deadLettered} {
		slices.Sort(lines)
		for _, l := range lines {
			fmt.Fprintln(out, l)
		}
	}
	return nil
}
