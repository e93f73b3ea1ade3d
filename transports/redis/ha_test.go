package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/redisproc"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
	"github.com/kelpmq/kelp/transports/transporttest"
)

// receiver acks every delivery of a conn consumer and records the bodies.
type receiver struct {
	mu   sync.Mutex
	seen map[string]int
	grew chan struct{} // receives after each new body (never blocks)
}

// receive starts a goroutine that acks every delivery of cons until ctx
// ends or cons does, and calls onNew (if not nil), on that goroutine,
// with the number of distinct bodies after each new one.
func receive(t *testing.T, ctx context.Context, cons *conn.Consumer, onNew func(int)) (*receiver, <-chan error) {
	r := &receiver{seen: map[string]int{}, grew: make(chan struct{}, 1)}
	errc := make(chan error, 1)
	go func() {
		for {
			d, err := cons.Next(ctx)
			if err != nil {
				errc <- err
				return
			}
			_ = d.Ack(ctx) // an ack lost to a fault makes a duplicate, never a loss
			r.mu.Lock()
			r.seen[string(d.Body)]++
			n, isNew := len(r.seen), r.seen[string(d.Body)] == 1
			r.mu.Unlock()
			if isNew && onNew != nil {
				onNew(n)
			}
			select {
			case r.grew <- struct{}{}:
			default:
			}
		}
	}()
	return r, errc
}

// waitFor waits until every body in want was received, or fails the test
// with what is missing when ctx ends.
func (r *receiver) waitFor(t *testing.T, ctx context.Context, what string, want []string) {
	t.Helper()
	for {
		r.mu.Lock()
		var missing []string
		for _, b := range want {
			if r.seen[b] == 0 {
				missing = append(missing, b)
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 {
			return
		}
		select {
		case <-r.grew:
		case <-ctx.Done():
			t.Fatalf("%s: %d of %d never delivered (first %q)", what, len(missing), len(want), missing[0])
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// publishRange publishes bodies prefix0..prefix<n-1>, confirmed, retrying
// a publish a fault made fail, and returns the bodies.
func publishRange(t *testing.T, ctx context.Context, c *conn.Connection, queue, prefix string, n int) []string {
	t.Helper()
	p := c.Producer(conn.WithRoutingKey(queue), retry)
	out := make([]string, n)
	for i := range n {
		out[i] = prefix + strconv.Itoa(i)
		if err := p.Publish(ctx, []byte(out[i])); err != nil {
			t.Fatalf("publish %s: %v", out[i], err)
		}
	}
	return out
}

// TestSentinel runs publish, consume and ack through a Sentinel, then
// has the Sentinel fail the master over to its replica in the middle of
// consumption while a publisher goes on: the consumer resumes on the same
// Go channel, every publish confirmed before the failover began (and
// replicated, which the test waits for) and every one confirmed after it
// ended (the old master demoted) is delivered. Publishes confirmed by the
// old master during the failover itself can be lost: Redis replicates
// asynchronously, and the old master takes writes until it is demoted;
// the test counts them.
func TestSentinel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	master := redisproc.Start(t, redisproc.Options{})
	replica := redisproc.StartReplica(t, master, redisproc.Options{})
	sn := redisproc.StartSentinel(t, master, redisproc.SentinelOptions{})
	// Kombu's form, through conn's URL parsing: a group of Sentinels, the
	// first of which is down (go-redis asks the next).
	u := fmt.Sprintf("sentinel://127.0.0.1:%d;sentinel://%s/0?master_name=%s&global_keyprefix=kelptest:&socket_timeout=1",
		redisproc.FreePort(t), sn.Addr(), sn.MasterName)
	c, err := conn.DialConfig(ctx, u, conn.Config{Name: "kelp-sentinel"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.DeclareQueue(ctx, route.Queue{Name: "ha", Durable: true}); err != nil {
		t.Fatal(err)
	}
	before := publishRange(t, ctx, c, "ha", "before-", 400)
	// The messages are on the master: check through a raw client.
	rc := master.Client()
	defer rc.Close()
	if n, err := rc.LLen(ctx, "kelptest:ha").Result(); err != nil || n != 400 {
		t.Fatalf("master holds %d messages (%v), want 400", n, err)
	}
	caughtUp(t, ctx, master, replica)

	cons, err := c.Consume(ctx, conn.QueueNames("ha"), conn.WithPrefetch(20))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	r, errc := receive(t, ctx, cons, nil)
	for r.count() < 100 {
		select {
		case <-r.grew:
		case err := <-errc:
			t.Fatalf("consumer: %v", err)
		case <-ctx.Done():
			t.Fatal("the consumer did not start")
		}
	}
	// A publisher goes on through the failover.
	var during []string
	var pubWG sync.WaitGroup
	stopPub := make(chan struct{})
	pubWG.Go(func() {
		p := c.Producer(conn.WithRoutingKey("ha"), retry)
		for i := 0; ; i++ {
			select {
			case <-stopPub:
				return
			default:
			}
			body := "during-" + strconv.Itoa(i)
			if err := p.Publish(ctx, []byte(body)); err == nil {
				during = append(during, body)
			}
		}
	})
	epoch := c.Epoch()
	newMaster := sn.Failover(ctx)
	close(stopPub)
	pubWG.Wait()
	if newMaster != replica.Addr() {
		t.Fatalf("the new master is %s, want the replica %s", newMaster, replica.Addr())
	}
	// The old master takes writes until it is told to replicate the new
	// one, which Sentinel does by itself some seconds later; do it now.
	// Until the client learns of the switch, its writes to the old master
	// then fail (READONLY) and are retried, instead of being taken and
	// lost.
	master.Do(ctx, "REPLICAOF", "127.0.0.1", replica.Port())
	after := publishRange(t, ctx, c, "ha", "after-", 100)
	r.waitFor(t, ctx, "published before the failover", before)
	r.waitFor(t, ctx, "published after the failover", after)
	lost := 0
	r.mu.Lock()
	for _, b := range during {
		if r.seen[b] == 0 {
			lost++
		}
	}
	r.mu.Unlock()
	select {
	case err := <-errc:
		t.Fatalf("consumer: %v", err)
	default:
	}
	t.Logf("failover to %s: epoch %d -> %d; %d published during it, %d of them lost to asynchronous replication",
		newMaster, epoch, c.Epoch(), len(during), lost)
	cons.Stop()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// caughtUp waits until replica has applied everything master wrote.
func caughtUp(t *testing.T, ctx context.Context, master, replica *redisproc.Server) {
	t.Helper()
	offset := func(s *redisproc.Server, field string) int64 {
		c := s.Client()
		defer c.Close()
		txt, err := c.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(txt) {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == field {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatalf("no %s in INFO replication of %s", field, s.Addr())
		return 0
	}
	want := offset(master, "master_repl_offset")
	deadline := time.Now().Add(10 * time.Second)
	for offset(replica, "slave_repl_offset") < want {
		if time.Now().After(deadline) {
			t.Fatal("the replica does not catch up")
		}
		time.Sleep(10 * time.Millisecond) // an external process: poll
	}
}

// startCluster starts the cluster of the calling top-level test.
func startCluster(t *testing.T) *redisproc.Cluster {
	return redisproc.StartCluster(t, 3, redisproc.Options{})
}

// TestClusterConformance runs the conformance suite against a 3-master
// Redis Cluster: every key of a Connector shares the hash tag of its
// prefix, so its scripts work; the node serving that slot does the work.
func TestClusterConformance(t *testing.T) {
	addrs := startCluster(t).Addrs()
	transporttest.Run(t, redisFeatures, func(t *testing.T) transports.Connector {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg := redis.Config{ClusterAddrs: addrs, GlobalKeyPrefix: "{kt-" + hex.EncodeToString(b[:]) + "}:",
			DurableFanout: true, PrioritySteps: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
		c := newConnector(t, cfg)
		connectors.Store(transports.Connector(c), c)
		t.Cleanup(func() { connectors.Delete(transports.Connector(c)) })
		return c
	})
}

// TestClusterFanoutAndDefaults checks Kombu's PUB/SUB fanout on a Cluster
// (PUBLISH reaches subscribers on every node), that the default key
// prefix keeps every key in one slot, and the URL form.
func TestClusterFanoutAndDefaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := startCluster(t)
	cfg := redis.Config{ClusterAddrs: cl.Addrs()}
	chA, subsA := fanoutSetup(t, ctx, cfg, "fa1", "fa2")
	chB, subsB := fanoutSetup(t, ctx, cfg, "fb")
	publishFanout(t, ctx, chB, "", "one")
	publishFanout(t, ctx, chA, "any.key", "two")
	for _, c := range []struct {
		ch  transports.Channel
		sub transports.Subscription
	}{{chA, subsA[0]}, {chA, subsA[1]}, {chB, subsB[0]}} {
		for _, want := range []string{"one", "two"} {
			if d := next(t, ctx, c.ch, c.sub); string(d.Body) != want {
				t.Errorf("got %q, want %q", d.Body, want)
			}
		}
	}

	// The URL form, with the default prefix {kelp}.: a queue's messages,
	// its claims and the bindings all sit in the prefix's slot.
	ctr, err := transports.OpenConnector("redis+cluster://" + cl.Addrs()[0] + "?addr=" + cl.Addrs()[1])
	if err != nil {
		t.Fatal(err)
	}
	ch, err := dial(t, ctr).Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "q"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "tx", Kind: route.Topic}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(ctx, "q", "tx", "a.*", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Publish(ctx, transports.Publishing{Exchange: "tx", RoutingKey: "a.b",
		Message: transports.Message{Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "q"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-sub.Deliveries():
		cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), DisableIdentity: true})
		defer cc.Close()
		want, _ := cc.ClusterKeySlot(ctx, redis.DefaultClusterKeyPrefix+"q").Result()
		for _, k := range []string{redis.UnackedKey, redis.UnackedIndexKey, redis.BindingPrefix + "tx"} {
			key := redis.DefaultClusterKeyPrefix + k
			if n, err := cc.Exists(ctx, key).Result(); err != nil || n != 1 {
				t.Errorf("%s: exists %d, %v", key, n, err)
			}
			if slot, _ := cc.ClusterKeySlot(ctx, key).Result(); slot != want {
				t.Errorf("%s is in slot %d, the queue in %d", key, slot, want)
			}
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
}
