package brokertest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/transports/redis"
)

// openRedis returns the Redis at $KELP_REDIS_URL, on the package's
// database, behind a key prefix of the test's own whose keys are deleted
// when the test ends.
func openRedis(t testing.TB, cfg Config) *Target {
	t.Helper()
	raw := cmp.Or(os.Getenv(EnvRedisURL), DefaultRedisURL)
	base, err := redisURL(raw, cfg.RedisDB, "")
	if err != nil {
		t.Fatalf("brokertest: %s: %v", EnvRedisURL, err)
	}
	reachable(t, base, EnvRedisURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "kelptest:" + cfg.Label + ":" + hex.EncodeToString(b[:]) + ":"
	u, err := redisURL(raw, cfg.RedisDB, prefix)
	if err != nil {
		t.Fatalf("brokertest: %s: %v", EnvRedisURL, err)
	}
	rc, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deleteKeys(ctx, rc); err != nil {
			t.Errorf("brokertest: deleting the test's Redis keys: %v", err)
		}
	})
	return &Target{name: "redis", url: u, ctr: connector(t, u), cleanUp: true}
}

// redisURL returns raw on database max(its own, db), with the global key
// prefix set when prefix is not "".
func redisURL(raw string, db int, prefix string) (string, error) {
	cfg, err := redis.ParseURL(raw)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	dbs := strconv.Itoa(max(cfg.DB, db))
	if strings.EqualFold(u.Scheme, "redis+socket") {
		q.Set("virtual_host", dbs)
	} else {
		u.Path = "/" + dbs
	}
	if prefix != "" {
		q.Set("global_keyprefix", prefix)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// deleteKeys deletes every key behind cfg's global key prefix.
func deleteKeys(ctx context.Context, cfg redis.Config) error {
	if cfg.GlobalKeyPrefix == "" {
		return fmt.Errorf("no key prefix: refusing to delete a whole database")
	}
	c := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
	defer c.Close()
	var keys []string
	iter := c.Scan(ctx, 0, cfg.GlobalKeyPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		return err
	}
	return c.Del(ctx, keys...).Err()
}
