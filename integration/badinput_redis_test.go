package integration_test

import (
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/transports/redis"
)

// redisRows are the rows of the bad-input table that write corrupt
// envelopes into a queue's Redis list behind kelp's back, as a broken or
// hostile peer could. The documented rule (transports/redis): an element
// that is not a JSON envelope (not JSON, or JSON without a properties
// object), or an envelope whose body is not the base64 it says, is moved
// to the list _kelp.unreadable when a consumer reaches it. The message is
// kept, and the messages behind it are delivered.
func redisRows() []badRow {
	good := func(body string) string {
		return `{"body": "` + body + `", "content-encoding": "utf-8", "content-type": "application/json", ` +
			`"headers": {}, "properties": {"body_encoding": "base64", "delivery_info": {"exchange": "", "routing_key": "q"}, ` +
			`"delivery_tag": "00000000-0000-4000-8000-000000000000", "priority": 0, "delivery_mode": 2}}`
	}
	rows := []struct{ name, raw, aside string }{
		{"not JSON", `{"body": "trunc`, redis.UnreadableKey},
		{"JSON, not an object", `[1, 2, 3]`, redis.UnreadableKey},
		{"JSON without properties", `{"body": "` + base64.StdEncoding.EncodeToString([]byte(`"x"`)) + `"}`, redis.UnreadableKey},
		{"properties not an object", `{"body": "", "properties": "nope"}`, redis.UnreadableKey},
		{"binary garbage", "\x00\xff\xfe\x80garbage", redis.UnreadableKey},
		{"body not base64", good("!!not*base64!!"), redis.UnreadableKey},
		{"body base64 of invalid JSON", good(base64.StdEncoding.EncodeToString([]byte(`{"unterminated`))), ""},
	}
	var out []badRow
	for _, r := range rows {
		out = append(out, badRow{name: "Redis envelope: " + r.name, only: "redis", run: func(t *testing.T, env *badEnv) error {
			return env.injected(t, r.raw, r.aside)
		}})
	}
	return out
}

// injected pushes raw onto env.q's Redis list (between the row's "before"
// and a "middle" message), checks that a consumer gets both good messages
// in order and that raw ends up in the list or hash aside ("" means that
// it reaches the consumer, which cannot decode it and acks it), and
// returns what happened, as an error for the table.
func (env *badEnv) injected(t *testing.T, raw, aside string) error {
	t.Helper()
	rr := env.b.(integration.RawRedis)
	rc, prefix := rr.Client(), rr.Prefix()
	if err := rc.LPush(env.ctx, prefix+env.q.Name, raw).Err(); err != nil {
		t.Fatal(err)
	}
	// One delivery at a time, so that the consumer reaches the bad element
	// only once "before" is acked: what happens to it cannot disturb the
	// messages around it (when a bad element cost a reconnect, a claim made
	// ahead made the ack of "before" stale and "before" came again).
	one := conn.WithPrefetch(1)
	if aside == "" {
		env.publish(t, "middle")
		got := env.consume(t, 3, one)
		if len(got) != 3 || got[0] != "before" || got[2] != "middle" {
			t.Fatalf("delivered %q, want [before <undecodable> middle]", got)
		}
		env.publish(t, "before")
		return fmt.Errorf("delivered; Decode failed: %s", got[1])
	}
	mark := env.logs.Len()
	env.publish(t, "middle")
	got := env.consume(t, 2, one)
	if fmt.Sprint(got) != "[before middle]" {
		t.Errorf("delivered %q, want [before middle]: the bad element was let through or blocked the queue", got)
	}
	var found bool
	switch aside {
	case redis.UnreadableKey:
		kept, err := rc.LRange(env.ctx, prefix+aside, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		found = slices.Contains(kept, raw)
		if found {
			_ = rc.LRem(env.ctx, prefix+aside, 0, raw).Err()
		}
	case redis.UnackedKey:
		kept, err := rc.HGetAll(env.ctx, prefix+aside).Result()
		if err != nil {
			t.Fatal(err)
		}
		for tag, v := range kept {
			if len(v) > len(raw) && v[1:1+len(raw)] == raw { // [envelope, exchange, routing_key]
				found = true
				_ = rc.HDel(env.ctx, prefix+aside, tag).Err()
				_ = rc.ZRem(env.ctx, prefix+redis.UnackedIndexKey, tag).Err()
				_ = rc.HDel(env.ctx, prefix+redis.ClaimQueueKey, tag).Err()
			}
		}
	}
	if !found {
		t.Errorf("the bad element is not in %s: lost", aside)
	}
	env.publish(t, "before") // the table expects the row's first message
	return fmt.Errorf("set aside in %s; logged: %s", aside, env.logs.Since(mark))
}
