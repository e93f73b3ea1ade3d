package brokertest

import (
	"cmp"
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	_ "github.com/kelpmq/kelp/transports/amqp" // registers amqp://
	"github.com/kelpmq/kelp/transports/memory"
	_ "github.com/kelpmq/kelp/transports/redis" // registers redis://
)

// Environment variables that point the tests at brokers.
const (
	// EnvAMQPURL overrides [DefaultAMQPURL].
	EnvAMQPURL = "KELP_AMQP_URL"
	// EnvRedisURL overrides [DefaultRedisURL].
	EnvRedisURL = "KELP_REDIS_URL"
	// EnvCI, set to "1", turns "broker unreachable" skips into failures.
	EnvCI = "KELP_CI"
)

// Default broker URLs: the local RabbitMQ and Redis of DEVELOPERS.md.
const (
	DefaultAMQPURL  = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultRedisURL = "redis://127.0.0.1:6379"
)

// DefaultRedisDB is the Redis database used when [Config.RedisDB] is 0:
// never one of the low numbers applications use.
const DefaultRedisDB = 9

// Ctx returns a context that ends with t, and after 30 seconds at the
// latest, so that a hang fails the test instead of stalling the binary.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Config is a package's choice of brokers. Its zero value works.
type Config struct {
	// Label names what the package's tests create: memory brokers are
	// "memory://<Label>-<random>", Redis keys sit behind
	// "kelptest:<Label>:<random>:" and queues from [Target.Queue] are
	// "kelp.it.<label>.<random>". Default "kelptest".
	Label string

	// RedisDB is the Redis database the package's tests use; a URL in
	// $KELP_REDIS_URL naming a higher one keeps it. Packages pick
	// different databases so that their test binaries, which go test runs
	// in parallel, never share one. Default [DefaultRedisDB].
	RedisDB int
}

func (c Config) withDefaults() Config {
	c.Label = cmp.Or(c.Label, "kelptest")
	c.RedisDB = cmp.Or(c.RedisDB, DefaultRedisDB)
	return c
}

// Broker is one transport the tests run on. Its Name is the subtest name.
type Broker struct {
	// Name names the transport: "memory", "amqp" or "redis".
	Name string

	cfg  Config
	open func(t testing.TB, cfg Config) *Target
}

// Brokers returns memory, RabbitMQ and Redis, in that order, configured
// by cfg.
func Brokers(cfg Config) []Broker {
	cfg = cfg.withDefaults()
	return []Broker{
		{Name: "memory", cfg: cfg, open: openMemory},
		{Name: "amqp", cfg: cfg, open: openAMQP},
		{Name: "redis", cfg: cfg, open: openRedis},
	}
}

// Open returns t's Target on b, skipping t with one line when the broker
// cannot be reached (failing it under KELP_CI=1).
func (b Broker) Open(t testing.TB) *Target {
	t.Helper()
	return b.open(t, b.cfg)
}

// Open opens the broker called name (see [Brokers]) for t, as
// [Broker.Open] does. An unknown name fails t.
func Open(t testing.TB, name string, cfg Config) *Target {
	t.Helper()
	for _, b := range Brokers(cfg) {
		if b.Name == name {
			return b.Open(t)
		}
	}
	t.Fatalf("brokertest: no broker %q", name)
	return nil
}

// Run runs fn as a subtest on each of [Brokers], one at a time, each
// failing if goroutines started during it outlive it.
func Run(t *testing.T, cfg Config, fn func(t *testing.T, tg *Target)) {
	t.Helper()
	for _, b := range Brokers(cfg) {
		t.Run(b.Name, func(t *testing.T) {
			noLeaks(t)
			fn(t, b.Open(t))
		})
	}
}

// noLeaks fails t if goroutines started during it outlive it. It must be
// called first, so that its check runs after every other cleanup.
func noLeaks(t testing.TB) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// Unavailable skips t with msg because something the test needs is
// missing, or fails it when KELP_CI=1 says everything must be there.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvCI) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Target is one test's broker. It belongs to the test that opened it.
type Target struct {
	name    string
	url     string
	ctr     transports.Connector
	cleanUp bool // queues vanish with the broker or its key prefix
}

// Name names the transport: "memory", "amqp" or "redis".
func (x *Target) Name() string { return x.name }

// URL returns a URL that reaches the test's broker with [conn.Dial]; it
// may hold a password, so print it through [transports.RedactURL].
func (x *Target) URL() string { return x.url }

// Connector returns a Connector that reaches the test's broker.
func (x *Target) Connector() transports.Connector { return x.ctr }

// Dial opens a connection to [Target.URL] with [conn.Dial] and closes it
// when the test ends; it fails t when the broker refuses.
func (x *Target) Dial(t testing.TB) *conn.Connection {
	t.Helper()
	c, err := conn.Dial(Ctx(t), x.url)
	if err != nil {
		t.Fatalf("brokertest: open %s: %v", x.name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// Queue returns a durable queue, "kelp.it.<label>.<random>", that no other
// test uses. It is not declared; if the test declares it, it is gone when
// the test ends.
func (x *Target) Queue(t testing.TB, label string) route.Queue {
	q := route.NewQueue(Unique("kelp.it." + label))
	if x.cleanUp {
		return q
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deleteQueue(ctx, x.ctr, q.Name); err != nil {
			t.Errorf("brokertest: deleting queue %s: %v", q.Name, err)
		}
	})
	return q
}

// Unique returns prefix + "." + ten random lower-case letters and digits,
// a name no earlier run left on a shared broker.
func Unique(prefix string) string { return prefix + "." + strings.ToLower(rand.Text()[:10]) }

// deleteQueue deletes a queue through a connection of its own.
func deleteQueue(ctx context.Context, ctr transports.Connector, name string) error {
	c, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp brokertest cleanup"})
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	ch, err := c.Channel(ctx)
	if err != nil {
		return err
	}
	_, err = ch.QueueDelete(ctx, name, transports.QueueDeleteOptions{})
	return err
}

// openMemory returns a memory broker of the test's own, reachable by URL
// too, closed when the test ends.
func openMemory(t testing.TB, cfg Config) *Target {
	name := cfg.Label + "-" + rand.Text()
	b := memory.Shared(name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return &Target{name: "memory", url: memory.Scheme + "://" + name, ctr: b.Connector(), cleanUp: true}
}

// openAMQP returns the RabbitMQ at $KELP_AMQP_URL.
func openAMQP(t testing.TB, _ Config) *Target {
	t.Helper()
	url := cmp.Or(os.Getenv(EnvAMQPURL), DefaultAMQPURL)
	reachable(t, url, EnvAMQPURL)
	return &Target{name: "amqp", url: url, ctr: connector(t, url)}
}

// connector opens the Connector of url, failing t when it is malformed.
func connector(t testing.TB, url string) transports.Connector {
	t.Helper()
	ctr, err := transports.OpenConnector(url)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	return ctr
}
