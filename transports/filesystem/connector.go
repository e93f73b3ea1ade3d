package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// Schemes are the URL schemes this package registers.
var Schemes = []string{"file", "filesystem"}

func init() {
	for _, s := range Schemes {
		transports.Register(s, driver{})
	}
}

// driver opens connectors for file:// URLs.
type driver struct{}

// OpenConnector parses rawURL with [ParseURL].
func (driver) OpenConnector(rawURL string) (transports.Connector, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// Connector opens connections to a store directory and implements
// [transports.Connector]. The Conns of one Connector share one topology
// (exchanges, queue definitions, exclusive queues: what Kombu keeps per
// process), one lease (the owner name its claims carry) and one
// maintenance goroutine that renews the lease and restores the claims of
// dead processes. The lease file and the goroutine exist while at least
// one Conn is live.
//
// A Connector is safe for concurrent use.
type Connector struct {
	cfg    Config
	st     *store
	broker *virtual.Broker

	life  virtual.Lifecycle
	maint *maintainer // while a Conn is live
}

var _ transports.Connector = (*Connector)(nil)

// NewConnector returns a Connector for cfg after validating it. It does
// no I/O.
func NewConnector(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Connector{cfg: cfg, st: newStore(cfg, randomHex(8))}
	c.broker = virtual.NewBroker(c.st, virtual.Config{Logger: cfg.Logger})
	c.life = virtual.Lifecycle{Name: "filesystem", Broker: c.broker, Start: c.start, Stop: c.stop}
	return c, nil
}

// Config returns the Connector's settings, with defaults filled in.
func (c *Connector) Config() Config { return c.cfg }

// Address returns the store's URL.
func (c *Connector) Address() string {
	return (&url.URL{Scheme: "file", Path: c.cfg.Dir}).String()
}

// Connect opens a connection: it creates the store's directories when
// missing, writes the lease, and returns a [transports.Conn] over the
// shared topology. A directory this process may not write gives an
// [*transports.Error] with code 403; other I/O failures an error wrapping
// [transports.ErrConnLost].
func (c *Connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	return c.life.Connect(ctx, opts)
}

// start prepares the store for the first live Conn.
func (c *Connector) start(context.Context) error {
	err := c.st.mkdirs()
	if err == nil {
		err = c.st.renewLease()
	}
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return &transports.Error{Code: 403, Reason: "ACCESS_REFUSED - " + err.Error(), Err: err}
		}
		return fmt.Errorf("filesystem: connect: %w: %w", transports.ErrConnLost, err)
	}
	c.maint = startMaintainer(c.st)
	c.st.watcher.Store(startWatcher(c.st))
	return nil
}

// stop, after the last Conn ended, stops the maintenance and removes the
// lease (its claims were all requeued as its Conns died).
func (c *Connector) stop() {
	c.maint.stop()
	c.maint = nil
	if w := c.st.watcher.Swap(nil); w != nil {
		w.stop()
	}
	c.st.dropLease()
}

// DropConnections kills every live Conn of the Connector as a crash of
// the connection would (Err wraps [transports.ErrConnLost]): their
// unsettled deliveries go back to their queues. It returns how many there
// were. New Connects succeed. It is meant for tests of reconnection.
func (c *Connector) DropConnections() int {
	return c.broker.DropConnections("", errors.New("filesystem: connection dropped"))
}

// RestoreStale returns now, to their queues and marked redelivered, the
// claimed messages of every process whose lease expired (it died without
// settling them). A live Connector does this by itself every
// LeaseTimeout/2; RestoreStale is for tools and tests. It returns how many
// it restored.
func (c *Connector) RestoreStale(ctx context.Context) (int, error) {
	return c.st.restoreStale(ctx)
}
