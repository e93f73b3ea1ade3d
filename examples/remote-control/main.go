// Command remote-control commands a group of workers through a pidbox
// mailbox, the way Celery's "inspect" and "control" reach its workers:
// a broadcast ping collected from every node, a call to one node, a call
// to the nodes whose name matches a pattern, an unknown command answered
// as an error, and a cast that makes a node leave.
//
// The mailbox is wire-compatible with Python's kombu.pidbox, so the same
// commands reach Kombu and Celery nodes, and their mailboxes reach these.
//
// It runs on the embedded memory broker; point it at RabbitMQ or Redis with
//
//	KELP_URL=amqp://guest:guest@localhost:5672// go run ./examples/remote-control
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pidbox"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/all" // memory://, amqp://, ...
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

// worker is one node: it counts the jobs it "ran" and answers commands
// about them.
type worker struct {
	name string
	jobs atomic.Int64
	left chan struct{} // closed by the "leave" cast
}

// listen registers the worker's commands and starts its node.
func (w *worker) listen(ctx context.Context, m *pidbox.Mailbox) (*pidbox.Listener, error) {
	n := m.Node(w.name)
	n.HandleFunc("ping", func(context.Context, *pidbox.Request) (any, error) {
		return map[string]string{"ok": "pong"}, nil
	})
	n.HandleFunc("stats", func(context.Context, *pidbox.Request) (any, error) {
		return map[string]int64{"jobs": w.jobs.Load()}, nil
	})
	n.HandleFunc("add_jobs", func(_ context.Context, req *pidbox.Request) (any, error) {
		var args struct {
			N int64 `json:"n"`
		}
		if err := req.Decode(&args); err != nil {
			return nil, err
		}
		return map[string]int64{"jobs": w.jobs.Add(args.N)}, nil
	})
	n.HandleFunc("leave", func(context.Context, *pidbox.Request) (any, error) {
		close(w.left)
		return nil, nil
	})
	return n.Listen(ctx)
}

func run(ctx context.Context, url string, out io.Writer) (err error) {
	c, err := conn.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close(ctx)) }()

	// A fanout mailbox, as Celery uses: every node gets every command and
	// keeps those addressed to it.
	m, err := pidbox.New(c, "example", pidbox.Config{Type: route.Fanout})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close(ctx)) }()

	workers := map[string]*worker{}
	for _, name := range []string{"alpha@host1", "beta@host1", "gamma@host2"} {
		w := &worker{name: name, left: make(chan struct{})}
		l, err := w.listen(ctx, m)
		if err != nil {
			return err
		}
		defer l.Stop()
		workers[name] = w
	}

	// A broadcast call collects replies until the limit or ctx's deadline.
	replies, err := m.MultiCall(ctx, "ping", nil, len(workers))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ping: %s\n", nodes(replies))

	// A call to one node.
	replies, err = m.Call(ctx, []string{"beta@host1"}, "add_jobs", map[string]int{"n": 5})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "add_jobs: %s\n", results(replies))

	// A call to the nodes matching a glob.
	replies, err = m.MultiCall(ctx, "stats", nil, 2, pidbox.WithPattern("*@host1", pidbox.MatchGlob))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "stats of *@host1: %s\n", results(replies))

	// An unknown command is answered as an error.
	replies, err = m.Call(ctx, []string{"gamma@host2"}, "reboot", nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reboot: %s\n", results(replies))

	// A cast expects no reply.
	if err := m.Cast(ctx, []string{"gamma@host2"}, "leave", nil); err != nil {
		return err
	}
	select {
	case <-workers["gamma@host2"].left:
		fmt.Fprintln(out, "gamma@host2 left")
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// nodes lists the hostnames of replies, sorted.
func nodes(rs []pidbox.Reply) string {
	var names []string
	for _, r := range rs {
		names = append(names, r.Node)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

// results shows each reply as node=result or node!error, sorted by node.
func results(rs []pidbox.Reply) string {
	slices.SortFunc(rs, func(a, b pidbox.Reply) int { return strings.Compare(a.Node, b.Node) })
	var parts []string
	for _, r := range rs {
		var res map[string]any
		if err := r.Decode(&res); err != nil {
			var re *pidbox.RemoteError
			if errors.As(err, &re) {
				parts = append(parts, r.Node+"!"+re.Message)
				continue
			}
			parts = append(parts, r.Node+"?"+err.Error())
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", r.Node, res))
	}
	return strings.Join(parts, " ")
}
