package sql

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	stdsql "database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

// UnreadableQueue is the queue name under which a claimed row that cannot
// be decoded (its meta column is not kelp's JSON) is moved aside: kept for
// inspection, never delivered and never retried. The control characters
// keep it apart from any AMQP queue name.
const UnreadableQueue = "\x06\x16kelp.unreadable"

// ErrCorruptRow is wrapped by the error logged for a row moved to
// [UnreadableQueue].
var ErrCorruptRow = errors.New("sql: corrupt message row")

// store is the [virtual.Backend] over one database (see the package
// documentation). One store serves every Conn of a Connector; its db is
// set while at least one Conn is live.
type store struct {
	cfg   Config
	q     *queries
	log   *slog.Logger
	owner string // this Connector's lease owner id
	ch    string // PostgreSQL NOTIFY channel

	db atomic.Pointer[stdsql.DB]
	// listening is set while the PostgreSQL listener is subscribed, so
	// waiters need only the safety poll.
	listening atomic.Bool
	// attempts counts claim attempts, for the tests of waiting.
	attempts atomic.Int64

	stmts stmtCache

	mu     sync.Mutex
	queues map[string]*qstate       // queues this process declared
	claims map[int64]struct{}       // live claims of this process, by row id
	wake   map[string]chan struct{} // per-queue wake-up, closed by notify
	// deleted holds the queues declared here and deleted since (until
	// declared again): a requeue to them drops the message.
	deleted map[string]struct{}
	// remote holds the queues to NOTIFY other processes about (PostgreSQL):
	// filled by Put and Requeue, emptied by the notifier, which kick wakes.
	remote map[string]struct{}
	kick   chan struct{}
}

// stmtCache holds the prepared hot-path statements of the current pool
// (database/sql prepares each again on every pool connection as needed):
// MySQL then runs a statement in one round trip instead of preparing,
// executing and closing it each time, and SQLite parses it once.
type stmtCache struct {
	mu sync.Mutex
	db *stdsql.DB
	m  map[string]*stdsql.Stmt
}

// prep returns the prepared statement of query on db.
func (s *store) prep(ctx context.Context, db *stdsql.DB, query string) (*stdsql.Stmt, error) {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != db {
		for _, st := range c.m {
			_ = st.Close()
		}
		c.db, c.m = db, make(map[string]*stdsql.Stmt)
	}
	if st := c.m[query]; st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

// exec runs a hot-path statement, prepared.
func (s *store) exec(ctx context.Context, db *stdsql.DB, query string, args ...any) (stdsql.Result, error) {
	st, err := s.prep(ctx, db, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs a hot-path query of one row, prepared, and scans it.
func (s *store) queryRow(ctx context.Context, db *stdsql.DB, query string, args []any, dst ...any) error {
	st, err := s.prep(ctx, db, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dst...)
}

// qstate is the local knowledge of a declared queue.
type qstate struct {
	maxPriority uint8
	deleted     atomic.Bool
}

// receipt is a claim's handle on its row.
type receipt struct {
	id, token int64
}

var (
	_ virtual.Backend         = (*store)(nil)
	_ virtual.Catalog         = (*store)(nil)
	_ virtual.ExchangeCatalog = (*store)(nil)
)

func newStore(cfg Config, log *slog.Logger) *store {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &store{
		cfg: cfg, q: newQueries(cfg.Dialect, cfg.TablePrefix), log: log,
		owner: hex.EncodeToString(b[:]), ch: cfg.TablePrefix + "wake",
		queues:  make(map[string]*qstate),
		claims:  make(map[int64]struct{}),
		wake:    make(map[string]chan struct{}),
		deleted: make(map[string]struct{}),
		remote:  make(map[string]struct{}),
		kick:    make(chan struct{}, 1),
	}
}

// errNoDB is the error of store calls while no Conn is live.
var errNoDB = errors.New("sql: not connected")

// sqldb returns the live pool.
func (s *store) sqldb() (*stdsql.DB, error) {
	if db := s.db.Load(); db != nil {
		return db, nil
	}
	return nil, errNoDB
}

// rank orders rows: the lowest rank is served first, so it is the
// priority inverted (the index is ascending on every database).
func (s *store) rank(queue string, p uint8) int {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	if q != nil {
		p = min(p, q.maxPriority)
	}
	return 255 - int(p)
}

// CreateQueue records the queue's options; the database keeps nothing
// for an empty queue.
func (s *store) CreateQueue(_ context.Context, queue string, opts virtual.QueueOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[queue]; q != nil && !q.deleted.Load() {
		return nil
	}
	s.queues[queue] = &qstate{maxPriority: opts.MaxPriority}
	delete(s.deleted, queue)
	return nil
}

// DeleteQueue forgets the queue and deletes its ready rows.
func (s *store) DeleteQueue(ctx context.Context, queue string) (int, error) {
	s.mu.Lock()
	if q := s.queues[queue]; q != nil {
		q.deleted.Store(true)
		delete(s.queues, queue)
		s.deleted[queue] = struct{}{}
	}
	s.mu.Unlock()
	s.notify(queue)
	return s.Purge(ctx, queue)
}

// Put inserts a row, wakes the waiters of this process and, on
// PostgreSQL, has the notifier tell the other processes.
func (s *store) Put(ctx context.Context, queue string, env *virtual.Envelope) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	m, err := encodeMeta(env)
	if err != nil {
		return err
	}
	body := env.Body
	if body == nil {
		body = []byte{}
	}
	var expires int64
	if !env.Expires.IsZero() {
		expires = env.Expires.UnixMilli()
	}
	if err := retryDeadlock(func() error {
		_, err := s.exec(ctx, db, s.q.put, queue, s.rank(queue, env.Priority), expires, m, body)
		return err
	}); err != nil {
		return fmt.Errorf("sql: put: %w", err)
	}
	s.notify(queue)
	s.notifyRemote(queue)
	return nil
}

// Fetch claims the next ready row; waiting, it sleeps until a wake-up
// (a Put or Requeue in this process, a NOTIFY on PostgreSQL) or a poll
// timer, backed off from 5 ms to PollInterval where nothing signals.
func (s *store) Fetch(ctx context.Context, queue string, wait bool) (virtual.Claim, error) {
	cls, err := s.fetch(ctx, queue, 1, wait, nil)
	if err != nil {
		return virtual.Claim{}, err
	}
	return cls[0], nil
}

// fetch is Fetch and FetchBatch: it claims up to max rows and appends them
// to dst.
func (s *store) fetch(ctx context.Context, queue string, max int, wait bool, dst []virtual.Claim) ([]virtual.Claim, error) {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	const minPoll = 5 * time.Millisecond
	backoff := minPoll
	for {
		if err := ctx.Err(); err != nil {
			return dst, err
		}
		if q != nil && q.deleted.Load() {
			return dst, virtual.ErrNoQueue
		}
		sig := s.signal(queue)
		// The claim runs to its end even when ctx ends meanwhile (a
		// cancelled statement may or may not have committed); a claim made
		// for a caller that has gone is released at once.
		n := len(dst)
		var err error
		if max == 1 {
			var cl virtual.Claim
			if cl, err = s.claim(context.WithoutCancel(ctx), queue); err == nil {
				dst = append(dst, cl)
			}
		} else {
			dst, err = s.claimBatch(context.WithoutCancel(ctx), queue, max, dst)
		}
		if err == nil && ctx.Err() != nil {
			var rerr error
			for i := n; i < len(dst); i++ {
				rerr = errors.Join(rerr, s.release(&dst[i]))
			}
			return dst[:n], errors.Join(ctx.Err(), rerr)
		}
		if err == nil || !errors.Is(err, virtual.ErrEmpty) || !wait {
			return dst, err
		}
		d := backoff
		if s.listening.Load() {
			d = s.cfg.PollInterval
		}
		backoff = min(2*backoff, s.cfg.PollInterval)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return dst, ctx.Err()
		case <-sig:
			t.Stop()
			backoff = minPoll
		case <-t.C:
		}
	}
}

// claim claims one row, moving unreadable rows aside on the way.
func (s *store) claim(ctx context.Context, queue string) (virtual.Claim, error) {
	db, err := s.sqldb()
	if err != nil {
		return virtual.Claim{}, err
	}
	for {
		s.attempts.Add(1)
		now := time.Now()
		token := randToken()
		leaseUntil := now.Add(s.cfg.VisibilityTimeout).UnixMilli()
		var (
			id, redelivered, expires int64
			metaText                 string
			body                     []byte
		)
		if s.cfg.Dialect == MySQL {
			err = s.claimTx(ctx, db, queue, now, leaseUntil, token, &id, &redelivered, &expires, &metaText, &body)
		} else {
			err = s.queryRow(ctx, db, s.q.claim, []any{leaseUntil, token, s.owner, queue, now.UnixMilli()},
				&id, &redelivered, &expires, &metaText, &body)
		}
		if errors.Is(err, stdsql.ErrNoRows) {
			return virtual.Claim{}, virtual.ErrEmpty
		}
		if err != nil {
			return virtual.Claim{}, fmt.Errorf("sql: claim: %w", err)
		}
		cl := virtual.Claim{Queue: queue, Receipt: receipt{id: id, token: token}}
		if err := decodeRow(&cl.Envelope, metaText, body, redelivered, expires); err != nil {
			s.log.Warn("sql: unreadable message moved aside", "queue", queue, "id", id, "err", err)
			if _, err := db.ExecContext(ctx, s.q.aside, UnreadableQueue, id); err != nil {
				return virtual.Claim{}, fmt.Errorf("sql: move unreadable row %d aside: %w", id, err)
			}
			continue
		}
		s.mu.Lock()
		s.claims[id] = struct{}{}
		s.mu.Unlock()
		return cl, nil
	}
}

// claimTx is MySQL's claim: a locking SELECT that skips rows other
// claimers hold, and an UPDATE of the lease, in one transaction.
func (s *store) claimTx(ctx context.Context, db *stdsql.DB, queue string, now time.Time, leaseUntil, token int64,
	id, redelivered, expires *int64, metaText *string, body *[]byte) error {
	lockRow, err := s.prep(ctx, db, s.q.lockRow)
	if err != nil {
		return err
	}
	lease, err := s.prep(ctx, db, s.q.lease)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, claimTxOptions)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var prevLease int64
	err = tx.StmtContext(ctx, lockRow).QueryRowContext(ctx, queue, now.UnixMilli()).
		Scan(id, &prevLease, redelivered, expires, metaText, body)
	if err != nil {
		return err
	}
	if prevLease > 0 {
		*redelivered = 1
	}
	if _, err := tx.StmtContext(ctx, lease).ExecContext(ctx, leaseUntil, token, s.owner, *id); err != nil {
		return err
	}
	return tx.Commit()
}

// forget drops a live claim from the lease extension.
func (s *store) forget(id int64) {
	s.mu.Lock()
	delete(s.claims, id)
	s.mu.Unlock()
}

// Ack deletes the row, if the claim still holds its lease.
func (s *store) Ack(ctx context.Context, cl *virtual.Claim) error {
	r, _ := cl.Receipt.(receipt)
	defer s.forget(r.id)
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, db, s.q.ack, r.id, r.token); err != nil {
		return fmt.Errorf("sql: ack: %w", err)
	}
	return nil
}

// Requeue clears the lease; the row keeps its id, hence its place at the
// head of its priority. A claim whose queue was deleted drops the row.
func (s *store) Requeue(ctx context.Context, cl *virtual.Claim) error {
	r, _ := cl.Receipt.(receipt)
	// Forgotten even on failure: the lease then runs out and the message
	// comes back by itself.
	defer s.forget(r.id)
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	s.mu.Lock()
	_, declared := s.queues[cl.Queue]
	s.mu.Unlock()
	if !declared && s.wasDeleted(cl.Queue) {
		if _, err := db.ExecContext(ctx, s.q.drop, r.id); err != nil {
			return fmt.Errorf("sql: requeue: %w", err)
		}
		return virtual.ErrNoQueue
	}
	if err := s.unlease(ctx, db, cl, r); err != nil {
		return err
	}
	s.notify(cl.Queue)
	s.notifyRemote(cl.Queue)
	return nil
}

// release gives a claim back as it was, without the notify and the queue
// checks of Requeue.
func (s *store) release(cl *virtual.Claim) error {
	r, _ := cl.Receipt.(receipt)
	defer s.forget(r.id)
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	if err := s.unlease(context.Background(), db, cl, r); err != nil {
		return err
	}
	s.notify(cl.Queue)
	return nil
}

// unlease clears the lease of a claim, storing its envelope as it now is.
func (s *store) unlease(ctx context.Context, db *stdsql.DB, cl *virtual.Claim, r receipt) error {
	m, err := encodeMeta(&cl.Envelope)
	if err != nil {
		return err
	}
	var red int64
	if cl.Envelope.Redelivered {
		red = 1
	}
	if _, err := s.exec(ctx, db, s.q.requeue, red, m, r.id, r.token); err != nil {
		return fmt.Errorf("sql: requeue: %w", err)
	}
	return nil
}

// wasDeleted reports whether queue was declared here and deleted since.
func (s *store) wasDeleted(queue string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.deleted[queue]
	return ok
}

// Purge deletes the ready rows of queue.
func (s *store) Purge(ctx context.Context, queue string) (int, error) {
	db, err := s.sqldb()
	if err != nil {
		return 0, err
	}
	res, err := db.ExecContext(ctx, s.q.purge, queue, time.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("sql: purge: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Len counts the ready rows of queue and their body bytes.
func (s *store) Len(ctx context.Context, queue string) (virtual.QueueLen, error) {
	db, err := s.sqldb()
	if err != nil {
		return virtual.QueueLen{}, err
	}
	var n, bytes int64
	if err := s.queryRow(ctx, db, s.q.length, []any{queue, time.Now().UnixMilli()}, &n, &bytes); err != nil {
		return virtual.QueueLen{}, fmt.Errorf("sql: len: %w", err)
	}
	return virtual.QueueLen{Messages: int(n), Bytes: bytes}, nil
}

// signal returns the channel closed by the next notify of queue.
func (s *store) signal(queue string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.wake[queue]
	if c == nil {
		c = make(chan struct{})
		s.wake[queue] = c
	}
	return c
}

// notify wakes the waiters of queue.
func (s *store) notify(queue string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.wake[queue]; c != nil {
		close(c)
		delete(s.wake, queue)
	}
}

// notifyRemote has the notifier (PostgreSQL) tell other processes that
// queue has a ready message.
func (s *store) notifyRemote(queues ...string) {
	if s.cfg.Dialect != Postgres {
		return
	}
	s.mu.Lock()
	for _, q := range queues {
		s.remote[q] = struct{}{}
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// takeRemote returns the queues marked by notifyRemote since the last call
// and their NOTIFY payloads: the owner id, ':', the queue name (so that
// the listener can skip the process's own notifications, whose waiters
// Put woke already).
func (s *store) takeRemote() (queues, payloads []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q := range s.remote {
		queues = append(queues, q)
		payloads = append(payloads, s.owner+":"+q)
	}
	clear(s.remote)
	return queues, payloads
}

// notifiedQueue reads a NOTIFY payload: the queue, and whether this
// Connector sent it. A payload without an owner id is a bare queue name.
func (s *store) notifiedQueue(payload string) (queue string, own bool) {
	if len(payload) > len(s.owner) && payload[len(s.owner)] == ':' {
		return payload[len(s.owner)+1:], payload[:len(s.owner)] == s.owner
	}
	return payload, false
}

// notifyAll wakes every waiter (after the listener missed notifications).
func (s *store) notifyAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, c := range s.wake {
		close(c)
		delete(s.wake, q)
	}
}

// extend renews the leases of this process's live claims.
func (s *store) extend(ctx context.Context) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	s.mu.Lock()
	ids := make([]any, 0, len(s.claims))
	for id := range s.claims {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	until := time.Now().Add(s.cfg.VisibilityTimeout).UnixMilli()
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		args := append([]any{until, s.owner}, ids[:n]...)
		if _, err := db.ExecContext(ctx, s.q.extendQuery(n), args...); err != nil {
			return fmt.Errorf("sql: extend leases: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// randToken is a random non-zero lease token.
func randToken() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
}

// bindingID is the primary key of a binding row.
func bindingID(exchange string, b virtual.Binding, args string) string {
	h := sha256.New()
	for _, s := range []string{exchange, b.Queue, b.Key, args} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// argsText is the stored form of binding arguments.
func argsText(t route.Table) (string, error) {
	if len(t) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("sql: encode binding arguments: %w", err)
	}
	return string(b), nil
}

// AddBinding records a binding row.
func (s *store) AddBinding(ctx context.Context, exchange string, b virtual.Binding) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	args, err := argsText(b.Args)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, s.q.addBinding, bindingID(exchange, b, args), exchange, b.Queue, b.Key, args); err != nil {
		return fmt.Errorf("sql: add binding: %w", err)
	}
	return nil
}

// RemoveBinding deletes a binding row.
func (s *store) RemoveBinding(ctx context.Context, exchange string, b virtual.Binding) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	args, err := argsText(b.Args)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, s.q.removeBinding, bindingID(exchange, b, args)); err != nil {
		return fmt.Errorf("sql: remove binding: %w", err)
	}
	return nil
}

// Bindings lists the binding rows of exchange. A row whose arguments do
// not decode is skipped (it could not have been written by kelp).
func (s *store) Bindings(ctx context.Context, exchange string) ([]virtual.Binding, error) {
	db, err := s.sqldb()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, s.q.listBindings, exchange)
	if err != nil {
		return nil, fmt.Errorf("sql: list bindings: %w", err)
	}
	defer rows.Close()
	var out []virtual.Binding
	for rows.Next() {
		var b virtual.Binding
		var args string
		if err := rows.Scan(&b.Queue, &b.Key, &args); err != nil {
			return nil, fmt.Errorf("sql: list bindings: %w", err)
		}
		if err := json.Unmarshal([]byte(args), &b.Args); err != nil {
			s.log.Warn("sql: binding with unreadable arguments ignored", "exchange", exchange, "queue", b.Queue, "err", err)
			continue
		}
		if len(b.Args) == 0 {
			b.Args = nil
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sql: list bindings: %w", err)
	}
	return out, nil
}

// PutExchange upserts an exchange declaration.
func (s *store) PutExchange(ctx context.Context, def route.Exchange) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	def.Passive = false
	b, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("sql: encode exchange: %w", err)
	}
	if _, err := db.ExecContext(ctx, s.q.putExchange, def.Name, string(b)); err != nil {
		return fmt.Errorf("sql: put exchange: %w", err)
	}
	return nil
}

// DeleteExchange deletes an exchange declaration.
func (s *store) DeleteExchange(ctx context.Context, name string) error {
	db, err := s.sqldb()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, s.q.deleteExchange, name); err != nil {
		return fmt.Errorf("sql: delete exchange: %w", err)
	}
	return nil
}

// Exchange reads an exchange declaration.
func (s *store) Exchange(ctx context.Context, name string) (route.Exchange, bool, error) {
	db, err := s.sqldb()
	if err != nil {
		return route.Exchange{}, false, err
	}
	var text string
	err = db.QueryRowContext(ctx, s.q.getExchange, name).Scan(&text)
	if errors.Is(err, stdsql.ErrNoRows) {
		return route.Exchange{}, false, nil
	}
	if err != nil {
		return route.Exchange{}, false, fmt.Errorf("sql: get exchange: %w", err)
	}
	var def route.Exchange
	if err := json.Unmarshal([]byte(text), &def); err != nil || def.Name != name || !def.Kind.Valid() {
		s.log.Warn("sql: unreadable exchange declaration ignored", "exchange", name, "err", err)
		return route.Exchange{}, false, nil
	}
	return def, true, nil
}
