package redis

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// heartbeat is the goroutine that checks, every HealthCheckInterval, that
// the live client still reaches Redis, so that Conns with nothing to do
// (no consumer blocked in Redis, no publish) notice a dead or hung server
// instead of finding out at their next call. A Connector runs one, next to
// its maintainer, while it has a live Conn; release stops it.
type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startHeartbeat starts the check of client, or returns nil when cfg
// turns it off. A failed check calls kill with an error saying why; the
// checks go on (a Conn that joined the session since is checked too).
func startHeartbeat(cfg Config, client goredis.UniversalClient, log *slog.Logger, kill func(error)) *heartbeat {
	if cfg.NoHealthCheck {
		return nil
	}
	// A dead server refuses at once; a hung one accepts the connection
	// (the kernel does) and never answers, which the read timeout bounds.
	// The dial timeout covers a server whose host is gone.
	timeout := cmp.Or(cfg.SocketTimeout, 3*time.Second) + cmp.Or(cfg.SocketConnectTimeout, 5*time.Second)
	ping := func(ctx context.Context) error { return client.Ping(ctx).Err() }
	if cfg.cluster() {
		// PING reaches some node; every key of kelp's lives on the node
		// that serves the prefix's slot, so ask that one.
		key := cfg.GlobalKeyPrefix + UnackedKey
		ping = func(ctx context.Context) error { return client.Exists(ctx, key).Err() }
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &heartbeat{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(cfg.HealthCheckInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, timeout)
			err := ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				log.Warn("redis: health check failed; dropping the connections", "err", err)
				kill(fmt.Errorf("redis: health check: %w", err))
			}
		}
	}()
	return h
}

// stop ends the goroutine and waits for it.
func (h *heartbeat) stop() {
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
}
