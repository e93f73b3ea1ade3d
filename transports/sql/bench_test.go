package sql_test

import (
	"context"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
)

// BenchmarkRoundTrip compares one publish, claim and ack through kelp's
// SPI with raw database/sql doing the same INSERT, claiming UPDATE (or
// SELECT FOR UPDATE + UPDATE on MariaDB) and DELETE by hand on the same
// tables, on each database in the same run. Each reports msg/s.
func BenchmarkRoundTrip(b *testing.B) {
	body := make([]byte, 256)
	for _, d := range databases {
		b.Run(d.name, func(b *testing.B) {
			cfg := d.config(b)
			ctx := context.Background()
			b.Run("kelp", func(b *testing.B) {
				ch, err := dial(b, newConnector(b, cfg)).Channel(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ch.QueueDeclare(ctx, route.Queue{Name: "bench"}); err != nil {
					b.Fatal(err)
				}
				p := transports.Publishing{RoutingKey: "bench", Message: transports.Message{Body: body}}
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if _, err := ch.Publish(ctx, p); err != nil {
						b.Fatal(err)
					}
					dv, ok, err := ch.Get(ctx, "bench", false)
					if err != nil || !ok {
						b.Fatal(ok, err)
					}
					if err := ch.Ack(ctx, dv.Tag, false); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
			})
			b.Run("database-sql", func(b *testing.B) {
				dial(b, newConnector(b, cfg)) // creates the tables
				db := d.raw(b, cfg)
				if cfg.Dialect == kelpsql.SQLite {
					db.SetMaxOpenConns(1)
				}
				m := cfg.TablePrefix + "messages"
				ins := `INSERT INTO ` + m + ` (queue, prank, expires, meta, body) VALUES (?, 255, 0, '{}', ?)`
				claim := `UPDATE ` + m + ` SET lease_until = ?, lease_token = 1 WHERE id = (SELECT id FROM ` + m +
					` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1) RETURNING id, body`
				sel := `SELECT id, body FROM ` + m + ` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED`
				upd := `UPDATE ` + m + ` SET lease_until = ?, lease_token = 1 WHERE id = ?`
				del := `DELETE FROM ` + m + ` WHERE id = ?`
				if cfg.Dialect == kelpsql.Postgres {
					ins = `INSERT INTO ` + m + ` (queue, prank, expires, meta, body) VALUES ($1, 255, 0, '{}', $2)`
					claim = `UPDATE ` + m + ` SET lease_until = $1, lease_token = 1 WHERE id = (SELECT id FROM ` + m +
						` WHERE queue = $2 AND lease_until < $3 ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, body`
					del = `DELETE FROM ` + m + ` WHERE id = $1`
				}
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if _, err := db.ExecContext(ctx, ins, "rawbench", body); err != nil {
						b.Fatal(err)
					}
					now := time.Now()
					var id int64
					var got []byte
					if cfg.Dialect == kelpsql.MySQL {
						tx, err := db.BeginTx(ctx, nil)
						if err != nil {
							b.Fatal(err)
						}
						if err := tx.QueryRowContext(ctx, sel, "rawbench", now.UnixMilli()).Scan(&id, &got); err != nil {
							b.Fatal(err)
						}
						if _, err := tx.ExecContext(ctx, upd, now.Add(time.Minute).UnixMilli(), id); err != nil {
							b.Fatal(err)
						}
						if err := tx.Commit(); err != nil {
							b.Fatal(err)
						}
					} else if err := db.QueryRowContext(ctx, claim, now.Add(time.Minute).UnixMilli(), "rawbench", now.UnixMilli()).Scan(&id, &got); err != nil {
						b.Fatal(err)
					}
					if _, err := db.ExecContext(ctx, del, id); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
			})
		})
	}
}
