package pidbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// broker is what these tests need of a test broker.
type broker interface {
	Connector() transports.Connector
	Queue(t testing.TB, label string) route.Queue
}

// run runs fn on memory and RabbitMQ (integration.Run), then on Redis.
func run(t *testing.T, fn func(t *testing.T, b broker)) {
	integration.Run(t, func(t *testing.T, b integration.Broker) { fn(t, b) })
	t.Run("redis", func(t *testing.T) { fn(t, openRedis(t)) })
}

// redisDB is the database these tests use on the shared server.
const redisDB = 9

// redisBroker is a Redis database seen through a key prefix of its own,
// whose keys are deleted when the test ends.
type redisBroker struct{ ctr *redis.Connector }

// openRedis returns the Redis at $KELP_REDIS_URL (default
// redis://127.0.0.1:6379, database 9), skipping t with one line when it
// cannot be reached (failing it under KELP_CI=1).
func openRedis(t *testing.T) broker {
	u := os.Getenv("KELP_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379"
	}
	cfg, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("KELP_REDIS_URL: %v", err)
	}
	if cfg.DB < redisDB {
		cfg.DB = redisDB
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.GlobalKeyPrefix = "kelptest:" + hex.EncodeToString(b[:]) + ":"
	raw := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := raw.Ping(ctx).Err(); err != nil {
		_ = raw.Close()
		msg := fmt.Sprintf("redis: not reachable at %s (%v); start it or set KELP_REDIS_URL", cfg.Addr, err)
		if os.Getenv(integration.EnvCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		defer raw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, err := raw.Keys(ctx, cfg.GlobalKeyPrefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = raw.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("cleaning redis keys: %v", err)
		}
	})
	ctr, err := redis.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return redisBroker{ctr}
}

func (r redisBroker) Connector() transports.Connector { return r.ctr }

func (r redisBroker) Queue(t testing.TB, label string) route.Queue {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return route.NewQueue("kelp.it." + label + "." + hex.EncodeToString(b[:]))
}
