package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/conn"
	"golang.org/x/sync/semaphore"
)

// DefaultLimit is the number of connections of a pool whose
// [Config.Limit] is zero: Kombu's default pool limit.
const DefaultLimit = 10

// DefaultCloseTimeout bounds closing one connection the pool drops, when
// [Config.CloseTimeout] is zero.
const DefaultCloseTimeout = 10 * time.Second

// Dialer opens a new connection for the pool, bounded by ctx: typically
// a closure over [conn.DialConfig] or [conn.Open].
type Dialer func(ctx context.Context) (*conn.Connection, error)

// Config holds the settings of a [Pool]. The zero value works.
type Config struct {
	// Limit is the maximum number of connections, acquired or idle, the
	// pool holds at once. Zero means [DefaultLimit].
	Limit int

	// CloseTimeout bounds closing a connection the pool drops (a
	// [Conn.Replace], or one found closed). Zero means
	// [DefaultCloseTimeout].
	CloseTimeout time.Duration
}

// Validate reports every problem of c, joined, each matching
// [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	if c.Limit < 0 {
		errs = append(errs, fmt.Errorf("%w: negative limit %d", ErrInvalidConfig, c.Limit))
	}
	if c.CloseTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: negative close timeout %v", ErrInvalidConfig, c.CloseTimeout))
	}
	return errors.Join(errs...)
}

// Pool is a bounded pool of [conn.Connection]s, for spreading load over
// several broker connections (Kombu's connection pool). Connections are
// dialed lazily, on demand, and reused last-in first-out. See the package
// documentation for the contract.
//
// A Pool is safe for concurrent use.
type Pool struct {
	dial    Dialer
	limit   int
	timeout time.Duration
	sem     *semaphore.Weighted // one unit per acquired connection

	life   context.Context // cancelled by Close: wakes waiting Acquires
	cancel context.CancelFunc

	mu       sync.Mutex
	idle     []*conn.Connection // LIFO
	acquired int                // handed out and not yet given back
	closed   bool
	drained  chan struct{} // closed once closed and acquired is 0
}

// New returns a pool dialing connections with dial. It fails with
// [ErrInvalidConfig] when dial is nil or cfg is invalid.
func New(dial Dialer, cfg Config) (*Pool, error) {
	err := cfg.Validate()
	if dial == nil {
		err = errors.Join(err, fmt.Errorf("%w: nil dialer", ErrInvalidConfig))
	}
	if err != nil {
		return nil, err
	}
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	life, cancel := context.WithCancel(context.Background())
	return &Pool{
		dial:    dial,
		limit:   cfg.Limit,
		timeout: cfg.CloseTimeout,
		sem:     semaphore.NewWeighted(int64(cfg.Limit)),
		life:    life,
		cancel:  cancel,
		drained: make(chan struct{}),
	}, nil
}

// Acquire returns a connection of the pool, dialing a new one when none
// is idle, and waits while all Limit connections are acquired, until one
// is released, ctx ends (ctx's error) or the pool closes ([ErrClosed]).
// Release the connection with [Conn.Release] (or drop it with
// [Conn.Replace]) when done.
func (p *Pool) Acquire(ctx context.Context) (*Conn, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.life, cancel)
	defer stop()
	if err := p.sem.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pool: acquire: %w", context.Cause(ctx))
		}
		return nil, ErrClosed
	}
	return p.take(ctx)
}

// TryAcquire is [Pool.Acquire] without waiting for a slot: when all Limit
// connections are acquired it fails at once with [ErrLimitExceeded]
// (Kombu's acquire(block=False)). ctx still bounds dialing a new
// connection.
func (p *Pool) TryAcquire(ctx context.Context) (*Conn, error) {
	if p.life.Err() != nil {
		return nil, ErrClosed
	}
	if !p.sem.TryAcquire(1) {
		return nil, ErrLimitExceeded
	}
	return p.take(ctx)
}

// take hands out an idle live connection, or dials one, for a caller
// holding a semaphore unit.
func (p *Pool) take(ctx context.Context) (*Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.sem.Release(1)
		return nil, ErrClosed
	}
	p.acquired++
	var dead []*conn.Connection
	var c *conn.Connection
	for len(p.idle) > 0 && c == nil {
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if broken(last) {
			dead = append(dead, last)
		} else {
			c = last
		}
	}
	p.mu.Unlock()
	for _, d := range dead {
		p.closeConn(d)
	}
	if c == nil {
		var err error
		if c, err = p.dial(ctx); err != nil {
			p.giveBack()
			return nil, fmt.Errorf("pool: dial: %w", err)
		}
	}
	return &Conn{Connection: c, p: p}, nil
}

// broken reports whether c can no longer serve: it closed itself (its
// reconnect policy gave up) or was closed.
func broken(c *conn.Connection) bool {
	select {
	case <-c.Done():
		return true
	default:
		return c.State() == conn.StateClosing || c.State() == conn.StateClosed
	}
}

// put takes back a released connection: idle for reuse, or closed when
// it is defective or the pool is closing.
func (p *Pool) put(c *conn.Connection, replace bool) {
	p.mu.Lock()
	keep := !replace && !p.closed && !broken(c)
	if keep {
		p.idle = append(p.idle, c)
	}
	p.mu.Unlock()
	if !keep {
		p.closeConn(c)
	}
	p.giveBack()
}

// giveBack frees the slot of an acquired connection.
func (p *Pool) giveBack() {
	p.mu.Lock()
	p.acquired--
	if p.closed && p.acquired == 0 {
		close(p.drained)
	}
	p.mu.Unlock()
	p.sem.Release(1)
}

// closeConn closes a connection the pool drops, bounded by CloseTimeout.
func (p *Pool) closeConn(c *conn.Connection) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	_ = c.Close(ctx)
}

// Do acquires a connection, runs fn with it and releases it, replacing
// it instead when fn's error shows the connection is gone (it matches
// [conn.ErrClosed]); Kombu's pool-backed insured calls. It returns fn's
// error, or the acquire error.
func (p *Pool) Do(ctx context.Context, fn func(ctx context.Context, c *conn.Connection) error) error {
	pc, err := p.Acquire(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx, pc.Connection)
	if errors.Is(err, conn.ErrClosed) {
		pc.Replace()
	} else {
		pc.Release()
	}
	return err
}

// Stats is a snapshot of a pool's occupancy.
type Stats struct {
	// Limit is the pool's bound.
	Limit int
	// Acquired is the number of connections handed out and not given
	// back.
	Acquired int
	// Idle is the number of open connections waiting to be acquired.
	Idle int
}

// Stats returns the pool's occupancy. It never blocks on the pool's
// users.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Limit: p.limit, Acquired: p.acquired, Idle: len(p.idle)}
}

// Close closes the pool: new and waiting acquires fail with [ErrClosed]
// at once, idle connections are closed, and Close waits, bounded by ctx,
// until every acquired connection was given back (each is closed as it
// comes back). It returns ctx's error if some were still acquired when
// ctx ended, joined with the errors of closing idle connections. Close
// is idempotent; a later call waits the same way.
func (p *Pool) Close(ctx context.Context) error {
	p.cancel()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		if p.acquired == 0 {
			close(p.drained)
		}
	}
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var errs []error
	for _, c := range idle {
		if err := c.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pool: close connection: %w", err))
		}
	}
	select {
	case <-p.drained:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("pool: close: waiting for acquired connections: %w", context.Cause(ctx)))
	}
	return errors.Join(errs...)
}

// Conn is a connection acquired from a [Pool]. It embeds the
// [*conn.Connection], so every connection method is at hand. Give it back
// exactly once, with [Conn.Release] or [Conn.Replace]; later calls are
// no-ops. Do not Close the embedded connection: Replace it.
type Conn struct {
	*conn.Connection
	p    *Pool
	done atomic.Bool
}

// Release gives the connection back to the pool for reuse (a closed
// connection is dropped instead, and a new one dialed when needed).
func (c *Conn) Release() {
	if c.done.CompareAndSwap(false, true) {
		c.p.put(c.Connection, false)
	}
}

// Replace gives the connection back as defective: the pool closes it
// and dials a new one when needed (Kombu's replace).
func (c *Conn) Replace() {
	if c.done.CompareAndSwap(false, true) {
		c.p.put(c.Connection, true)
	}
}
