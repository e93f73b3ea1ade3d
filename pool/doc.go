// Package pool is a bounded pool of kelp connections, Kombu's connection
// pool: for spreading load over several broker connections with a limit.
//
//	p, err := pool.New(func(ctx context.Context) (*conn.Connection, error) {
//		return conn.Dial(ctx, "amqp://guest:guest@localhost:5672//")
//	}, pool.Config{Limit: 4})
//	...
//	defer p.Close(ctx)
//	c, err := p.Acquire(ctx) // waits while all 4 are in use
//	...
//	err = c.Producer().Publish(ctx, job)
//	c.Release()
//
// Most programs need no pool: one [conn.Connection] is safe for
// concurrent use and pools its broker channels itself (see
// [conn.Config.PublishChannels]). A pool helps when one TCP connection is
// the bottleneck.
//
// # Acquiring
//
// [Pool.Acquire] hands out an idle connection (the most recently
// released first) or dials a new one while fewer than [Config.Limit]
// exist; at the limit it waits until one is given back, its ctx ends, or
// the pool closes. [Pool.TryAcquire] fails at once with
// [ErrLimitExceeded] instead of waiting. [Pool.Do] runs a function with
// an acquired connection.
//
// Each [Conn] is given back exactly once: [Conn.Release] for reuse, or
// [Conn.Replace] when it is defective, which closes it; the next acquire
// dials a new one. kelp connections heal themselves, so a connection is
// broken only once it closed (its reconnect policy gave up, or someone
// closed it): such connections are dropped on release and skipped when
// idle, and replaced by new ones.
//
// # Ownership and concurrency
//
// A [Pool] is safe for concurrent use and starts no goroutines; the
// connections it dials own theirs. The pool owns its connections: do not
// close an acquired one, Replace it. [Pool.Close] makes new and waiting
// acquires fail with [ErrClosed], closes the idle connections, and waits,
// bounded by its ctx, until every acquired connection has been given back
// (and closes each as it comes back).
//
// # Errors
//
// [ErrLimitExceeded], [ErrClosed], [ErrInvalidConfig]; the Dialer's
// errors and ctx's errors are wrapped with %w.
package pool
