package sql

import (
	"cmp"
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kelpmq/kelp/transports/virtual"
)

// The store claims and acknowledges in batches: a consumer claims up to
// its free prefetch credit in one statement (one commit), and the acks
// that arrive while one DELETE is in flight go in the next, so that a
// busy consumer pays a commit per batch instead of two per message.
var (
	_ virtual.BatchFetcher = (*store)(nil)
	_ virtual.BatchAcker   = (*store)(nil)
)

// ackChunk bounds the pairs of one DELETE of AckBatch.
const ackChunk = 200

// FetchBatch implements [virtual.BatchFetcher]: Fetch, claiming up to max
// rows at once.
func (s *store) FetchBatch(ctx context.Context, queue string, n int, wait bool, dst []virtual.Claim) ([]virtual.Claim, error) {
	return s.fetch(ctx, queue, max(n, 1), wait, dst)
}

// batchRow is a row claimed by claimBatch.
type batchRow struct {
	id, prank, lease, redelivered, expires int64
	meta                                   string
	body                                   []byte
}

// claimBatch claims up to n rows of queue under one lease token, in
// delivery order, moving unreadable rows aside, and appends them to dst.
// It returns ErrEmpty when it claimed none.
func (s *store) claimBatch(ctx context.Context, queue string, n int, dst []virtual.Claim) ([]virtual.Claim, error) {
	db, err := s.sqldb()
	if err != nil {
		return dst, err
	}
	for {
		s.attempts.Add(1)
		now := time.Now()
		token := randToken()
		leaseUntil := now.Add(s.cfg.VisibilityTimeout).UnixMilli()
		var rows []batchRow
		err = retryDeadlock(func() (err error) {
			if s.cfg.Dialect == MySQL {
				rows, err = s.claimBatchTx(ctx, db, queue, n, now, leaseUntil, token)
			} else {
				rows, err = s.claimBatchStmt(ctx, db, queue, n, now, leaseUntil, token)
			}
			return err
		})
		if err != nil {
			return dst, fmt.Errorf("sql: claim: %w", err)
		}
		if len(rows) == 0 {
			return dst, virtual.ErrEmpty
		}
		// RETURNING gives no order; the claims go out in delivery order.
		slices.SortFunc(rows, func(a, b batchRow) int { return cmp.Or(cmp.Compare(a.prank, b.prank), cmp.Compare(a.id, b.id)) })
		start := len(dst)
		for _, r := range rows {
			cl := virtual.Claim{Queue: queue, Receipt: receipt{id: r.id, token: token}}
			if err := decodeRow(&cl.Envelope, r.meta, r.body, r.redelivered, r.expires); err != nil {
				s.log.Warn("sql: unreadable message moved aside", "queue", queue, "id", r.id, "err", err)
				if _, err := db.ExecContext(ctx, s.q.aside, UnreadableQueue, r.id); err != nil {
					// The rest stay claimed with nobody to extend their
					// lease: they come back when it runs out.
					return dst, fmt.Errorf("sql: move unreadable row %d aside: %w", r.id, err)
				}
				continue
			}
			dst = append(dst, cl)
		}
		if len(dst) == start {
			continue // only unreadable rows: claim again
		}
		s.mu.Lock()
		for _, cl := range dst[start:] {
			s.claims[cl.Receipt.(receipt).id] = struct{}{}
		}
		s.mu.Unlock()
		return dst, nil
	}
}

// claimBatchStmt is the claim of PostgreSQL and SQLite: one UPDATE of the
// next n rows, RETURNING them.
func (s *store) claimBatchStmt(ctx context.Context, db *stdsql.DB, queue string, n int, now time.Time, leaseUntil, token int64) ([]batchRow, error) {
	st, err := s.prep(ctx, db, s.q.claimBatch)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(ctx, leaseUntil, token, s.owner, queue, now.UnixMilli(), n)
	if err != nil {
		return nil, err
	}
	return scanBatch(rs, func(r *batchRow) []any {
		return []any{&r.id, &r.prank, &r.redelivered, &r.expires, &r.meta, &r.body}
	})
}

// claimBatchTx is MySQL's: a locking SELECT of up to n rows that skips
// rows other claimers hold, and an UPDATE of their lease, in one
// transaction.
func (s *store) claimBatchTx(ctx context.Context, db *stdsql.DB, queue string, n int, now time.Time, leaseUntil, token int64) ([]batchRow, error) {
	lockRows, err := s.prep(ctx, db, s.q.lockRows)
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, claimTxOptions)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rs, err := tx.StmtContext(ctx, lockRows).QueryContext(ctx, queue, now.UnixMilli(), n)
	if err != nil {
		return nil, err
	}
	rows, err := scanBatch(rs, func(r *batchRow) []any {
		return []any{&r.id, &r.lease, &r.redelivered, &r.expires, &r.meta, &r.body}
	})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	args := []any{leaseUntil, token, s.owner}
	for i := range rows {
		if rows[i].lease > 0 { // its lease ran out: delivered before
			rows[i].redelivered = 1
		}
		args = append(args, rows[i].id)
	}
	if _, err := tx.ExecContext(ctx, s.q.leaseInQuery(len(rows)), args...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return rows, nil
}

// scanBatch reads every row of rs with the destinations fields gives.
func scanBatch(rs *stdsql.Rows, fields func(r *batchRow) []any) ([]batchRow, error) {
	defer rs.Close()
	var out []batchRow
	for rs.Next() {
		var r batchRow
		if err := rs.Scan(fields(&r)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// AckBatch implements [virtual.BatchAcker]: one DELETE per ackChunk
// claims, each row only while the claim's token is still on it.
func (s *store) AckBatch(ctx context.Context, claims []*virtual.Claim) error {
	defer func() {
		s.mu.Lock()
		for _, cl := range claims {
			r, _ := cl.Receipt.(receipt)
			delete(s.claims, r.id)
		}
		s.mu.Unlock()
	}()
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	var errs []error
	for chunk := range slices.Chunk(claims, ackChunk) {
		args := make([]any, 0, len(chunk)+1)
		var tokens []any
		for _, cl := range chunk {
			r, _ := cl.Receipt.(receipt)
			args = append(args, r.id)
			if !slices.Contains(tokens, any(r.token)) {
				tokens = append(tokens, r.token)
			}
		}
		args = append(args, tokens...)
		if err := retryDeadlock(func() error {
			_, err := db.ExecContext(ctx, s.q.ackInQuery(len(chunk), len(tokens)), args...)
			return err
		}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sql: ack: %w", err)
	}
	return nil
}

// retryDeadlock runs fn again, up to three times in all, while the
// database chose it as a deadlock's victim (its transaction was rolled
// back, so running it again is safe): InnoDB's gap locks can deadlock two
// claimers, or a claimer and an ack, that lock ranges of one queue.
func retryDeadlock(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !deadlock(err) {
			return err
		}
	}
	return err
}

// deadlock reports whether err is a deadlock victim's (MySQL 1213,
// PostgreSQL 40P01).
func deadlock(err error) bool {
	if err == nil {
		return false
	}
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		return me.Number == 1213
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == "40P01"
	}
	return false
}

// claimTxOptions are MySQL's claim transactions': READ COMMITTED, so that
// the locking SELECT takes record locks on the rows it returns and no gap
// locks, which under REPEATABLE READ (InnoDB's default) make claims
// deadlock with concurrent INSERTs into the queue.
var claimTxOptions = &stdsql.TxOptions{Isolation: stdsql.LevelReadCommitted}
