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
// that wakes waiting consumers.
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
		st.notify(n.Payload)
	}
}
