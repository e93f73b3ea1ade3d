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
			err := probe(pctx, cfg, client)
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

// probe checks that client reaches the server kelp's keys live on: PING,
// or on a Cluster, where PING reaches some node, a read of a key in the
// prefix's slot, which the node serving it answers.
func probe(ctx context.Context, cfg Config, client goredis.UniversalClient) error {
	if cfg.cluster() {
		return client.Exists(ctx, cfg.GlobalKeyPrefix+UnackedKey).Err()
	}
	return client.Ping(ctx).Err()
}
