package redis_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// fanoutSetup declares fanout exchange "fx" on a new Connector (a process)
// and, for each queue given, declares it, binds it with an empty key and
// starts a consumer on it.
func fanoutSetup(t *testing.T, ctx context.Context, cfg redis.Config, queues ...string) (transports.Channel, []transports.Subscription) {
	t.Helper()
	ch, err := dial(t, newConnector(t, cfg)).Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(ctx, route.Exchange{Name: "fx", Kind: route.Fanout}); err != nil {
		t.Fatal(err)
	}
	var subs []transports.Subscription
	for _, q := range queues {
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: q}); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(ctx, q, "fx", "", nil); err != nil {
			t.Fatal(err)
		}
		sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: q})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	return ch, subs
}

// next returns the next delivery of sub, acked.
func next(t *testing.T, ctx context.Context, ch transports.Channel, sub transports.Subscription) transports.Delivery {
	t.Helper()
	select {
	case d, ok := <-sub.Deliveries():
		if !ok {
			t.Fatalf("consumer ended: %v", sub.Err())
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
		return d
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	panic("unreachable")
}

func publishFanout(t *testing.T, ctx context.Context, ch transports.Channel, key, body string) {
	t.Helper()
	if _, err := ch.Publish(ctx, transports.Publishing{Exchange: "fx", RoutingKey: key,
		Message: transports.Message{Body: []byte(body), Properties: transports.Properties{ContentType: "text/plain"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestFanoutPubSub: by default a fanout publish is one PUBLISH on Kombu's
// channel, every consuming queue in every process receives it (whatever
// the routing key), and nothing is kept for a queue nobody consumes.
func TestFanoutPubSub(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chA, subsA := fanoutSetup(t, ctx, cfg, "fa1", "fa2")
	chB, subsB := fanoutSetup(t, ctx, cfg, "fb")
	rc := rawClient(t, cfg)
	// Watch the channels the messages go out on.
	fx := cfg.GlobalKeyPrefix + "/" + strconv.Itoa(cfg.DB) + ".fx"
	ps := rc.PSubscribe(ctx, fx+"*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	publishFanout(t, ctx, chB, "", "one")
	publishFanout(t, ctx, chB, "any.key", "two")
	for i, want := range []string{fx, fx + "/any.key"} {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil || m.Channel != want {
			t.Fatalf("publish %d went to %v (%v), want %s", i, m, err, want)
		}
	}
	for _, c := range []struct {
		ch  transports.Channel
		sub transports.Subscription
	}{{chA, subsA[0]}, {chA, subsA[1]}, {chB, subsB[0]}} {
		for _, want := range []string{"one", "two"} {
			if d := next(t, ctx, c.ch, c.sub); string(d.Body) != want || d.Exchange != "fx" {
				t.Errorf("got %q from %q, want %q from fx", d.Body, d.Exchange, want)
			}
		}
	}
	// A queue without consumers keeps nothing (PUB/SUB is not persistent).
	if _, err := chA.QueueDeclare(ctx, route.Queue{Name: "idle"}); err != nil {
		t.Fatal(err)
	}
	if err := chA.QueueBind(ctx, "idle", "fx", "", nil); err != nil {
		t.Fatal(err)
	}
	publishFanout(t, ctx, chA, "", "three")
	next(t, ctx, chB, subsB[0]) // delivered, so the broadcast is done
	if info, err := chA.QueueDeclare(ctx, route.Queue{Name: "idle", Passive: true}); err != nil || info.Messages != 0 {
		t.Errorf("idle queue: %+v, %v; want 0 messages", info, err)
	}
	for _, sub := range subsA {
		if d := next(t, ctx, chA, sub); string(d.Body) != "three" {
			t.Errorf("got %q, want three", d.Body)
		}
	}
	unackedEmpty(t, ctx, cfg)
}

// unackedEmpty checks that Kombu's unacked structures are gone. Acks
// reach Redis asynchronously (as AMQP's basic.ack reaches the broker), so
// it gives them a few seconds.
func unackedEmpty(t *testing.T, ctx context.Context, cfg redis.Config) {
	t.Helper()
	rc := rawClient(t, cfg)
	deadline := time.Now().Add(5 * time.Second)
	for _, k := range []string{redis.UnackedKey, redis.UnackedIndexKey} {
		for {
			n, err := rc.Exists(ctx, cfg.GlobalKeyPrefix+k).Result()
			if err == nil && n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s still exists after every message was acked (%v)", k, err)
				break
			}
			time.Sleep(10 * time.Millisecond) // polling Redis, with a deadline
		}
	}
}

// TestFanoutDurable: with DurableFanout, fanout messages go into every
// bound queue's list, consumed or not, and nothing is published.
func TestFanoutDurable(t *testing.T) {
	cfg := testConfig(t)
	cfg.DurableFanout = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, _ := fanoutSetup(t, ctx, cfg)
	for _, q := range []string{"d1", "d2"} {
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: q}); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(ctx, q, "fx", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	rc := rawClient(t, cfg)
	ps := rc.PSubscribe(ctx, cfg.GlobalKeyPrefix+"*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	publishFanout(t, ctx, ch, "k", "kept")
	for _, q := range []string{"d1", "d2"} {
		if ds := getAck(t, ctx, ch, q, 1); string(ds[0].Body) != "kept" {
			t.Errorf("%s holds %q", q, ds[0].Body)
		}
	}
	quiet, cancelQuiet := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelQuiet()
	if m, err := ps.ReceiveMessage(quiet); err == nil {
		t.Errorf("durable fanout published on %s", m.Channel)
	}
}

// TestInteropKombuFanout: fanout over Kombu's PUB/SUB both ways. A kelp
// consumer receives what a Python publisher broadcasts (with and without
// a routing key); a Python consumer receives what kelp broadcasts; both
// ack, and the unacked structures end empty.
func TestInteropKombuFanout(t *testing.T) {
	needKombu(t)
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, subs := fanoutSetup(t, ctx, cfg, "kf")

	t.Run("PythonToKelp", func(t *testing.T) {
		runPython(t, ctx, "kombu_fanout.py", kombuURL(cfg), cfg.GlobalKeyPrefix, "publish", "fx")
		for _, want := range []struct{ ct, body, key string }{
			{"application/json", `{"kind": "fanout"}`, ""},
			{"text/plain", "with key", "some.key"},
		} {
			d := next(t, ctx, ch, subs[0])
			if d.ContentType != want.ct || string(d.Body) != want.body || d.Exchange != "fx" || d.RoutingKey != want.key {
				t.Errorf("got %s %q via %q/%q, want %s %q via fx/%q", d.ContentType, d.Body, d.Exchange, d.RoutingKey,
					want.ct, want.body, want.key)
			}
		}
	})

	t.Run("KelpToPython", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, python, "testdata/kombu_fanout.py", kombuURL(cfg), cfg.GlobalKeyPrefix,
			"consume", "fx", "py-fanout", "2")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
			_ = cmd.Wait()
			t.Fatalf("kombu_fanout.py: %q, %v\n%s", line, err, stderr.String())
		}
		publishFanout(t, ctx, ch, "", "to python")
		publishFanout(t, ctx, ch, "", "again")
		rest, _ := io.ReadAll(r)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("kombu_fanout.py: %v\n%s", err, stderr.String())
		}
		var got []pyMessage
		for line := range strings.SplitSeq(strings.TrimSpace(string(rest)), "\n") {
			var m pyMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("kombu_fanout.py printed %q: %v", line, err)
			}
			got = append(got, m)
		}
		if len(got) != 2 || got[0].Payload != "to python" || got[1].Payload != "again" ||
			got[0].Exchange != "fx" || got[0].ContentType != "text/plain" {
			t.Errorf("Python received %+v", got)
		}
		// kelp's own consumer got them too.
		for _, want := range []string{"to python", "again"} {
			if d := next(t, ctx, ch, subs[0]); string(d.Body) != want {
				t.Errorf("kelp got %q, want %q", d.Body, want)
			}
		}
	})
	unackedEmpty(t, ctx, cfg)
}
