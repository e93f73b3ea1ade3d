package sql

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Dialect names the database behind a [Config]. Every difference between
// the databases (placeholders, claims, upserts, DDL) lives in one place,
// keyed by it.
type Dialect string

// The dialects this package speaks.
const (
	// Postgres is PostgreSQL through pgx's database/sql driver; waiting
	// consumers wake up on LISTEN/NOTIFY.
	Postgres Dialect = "postgres"
	// MySQL is MariaDB (10.6 and later) or MySQL (8.0 and later) through
	// go-sql-driver/mysql.
	MySQL Dialect = "mysql"
	// SQLite is SQLite in pure Go (modernc.org/sqlite), in WAL mode.
	SQLite Dialect = "sqlite"
)

// Defaults of [Config].
const (
	DefaultTablePrefix       = "kelp_"
	DefaultVisibilityTimeout = 60 * time.Second
	DefaultPollInterval      = time.Second
	DefaultMaxConnections    = 10
)

// Errors of configuration.
var (
	// ErrInvalidURL is wrapped by [ParseURL] errors.
	ErrInvalidURL = errors.New("sql: invalid URL")
	// ErrInvalidConfig is wrapped by [Config.Validate] errors.
	ErrInvalidConfig = errors.New("sql: invalid config")
)

// Config is the configuration of a [Connector]. Only Dialect and DSN are
// required; every other zero value means the documented default.
type Config struct {
	// Dialect is the database kind.
	Dialect Dialect
	// DSN is the data source name given to the database/sql driver: a
	// PostgreSQL URL or keyword string for pgx, a go-sql-driver/mysql DSN
	// (user:pass@tcp(host:port)/db), or an SQLite file name or file: URI
	// for modernc.org/sqlite. [ParseURL] builds it from a kelp URL.
	DSN string
	// TablePrefix starts the name of every table the transport creates
	// (letters, digits and underscores). Default "kelp_". Processes that
	// share a prefix share queues and bindings.
	TablePrefix string
	// VisibilityTimeout is the lease of a claimed message: a live
	// consumer process extends it every third of it; when its process
	// dies the lease runs out and the message is ready again, marked
	// redelivered. Default 60 s.
	VisibilityTimeout time.Duration
	// PollInterval bounds how long a waiting consumer goes without looking
	// at its queue: it is the longest step of the backed-off polling of
	// MySQL and SQLite (which have no wake-up signal between processes)
	// and the safety poll under PostgreSQL's LISTEN/NOTIFY. It also bounds
	// how soon an expired lease is noticed by an idle consumer. Default
	// 1 s (Kombu's polling_interval).
	PollInterval time.Duration
	// MaxConnections is the size of the database/sql pool (SQLite always
	// uses one connection per Connector). Default 10.
	MaxConnections int
}

// Validate reports the problems of c, each wrapping [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	switch c.Dialect {
	case Postgres, MySQL, SQLite:
	default:
		errs = append(errs, fmt.Errorf("%w: unknown dialect %q", ErrInvalidConfig, c.Dialect))
	}
	if c.DSN == "" {
		errs = append(errs, fmt.Errorf("%w: empty DSN", ErrInvalidConfig))
	}
	if c.TablePrefix != "" && !prefixRE.MatchString(c.TablePrefix) {
		errs = append(errs, fmt.Errorf("%w: table prefix %q: want letters, digits and underscores, at most 40", ErrInvalidConfig, c.TablePrefix))
	}
	if c.VisibilityTimeout < 0 || (c.VisibilityTimeout > 0 && c.VisibilityTimeout < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("%w: visibility timeout %v below 100ms", ErrInvalidConfig, c.VisibilityTimeout))
	}
	if c.PollInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: negative poll interval", ErrInvalidConfig))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("%w: negative max connections", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}

var prefixRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)

// withDefaults fills in the defaults.
func (c Config) withDefaults() Config {
	if c.TablePrefix == "" {
		c.TablePrefix = DefaultTablePrefix
	}
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	return c
}

// ParseURL parses a kelp SQL URL into a Config. The schemes are Kombu's
// (SQLAlchemy's URL after "sqla+") and plain ones:
//
//	sqla+postgresql://user:pass@host:5432/db   postgres://…   postgresql://…
//	sqla+mysql://user:pass@host:3306/db        mysql://…
//	sqla+sqlite:///relative/file.db            sqlite:////absolute/file.db
//
// As in SQLAlchemy, an SQLite URL with three slashes names a path relative
// to the working directory and one with four an absolute path;
// sqlite:///:memory: is a database private to the Connector (it lasts
// while the Connector has a live Conn).
//
// The query options table_prefix, visibility_timeout (seconds),
// polling_interval (seconds) and max_connections set the Config fields of
// those names; every other option goes to the database driver as it is
// (sslmode for pgx, tls for MySQL, _pragma for SQLite, ...).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	scheme := strings.TrimPrefix(strings.ToLower(u.Scheme), "sqla+")
	var cfg Config
	q := u.Query()
	if err := takeOptions(&cfg, q); err != nil {
		return Config{}, err
	}
	u.RawQuery = q.Encode()
	switch scheme {
	case "postgres", "postgresql":
		cfg.Dialect = Postgres
		u.Scheme = "postgres"
		cfg.DSN = u.String()
	case "mysql", "mariadb":
		cfg.Dialect = MySQL
		cfg.DSN = mysqlDSN(u)
	case "sqlite", "sqlite3":
		cfg.Dialect = SQLite
		path := strings.TrimPrefix(u.Path, "/")
		if u.Host != "" || path == "" {
			return Config{}, fmt.Errorf("%w: %q: want sqlite:///relative/path or sqlite:////absolute/path", ErrInvalidURL, raw)
		}
		cfg.DSN = sqliteDSN(path, q)
	default:
		return Config{}, fmt.Errorf("%w: unknown scheme %q", ErrInvalidURL, u.Scheme)
	}
	return cfg, cfg.Validate()
}

// takeOptions moves kelp's own query options from q into cfg.
func takeOptions(cfg *Config, q url.Values) error {
	seconds := func(name string, dst *time.Duration) error {
		v := q.Get(name)
		q.Del(name)
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("%w: %s=%q: want a positive number of seconds", ErrInvalidURL, name, v)
		}
		*dst = time.Duration(f * float64(time.Second))
		return nil
	}
	if err := seconds("visibility_timeout", &cfg.VisibilityTimeout); err != nil {
		return err
	}
	if err := seconds("polling_interval", &cfg.PollInterval); err != nil {
		return err
	}
	cfg.TablePrefix = q.Get("table_prefix")
	q.Del("table_prefix")
	if v := q.Get("max_connections"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: max_connections=%q: want a positive integer", ErrInvalidURL, v)
		}
		cfg.MaxConnections = n
	}
	q.Del("max_connections")
	return nil
}

// mysqlDSN turns a mysql:// URL into go-sql-driver's DSN.
func mysqlDSN(u *url.URL) string {
	var b strings.Builder
	if u.User != nil {
		b.WriteString(u.User.Username())
		if p, ok := u.User.Password(); ok {
			b.WriteString(":" + p)
		}
		b.WriteString("@")
	}
	host := u.Host
	if host == "" {
		host = "127.0.0.1:3306"
	} else if u.Port() == "" {
		host += ":3306"
	}
	b.WriteString("tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/"))
	if u.RawQuery != "" {
		b.WriteString("?" + u.RawQuery)
	}
	return b.String()
}

// sqliteDSN is a file: URI for modernc.org/sqlite in WAL mode, with a busy
// timeout and BEGIN IMMEDIATE transactions.
func sqliteDSN(path string, q url.Values) string {
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	if !q.Has("_pragma") {
		q["_pragma"] = []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)"}
	}
	if path != ":memory:" {
		path = filepath.ToSlash(path)
	}
	return "file:" + path + "?" + q.Encode()
}
