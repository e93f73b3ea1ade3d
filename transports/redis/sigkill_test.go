package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
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
	// childReady is the line a child prints once it consumes.
	childReady = "kelp-sigkill-child-consuming"
)

// killConfig is the Config parent and children share: a short visibility
// timeout so that the parent can restore the claims of killed children.
func killConfig(cfg redis.Config) redis.Config {
	cfg.VisibilityTimeout = time.Second
	cfg.RestoreInterval = 100 * time.Millisecond
	// A child killed while it holds unacked_mutex blocks every restore
	// until the lock expires: Kombu's 300 s would outlast the test.
	cfg.UnackedMutexExpire = 2 * time.Second
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
	fmt.Println(childReady) // the parent kills from now on
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
	// Generous but bounded: this runs under -race on a loaded 2-core
	// machine, in parallel with other packages' tests.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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
		killChild(ctx, t, cfg.GlobalKeyPrefix)
		kills++
		if left, _ := rc.LLen(ctx, cfg.GlobalKeyPrefix+killQueue).Result(); left == 0 {
			break
		}
	}
	// A child killed holding unacked_mutex leaves it to expire after
	// UnackedMutexExpire, not Kombu's default 300 s.
	if ttl, err := rc.PTTL(ctx, cfg.GlobalKeyPrefix+redis.UnackedMutexKey).Result(); err != nil || ttl > cfg.UnackedMutexExpire {
		t.Errorf("unacked_mutex expires in %v (%v), want at most %v", ttl, err, cfg.UnackedMutexExpire)
	}
	// Restore what the killed children held, then drain what is left.
	poll := time.NewTicker(100 * time.Millisecond) // waiting for the visibility timeout to pass
	defer poll.Stop()
	for {
		h, err := rc.HLen(ctx, cfg.GlobalKeyPrefix+redis.UnackedKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		if h == 0 {
			break
		}
		if _, err := c.RestoreVisible(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d claims never restored", h)
		case <-poll.C:
		}
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

// killChild starts a consumer subprocess, waits until it consumes, lets it
// work for a random instant and kills it with SIGKILL.
func killChild(ctx context.Context, t *testing.T, prefix string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIGKILLChild$")
	cmd.Env = append(os.Environ(), envChild+"=1", envPrefix+"="+prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == childReady && !slices.Contains(got, childReady) {
				close(ready)
			}
			got = append(got, sc.Text())
		}
		if !slices.Contains(got, childReady) {
			close(ready)
		}
		lines <- got
	}()
	<-ready                                                      // or the child exited, or ctx ended and killed it
	time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond) // a random instant mid-stream
	_ = cmd.Process.Signal(syscall.SIGKILL)
	got := <-lines
	_ = cmd.Wait()
	if !slices.Contains(got, childReady) {
		t.Fatalf("consumer subprocess never consumed (ctx: %v); its output:\n%s", ctx.Err(), strings.Join(got, "\n"))
	}
}
