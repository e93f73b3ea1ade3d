package redis

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

// maintainer is the goroutine that keeps the claims of this process fresh
// in unacked_index (so no visibility restore, by kelp or Kombu, takes a
// message from a live consumer) and restores the stale claims of dead
// processes. A Connector runs one while it has a live Conn.
type maintainer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// tick is how often the maintainer runs: often enough to refresh every
// claim three times per visibility timeout.
func (s *store) tick() time.Duration {
	return max(min(s.cfg.RestoreInterval, s.cfg.VisibilityTimeout/3), 10*time.Millisecond)
}

func startMaintainer(s *store) *maintainer {
	ctx, cancel := context.WithCancel(context.Background())
	m := &maintainer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(s.tick())
		defer t.Stop()
		lastRestore := time.Time{}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := s.refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("redis: refreshing claims failed", "err", err)
			}
			if err := s.restoreOrphans(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("redis: restoring claims whose reply was lost failed", "err", err)
			}
			if time.Since(lastRestore) >= s.cfg.RestoreInterval {
				lastRestore = time.Now()
				if _, err := s.restoreVisible(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("redis: visibility restore failed", "err", err)
				}
			}
		}
	}()
	return m
}

// stop ends the goroutine and waits for it.
func (m *maintainer) stop() {
	if m == nil {
		return
	}
	m.cancel()
	<-m.done
}

// refresh moves the delivery time of every live claim of this process to
// now (ZADD XX: a claim settled meanwhile is not re-added).
func (s *store) refresh(ctx context.Context) error {
	s.mu.Lock()
	if len(s.claims) == 0 {
		s.mu.Unlock()
		return nil
	}
	score := float64(time.Now().UnixMicro()) / 1e6
	zs := make([]goredis.Z, 0, len(s.claims))
	for tag := range s.claims {
		zs = append(zs, goredis.Z{Score: score, Member: tag})
	}
	s.mu.Unlock()
	c, err := s.rdb()
	if err != nil {
		return err
	}
	for len(zs) > 0 {
		n := min(len(zs), 1000)
		if err := c.ZAddXX(ctx, s.keys.key(UnackedIndexKey), zs[:n]...).Err(); err != nil {
			return err
		}
		zs = zs[n:]
	}
	return nil
}

// unlockScript deletes the mutex only if it still holds our token.
var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// restoreLimit bounds the claims one restore pass handles.
const restoreLimit = 1000

// restoreVisible restores claims older than the visibility timeout under
// unacked_mutex (which expires after [Config.UnackedMutexExpire], so a
// holder that died blocks restores only that long; a busy holder makes
// this pass restore nothing and return 0), as Kombu's restore_visible
// does, but to the queue each
// was claimed from (kelp's tag -> queue hash) when known, and otherwise,
// as Kombu does, to every queue the exchange routes its routing key to.
func (s *store) restoreVisible(ctx context.Context) (int, error) {
	c, err := s.rdb()
	if err != nil {
		return 0, err
	}
	token := newTag()
	mutex := s.keys.key(UnackedMutexKey)
	expire := s.cfg.UnackedMutexExpire
	ok, err := c.SetNX(ctx, mutex, token, expire).Result()
	if err != nil || !ok {
		return 0, err
	}
	defer unlockScript.Run(context.WithoutCancel(ctx), c, []string{mutex}, token)
	// The pass ends when the lock does: past that another process may be
	// restoring too (harmless, since each restore is conditional and
	// atomic, but no longer what the lock promises).
	deadline := time.Now().Add(expire)
	cutoff := float64(time.Now().Add(-s.cfg.VisibilityTimeout).UnixMicro()) / 1e6
	max := strconv.FormatFloat(cutoff, 'f', 6, 64)
	tags, err := c.ZRangeByScore(ctx, s.keys.key(UnackedIndexKey), &goredis.ZRangeBy{
		Min: "-inf", Max: max, Count: restoreLimit,
	}).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tag := range tags {
		if time.Now().After(deadline) {
			break
		}
		ok, err := s.restore(ctx, c, tag, max)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// restore puts one stale claim back, marked redelivered.
func (s *store) restore(ctx context.Context, c goredis.UniversalClient, tag, cutoff string) (bool, error) {
	vals, err := c.HMGet(ctx, s.keys.key(UnackedKey), tag).Result()
	if err != nil {
		return false, err
	}
	queue, _ := c.HGet(ctx, s.keys.key(ClaimQueueKey), tag).Result()
	raw, _ := vals[0].(string)
	var entry []json.RawMessage
	var env virtual.Envelope
	var exchange, key string
	if raw == "" || json.Unmarshal([]byte(raw), &entry) != nil || len(entry) != 3 ||
		json.Unmarshal(entry[1], &exchange) != nil || json.Unmarshal(entry[2], &key) != nil {
		// Gone meanwhile, or not Kombu's shape: drop the index entry only
		// when nothing is left to restore.
		if raw == "" {
			err := settleScript.Run(ctx, c, s.claimKeys(0), tag, "", cutoff).Err()
			return false, err
		}
		s.log.Warn("redis: cannot restore an unreadable unacked entry", "tag", tag)
		return false, nil
	}
	if _, err := decodeEnvelope(entry[0], &env); err != nil {
		s.log.Warn("redis: cannot restore an unreadable unacked message", "tag", tag, "err", err)
		return false, nil
	}
	env.Redelivered = true
	var queues []string
	switch {
	case queue != "":
		queues = []string{queue}
	case exchange == "":
		queues = []string{key}
	default:
		if queues, err = s.lookup(ctx, exchange, key, env.Headers); err != nil {
			return false, err
		}
	}
	if len(queues) == 0 {
		s.log.Warn("redis: no queue to restore an unacked message to", "tag", tag, "exchange", exchange)
		return false, nil
	}
	body, err := encodeEnvelope(&env, tag)
	if err != nil {
		return false, err
	}
	keys := s.claimKeys(len(queues))
	for _, q := range queues {
		keys = append(keys, s.listFor(q, &env))
	}
	res, err := settleScript.Run(ctx, c, keys, tag, body, cutoff).Int()
	return res == 1, err
}

// lookup returns the queues exchange routes key to, by the bindings in
// Redis, as a Kombu restore does.
func (s *store) lookup(ctx context.Context, exchange, key string, headers route.Table) ([]string, error) {
	rows, err := s.Bindings(ctx, exchange)
	if err != nil {
		return nil, err
	}
	r, err := route.NewRouter(s.kind(ctx, exchange))
	if err != nil {
		return nil, errors.New("redis: unknown exchange kind")
	}
	var out []string
	for _, b := range rows {
		if b.Match != nil {
			if b.Match(key) {
				out = append(out, b.Queue)
			}
			continue
		}
		_, _ = r.Bind(b.Key, b.Args, b.Queue)
	}
	for _, q := range r.Route(key, headers, nil) {
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out, nil
}
