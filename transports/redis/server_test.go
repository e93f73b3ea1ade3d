package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// The integration-test convention shared by every transport: the server is
// found at its default local address unless an environment variable says
// otherwise; when it cannot be reached the tests skip with one clear line,
// except under KELP_CI=1 (set by .ci/run), where they fail.
const (
	envURL      = "KELP_REDIS_URL"
	envCI       = "KELP_CI"
	defaultURL  = "redis://127.0.0.1:6379"
	probeWindow = 3 * time.Second
	// testDB is the database the tests use: the server is shared, so
	// never 0, and every test keeps its keys behind its own prefix.
	testDB = 11
)

var probe struct {
	once sync.Once
	cfg  redis.Config
	err  error
}

// serverConfig returns the Config of the test server (database testDB,
// no prefix), skipping (or, under KELP_CI=1, failing) the test when it
// cannot be reached.
func serverConfig(t testing.TB) redis.Config {
	t.Helper()
	probe.once.Do(func() {
		u := os.Getenv(envURL)
		if u == "" {
			u = defaultURL
		}
		cfg, err := redis.ParseURL(u)
		if err != nil {
			probe.err = err
			return
		}
		cfg.DB = testDB
		probe.cfg = cfg
		ctx, cancel := context.WithTimeout(context.Background(), probeWindow)
		defer cancel()
		c := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr,
			Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
		defer c.Close()
		probe.err = c.Ping(ctx).Err()
	})
	if probe.err != nil {
		msg := fmt.Sprintf("Redis not reachable (%v); start it or set %s", probe.err, envURL)
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return probe.cfg
}

// testConfig returns the test server's Config with a fresh global key
// prefix, and deletes every key behind that prefix when the test ends.
func testConfig(t testing.TB) redis.Config {
	t.Helper()
	cfg := serverConfig(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.GlobalKeyPrefix = "kelptest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { cleanKeys(t, cfg) })
	return cfg
}

// rawClient returns a go-redis client for cfg's server and database,
// closed when the test ends.
func rawClient(t testing.TB, cfg redis.Config) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// cleanKeys deletes every key behind cfg's prefix.
func cleanKeys(t testing.TB, cfg redis.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: cfg.TLS, DisableIdentity: true})
	defer c.Close()
	iter := c.Scan(ctx, 0, cfg.GlobalKeyPrefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleaning keys: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := c.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("cleaning keys: %v", err)
		}
	}
}

// newConnector returns a Connector for cfg.
func newConnector(t testing.TB, cfg redis.Config) *redis.Connector {
	t.Helper()
	c, err := redis.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dial connects through c and closes the Conn when the test ends.
func dial(t testing.TB, c transports.Connector) transports.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, transports.ConnectOptions{Name: "kelp-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
