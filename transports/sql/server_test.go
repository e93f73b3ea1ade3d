package sql_test

import (
	"context"
	"crypto/rand"
	stdsql "database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/transports"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
)

// The integration-test convention shared by every transport: the server is
// found at its default local address unless an environment variable says
// otherwise; when it cannot be reached the tests skip with one clear line,
// except under KELP_CI=1 (set by .ci/run), where they fail. SQLite needs
// no server and always runs.
const (
	envCI       = "KELP_CI"
	probeWindow = 3 * time.Second
)

// database is one database under test.
type database struct {
	name   string
	env    string
	defURL string

	once sync.Once
	cfg  kelpsql.Config
	err  error
}

var (
	postgres = &database{name: "PostgreSQL", env: "KELP_POSTGRES_URL", defURL: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}
	mariadb  = &database{name: "MariaDB", env: "KELP_MYSQL_URL", defURL: "mysql://root@127.0.0.1:3306/test"}
	sqlite   = &database{name: "SQLite"}
)

// databases are the databases every shared test runs on.
var databases = []*database{postgres, sqlite, mariadb}

// config returns the Config of the database with a fresh table prefix,
// whose tables are dropped when the test ends; it skips (or, under
// KELP_CI=1, fails) when the server cannot be reached.
func (d *database) config(t testing.TB) kelpsql.Config {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	prefix := "kt_" + hex.EncodeToString(b[:]) + "_"
	if d == sqlite {
		cfg, err := kelpsql.ParseURL("sqlite:///" + filepath.Join(t.TempDir(), "kelp.db"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.TablePrefix = prefix
		return cfg
	}
	d.once.Do(func() {
		u := os.Getenv(d.env)
		if u == "" {
			u = d.defURL
		}
		d.cfg, d.err = kelpsql.ParseURL(u)
		if d.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeWindow)
		defer cancel()
		db := d.raw(t, d.cfg)
		d.err = db.PingContext(ctx)
	})
	if d.err != nil {
		msg := fmt.Sprintf("%s not reachable (%v); start it or set %s", d.name, d.err, d.env)
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg := d.cfg
	cfg.TablePrefix = prefix
	t.Cleanup(func() { dropTables(t, d, cfg) })
	return cfg
}

// raw opens a plain database/sql handle on cfg's database, closed when
// the test ends.
func (d *database) raw(t testing.TB, cfg kelpsql.Config) *stdsql.DB {
	name := map[kelpsql.Dialect]string{kelpsql.Postgres: "pgx", kelpsql.MySQL: "mysql", kelpsql.SQLite: "sqlite"}[cfg.Dialect]
	db, err := stdsql.Open(name, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// tables are the tables of schema version 1.
var tables = []string{"messages", "bindings", "exchanges", "schema"}

// dropTables removes the tables behind cfg's prefix.
func dropTables(t testing.TB, d *database, cfg kelpsql.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db := d.raw(t, cfg)
	for _, tb := range tables {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+cfg.TablePrefix+tb); err != nil {
			t.Errorf("dropping %s: %v", cfg.TablePrefix+tb, err)
		}
	}
}

// newConnector returns a Connector for cfg.
func newConnector(t testing.TB, cfg kelpsql.Config) *kelpsql.Connector {
	t.Helper()
	c, err := kelpsql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dial connects through c and closes the Conn when the test ends.
func dial(t testing.TB, c transports.Connector) transports.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, transports.ConnectOptions{Name: "kelp-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
