package sql

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// Schemes are the URL schemes this package registers.
var Schemes = []string{
	"sqla+postgresql", "sqla+postgres", "postgresql", "postgres",
	"sqla+mysql", "mysql",
	"sqla+sqlite", "sqlite",
}

func init() {
	for _, s := range Schemes {
		transports.Register(s, driver{})
	}
}

// driver opens connectors for SQL URLs.
type driver struct{}

// OpenConnector parses rawURL with [ParseURL].
func (driver) OpenConnector(rawURL string) (transports.Connector, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// Connector opens connections to one database and implements
// [transports.Connector]. The Conns of one Connector share one topology
// (exchanges, queue definitions, exclusive queues: what Kombu keeps per
// process), one database/sql pool, one lease-extension goroutine and, on
// PostgreSQL, one LISTEN connection; all of them exist while at least one
// Conn is live.
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
	log := slog.New(slog.DiscardHandler)
	c := &Connector{cfg: cfg}
	c.st = newStore(cfg, log)
	c.broker = virtual.NewBroker(c.st, virtual.Config{Logger: log})
	c.life = virtual.Lifecycle{Name: "sql", Broker: c.broker, Start: c.start, Stop: c.stop}
	return c, nil
}

// Config returns the Connector's settings, with defaults filled in.
func (c *Connector) Config() Config { return c.cfg }

// Address returns the database's address, without a password.
func (c *Connector) Address() string {
	switch c.cfg.Dialect {
	case Postgres:
		if u, err := url.Parse(c.cfg.DSN); err == nil && u.Scheme != "" {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "***")
			}
			u.RawQuery = ""
			return u.String()
		}
		return "postgres://"
	case MySQL:
		if mc, err := mysql.ParseDSN(c.cfg.DSN); err == nil {
			return "mysql://" + mc.User + "@" + mc.Addr + "/" + mc.DBName
		}
		return "mysql://"
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(c.cfg.DSN, "file:"), "?")
	return "sqlite:///" + path
}

// Connect opens a connection: the first live Conn opens the pool, checks
// that the database answers, creates or migrates the schema and starts the
// Connector's goroutines. An unreachable database gives an error wrapping
// [transports.ErrConnLost]; refused credentials or missing privileges an
// [*transports.Error] with code 403.
func (c *Connector) Connect(ctx context.Context, opts transports.ConnectOptions) (transports.Conn, error) {
	return c.life.Connect(ctx, opts)
}

// start opens the pool for the first live Conn.
func (c *Connector) start(ctx context.Context) error {
	db, err := stdsql.Open(driverName(c.cfg.Dialect), c.cfg.DSN)
	if err != nil {
		return fmt.Errorf("sql: open: %w", err)
	}
	if c.cfg.Dialect == SQLite {
		// One writer at a time is all SQLite allows; one connection also
		// keeps a :memory: database alive.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(c.cfg.MaxConnections)
		db.SetMaxIdleConns(c.cfg.MaxConnections)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return connectError(ctx, "connect", err)
	}
	if err := migrate(ctx, db, c.st.q, c.cfg.TablePrefix); err != nil {
		_ = db.Close()
		return connectError(ctx, "create schema", err)
	}
	if err := checkAccess(ctx, db, c.st.q); err != nil {
		_ = db.Close()
		return connectError(ctx, "check privileges", err)
	}
	c.st.db.Store(db)
	c.maint = startMaintainer(c.st)
	return nil
}

// stop closes the pool after the last Conn ended.
func (c *Connector) stop() {
	c.maint.stop()
	c.maint = nil
	if db := c.st.db.Swap(nil); db != nil {
		_ = db.Close()
	}
}

// connectError classifies a failure to open the database.
func connectError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sql: %s: %w", op, ctx.Err())
	}
	if refused(err) {
		return &transports.Error{Code: 403, Reason: "ACCESS_REFUSED - " + err.Error(), Err: err}
	}
	return fmt.Errorf("sql: %s: %w: %w", op, transports.ErrConnLost, err)
}

// refused reports whether err is the database refusing credentials or
// privileges (PostgreSQL classes 28 and 42501; MySQL 1044, 1045, 1142).
func refused(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return strings.HasPrefix(pe.Code, "28") || pe.Code == "42501"
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return me.Number == 1044 || me.Number == 1045 || me.Number == 1142
	}
	return false
}

// DropConnections kills every live Conn of the Connector as a network
// failure would (Err wraps [transports.ErrConnLost]): their unsettled
// deliveries go back to their queues. It returns how many there were.
// New Connects succeed. It is meant for tests of reconnection.
func (c *Connector) DropConnections() int {
	return c.broker.DropConnections("", errors.New("sql: connection dropped"))
}
