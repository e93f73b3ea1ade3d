package sql

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
)

// SchemaVersion is the version of the schema this package creates and
// migrates to. See the package documentation for the tables.
const SchemaVersion = 1

// ErrSchemaTooNew is returned by Connect when the database's schema was
// migrated by a newer kelp than this one.
var ErrSchemaTooNew = errors.New("sql: schema is newer than this kelp")

// migrate creates the tables or brings them to SchemaVersion, under a
// lock that serializes processes migrating the same prefix (an advisory
// lock on PostgreSQL, GET_LOCK on MySQL; SQLite's single writer and the
// IF NOT EXISTS of every statement suffice there).
func migrate(ctx context.Context, db *stdsql.DB, q *queries, prefix string) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	lockName := "kelp.schema." + prefix
	if q.lock != "" {
		if _, err := conn.ExecContext(ctx, q.lock, lockName); err != nil {
			return fmt.Errorf("sql: schema lock: %w", err)
		}
		defer func() {
			_, uerr := conn.ExecContext(context.WithoutCancel(ctx), q.unlock, lockName)
			err = errors.Join(err, uerr)
		}()
	}
	if _, err := conn.ExecContext(ctx, q.createVersion); err != nil {
		return err
	}
	version := 0
	err = conn.QueryRowContext(ctx, q.getVersion).Scan(&version)
	switch {
	case errors.Is(err, stdsql.ErrNoRows):
		if _, err := conn.ExecContext(ctx, q.insertVersion, 0); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if version > len(q.migrations) {
		return fmt.Errorf("%w: version %d, this kelp knows %d", ErrSchemaTooNew, version, len(q.migrations))
	}
	for v := version; v < len(q.migrations); v++ {
		for _, stmt := range q.migrations[v] {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sql: migrate to version %d: %w", v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, q.setVersion, v+1); err != nil {
			return err
		}
	}
	return nil
}

// checkAccess runs statements that change nothing but need every privilege
// the transport uses on its tables (SELECT, INSERT, UPDATE, DELETE), so
// that a user who may connect and read but not write fails Connect with a
// 403 instead of losing its connection at the first publish, again and
// again.
func checkAccess(ctx context.Context, db *stdsql.DB, q *queries) error {
	for _, stmt := range q.access {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sql: check table privileges: %w", err)
		}
	}
	return nil
}
