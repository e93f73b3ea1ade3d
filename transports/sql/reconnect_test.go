package sql_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
)

// ownConnections returns a Config whose database connections the test
// can recognize on the server, and a function that kills all of them:
// pg_terminate_backend on the backends with the test's application_name
// (PostgreSQL), KILL of the threads using the test's own database
// (MariaDB).
func ownConnections(t *testing.T, d *database) (kelpsql.Config, func() int) {
	cfg := d.config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tag := strings.TrimSuffix(cfg.TablePrefix, "_")
	admin := d.raw(t, cfg)
	count := func(query string, args ...any) int {
		rows, err := admin.QueryContext(context.Background(), query, args...)
		if err != nil {
			t.Errorf("killing connections: %v", err)
			return 0
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return n
	}
	switch cfg.Dialect {
	case kelpsql.Postgres:
		cfg.DSN += "&application_name=" + tag
		if !strings.Contains(cfg.DSN, "?") {
			cfg.DSN = strings.Replace(cfg.DSN, "&", "?", 1)
		}
		return cfg, func() int {
			return count(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, tag)
		}
	case kelpsql.MySQL:
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+tag); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+tag) })
		mc, err := mysql.ParseDSN(cfg.DSN)
		if err != nil {
			t.Fatal(err)
		}
		mc.DBName = tag
		cfg.DSN = mc.FormatDSN()
		return cfg, func() int {
			rows, err := admin.QueryContext(context.Background(),
				`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()`, tag)
			if err != nil {
				t.Errorf("listing threads: %v", err)
				return 0
			}
			var ids []int64
			for rows.Next() {
				var id int64
				_ = rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			for _, id := range ids {
				_, _ = admin.ExecContext(context.Background(), fmt.Sprint("KILL ", id))
			}
			return len(ids)
		}
	}
	t.Skipf("%s has no server connections to kill", d.name)
	return cfg, nil
}

// TestReconnectKillsOwnConnections kills the transport's own database
// connections twice while a producer publishes with confirms and a
// consumer acks through package conn: every confirmed message arrives
// (duplicates are allowed only after a failure) and the consumer resumes.
func TestReconnectKillsOwnConnections(t *testing.T) {
	for _, d := range []*database{postgres, mariadb} {
		t.Run(d.name, func(t *testing.T) {
			cfg, kill := ownConnections(t, d)
			cfg.PollInterval = 50 * time.Millisecond
			// A claim whose commit was cut by the kill may have committed
			// without the client knowing: its lease is never extended and
			// the message comes back when it runs out. Keep that short.
			cfg.VisibilityTimeout = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := conn.Open(ctx, newConnector(t, cfg), conn.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close(context.Background()) }()
			q := route.NewQueue("reconnect")
			if err := c.Declare(ctx, q); err != nil {
				t.Fatal(err)
			}
			cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(10))
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Stop()
			const total = 300
			var (
				mu        sync.Mutex
				confirmed = make(map[string]bool)
			)
			pubDone := make(chan struct{})
			go func() {
				defer close(pubDone)
				p := c.Producer(conn.WithRoutingKey(q.Name),
					conn.WithRetry(conn.RetryPolicy{MaxRetries: -1, IntervalStart: 10 * time.Millisecond, IntervalMax: 200 * time.Millisecond}))
				for i := range total {
					body := fmt.Sprint("m", i)
					if err := p.Publish(ctx, []byte(body)); err != nil {
						t.Errorf("publish %s: %v", body, err)
						return
					}
					mu.Lock()
					confirmed[body] = true
					mu.Unlock()
				}
			}()
			got := make(map[string]int)
			kills := 0
			for len(got) < total {
				d, err := cons.Next(ctx)
				if err != nil {
					mu.Lock()
					t.Fatalf("after %d of %d messages (%d confirmed): %v", len(got), total, len(confirmed), err)
				}
				got[string(d.Body)]++
				_ = d.Ack(ctx) // an ack lost in a reconnect means a redelivery
				if (len(got) == total/3 && kills == 0) || (len(got) == 2*total/3 && kills == 1) {
					kills++
					if n := kill(); n == 0 {
						t.Fatal("found no connection of ours to kill")
					}
				}
			}
			<-pubDone
			for body := range confirmed {
				if got[body] == 0 {
					t.Errorf("confirmed message %s never arrived", body)
				}
			}
			t.Logf("%d messages, %d distinct, after %d kills", total, len(got), kills)
		})
	}
}
