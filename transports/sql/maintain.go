package sql

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// maintainer runs the Connector's background work while it has a live
// Conn: it extends the leases of the process's live claims every third of
// the visibility timeout and, on PostgreSQL, holds the LISTEN connection
// that wakes waiting consumers and the connection that NOTIFYs the other
// processes.
type maintainer struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startMaintainer starts the goroutines for st.
func startMaintainer(st *store) *maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &maintainer{cancel: cancel}
	m.wg.Go(func() { m.extendLoop(ctx, st) })
	if st.cfg.Dialect == Postgres {
		m.wg.Go(func() { m.listenLoop(ctx, st) })
		m.wg.Go(func() { m.notifyLoop(ctx, st) })
	}
	return m
}

// stop ends the goroutines and waits for them.
func (m *maintainer) stop() {
	m.cancel()
	m.wg.Wait()
}

// extendLoop renews leases until ctx ends. A failure is retried at the
// next tick: the lease is three ticks long.
func (m *maintainer) extendLoop(ctx context.Context, st *store) {
	t := time.NewTicker(st.cfg.VisibilityTimeout / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := st.extend(ctx); err != nil && ctx.Err() == nil {
				st.log.Warn("sql: extending leases failed", "err", err)
			}
		}
	}
}

// listenLoop keeps a dedicated pgx connection LISTENing on the store's
// channel and wakes the waiters of each notified queue. When the
// connection fails it wakes everyone (notifications may have been missed)
// and reconnects after a pause bounded by PollInterval; meanwhile waiters
// poll with backoff.
func (m *maintainer) listenLoop(ctx context.Context, st *store) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, st)
		st.listening.Store(false)
		st.notifyAll()
		if ctx.Err() != nil {
			return
		}
		st.log.Warn("sql: LISTEN connection lost; polling until it is back", "err", err)
		t := time.NewTimer(st.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// listenOnce runs one LISTEN connection until it fails or ctx ends.
func listenOnce(ctx context.Context, st *store) error {
	conn, err := pgx.Connect(ctx, st.cfg.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{st.ch}.Sanitize()); err != nil {
		return err
	}
	st.listening.Store(true)
	// Messages put while the listener was away are found by this wake-up.
	st.notifyAll()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if q, own := st.notifiedQueue(n.Payload); !own {
			st.notify(q)
		}
	}
}

// notifyLoop sends the NOTIFYs that Puts and Requeues ask for, from a
// connection of its own and apart from their transactions: a transaction
// that notifies holds a database-wide lock until its commit is flushed,
// so notifying in each publisher's INSERT serialized concurrent
// publishers on their disk flushes. Requests that arrive while one NOTIFY
// is in flight are sent together in the next, and the connection runs
// with synchronous_commit off: a notification has nothing to make durable
// (one lost in a crash is covered by the waiters' safety poll). A failed
// connection is dialled again after PollInterval; what was asked meanwhile
// is sent then.
func (m *maintainer) notifyLoop(ctx context.Context, st *store) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.kick:
		case <-retry.C:
		}
		queues, payloads := st.takeRemote()
		if len(payloads) == 0 {
			continue
		}
		var err error
		if conn == nil {
			conn, err = notifyConn(ctx, st)
		}
		if err == nil {
			_, err = conn.Exec(ctx, st.q.notify, st.ch, payloads)
		}
		if err != nil && ctx.Err() == nil {
			st.log.Warn("sql: NOTIFY failed; other processes poll until it works again", "err", err)
			if conn != nil {
				_ = conn.Close(context.WithoutCancel(ctx))
				conn = nil
			}
			st.notifyRemote(queues...) // again, after the pause
			<-st.kick
			retry.Reset(st.cfg.PollInterval)
		}
	}
}

// notifyConn dials the notifier's connection.
func notifyConn(ctx context.Context, st *store) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, st.cfg.DSN)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}
