package conn

import (
	"context"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// QueueDeleteOptions are the conditions of [Connection.QueueDelete].
type QueueDeleteOptions = transports.QueueDeleteOptions

// ctlCall runs fn with the session's control channel.
func ctlCall[R any](ctx context.Context, c *Connection, fn func(ctx context.Context, ch transports.Channel) (R, error)) (R, error) {
	ch, err := c.sessionChannel(ctx, slotCtl)
	if err != nil {
		var zero R
		return zero, err
	}
	return chanCall(ctx, ch, fn)
}

// Declare declares each entity (a [route.Exchange], or a [route.Queue]
// with the exchanges of its bindings and the bindings), in order, and
// remembers it: after every reconnect kelp declares it again before
// consumers resume. Entities with NoDeclare (and the default and "amq."
// exchanges) are skipped; passive ones are only checked, never
// remembered. An invalid definition fails with the route package's error
// before anything is sent.
func (c *Connection) Declare(ctx context.Context, entities ...Entity) error {
	for _, e := range entities {
		if err := validateEntity(e); err != nil {
			return err
		}
	}
	for _, e := range entities {
		var err error
		switch v := e.(type) {
		case route.Exchange:
			err = c.declareExchange(ctx, v)
		case route.Queue:
			_, err = c.DeclareQueue(ctx, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// declareExchange declares ex and records it for replay.
func (c *Connection) declareExchange(ctx context.Context, ex route.Exchange) error {
	if !ex.ShouldDeclare() {
		return nil
	}
	ch, err := c.sessionChannel(ctx, slotCtl)
	if err != nil {
		return err
	}
	var undo func()
	if err := c.do(ctx, func() { undo = c.topo.addExchange(ex) }); err != nil {
		return err
	}
	_, err = chanCall(ctx, ch, func(ctx context.Context, tch transports.Channel) (struct{}, error) {
		return struct{}{}, tch.ExchangeDeclare(ctx, ex)
	})
	if err != nil && classify(err) == classPermanent {
		_ = c.do(context.WithoutCancel(ctx), undo)
	}
	return err
}

// DeclareQueue declares q like [Connection.Declare] and reports the
// broker's answer; for a server-named queue (Name "") that includes the
// name the broker chose. kelp keeps track of that name across reconnects
// for the consumers it runs.
func (c *Connection) DeclareQueue(ctx context.Context, q route.Queue) (QueueInfo, error) {
	_, info, err := c.declareQueue(ctx, q)
	return info, err
}

// declareQueue declares q and returns its replay record.
func (c *Connection) declareQueue(ctx context.Context, q route.Queue) (*queueRecord, QueueInfo, error) {
	n, err := q.Normalize()
	if err != nil {
		return nil, QueueInfo{}, err
	}
	ch, err := c.sessionChannel(ctx, slotCtl)
	if err != nil {
		return nil, QueueInfo{}, err
	}
	var rec *queueRecord
	var undo func()
	if err := c.do(ctx, func() { rec, undo = c.topo.addQueue(n) }); err != nil {
		return nil, QueueInfo{}, err
	}
	info, err := chanCall(ctx, ch, func(ctx context.Context, tch transports.Channel) (QueueInfo, error) {
		return declareQueueOn(ctx, tch, n)
	})
	if err != nil {
		if classify(err) == classPermanent {
			_ = c.do(context.WithoutCancel(ctx), undo)
		}
		return nil, QueueInfo{}, err
	}
	if n.Name == "" {
		rec.name.Store(&info.Name)
	}
	return rec, info, nil
}

// MaybeDeclare declares e unless an identical definition (same
// [route.Queue.Key] or [route.Exchange.Key]) was already declared on the
// current connection; Kombu's maybe_declare, but keyed by the full
// definition rather than the name. Entities that may vanish by themselves
// (auto-delete, exclusive, expiring) are declared every time. The cache is
// cleared on every reconnect.
func (c *Connection) MaybeDeclare(ctx context.Context, e Entity) error {
	if err := validateEntity(e); err != nil {
		return err
	}
	if !e.ShouldDeclare() {
		return nil
	}
	key := e.Key()
	cacheable := e.CanCache()
	if cacheable {
		var hit bool
		if err := c.do(ctx, func() { _, hit = c.declared[key] }); err != nil {
			return err
		}
		if hit {
			return nil
		}
	}
	epoch := c.Epoch()
	if err := c.Declare(ctx, e); err != nil {
		return err
	}
	if cacheable {
		return c.do(ctx, func() {
			if c.epoch.Load() == epoch {
				c.declared[key] = struct{}{}
			}
		})
	}
	return nil
}

// QueuePurge removes every ready message of the named queue and returns
// how many it removed. A missing queue fails with [ErrNotFound].
func (c *Connection) QueuePurge(ctx context.Context, name string) (int, error) {
	return ctlCall(ctx, c, func(ctx context.Context, tch transports.Channel) (int, error) {
		return tch.QueuePurge(ctx, name)
	})
}

// QueueDelete deletes the named queue and forgets it (it is no longer
// replayed), returning how many ready messages it held. Deleting a missing
// queue succeeds with 0.
func (c *Connection) QueueDelete(ctx context.Context, name string, opts QueueDeleteOptions) (int, error) {
	n, err := ctlCall(ctx, c, func(ctx context.Context, tch transports.Channel) (int, error) {
		return tch.QueueDelete(ctx, name, opts)
	})
	if err == nil {
		err = c.do(ctx, func() {
			c.topo.removeQueue(name)
			clear(c.declared)
		})
	}
	return n, err
}

// ExchangeDelete deletes the named exchange and forgets it and the
// bindings to it. With ifUnused it fails with [ErrPreconditionFailed]
// while the exchange has bindings.
func (c *Connection) ExchangeDelete(ctx context.Context, name string, ifUnused bool) error {
	_, err := ctlCall(ctx, c, func(ctx context.Context, tch transports.Channel) (struct{}, error) {
		return struct{}{}, tch.ExchangeDelete(ctx, name, ifUnused)
	})
	if err == nil {
		err = c.do(ctx, func() {
			c.topo.removeExchange(name)
			clear(c.declared)
		})
	}
	return err
}

// Ensure runs fn, and runs it again under policy when it fails with a
// retryable error (connection lost, channel closed, confirm lost, a
// temporary broker error), waiting for the connection to be back before
// each retry: Kombu's ensure and autoretry. Permanent errors (a missing
// queue, an invalid option, ctx's end) are returned at once; after the
// last retry the last error is.
func (c *Connection) Ensure(ctx context.Context, policy RetryPolicy, fn func(ctx context.Context) error) error {
	limit := policy.maxRetries()
	for retry := 1; ; retry++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		class := classify(err)
		if class == classPermanent || ctx.Err() != nil || (limit >= 0 && retry > limit) {
			return err
		}
		delay := policy.interval(retry)
		if policy.OnRetry != nil {
			policy.OnRetry(err, retry, delay)
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		if _, err := c.awaitSession(ctx, 0, false); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}
