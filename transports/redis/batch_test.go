package redis_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// kombuElement is a Kombu envelope with body as its (already encoded)
// body text.
func kombuElement(body string) string {
	return `{"body": "` + body + `", "content-encoding": "utf-8", "content-type": "text/plain", ` +
		`"headers": {}, "properties": {"body_encoding": "base64", "delivery_info": {"exchange": "", "routing_key": "q"}, ` +
		`"delivery_tag": "00000000-0000-4000-8000-000000000000", "priority": 0, "delivery_mode": 2}}`
}

// channelWithQueues opens a channel on a fresh Connector (its keys behind
// cfg's prefix) and declares queues on it.
func channelWithQueues(t *testing.T, ctx context.Context, cfg redis.Config, queues ...string) transports.Channel {
	t.Helper()
	ch, err := dial(t, newConnector(t, cfg)).Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: q}); err != nil {
			t.Fatal(err)
		}
	}
	return ch
}

// TestBodyNotBase64GoesToUnreadable: an envelope whose body is not the
// base64 it claims is moved to _kelp.unreadable, with Get and with a
// consumer claiming it in a batch with good messages, which are
// delivered in order; nothing stays in unacked.
func TestBodyNotBase64GoesToUnreadable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := testConfig(t)
	ch := channelWithQueues(t, ctx, cfg, "q")
	rc := rawClient(t, cfg)
	bad := kombuElement("!!not*base64!!")
	// Pushed in consuming order: "aGk=" is "hi", "Ynll" is "bye".
	for _, e := range []string{bad, kombuElement("aGk="), bad, kombuElement("Ynll")} {
		if err := rc.LPush(ctx, cfg.GlobalKeyPrefix+"q", e).Err(); err != nil {
			t.Fatal(err)
		}
	}
	d, ok, err := ch.Get(ctx, "q", true)
	if err != nil || !ok || string(d.Body) != "hi" {
		t.Fatalf("Get past an unreadable element: %q %v %v", d.Body, ok, err)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 10}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	if d := next(t, ctx, ch, sub); string(d.Body) != "bye" {
		t.Fatalf("consumed %q, want bye", d.Body)
	}
	kept, err := rc.LRange(ctx, cfg.GlobalKeyPrefix+redis.UnreadableKey, 0, -1).Result()
	if err != nil || !slices.Equal(kept, []string{bad, bad}) {
		t.Fatalf("%s holds %q (%v), want the two bad elements", redis.UnreadableKey, kept, err)
	}
	unackedEmpty(t, ctx, cfg)
}

// TestConsumeClaimsInBatches publishes in confirm mode (the writer's
// batches), checks every confirmed message is in the list, consumes them
// with prefetch 50 (claims in batches, acks settled in batches) and checks
// every message arrives once, in order, and unacked ends empty.
func TestConsumeClaimsInBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := testConfig(t)
	ch := channelWithQueues(t, ctx, cfg, "bq")
	const n = 500
	confirms, err := ch.(transports.Confirmer).Confirm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "bq", Message: transports.Message{Body: fmt.Appendf(nil, "%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case cf := <-confirms:
			if !cf.Ack {
				t.Fatalf("publish %d nacked", cf.Seq)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d confirmations", i, n)
		}
	}
	rc := rawClient(t, cfg)
	if l, err := rc.LLen(ctx, cfg.GlobalKeyPrefix+"bq").Result(); err != nil || l != n {
		t.Fatalf("queue length %d (%v) after %d confirmed publishes", l, err, n)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 50}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bq"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if d := next(t, ctx, ch, sub); string(d.Body) != fmt.Sprint(i) {
			t.Fatalf("delivery %d is %q", i, d.Body)
		}
	}
	unackedEmpty(t, ctx, cfg)
}

// TestBindingsCachedWithTTL: routing reads an exchange's bindings from a
// listing cached for about a second. A binding this process makes routes
// at once; one another process adds behind its back (as a Python peer
// does, with SADD) routes within the cache's lifetime.
func TestBindingsCachedWithTTL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := testConfig(t)
	ch := channelWithQueues(t, ctx, cfg, "local", "remote")
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "cx", Kind: route.Direct}); err != nil {
		t.Fatal(err)
	}
	rc := rawClient(t, cfg)
	length := func(q string) int64 {
		if _, err := ch.QueuePurge(ctx, "local"); err != nil { // waits for the queued publishes
			t.Fatal(err)
		}
		n, err := rc.LLen(ctx, cfg.GlobalKeyPrefix+q).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	publish := func() {
		if _, err := ch.Publish(ctx, transports.Publishing{Exchange: "cx", RoutingKey: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	publish() // caches the (empty) listing
	if err := ch.QueueBind(ctx, "local", "cx", "k", nil); err != nil {
		t.Fatal(err)
	}
	publish()
	if n, err := ch.QueuePurge(ctx, "local"); err != nil || n != 1 {
		t.Fatalf("a binding made here did not route the next publish: %d, %v", n, err)
	}
	// Another process binds "remote" (Kombu's member for a direct binding).
	if err := rc.SAdd(ctx, cfg.GlobalKeyPrefix+redis.BindingPrefix+"cx", "k"+redis.Sep+redis.Sep+"remote").Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for length("remote") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a binding added by another process never routed")
		}
		publish()
		time.Sleep(50 * time.Millisecond) // the cache's lifetime is a second
	}
}
