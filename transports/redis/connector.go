package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// Schemes are the URL schemes this package registers.
var Schemes = []string{"redis", "rediss", "redis+socket", "sentinel", "redis+sentinel", "redis+cluster", "rediss+cluster"}

func init() {
	for _, s := range Schemes {
		transports.Register(s, driver{})
	}
}

// driver opens connectors for Redis URLs.
type driver struct{}

// OpenConnector parses rawURL with [ParseURL].
func (driver) OpenConnector(rawURL string) (transports.Connector, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// Connector dials Redis and implements [transports.Connector]. The Conns
// of one Connector share one topology (exchanges, queue definitions,
// exclusive queues: what Kombu keeps per process), one go-redis client
// (pool of MaxConnections) and one maintenance goroutine that keeps the
// claims of live consumers fresh and restores those of dead processes.
// The client and the goroutine exist while at least one Conn is live.
//
// A Connector is safe for concurrent use.
type Connector struct {
	cfg    Config
	st     *store
	broker *virtual.Broker
	logger *slog.Logger
	// logs is logger's handler: Connect points it at the Logger of
	// transports.ConnectOptions.
	logs logSwitch

	mu    sync.Mutex
	live  int
	maint *maintainer
	beat  *heartbeat
}

var _ transports.Connector = (*Connector)(nil)

// NewConnector returns a Connector for cfg after validating it. It does
// no I/O.
func NewConnector(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Connector{cfg: cfg, logs: newLogSwitch()}
	c.logger = slog.New(c.logs)
	c.st = newStore(cfg, c.logger)
	c.broker = virtual.NewBroker(c.st, virtual.Config{Logger: c.logger})
	return c, nil
}

// Config returns the Connector's settings, with defaults filled in.
func (c *Connector) Config() Config { return c.cfg }

// Address returns the Redis URL, without the password.
func (c *Connector) Address() string {
	if a, ok := c.haAddress(); ok {
		return a
	}
	u := url.URL{Scheme: "redis", Host: c.cfg.Addr, Path: "/" + strconv.Itoa(c.cfg.DB)}
	switch {
	case c.cfg.Network == "unix":
		u = url.URL{Scheme: "redis+socket", Path: c.cfg.Addr, RawQuery: "virtual_host=" + strconv.Itoa(c.cfg.DB)}
	case c.cfg.TLS != nil:
		u.Scheme = "rediss"
	}
	if c.cfg.Password != "" {
		u.User = url.UserPassword(c.cfg.Username, "***")
	} else if c.cfg.Username != "" {
		u.User = url.User(c.cfg.Username)
	}
	return u.String()
}

// Connect opens a connection: it makes sure the shared client reaches
// Redis (PING; on a Cluster, a read the node serving the key prefix's slot
// answers) and returns a [transports.Conn] over the shared topology.
// An unreachable server gives an error wrapping [transports.ErrConnLost];
// refused credentials an [*transports.Error] with code 403.
func (c *Connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis: connect: %w", err)
	}
	if err := c.acquire(ctx, opts); err != nil {
		return nil, err
	}
	// A reconnect follows a failure that may have lost replies: put their
	// claims back now rather than at the maintainer's next tick, so that
	// the reconnected consumers find them.
	c.restoreOrphans(ctx)
	vc, err := c.broker.Connect(ctx, opts)
	if err != nil {
		c.release()
		return nil, err
	}
	go func() {
		<-vc.Done()
		c.release()
	}()
	return vc, nil
}

// acquire counts a live Conn, dialling the client for the first. The
// Connector logs to the Logger of the latest Connect that gave one.
func (c *Connector) acquire(ctx context.Context, opts transports.ConnectOptions) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if opts.Logger != nil {
		c.logs.set(opts.Logger.Handler())
	}
	if c.live > 0 {
		c.live++
		return nil
	}
	name := opts.Name
	if name == "" {
		name = c.cfg.ClientName
	}
	client := c.newClient(clientName(name))
	if err := probe(ctx, c.cfg, client); err != nil {
		_ = client.Close()
		return connectError(ctx, err)
	}
	c.st.client.Store(&liveClient{client})
	c.st.orphanStaleClaims()
	c.maint = startMaintainer(c.st)
	c.beat = startHeartbeat(c.cfg, client, c.logger, func(err error) { c.broker.DropConnections("", err) })
	c.live = 1
	return nil
}

// release uncounts a Conn that died; the last one closes the client.
func (c *Connector) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live--
	if c.live > 0 {
		return
	}
	c.beat.stop()
	c.beat = nil
	c.maint.stop()
	c.maint = nil
	// Claims whose reply was lost go back now, while there is a client,
	// and so do live claims: with no Conn left, nothing will settle them.
	c.st.orphanStaleClaims()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := c.st.restoreOrphans(ctx); err != nil {
		c.logger.Warn("redis: restoring claims whose reply was lost failed; the visibility timeout will", "err", err)
	}
	cancel()
	if client := c.st.client.Swap(nil); client != nil {
		_ = client.Close()
	}
}

// clientOptions are the go-redis options for cfg.
func (c *Connector) clientOptions(name string) *goredis.Options {
	cfg := c.cfg
	return &goredis.Options{
		Network:         cfg.Network,
		Addr:            cfg.Addr,
		Username:        cfg.Username,
		Password:        cfg.Password,
		DB:              cfg.DB,
		TLSConfig:       cfg.TLS,
		ClientName:      name,
		DialTimeout:     cfg.SocketConnectTimeout,
		ReadTimeout:     cfg.SocketTimeout,
		WriteTimeout:    cfg.SocketTimeout,
		PoolSize:        cfg.MaxConnections,
		MaxRetries:      -1, // conn decides about retries
		DisableIdentity: true,
	}
}

// connectError classifies a failed PING.
func connectError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("redis: connect: %w", ctx.Err())
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid password") || strings.HasPrefix(msg, "NOPERM") {
		return &transports.Error{Code: 403, Reason: "ACCESS_REFUSED - " + msg, Err: err}
	}
	return fmt.Errorf("redis: connect: %w: %w", transports.ErrConnLost, err)
}

// DropConnections kills every live Conn of the Connector as a network
// failure would (Err wraps [transports.ErrConnLost]): their unsettled
// deliveries go back to their queues. It returns how many there were.
// New Connects succeed. It is meant for tests of reconnection.
func (c *Connector) DropConnections() int {
	return c.broker.DropConnections("", errors.New("redis: connection dropped"))
}

// RestoreVisible restores now, to their queues and marked redelivered, the
// unacknowledged messages whose claim is older than the visibility timeout
// (their consumer died without settling them), whoever claimed them,
// Python peers included. The Connector does this by itself every
// RestoreInterval while it has a live Conn; RestoreVisible is for tools
// and tests. It needs a live Conn and returns how many it restored.
func (c *Connector) RestoreVisible(ctx context.Context) (int, error) {
	return c.st.restoreVisible(ctx)
}

// clientName makes name acceptable to CLIENT SETNAME, which refuses
// spaces and special characters.
func clientName(name string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '-'
		}
		return r
	}, name)
}
