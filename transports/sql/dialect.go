package sql

import (
	"slices"
	"strconv"
	"strings"
)

// queries holds every SQL statement of one dialect and table prefix,
// built once by newQueries. This file is the one place where the
// databases differ.
type queries struct {
	dialect Dialect

	// migrations are the schema steps, in order; step i brings the schema
	// from version i to i+1.
	migrations [][]string
	// schemaTable and the version statements.
	createVersion, getVersion, insertVersion, setVersion string
	// lock and unlock serialize migrations between processes (empty for
	// SQLite, whose single writer does it).
	lock, unlock string

	put     string // queue, prank, expires, meta, body
	notify  string // PostgreSQL only: channel, payloads (text[])
	claim   string // see claimRow
	lockRow string // MySQL only: select the next row FOR UPDATE SKIP LOCKED
	lease   string // MySQL only: set the lease of a selected row

	claimBatch string // up to n rows; see claimBatch (PostgreSQL, SQLite)
	lockRows   string // MySQL only: select up to n rows FOR UPDATE SKIP LOCKED
	leaseIn    string // MySQL only: set the lease of the ids that follow
	ackIn      string // delete the ids that follow, then their lease tokens
	ack        string
	requeue    string
	drop       string // delete a claimed row whatever its lease
	aside      string // move an unreadable claimed row aside
	extend     string // lease_until, owner, then the ids
	purge      string
	length     string

	addBinding, removeBinding, listBindings  string
	putExchange, deleteExchange, getExchange string

	// access are statements that change nothing but need every privilege
	// the transport uses on its tables (see checkAccess).
	access []string
}

// Column types per dialect.
type ddlTypes struct {
	id, name, text, blob, tableOpts string
}

// newQueries builds the statements of dialect d for table prefix p.
func newQueries(d Dialect, p string) *queries {
	m, b, e, v := p+"messages", p+"bindings", p+"exchanges", p+"schema"
	t := ddlTypes{id: "BIGSERIAL PRIMARY KEY", name: "VARCHAR(255)", text: "TEXT", blob: "BYTEA"}
	switch d {
	case MySQL:
		t = ddlTypes{id: "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
			name: "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", text: "LONGTEXT", blob: "LONGBLOB",
			tableOpts: " ENGINE=InnoDB"}
	case SQLite:
		t = ddlTypes{id: "INTEGER PRIMARY KEY AUTOINCREMENT", name: "TEXT", text: "TEXT", blob: "BLOB"}
	}
	q := &queries{dialect: d}
	msgIdx := []index{{m + "_next", "queue, prank, id"}, {m + "_owner", "owner"}}
	bindIdx := []index{{b + "_exchange", "exchange"}}
	q.migrations = [][]string{slices.Concat(
		createTable(d, m, t, msgIdx, `id `+t.id+`,
  queue `+t.name+` NOT NULL,
  prank SMALLINT NOT NULL,
  lease_until BIGINT NOT NULL DEFAULT 0,
  lease_token BIGINT NOT NULL DEFAULT 0,
  owner VARCHAR(40) NOT NULL DEFAULT '',
  redelivered SMALLINT NOT NULL DEFAULT 0,
  expires BIGINT NOT NULL DEFAULT 0,
  meta `+t.text+` NOT NULL,
  body `+t.blob+` NOT NULL`),
		createTable(d, b, t, bindIdx, `id CHAR(64) NOT NULL PRIMARY KEY,
  exchange `+t.name+` NOT NULL,
  queue `+t.name+` NOT NULL,
  routing_key `+t.name+` NOT NULL,
  args `+t.text+` NOT NULL`),
		createTable(d, e, t, nil, `name `+t.name+` NOT NULL PRIMARY KEY,
  definition `+t.text+` NOT NULL`),
	)}
	q.createVersion = `CREATE TABLE IF NOT EXISTS ` + v + ` (version INTEGER NOT NULL)` + t.tableOpts
	q.getVersion = `SELECT version FROM ` + v
	q.insertVersion = `INSERT INTO ` + v + ` (version) VALUES (?)`
	q.setVersion = `UPDATE ` + v + ` SET version = ?`

	q.put = `INSERT INTO ` + m + ` (queue, prank, expires, meta, body) VALUES (?, ?, ?, ?, ?)`
	next := `SELECT id FROM ` + m + ` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1`
	setLease := `redelivered = CASE WHEN lease_until > 0 THEN 1 ELSE redelivered END, lease_until = ?, lease_token = ?, owner = ?`
	q.claim = `UPDATE ` + m + ` SET ` + setLease + ` WHERE id = (` + next + `) RETURNING id, redelivered, expires, meta, body`
	nextN := `SELECT id FROM ` + m + ` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT ?`
	q.claimBatch = `UPDATE ` + m + ` SET ` + setLease + ` WHERE id IN (` + nextN + `) RETURNING id, prank, redelivered, expires, meta, body`
	// By id (the primary key) and then the set of the claims' lease tokens:
	// a row-value IN of (id, lease_token) pairs makes MariaDB scan and
	// lock the table, deadlocking with claimers. A row claimed again by
	// another process meanwhile has a random 63-bit token of its own, so it
	// is not in the set.
	q.ackIn = `DELETE FROM ` + m + ` WHERE id IN `
	q.ack = `DELETE FROM ` + m + ` WHERE id = ? AND lease_token = ?`
	q.requeue = `UPDATE ` + m + ` SET lease_until = 0, lease_token = 0, owner = '', redelivered = ?, meta = ? WHERE id = ? AND lease_token = ?`
	q.drop = `DELETE FROM ` + m + ` WHERE id = ?`
	q.aside = `UPDATE ` + m + ` SET queue = ?, lease_until = 0, lease_token = 0, owner = '' WHERE id = ?`
	q.extend = `UPDATE ` + m + ` SET lease_until = ? WHERE owner = ? AND id IN `
	q.purge = `DELETE FROM ` + m + ` WHERE queue = ? AND lease_until < ?`
	q.length = `SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM ` + m + ` WHERE queue = ? AND lease_until < ?`

	q.addBinding = `INSERT INTO ` + b + ` (id, exchange, queue, routing_key, args) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	q.removeBinding = `DELETE FROM ` + b + ` WHERE id = ?`
	q.listBindings = `SELECT queue, routing_key, args FROM ` + b + ` WHERE exchange = ? ORDER BY id`
	q.putExchange = `INSERT INTO ` + e + ` (name, definition) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET definition = excluded.definition`
	q.deleteExchange = `DELETE FROM ` + e + ` WHERE name = ?`
	q.getExchange = `SELECT definition FROM ` + e + ` WHERE name = ?`
	for _, t := range []struct{ table, cols, set string }{
		{m, "queue, prank, expires, meta, body", "lease_until = lease_until"},
		{b, "id, exchange, queue, routing_key, args", "args = args"},
		{e, "name, definition", "definition = definition"},
	} {
		q.access = append(q.access,
			`INSERT INTO `+t.table+` (`+t.cols+`) SELECT `+t.cols+` FROM `+t.table+` WHERE 1 = 0`,
			`UPDATE `+t.table+` SET `+t.set+` WHERE 1 = 0`,
			`DELETE FROM `+t.table+` WHERE 1 = 0`)
	}

	switch d {
	case Postgres:
		// SKIP LOCKED: concurrent claimers pass over each other's rows
		// instead of queueing behind them. NOTIFY wakes waiting consumers
		// of every process; it is sent apart from the INSERT (see
		// notifyLoop), because a transaction that notifies holds a
		// database-wide lock until its commit is flushed, which would
		// serialize concurrent publishers.
		q.claim = `UPDATE ` + m + ` SET ` + setLease + ` WHERE id = (` + next + ` FOR UPDATE SKIP LOCKED) RETURNING id, redelivered, expires, meta, body`
		q.claimBatch = `UPDATE ` + m + ` SET ` + setLease + ` WHERE id IN (` + nextN + ` FOR UPDATE SKIP LOCKED) RETURNING id, prank, redelivered, expires, meta, body`
		q.notify = `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`
		q.lock, q.unlock = `SELECT pg_advisory_lock(hashtext(?))`, `SELECT pg_advisory_unlock(hashtext(?))`
	case MySQL:
		// MySQL has no UPDATE ... RETURNING and no subquery on the updated
		// table: the claim is a transaction of a locking SELECT and an
		// UPDATE by id.
		q.claim = ""
		q.lockRow = `SELECT id, lease_until, redelivered, expires, meta, body FROM ` + m +
			` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT 1 FOR UPDATE SKIP LOCKED`
		q.lease = `UPDATE ` + m + ` SET lease_until = ?, lease_token = ?, owner = ? WHERE id = ?`
		q.claimBatch = ""
		q.lockRows = `SELECT id, lease_until, redelivered, expires, meta, body FROM ` + m +
			` WHERE queue = ? AND lease_until < ? ORDER BY prank, id LIMIT ? FOR UPDATE SKIP LOCKED`
		q.leaseIn = `UPDATE ` + m + ` SET lease_until = ?, lease_token = ?, owner = ? WHERE id IN `
		q.addBinding = `INSERT IGNORE INTO ` + b + ` (id, exchange, queue, routing_key, args) VALUES (?, ?, ?, ?, ?)`
		q.putExchange = `INSERT INTO ` + e + ` (name, definition) VALUES (?, ?) ON DUPLICATE KEY UPDATE definition = VALUES(definition)`
		q.lock, q.unlock = `SELECT GET_LOCK(?, 60)`, `SELECT RELEASE_LOCK(?)`
	}
	if d == Postgres {
		q.rebind()
	}
	return q
}

// index is a secondary index of a table.
type index struct{ name, columns string }

// createTable returns the statements that create table with columns and
// indexes when missing: MySQL has no CREATE INDEX IF NOT EXISTS, so its
// indexes go inside CREATE TABLE.
func createTable(d Dialect, table string, t ddlTypes, idx []index, columns string) []string {
	if d == MySQL {
		for _, i := range idx {
			columns += ",\n  INDEX " + i.name + " (" + i.columns + ")"
		}
		return []string{"CREATE TABLE IF NOT EXISTS " + table + " (\n  " + columns + ")" + t.tableOpts}
	}
	out := []string{"CREATE TABLE IF NOT EXISTS " + table + " (\n  " + columns + ")"}
	for _, i := range idx {
		out = append(out, "CREATE INDEX IF NOT EXISTS "+i.name+" ON "+table+" ("+i.columns+")")
	}
	return out
}

// rebind turns the ? placeholders of every statement into PostgreSQL's
// $1, $2, ...
func (q *queries) rebind() {
	for _, s := range []*string{&q.getVersion, &q.insertVersion, &q.setVersion, &q.lock, &q.unlock,
		&q.put, &q.claim, &q.claimBatch, &q.ack, &q.requeue, &q.drop, &q.aside, &q.purge, &q.length,
		&q.addBinding, &q.removeBinding, &q.listBindings, &q.putExchange, &q.deleteExchange, &q.getExchange} {
		*s = dollars(*s, 0)
	}
}

// dollars numbers the ? placeholders of s from first+1.
func dollars(s string, first int) string {
	var b strings.Builder
	n := first
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// extendQuery is q.extend with n ids.
func (q *queries) extendQuery(n int) string { return q.placeholders(list(q.extend, n)) }

// ackInQuery is q.ackIn with n ids and t tokens.
func (q *queries) ackInQuery(n, t int) string {
	return q.placeholders(list(list(q.ackIn, n)+" AND lease_token IN ", t))
}

// leaseInQuery is q.leaseIn with n ids (MySQL).
func (q *queries) leaseInQuery(n int) string { return q.placeholders(list(q.leaseIn, n)) }

// list completes stmt with a parenthesized list of n ? placeholders.
func list(stmt string, n int) string {
	var b strings.Builder
	b.WriteString(stmt)
	b.WriteString("(")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?")
	}
	b.WriteString(")")
	return b.String()
}

// placeholders turns the ? of a statement built with list into the
// dialect's placeholders.
func (q *queries) placeholders(stmt string) string {
	if q.dialect == Postgres {
		return dollars(stmt, 0)
	}
	return stmt
}

// driverName is the database/sql driver of d.
func driverName(d Dialect) string {
	switch d {
	case Postgres:
		return "pgx"
	case MySQL:
		return "mysql"
	}
	return "sqlite"
}
