package sql_test

import (
	"context"
	stdsql "database/sql"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/internal/benchcmp"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	kelpsql "github.com/kelpmq/kelp/transports/sql"
)

// The benchmarks compare kelp's SPI with raw database/sql doing the same
// work by hand on the same tables, on each database in the same run: an
// INSERT per publish; a claim (an UPDATE ... RETURNING of the next row, or
// on MariaDB a transaction of SELECT ... FOR UPDATE SKIP LOCKED and an
// UPDATE) and a DELETE per consumed message. The raw side uses
// database/sql as an application would write it (db.ExecContext with
// arguments, no hand-prepared statements). Both sides run in one
// benchmark, in alternating blocks (package benchcmp), which reports
// kelp-msg/s, raw-msg/s and their ratio.

var benchBody = make([]byte, 256)

// benchMeta is about the meta column kelp writes for the benchmarks'
// messages, so that the raw side writes as many bytes.
var benchMeta = `{"ct":"application/data","dm":1,"ex":"","rk":"bench"}`

// rawQueue is the raw database/sql side of a benchmark: a queue in cfg's
// messages table, worked by hand.
type rawQueue struct {
	db                        *stdsql.DB
	mysql                     bool
	ins, claim, sel, upd, del string
	queue                     string
}

// newRawQueue makes the tables (through a kelp Conn) and returns the raw
// side for queue.
func newRawQueue(b *testing.B, d *database, cfg kelpsql.Config, queue string) *rawQueue {
	dial(b, newConnector(b, cfg)) // creates the tables
	r := &rawQueue{db: d.raw(b, cfg), mysql: cfg.Dialect == kelpsql.MySQL, queue: queue}
	// The pool kelp uses (Config.MaxConnections, all kept idle), so that
	// parallel publishers do not open a connection each time.
	r.db.SetMaxOpenConns(kelpsql.DefaultMaxConnections)
	r.db.SetMaxIdleConns(kelpsql.DefaultMaxConnections)
	if cfg.Dialect == kelpsql.SQLite {
		r.db.SetMaxOpenConns(1)
	}
	m := cfg.TablePrefix + "messages"
	r.ins = `INSERT INTO ` + m + ` (queue, prank, expires, meta, body) VALUES (?, 255, 0, ?, ?)`
	r.claim = `UPDATE ` + m + ` SET lease_until = ?, lease_token = 1 WHERE id = (SELECT id FROM ` + m +
		` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1) RETURNING id, meta, body`
	r.sel = `SELECT id, meta, body FROM ` + m + ` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED`
	r.upd = `UPDATE ` + m + ` SET lease_until = ?, lease_token = 1 WHERE id = ?`
	r.del = `DELETE FROM ` + m + ` WHERE id = ?`
	if cfg.Dialect == kelpsql.Postgres {
		r.ins = `INSERT INTO ` + m + ` (queue, prank, expires, meta, body) VALUES ($1, 255, 0, $2, $3)`
		r.claim = `UPDATE ` + m + ` SET lease_until = $1, lease_token = 1 WHERE id = (SELECT id FROM ` + m +
			` WHERE queue = $2 AND lease_until < $3 ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, meta, body`
		r.del = `DELETE FROM ` + m + ` WHERE id = $1`
	}
	return r
}

func (r *rawQueue) put(b *testing.B, ctx context.Context) {
	if _, err := r.db.ExecContext(ctx, r.ins, r.queue, benchMeta, benchBody); err != nil {
		b.Error(err)
	}
}

// take claims the next row and deletes it.
func (r *rawQueue) take(b *testing.B, ctx context.Context) {
	now := time.Now()
	var id int64
	var meta string
	var got []byte
	if r.mysql {
		tx, err := r.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, r.sel, r.queue, now.UnixMilli()).Scan(&id, &meta, &got); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, r.upd, now.Add(time.Minute).UnixMilli(), id); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	} else if err := r.db.QueryRowContext(ctx, r.claim, now.Add(time.Minute).UnixMilli(), r.queue, now.UnixMilli()).Scan(&id, &meta, &got); err != nil {
		b.Fatal(err)
	}
	if _, err := r.db.ExecContext(ctx, r.del, id); err != nil {
		b.Fatal(err)
	}
}

// kelpChannel opens a Channel on conn and declares queue.
func kelpChannel(b *testing.B, conn transports.Conn, queue string) transports.Channel {
	ch, err := conn.Channel(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ch.QueueDeclare(context.Background(), route.Queue{Name: queue}); err != nil {
		b.Fatal(err)
	}
	return ch
}

var benchPublishing = transports.Publishing{RoutingKey: "bench", Message: transports.Message{Body: benchBody,
	Properties: transports.Properties{ContentType: "application/data", DeliveryMode: 2}}}

// kelpPublish publishes n messages on ch.
func kelpPublish(b *testing.B, ch transports.Channel, n int) {
	for range n {
		if _, err := ch.Publish(context.Background(), benchPublishing); err != nil {
			b.Fatal(err)
		}
	}
}

// parallel splits n messages over the functions, run at once.
func parallel(n int, fns []func(int)) {
	var wg sync.WaitGroup
	for i, fn := range fns {
		k := n / len(fns)
		if i < n%len(fns) {
			k++
		}
		wg.Go(func() { fn(k) })
	}
	wg.Wait()
}

// parallelPublishers is the number of concurrent publishers of
// BenchmarkPublishParallel.
const parallelPublishers = 8

// eachDatabase runs a benchmark on every database with a fresh table
// prefix.
func eachDatabase(b *testing.B, fn func(b *testing.B, d *database, cfg kelpsql.Config)) {
	for _, d := range databases {
		b.Run(d.name, func(b *testing.B) { fn(b, d, d.config(b)) })
	}
}

// BenchmarkPublish: one publisher, one persistent message at a time.
func BenchmarkPublish(b *testing.B) {
	eachDatabase(b, func(b *testing.B, d *database, cfg kelpsql.Config) {
		ch := kelpChannel(b, dial(b, newConnector(b, cfg)), "bench")
		r := newRawQueue(b, d, cfg, "rawbench")
		benchcmp.Compare(b, func(n int) { kelpPublish(b, ch, n) }, func(n int) {
			for range n {
				r.put(b, context.Background())
			}
		})
	})
}

// BenchmarkPublishParallel: 8 publishers at once (a Channel each on one
// Conn for kelp, 8 goroutines on one pool for the raw side), whose commits
// the database can group.
func BenchmarkPublishParallel(b *testing.B) {
	eachDatabase(b, func(b *testing.B, d *database, cfg kelpsql.Config) {
		conn := dial(b, newConnector(b, cfg))
		r := newRawQueue(b, d, cfg, "rawbench")
		var kelp, raw []func(int)
		for range parallelPublishers {
			ch := kelpChannel(b, conn, "bench")
			kelp = append(kelp, func(n int) { kelpPublish(b, ch, n) })
			raw = append(raw, func(n int) {
				for range n {
					r.put(b, context.Background())
				}
			})
		}
		benchcmp.Compare(b, func(n int) { parallel(n, kelp) }, func(n int) { parallel(n, raw) })
	})
}

// BenchmarkConsume: a queue of b.N messages consumed with an ack each
// (kelp: Consume with prefetch consumePrefetch; raw: claim and delete one at a time).
func BenchmarkConsume(b *testing.B) {
	eachDatabase(b, func(b *testing.B, d *database, cfg kelpsql.Config) {
		ctx := context.Background()
		ch := kelpChannel(b, dial(b, newConnector(b, cfg)), "bench")
		r := newRawQueue(b, d, cfg, "rawbench")
		kelpPublish(b, ch, b.N)
		for range b.N {
			r.put(b, ctx)
		}
		if err := ch.Qos(ctx, transports.Qos{PrefetchCount: consumePrefetch}); err != nil {
			b.Fatal(err)
		}
		sub, err := ch.Consume(ctx, transports.ConsumeArgs{Queue: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = ch.Cancel(ctx, sub.Tag()) }()
		benchcmp.CompareBlocks(b, consumeBlock, func(n int) {
			for range n {
				d := <-sub.Deliveries()
				if err := ch.Ack(ctx, d.Tag, false); err != nil {
					b.Fatal(err)
				}
			}
		}, func(n int) {
			for range n {
				r.take(b, ctx)
			}
		})
	})
}

// BenchmarkRoundTrip: publish, basic.get and ack of one message at a time
// (kelp's Get also counts the messages left, as basic.get-ok reports).
func BenchmarkRoundTrip(b *testing.B) {
	eachDatabase(b, func(b *testing.B, d *database, cfg kelpsql.Config) {
		ctx := context.Background()
		ch := kelpChannel(b, dial(b, newConnector(b, cfg)), "bench")
		r := newRawQueue(b, d, cfg, "rawbench")
		benchcmp.Compare(b, func(n int) {
			for range n {
				kelpPublish(b, ch, 1)
				dv, ok, err := ch.Get(ctx, "bench", false)
				if err != nil || !ok {
					b.Fatal(ok, err)
				}
				if err := ch.Ack(ctx, dv.Tag, false); err != nil {
					b.Fatal(err)
				}
			}
		}, func(n int) {
			for range n {
				r.put(b, ctx)
				r.take(b, ctx)
			}
		})
	})
}

// The consumer's prefetch window in BenchmarkConsume, and the turns of its
// comparison: ten windows, so that what the consumer claims ahead while the
// raw side has its turn weighs at most a tenth.
const (
	consumePrefetch = 20
	consumeBlock    = 10 * consumePrefetch
)
