package fuzz_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// FuzzRedisEnvelope feeds the Redis transport's envelope decoder (not
// exported) through the driver, as a broken or hostile peer would: the
// input is pushed onto a queue's list in the test Redis (KELP_REDIS_URL,
// database 9 or above, a key prefix of its own) and taken with
// Channel.Get. It checks that
//
//   - nothing panics and Get returns within its ctx;
//   - the element is never lost: Get delivers it (and it is acked), or it
//     is moved to _kelp.unreadable (not an envelope: Get finds the queue
//     empty), or Get fails and it stays claimed in unacked, restorable;
//   - a delivered envelope that kelp itself could have written (a
//     base64 body) comes back with the same body when published again.
//
// It skips when Redis cannot be reached (fails under KELP_CI=1).
func FuzzRedisEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"body": "ImhpIg==", "content-encoding": "utf-8", "content-type": "application/json", "headers": {}, ` +
			`"properties": {"body_encoding": "base64", "delivery_info": {"exchange": "", "routing_key": "q"}, ` +
			`"delivery_tag": "6d1f3c4e-0000-4000-8000-000000000000", "priority": 0, "delivery_mode": 2}}`,
		`{"body": "plain", "properties": {}}`,
		`{"body": "!!", "properties": {"body_encoding": "base64"}}`,
		`{"body": "", "properties": {"priority": 1e400, "timestamp": -1, "delivery_mode": "x"}}`,
		`{"body": "", "headers": {"a": [1, {"b": null}]}, "properties": {"delivery_info": 7}}`,
		`{"body": "trunc`, `[1, 2]`, `null`, "\x00\xff", `{"properties": "x"}`,
	} {
		f.Add([]byte(s))
	}
	cfg := integration.RedisConfig(f)
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.GlobalKeyPrefix = "kelp.fuzz:" + hex.EncodeToString(b[:]) + ":"
	rc := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if keys, err := rc.Keys(ctx, cfg.GlobalKeyPrefix+"*").Result(); err == nil && len(keys) > 0 {
			_ = rc.Del(ctx, keys...).Err()
		}
		_ = rc.Close()
	})
	ctr, err := redis.NewConnector(cfg)
	if err != nil {
		f.Fatal(err)
	}
	const queue = "fuzz"
	f.Fuzz(func(t *testing.T, raw []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tc, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp-fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close(ctx)
		ch, err := tc.Channel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(ctx, route.Queue{Name: queue}); err != nil {
			t.Fatal(err)
		}
		key := func(k string) string { return cfg.GlobalKeyPrefix + k }
		if err := rc.LPush(ctx, key(queue), raw).Err(); err != nil {
			t.Fatal(err)
		}
		d, ok, gerr := ch.Get(ctx, queue, false)
		if ctx.Err() != nil {
			t.Fatalf("Get did not return within its ctx: %v", gerr)
		}
		switch {
		case gerr == nil && ok:
			if err := ch.Ack(ctx, d.Tag, false); err != nil {
				t.Fatalf("Ack of a delivered envelope: %v", err)
			}
			if strings.Contains(string(raw), `"base64"`) {
				republish(ctx, t, ch, d)
			}
		case gerr == nil:
			kept, err := rc.LRange(ctx, key(redis.UnreadableKey), 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(kept, string(raw)) {
				t.Fatalf("Get found the queue empty and the element is not in %s: lost", redis.UnreadableKey)
			}
		default:
			claims, err := rc.HVals(ctx, key(redis.UnackedKey)).Result()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(claims, func(c string) bool { return strings.HasPrefix(c, "["+string(raw)) }) {
				t.Fatalf("Get failed (%v) and the element is not in %s: lost", gerr, redis.UnackedKey)
			}
		}
		if n, err := rc.LLen(ctx, key(queue)).Result(); err != nil || n != 0 {
			t.Fatalf("%d elements left in the queue (%v)", n, err)
		}
		_ = rc.Del(ctx, key(redis.UnreadableKey), key(redis.UnackedKey), key(redis.UnackedIndexKey), key(redis.ClaimQueueKey)).Err()
	})
}

// republish publishes d's message again through ch and checks that the
// element kelp writes carries the same body back.
func republish(ctx context.Context, t *testing.T, ch transports.Channel, d transports.Delivery) {
	t.Helper()
	if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: d.Queue, Message: d.Message}); err != nil {
		t.Fatalf("publishing a delivered message again: %v", err)
	}
	again, ok, err := ch.Get(ctx, d.Queue, true)
	if err != nil || !ok {
		t.Fatalf("Get of kelp's own envelope: ok %v, %v", ok, err)
	}
	if string(again.Body) != string(d.Body) {
		t.Fatalf("body %q came back as %q", d.Body, again.Body)
	}
}
