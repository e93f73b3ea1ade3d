package redis_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// Environment of the consumer subprocess of TestSIGKILLLosesNothing.
const (
	envChild  = "KELP_REDIS_SIGKILL_CHILD"
	envPrefix = "KELP_REDIS_SIGKILL_PREFIX"
	killQueue = "sigkill"
	processed = "processed" // set of bodies a child handled, before acking
)

// killConfig is the Config parent and children share: a short visibility
// timeout so that the parent can restore the claims of killed children.
func killConfig(cfg redis.Config) redis.Config {
	cfg.VisibilityTimeout = time.Second
	cfg.RestoreInterval = 100 * time.Millisecond
	return cfg
}

// TestSIGKILLChild is the consumer subprocess: it consumes with prefetch
// 10, records each body in the processed set, then acks it, until killed
// or idle.
func TestSIGKILLChild(t *testing.T) {
	prefix := os.Getenv(envPrefix)
	if os.Getenv(envChild) != "1" || prefix == "" {
		t.Skip("the consumer subprocess of TestSIGKILLLosesNothing")
	}
	cfg := serverConfig(t)
	cfg.GlobalKeyPrefix = prefix
	cfg = killConfig(cfg)
	ctx := context.Background()
	conn := dial(t, newConnector(t, cfg))
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: killQueue}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(ctx, transports.Qos{PrefetchCount: 10}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: killQueue})
	if err != nil {
		t.Fatal(err)
	}
	rc := rawClient(t, cfg)
	for {
		select {
		case d, ok := <-sub.Deliveries():
			if !ok {
				t.Fatal(sub.Err())
			}
			time.Sleep(4 * time.Millisecond) // some work, so that kills land mid-stream
			if err := rc.SAdd(ctx, prefix+processed, d.Body).Err(); err != nil {
				t.Fatal(err)
			}
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			return // idle: the queue is drained
		}
	}
}

// TestSIGKILLLosesNothing kills consumer subprocesses with SIGKILL at
// random instants mid-stream, many times, and then accounts for every
// message: each was processed by a child or is still in the queue or in
// unacked, from where the visibility restore returns it.
func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns subprocesses")
	}
	cfg := killConfig(testConfig(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := newConnector(t, cfg)
	conn := dial(t, c)
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: killQueue}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		p := transports.Publishing{RoutingKey: killQueue, Message: transports.Message{Body: []byte(strconv.Itoa(i))}}
		if _, err := ch.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	rc := rawClient(t, cfg)
	kills := 0
	for kills < 15 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLChild$")
		cmd.Env = append(os.Environ(), envChild+"=1", envPrefix+"="+cfg.GlobalKeyPrefix)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(40+rand.IntN(100)) * time.Millisecond) // a random instant
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
		if left, _ := rc.LLen(ctx, cfg.GlobalKeyPrefix+killQueue).Result(); left == 0 {
			break
		}
	}
	// Restore what the killed children held, then drain what is left.
	for {
		h, err := rc.HLen(ctx, cfg.GlobalKeyPrefix+redis.UnackedKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		if h == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d claims never restored", h)
		}
		if _, err := c.RestoreVisible(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // waiting for the visibility timeout to pass
	}
	seen := map[string]bool{}
	for {
		d, ok, err := ch.Get(ctx, killQueue, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		seen[string(d.Body)] = true
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	}
	done, err := rc.SMembers(ctx, cfg.GlobalKeyPrefix+processed).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range done {
		seen[b] = true
	}
	for i := range n {
		if !seen[strconv.Itoa(i)] {
			t.Errorf("message %d lost", i)
		}
	}
	t.Logf("%d kills; %d messages processed by children, %d left for the final drain", kills, len(done), len(seen)-len(done))
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
}
