package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

// DefaultRedisURL is the Redis the tests use unless KELP_REDIS_URL says
// otherwise.
const DefaultRedisURL = "redis://127.0.0.1:6379"

// EnvRedisURL overrides the URL of the Redis the tests use,
// [DefaultRedisURL] by default.
const EnvRedisURL = "KELP_REDIS_URL"

// RedisDB is the lowest database the integration tests use: the server is
// shared, so never one of the low numbers applications use. A URL naming
// a database of 9 or more keeps it.
const RedisDB = 9

// LinkSocketTimeout bounds every read and write of Redis connections made
// through a [Link], so that a black hole is noticed within it.
const LinkSocketTimeout = 2 * time.Second

// LinkHealthCheck is the health-check interval of Redis connections made
// through a [Link]: with [LinkSocketTimeout], an idle connection notices a
// dead server within about 3 s.
const LinkHealthCheck = time.Second

// redisProbe remembers, for the whole test binary, whether Redis answered.
var redisProbe struct {
	once sync.Once
	url  string
	cfg  redis.Config
	err  error
}

// RedisConfig returns the Config of the test Redis (database [RedisDB] or
// above, no key prefix), skipping t with one line when it cannot be
// reached (failing it under KELP_CI=1).
func RedisConfig(t testing.TB) redis.Config {
	t.Helper()
	probeRedis()
	if redisProbe.err != nil {
		unavailable(t, fmt.Sprintf("redis: Redis not reachable at %s (%v); start it or set %s",
			transports.RedactURL(redisProbe.url), redisProbe.err, EnvRedisURL))
	}
	return redisProbe.cfg
}

func probeRedis() {
	redisProbe.once.Do(func() {
		p := &redisProbe
		p.url = os.Getenv(EnvRedisURL)
		if p.url == "" {
			p.url = DefaultRedisURL
		}
		if p.cfg, p.err = redis.ParseURL(p.url); p.err != nil {
			return
		}
		p.cfg.DB = max(p.cfg.DB, RedisDB)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c := redisClient(p.cfg)
		defer c.Close()
		p.err = c.Ping(ctx).Err()
	})
}

// redisClient returns a plain go-redis client for cfg's server and
// database, for the harness's own commands.
func redisClient(cfg redis.Config) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Network: cfg.Network, Addr: cfg.Addr, DB: cfg.DB, Username: cfg.Username, Password: cfg.Password,
		TLSConfig: cfg.TLS, ClientName: "kelp-integration-admin", DisableIdentity: true, MaxRetries: -1,
	})
}

// RawRedis is implemented by the Broker of the Redis target: tests that
// write to Redis behind kelp's back (corrupt envelopes) use it.
type RawRedis interface {
	// Client returns a plain go-redis client on the test's database,
	// closed when the test ends.
	Client() *goredis.Client
	// Prefix returns the global key prefix of the test's keys: keys
	// behind it are deleted when the test ends.
	Prefix() string
	// Server returns the private server of a Broker of
	// [OpenRedisServer], nil on the shared one.
	Server() RedisServer
}

// redisBroker is the Redis target. Each test gets its own global key
// prefix, whose keys are deleted when it ends, and its own Connector (a
// Redis Connector keeps queue options per process, as Kombu does).
type redisBroker struct {
	cfg   redis.Config
	ctr   *redis.Connector
	admin *goredis.Client
	srv   RedisServer // nil on the shared server
	// stopped: srv was stopped by Stop and not started again.
	stopped bool
}

// RedisServer is a private redis-server that a test owns and may stop
// (internal/redisproc.Server is one).
type RedisServer interface {
	// URL returns the server's redis:// URL.
	URL() string
	// Stop stops the server (SIGTERM), Kill as a crash would (SIGKILL);
	// Start starts it again on the same port, returning once it answers.
	// Data survives when the server persists.
	Stop()
	Kill()
	Start()
}

// OpenRedisServer returns a Broker on srv, a private redis-server of the
// test: as the Redis target, and [Broker.Stop] and [Broker.Start] stop
// and start srv (a node restart, not disruptive since nothing else uses
// srv). Messages survive the restart only if srv persists them.
func OpenRedisServer(t testing.TB, srv RedisServer) Broker {
	t.Helper()
	cfg, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	r := openRedisConfig(t, cfg)
	r.srv = srv
	return r
}

func openRedis(t testing.TB) Broker {
	t.Helper()
	return openRedisConfig(t, RedisConfig(t))
}

func openRedisConfig(t testing.TB, cfg redis.Config) *redisBroker {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	cfg.GlobalKeyPrefix = "kelp.it:" + hex.EncodeToString(b[:]) + ":"
	ctr, err := redis.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &redisBroker{cfg: cfg, ctr: ctr, admin: redisClient(cfg)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.deleteKeys(ctx); err != nil {
			t.Errorf("deleting the test's Redis keys: %v", err)
		}
		_ = r.admin.Close()
	})
	return r
}

func (r *redisBroker) Transport() string               { return "redis" }
func (r *redisBroker) Connector() transports.Connector { return r.ctr }

var _ RawRedis = (*redisBroker)(nil)

func (r *redisBroker) Client() *goredis.Client { return r.admin }

func (r *redisBroker) Prefix() string { return r.cfg.GlobalKeyPrefix }

func (r *redisBroker) Server() RedisServer { return r.srv }

// Claims counts the claims in the unacked hash of the test's key prefix:
// messages taken by a consumer and not settled yet, or whose reply a
// fault lost (the driver restores those to their queue on its next
// maintenance tick).
func (r *redisBroker) Claims(ctx context.Context) (int, error) {
	n, err := r.admin.HLen(ctx, r.cfg.GlobalKeyPrefix+redis.UnackedKey).Result()
	if err != nil {
		return 0, fmt.Errorf("integration: redis: counting claims: %w", err)
	}
	return int(n), nil
}

// deleteKeys deletes every key behind the test's prefix.
func (r *redisBroker) deleteKeys(ctx context.Context) error {
	iter := r.admin.Scan(ctx, 0, r.cfg.GlobalKeyPrefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		return err
	}
	return r.admin.Del(ctx, keys...).Err()
}

// Queue returns a queue named for the test; its lists go with the
// test's prefix.
func (r *redisBroker) Queue(_ testing.TB, label string) route.Queue {
	return route.NewQueue(Unique(label))
}

// Ready counts the elements of every priority list of queue.
func (r *redisBroker) Ready(ctx context.Context, queue string) (int, error) {
	steps := r.ctr.Config().PrioritySteps
	pipe := r.admin.Pipeline()
	lens := make([]*goredis.IntCmd, len(steps))
	for i, s := range steps {
		key := r.cfg.GlobalKeyPrefix + queue
		if s != 0 {
			key += redis.Sep + fmt.Sprint(s)
		}
		lens[i] = pipe.LLen(ctx, key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("integration: redis: counting %s: %w", queue, err)
	}
	n := 0
	for _, l := range lens {
		n += int(l.Val())
	}
	return n, nil
}

// CloseConnections kills, with CLIENT KILL ID, every Redis connection
// whose client name is name. A kelp connection to Redis is a pool of Redis
// connections that share its name; CloseConnections returns how many kelp
// connections it hit (1 when any of the pool was killed), as the other
// targets count.
func (r *redisBroker) CloseConnections(t testing.TB, name string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := r.admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatalf("redis: CLIENT LIST: %v", err)
	}
	killed := 0
	for line := range strings.Lines(list) {
		var id, got string
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "id":
				id = v
			case "name":
				got = v
			}
		}
		if got == name && id != "" {
			if err := r.admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
				killed++
			}
		}
	}
	return min(killed, 1)
}

// Stop stops a private server ([OpenRedisServer]). The shared server is
// not restarted: a restart of a redis-server without persistence (as on
// CI) loses every message, so the test is skipped.
func (r *redisBroker) Stop(t testing.TB) {
	t.Helper()
	if r.srv == nil {
		Disruptive(t)
		t.Skip("redis: the shared server is not restarted (without persistence it loses every message); see OpenRedisServer")
	}
	if !r.stopped {
		r.stopped = true
		r.srv.Stop()
		t.Cleanup(func() { r.Start(t) }) // before the keys are deleted
	}
}

// Start starts a private server again after Stop; it does nothing
// otherwise.
func (r *redisBroker) Start(testing.TB) {
	if r.stopped {
		r.stopped = false
		r.srv.Start()
	}
}

// Alarm skips t: Redis has no resource alarm that blocks publishers (its
// maxmemory refuses writes with an error instead).
func (r *redisBroker) Alarm(t testing.TB) func() {
	t.Helper()
	t.Skip("redis: no resource alarm that blocks publishers")
	return func() {}
}

// Link returns a [Proxy] to Redis whose connector has socket timeouts of
// [LinkSocketTimeout] and a health check every [LinkHealthCheck], so that
// a black hole or a dead server kills even an idle connection.
func (r *redisBroker) Link(t testing.TB) Link {
	t.Helper()
	if r.cfg.Network == "unix" {
		unavailable(t, "redis: a unix socket has no network path for the proxy")
	}
	p, err := NewProxy(r.cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cfg := r.cfg // rediss:// keeps the server name of the URL's host
	cfg.Addr = p.Addr()
	cfg.SocketTimeout = LinkSocketTimeout
	cfg.SocketConnectTimeout = 3 * time.Second
	// An idle connection notices a dead server by the health check, as
	// AMQP's do by heartbeats.
	cfg.HealthCheckInterval = LinkHealthCheck
	ctr, err := redis.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return proxyLink{Proxy: p, ctr: ctr}
}
