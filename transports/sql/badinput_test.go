package sql_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		dialect kelpsql.Dialect
		dsn     string
		err     error
	}{
		{"sqla+postgresql://u:p@db:5433/app?sslmode=disable", kelpsql.Postgres, "postgres://u:p@db:5433/app?sslmode=disable", nil},
		{"postgres://db/app", kelpsql.Postgres, "postgres://db/app", nil},
		{"sqla+mysql://root@db/app", kelpsql.MySQL, "root@tcp(db:3306)/app", nil},
		{"mysql://u:p@db:3307/app?tls=true&table_prefix=x_", kelpsql.MySQL, "u:p@tcp(db:3307)/app?tls=true", nil},
		{"sqla+sqlite:///data/kelp.db", kelpsql.SQLite, "file:data/kelp.db?", nil},
		{"sqlite:////var/kelp.db", kelpsql.SQLite, "file:/var/kelp.db?", nil},
		{"sqlite://host/kelp.db", "", "", kelpsql.ErrInvalidURL},
		{"oracle://db/app", "", "", kelpsql.ErrInvalidURL},
		{"postgres://db/app?visibility_timeout=-1", "", "", kelpsql.ErrInvalidURL},
		{"postgres://db/app?table_prefix=bad-prefix", "", "", kelpsql.ErrInvalidConfig},
	}
	for _, tt := range tests {
		cfg, err := kelpsql.ParseURL(tt.url)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseURL(%q) error = %v, want %v", tt.url, err, tt.err)
			}
			continue
		}
		if err != nil || cfg.Dialect != tt.dialect || !strings.HasPrefix(cfg.DSN, tt.dsn) {
			t.Errorf("ParseURL(%q) = %q %q, %v; want %q %q...", tt.url, cfg.Dialect, cfg.DSN, err, tt.dialect, tt.dsn)
		}
	}
}

func TestRegisteredSchemes(t *testing.T) {
	for _, s := range kelpsql.Schemes {
		c, err := transports.OpenConnector(s + "://127.0.0.1/x")
		if strings.Contains(s, "sqlite") {
			c, err = transports.OpenConnector(s + ":///x.db")
		}
		if err != nil || c == nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// TestConnectFailures: a wrong address is a connection loss, refused
// credentials or privileges a 403; nothing hangs.
func TestConnectFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("unreachable", func(t *testing.T) {
		for _, u := range []string{"postgres://postgres@127.0.0.1:1/test?connect_timeout=2", "mysql://root@127.0.0.1:1/test?timeout=2s"} {
			cfg, err := kelpsql.ParseURL(u)
			if err != nil {
				t.Fatal(err)
			}
			_, err = newConnector(t, cfg).Connect(ctx, transports.ConnectOptions{})
			if !errors.Is(err, transports.ErrConnLost) {
				t.Errorf("%s: %v, want ErrConnLost", u, err)
			}
		}
	})
	t.Run("MariaDBWrongPassword", func(t *testing.T) {
		cfg := mariadb.config(t)
		cfg.DSN = strings.Replace(cfg.DSN, "root@", "root:wrong@", 1)
		_, err := newConnector(t, cfg).Connect(ctx, transports.ConnectOptions{})
		var te *transports.Error
		if !errors.As(err, &te) || te.Code != 403 {
			t.Errorf("Connect with a wrong password: %v, want a 403", err)
		}
	})
	t.Run("PostgreSQLNoPrivileges", func(t *testing.T) {
		cfg := postgres.config(t)
		admin := postgres.raw(t, cfg)
		role := strings.TrimSuffix(cfg.TablePrefix, "_") + "_noperm"
		if _, err := admin.ExecContext(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+role) })
		cfg.DSN = strings.Replace(cfg.DSN, "postgres@", role+"@", 1)
		_, err := newConnector(t, cfg).Connect(ctx, transports.ConnectOptions{})
		var te *transports.Error
		if !errors.As(err, &te) || te.Code != 403 {
			t.Errorf("Connect without CREATE privilege: %v, want a 403", err)
		}
	})
}

// TestReadOnlyUser: a user who may connect and read the tables but not
// write them fails Connect with a 403 naming the table, instead of
// connecting and then losing the connection at every publish.
func TestReadOnlyUser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, d := range []*database{postgres, mariadb} {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			dial(t, newConnector(t, cfg)) // the tables exist
			admin := d.raw(t, cfg)
			user := strings.TrimSuffix(cfg.TablePrefix, "_") + "_ro"
			setup := []string{"CREATE ROLE " + user + " LOGIN", "GRANT USAGE, CREATE ON SCHEMA public TO " + user,
				"GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + user}
			cleanup := []string{"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + user,
				"REVOKE ALL ON SCHEMA public FROM " + user, "DROP ROLE IF EXISTS " + user}
			from, to := "postgres@", user+"@"
			if cfg.Dialect == kelpsql.MySQL {
				mc, err := mysql.ParseDSN(cfg.DSN)
				if err != nil {
					t.Fatal(err)
				}
				setup = []string{"CREATE USER '" + user + "'@'%'", "GRANT SELECT, CREATE ON `" + mc.DBName + "`.* TO '" + user + "'@'%'"}
				cleanup = []string{"DROP USER IF EXISTS '" + user + "'@'%'"}
				from = "root@"
			}
			t.Cleanup(func() {
				for _, q := range cleanup {
					_, _ = admin.ExecContext(context.Background(), q)
				}
			})
			for _, q := range setup {
				if _, err := admin.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			cfg.DSN = strings.Replace(cfg.DSN, from, to, 1)
			_, err := newConnector(t, cfg).Connect(ctx, transports.ConnectOptions{})
			var te *transports.Error
			if !errors.As(err, &te) || te.Code != 403 || !strings.Contains(err.Error(), cfg.TablePrefix+"messages") {
				t.Errorf("Connect as a read-only user: %v, want a 403 naming the messages table", err)
			}
		})
	}
}

// TestCorruptRow: a row whose meta is not kelp's JSON is moved aside, not
// delivered, not retried, and the next message is delivered.
func TestCorruptRow(t *testing.T) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) {
			cfg := d.config(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ch, err := dial(t, newConnector(t, cfg)).Channel(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "corrupt"}); err != nil {
				t.Fatal(err)
			}
			raw := d.raw(t, cfg)
			ins := "INSERT INTO " + cfg.TablePrefix + "messages (queue, prank, expires, meta, body) VALUES (?, 255, 0, ?, ?)"
			if cfg.Dialect == kelpsql.Postgres {
				ins = "INSERT INTO " + cfg.TablePrefix + "messages (queue, prank, expires, meta, body) VALUES ($1, 255, 0, $2, $3)"
			}
			if _, err := raw.ExecContext(ctx, ins, "corrupt", "{not json", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := ch.Publish(ctx, transports.Publishing{RoutingKey: "corrupt", Message: transports.Message{Body: []byte("good")}}); err != nil {
				t.Fatal(err)
			}
			dv, ok, err := ch.Get(ctx, "corrupt", true)
			if err != nil || !ok || string(dv.Body) != "good" {
				t.Fatalf("Get = %q, %v, %v; want the good message", dv.Body, ok, err)
			}
			var n int
			sel := "SELECT COUNT(*) FROM " + cfg.TablePrefix + "messages WHERE queue = ?"
			if cfg.Dialect == kelpsql.Postgres {
				sel = strings.Replace(sel, "?", "$1", 1)
			}
			if err := raw.QueryRowContext(ctx, sel, kelpsql.UnreadableQueue).Scan(&n); err != nil || n != 1 {
				t.Errorf("rows in UnreadableQueue = %d, %v; want 1", n, err)
			}
		})
	}
}
