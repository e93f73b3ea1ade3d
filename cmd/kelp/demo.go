package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/memory"
)

const demoAbout = `Demo runs a short tour of kelp on the embedded memory broker, so it needs
no server: it declares a direct, a topic and a fanout exchange with five
queues, consumes from all of them through one Go channel, publishes,
acknowledges, requeues a message (which comes back marked redelivered),
and waits on Next with a deadline. Its output is the same on every run.`

// demoWait bounds each wait for a delivery the demo knows is coming; it
// only matters if something is broken.
const demoWait = 5 * time.Second

// demoTimeout is the deadline the demo shows Next giving up after.
const demoTimeout = 50 * time.Millisecond

// runDemo implements "kelp demo".
func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "demo", "kelp demo", demoAbout)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("demo takes no arguments")
	}
	return demo(ctx, e.stdout)
}

// tour is the state of one run of the demo.
type tour struct {
	w    io.Writer
	p    *conn.Producer
	cons *conn.Consumer
	// counts for the closing line
	published, delivered, acked, requeued int
}

// demo runs the tour, writing what happens to w.
func demo(ctx context.Context, w io.Writer) (err error) {
	broker := memory.New()
	defer func() { err = errors.Join(err, broker.Close(context.WithoutCancel(ctx))) }()
	c, err := conn.Open(ctx, broker.Connector(), conn.Config{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeConn(ctx, c); err == nil {
			err = cerr
		}
	}()
	fmt.Fprintln(w, "kelp demo: the embedded memory broker, no server needed")
	fmt.Fprintln(w)

	orders := route.NewExchange("orders", route.Direct)
	logs := route.NewExchange("logs", route.Topic)
	events := route.NewExchange("events", route.Fanout)
	queues := []route.Queue{
		route.NewQueue("orders.new", route.Bind(orders, "new")),
		route.NewQueue("logs.errors", route.Bind(logs, "*.error")),
		route.NewQueue("logs.all", route.Bind(logs, "#")),
		route.NewQueue("events.audit", route.Bind(events, "")),
		route.NewQueue("events.mail", route.Bind(events, "")),
	}
	for _, q := range queues {
		if err := c.Declare(ctx, q); err != nil {
			return err
		}
		b := q.Bindings[0]
		fmt.Fprintf(w, "declared %-6s exchange %-8q -> queue %-12s key %q\n",
			b.Exchange.Kind, b.Exchange.Name, q.Name, b.RoutingKey)
	}
	cons, err := c.Consume(ctx, queues)
	if err != nil {
		return err
	}
	defer cons.Stop()
	fmt.Fprintf(w, "consuming from all %d queues through one Go channel\n", len(queues))

	t := &tour{w: w, p: c.Producer(), cons: cons}
	if err := t.route(ctx); err != nil {
		return err
	}
	if err := t.requeue(ctx); err != nil {
		return err
	}
	if err := t.timeout(ctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "\npublished %d, delivered %d, acked %d, requeued %d; closing\n",
		t.published, t.delivered, t.acked, t.requeued)
	return nil
}

// route shows each kind of exchange routing to its queues.
func (t *tour) route(ctx context.Context) error {
	type order struct {
		ID   int    `json:"id"`
		Item string `json:"item"`
	}
	type event struct {
		Event string `json:"event"`
		User  string `json:"user"`
	}
	steps := []struct {
		title, exchange, key string
		body                 any
		queues               int // how many queues it routes to
	}{
		{"direct", "orders", "new", order{1, "kelp"}, 1},
		{"topic", "logs", "db.error", "disk full", 2},
		{"topic", "logs", "web.info", "listening on :8080", 1},
		{"fanout", "events", "", event{"signup", "ana"}, 2},
	}
	for _, s := range steps {
		fmt.Fprintf(t.w, "\n%s: publish to %q with key %q\n", s.title, s.exchange, s.key)
		if err := t.publish(ctx, s.body, conn.WithExchange(s.exchange), conn.WithRoutingKey(s.key)); err != nil {
			return err
		}
		ds, err := t.receive(ctx, s.queues)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := t.ack(ctx, &d); err != nil {
				return err
			}
		}
	}
	return nil
}

// requeue shows a requeued message coming back marked redelivered.
func (t *tour) requeue(ctx context.Context) error {
	fmt.Fprintf(t.w, "\nrequeue: publish to %q with key %q, requeue it once, then ack\n", "orders", "new")
	body := map[string]any{"id": 2, "item": "sea urchin"}
	if err := t.publish(ctx, body, conn.WithExchange("orders"), conn.WithRoutingKey("new")); err != nil {
		return err
	}
	ds, err := t.receive(ctx, 1)
	if err != nil {
		return err
	}
	t.show(&ds[0], "requeue")
	if err := ds[0].Requeue(ctx); err != nil {
		return err
	}
	t.requeued++
	if ds, err = t.receive(ctx, 1); err != nil {
		return err
	}
	return t.ack(ctx, &ds[0])
}

// timeout shows Next giving up when its ctx ends, with every queue empty.
func (t *tour) timeout(ctx context.Context) error {
	fmt.Fprintf(t.w, "\ntimeout: Next with a %v deadline, every queue empty\n", demoTimeout)
	wctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	d, err := t.cons.Next(wctx)
	if err == nil {
		return fmt.Errorf("demo: unexpected delivery from %s", d.Info.Queue)
	}
	if !errors.Is(err, conn.ErrTimeout) {
		return err
	}
	fmt.Fprintf(t.w, "  Next gave up: errors.Is(err, conn.ErrTimeout) = %t, errors.Is(err, context.DeadlineExceeded) = %t\n",
		errors.Is(err, conn.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	return nil
}

// publish publishes body and counts it.
func (t *tour) publish(ctx context.Context, body any, opts ...conn.PublishOption) error {
	if err := t.p.Publish(ctx, body, opts...); err != nil {
		return err
	}
	t.published++
	return nil
}

// receive takes the next n deliveries, in queue-name order, so that the
// output does not depend on which queue the consumer served first.
func (t *tour) receive(ctx context.Context, n int) ([]conn.Delivery, error) {
	ds := make([]conn.Delivery, 0, n)
	for range n {
		wctx, cancel := context.WithTimeout(ctx, demoWait)
		d, err := t.cons.Next(wctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("demo: waiting for delivery %d of %d: %w", len(ds)+1, n, err)
		}
		ds = append(ds, d)
	}
	t.delivered += n
	slices.SortFunc(ds, func(a, b conn.Delivery) int { return strings.Compare(a.Info.Queue, b.Info.Queue) })
	return ds, nil
}

// ack shows d and acknowledges it.
func (t *tour) ack(ctx context.Context, d *conn.Delivery) error {
	t.show(d, "ack")
	if err := d.Ack(ctx); err != nil {
		return err
	}
	t.acked++
	return nil
}

// show prints one delivery and what the demo does with it.
func (t *tour) show(d *conn.Delivery, action string) {
	body := string(d.Body)
	if d.ContentType == "text/plain" {
		body = strconv.Quote(body)
	}
	redelivered := ""
	if d.Info.Redelivered {
		redelivered = ", redelivered"
	}
	fmt.Fprintf(t.w, "  %-12s %-7s %s (%s%s)\n", d.Info.Queue, action, body, d.ContentType, redelivered)
}
