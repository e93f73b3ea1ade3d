package redis_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/redis"
)

// killClients kills, with CLIENT KILL ID, every Redis connection named
// name (kelp's own: Redis 7.0 cannot kill by name) and returns how many.
func killClients(t *testing.T, ctx context.Context, rc *goredis.Client, name string) int {
	t.Helper()
	list, err := rc.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(list), "\n") {
		var id string
		mine := false
		for f := range strings.SplitSeq(line, " ") {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case k == "id":
				id = v
			case k == "name" && v == name:
				mine = true
			}
		}
		if mine && id != "" {
			if err := rc.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
				n++
			}
		}
	}
	return n
}

// retry retries a publish whose confirmation a reconnect lost, until ctx
// ends (a retried message may arrive twice; none may be missing).
var retry = conn.WithRetry(conn.RetryPolicy{MaxRetries: -1, IntervalStep: 20 * time.Millisecond, IntervalMax: 200 * time.Millisecond})

// stream publishes n confirmed messages from several goroutines through
// c while a consumer acks them, calling fault when the consumer has
// received each count in at; it returns once every confirmed message
// was received, and fails the test if one never is.
func stream(t *testing.T, ctx context.Context, c *conn.Connection, queue string, n int, at []int, fault func()) {
	t.Helper()
	if _, err := c.DeclareQueue(ctx, route.Queue{Name: queue, Durable: true}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, conn.QueueNames(queue), conn.WithPrefetch(20))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	var mu sync.Mutex
	confirmed := map[string]bool{}
	var wg sync.WaitGroup
	const publishers = 4
	p := c.Producer(conn.WithRoutingKey(queue), retry)
	for w := range publishers {
		wg.Go(func() {
			for i := w; i < n; i += publishers {
				body := strconv.Itoa(i)
				if err := p.Publish(ctx, []byte(body)); err != nil {
					if ctx.Err() == nil {
						t.Logf("publish %s: %v (not confirmed)", body, err)
					}
					continue
				}
				mu.Lock()
				confirmed[body] = true
				mu.Unlock()
			}
		})
	}
	seen := map[string]bool{}
	published := make(chan struct{})
	go func() { wg.Wait(); close(published) }()
	// The last confirmation may come back after its message was
	// consumed, so wait for deliveries and for the publishers together.
	allSeen := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for b := range confirmed {
			if !seen[b] {
				return false
			}
		}
		return true
	}
	for finished := false; !finished || !allSeen(); {
		select {
		case <-ctx.Done():
			t.Fatalf("consumer after %d messages: %v", len(seen), ctx.Err())
		case <-published:
			finished, published = true, nil // a nil channel is never ready again
		case d, ok := <-cons.C():
			if !ok {
				t.Fatalf("consumer ended after %d messages: %v", len(seen), cons.Err())
			}
			_ = d.Ack(ctx) // a delivery of an earlier epoch is redelivered anyway
			if !seen[string(d.Body)] {
				seen[string(d.Body)] = true
				for _, a := range at {
					if len(seen) == a {
						fault()
					}
				}
			}
		}
	}
	t.Logf("%d confirmed, %d distinct received, epoch %d", len(confirmed), len(seen), c.Epoch())
}

// TestSelfHealClientKill kills the Redis connections of a kelp Connection
// (its own, by client name) mid-stream, twice: the connection reconnects,
// the consumer resumes on the same Go channel, and every confirmed
// publish arrives. goleak (TestMain) checks that nothing leaks.
func TestSelfHealClientKill(t *testing.T) {
	cfg := testConfig(t)
	// A kill lands on a blocked consumer only while it is blocked: a long
	// block makes that certain (between polls the pool would absorb the
	// kill and the test would see no reconnect).
	cfg.PollInterval = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "kelp-heal-" + strings.Trim(cfg.GlobalKeyPrefix, ":")
	c, err := conn.Open(ctx, newConnector(t, cfg), conn.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background()) // on failure; Close is idempotent
	rc := rawClient(t, cfg)
	kills := 0
	stream(t, ctx, c, "heal", 1500, []int{300, 900}, func() {
		if k := killClients(t, ctx, rc, name); k == 0 {
			t.Errorf("no connection named %s to kill", name)
		} else {
			kills++
		}
	})
	if kills != 2 {
		t.Errorf("%d kills, want 2", kills)
	}

	// A consumer blocked in Redis sees its connection die: the
	// Connection reconnects (a new epoch) and the consumer resumes.
	if _, err := c.DeclareQueue(ctx, route.Queue{Name: "heal-idle"}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, conn.QueueNames("heal-idle"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	epoch := c.Epoch()
	blocked := time.NewTicker(20 * time.Millisecond) // polling Redis's view of the consumer
	defer blocked.Stop()
	for !blockedIn(t, ctx, rc, name) {
		select {
		case <-ctx.Done():
			t.Fatal("the consumer never blocked in Redis")
		case <-blocked.C:
		}
	}
	if killClients(t, ctx, rc, name) == 0 {
		t.Fatal("nothing to kill")
	}
	if err := c.Producer(conn.WithRoutingKey("heal-idle"), retry).Publish(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	d, err := cons.Next(ctx)
	if err != nil || string(d.Body) != "after" {
		t.Fatalf("after the kill: %q, %v", d.Body, err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Epoch() <= epoch {
		t.Errorf("epoch %d after killing a blocked consumer's connection, want > %d", c.Epoch(), epoch)
	}
	// Closing settles the rest: what is still unacked (retried
	// duplicates in the prefetch buffer) goes back to its queue.
	cons.Stop()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	// The Connector returns leftover claims just after its last Conn ends.
	for {
		n, err := rc.HLen(ctx, cfg.GlobalKeyPrefix+redis.UnackedKey).Result()
		if err == nil && n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d messages left unacked after Close (%v)", n, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// blockedIn reports whether a connection named name is blocked in BLMOVE.
func blockedIn(t *testing.T, ctx context.Context, rc *goredis.Client, name string) bool {
	t.Helper()
	list, err := rc.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(list, "\n") {
		if strings.Contains(line, " name="+name+" ") && strings.Contains(line, " cmd=blmove") {
			return true
		}
	}
	return false
}
