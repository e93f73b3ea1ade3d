package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/transports/virtual"
)

// store is the [virtual.Backend] over Redis in Kombu's layout (see the
// package documentation). One store serves every Conn of a Connector; its
// client is set while at least one Conn is live.
type store struct {
	cfg  Config
	log  *slog.Logger
	keys keys

	client atomic.Pointer[liveClient]

	mu     sync.Mutex
	queues map[string]*qstate // queues this process declared
	claims map[string]string  // live claims of this process: tag -> queue
	kinds  map[string]string  // exchange kinds this process knows
	// orphans are tags of claims whose reply was lost.
	orphans []string

	fanout fanoutState
}

// qstate is the local knowledge of a declared queue.
type qstate struct {
	maxPriority uint8
	deleted     atomic.Bool
}

var (
	_ virtual.Backend         = (*store)(nil)
	_ virtual.Catalog         = (*store)(nil)
	_ virtual.ExchangeCatalog = (*store)(nil)
)

func newStore(cfg Config, log *slog.Logger) *store {
	return &store{
		cfg: cfg, log: log, keys: keys{prefix: cfg.GlobalKeyPrefix, steps: cfg.PrioritySteps},
		queues: make(map[string]*qstate),
		claims: make(map[string]string),
		kinds:  make(map[string]string),
		fanout: fanoutState{bound: make(map[string]map[string]int), subs: make(map[string]*subscription)},
	}
}

// errNoClient is the error of store calls while no Conn is live.
var errNoClient = errors.New("redis: not connected")

// rdb returns the live client.
func (s *store) rdb() (goredis.UniversalClient, error) {
	if c := s.client.Load(); c != nil {
		return c.UniversalClient, nil
	}
	return nil, errNoClient
}

// liveClient holds the client of a live store: a single server's, a
// Sentinel-managed master's or a Cluster's, all behind one interface.
type liveClient struct{ goredis.UniversalClient }

// keys builds prefixed key names.
type keys struct {
	prefix string
	steps  []int
}

func (k keys) key(name string) string { return k.prefix + name }

// stepKey is the list of queue at priority step (Kombu's _q_for_pri).
func (k keys) stepKey(queue string, step int) string {
	if step == 0 {
		return k.prefix + queue
	}
	return k.prefix + queue + Sep + strconv.Itoa(step)
}

// all returns the keys of every step of queue, step 0 first.
func (k keys) all(queue string) []string {
	out := make([]string, len(k.steps))
	for i, s := range k.steps {
		out[i] = k.stepKey(queue, s)
	}
	return out
}

// step returns the largest step not above Kombu priority p.
func (k keys) step(p int) int {
	st := 0
	for _, s := range k.steps {
		if s <= p {
			st = s
		}
	}
	return st
}

// listFor returns the list a message of env goes to in queue: the bare
// key for a queue declared here without priorities; otherwise the step of
// its Kombu priority (clamped to the queue's maximum when declared here),
// as Kombu places it.
func (s *store) listFor(queue string, env *virtual.Envelope) string {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	p := env.Priority
	if q != nil {
		if q.maxPriority == 0 {
			return s.keys.stepKey(queue, 0)
		}
		p = min(p, q.maxPriority)
	}
	return s.keys.stepKey(queue, s.keys.step(kombuPriority(p)))
}

// CreateQueue records the queue's options. Redis itself keeps nothing for
// an empty queue (Kombu writes nothing on declare either).
func (s *store) CreateQueue(_ context.Context, queue string, opts virtual.QueueOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[queue]; q != nil && !q.deleted.Load() {
		return nil
	}
	s.queues[queue] = &qstate{maxPriority: opts.MaxPriority}
	return nil
}

// DeleteQueue removes every step list of queue.
func (s *store) DeleteQueue(ctx context.Context, queue string) (int, error) {
	s.mu.Lock()
	if q := s.queues[queue]; q != nil {
		q.deleted.Store(true)
		delete(s.queues, queue)
	}
	s.mu.Unlock()
	return s.Purge(ctx, queue)
}

// Put is LPUSH of the envelope, with a fresh delivery tag.
func (s *store) Put(ctx context.Context, queue string, env *virtual.Envelope) error {
	c, err := s.rdb()
	if err != nil {
		return err
	}
	raw, err := encodeEnvelope(env, newTag())
	if err != nil {
		return err
	}
	return c.LPush(ctx, s.listFor(queue, env), raw).Err()
}

// claimScript pops the oldest element of the first non-empty step list and
// records it as unacknowledged in the same atomic step: unacked (Kombu's
// [envelope, exchange, routing_key]), unacked_index (scored by delivery
// time) and kelp's tag -> queue hash. Elements that are not an envelope go
// to the unreadable list.
//
// The claim is recorded under the caller's fresh tag, not the envelope's
// delivery_tag (Kombu keys unacked by whatever tag it restores by, so
// this is compatible): the caller knows the tag even when the reply is
// lost, and copies of one broadcast never share a tag.
//
// KEYS: unacked, unacked_index, claim queue hash, unreadable, step lists.
// ARGV: now, claim tag, queue name.
var claimScript = goredis.NewScript(`
for i = 5, #KEYS do
  while true do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    local ok, msg = pcall(cjson.decode, raw)
    if ok and type(msg) == 'table' and type(msg['properties']) == 'table' then
      local props = msg['properties']
      local tag = ARGV[2]
      local ex, rk = '', ''
      local di = props['delivery_info']
      if type(di) == 'table' then
        if type(di['exchange']) == 'string' then ex = di['exchange'] end
        if type(di['routing_key']) == 'string' then rk = di['routing_key'] end
      end
      redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
      redis.call('ZADD', KEYS[2], ARGV[1], tag)
      redis.call('HSET', KEYS[3], tag, ARGV[3])
      return {raw, tag}
    end
    redis.call('LPUSH', KEYS[4], raw)
  end
end
return false
`)

// settleScript settles a claim: it forgets the claim and, when ARGV[2] is
// not empty, pushes that envelope to the consuming end of every target
// list, only if the claim was still recorded (so a claim restored by
// someone else meanwhile is not pushed twice). With a cutoff in ARGV[3]
// it does nothing to a claim refreshed after it (a visibility restore).
// It returns 1 when it settled a recorded claim, 0 when the claim was gone
// and -1 when it was refreshed.
//
// KEYS: unacked, unacked_index, claim queue hash, target lists.
// ARGV: tag, envelope or "", cutoff or "".
var settleScript = goredis.NewScript(`
if ARGV[3] ~= '' then
  local sc = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if sc and tonumber(sc) > tonumber(ARGV[3]) then return -1 end
end
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if n == 1 and ARGV[2] ~= '' then
  for i = 4, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[2]) end
end
return n
`)

// claimKeys are the fixed keys of claimScript and settleScript.
func (s *store) claimKeys(extra int) []string {
	k := make([]string, 3, 4+extra)
	k[0], k[1], k[2] = s.keys.key(UnackedKey), s.keys.key(UnackedIndexKey), s.keys.key(ClaimQueueKey)
	return k
}

// now is the current time in Kombu's unacked_index score format.
func now() string { return strconv.FormatFloat(float64(time.Now().UnixMicro())/1e6, 'f', 6, 64) }

// Fetch claims the next message with claimScript; waiting, it blocks with
// BLMOVE of the bare list onto itself (a no-op that returns when the list
// has an element) for at most PollInterval, then claims again.
func (s *store) Fetch(ctx context.Context, queue string, wait bool) (virtual.Claim, error) {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	lists := s.keys.all(queue)
	keys := append(s.claimKeys(len(lists)), s.keys.key(UnreadableKey))
	keys = append(keys, lists...)
	for {
		c, err := s.rdb()
		if err != nil {
			return virtual.Claim{}, err
		}
		if err := ctx.Err(); err != nil {
			return virtual.Claim{}, err
		}
		if q != nil && q.deleted.Load() {
			return virtual.Claim{}, virtual.ErrNoQueue
		}
		tag := newTag()
		res, err := claimScript.Run(ctx, c, keys, now(), tag, queue).Slice()
		switch {
		case err == nil:
			return s.claimed(queue, res)
		case !errors.Is(err, goredis.Nil):
			var rerr goredis.Error
			if !errors.As(err, &rerr) {
				// The reply was lost (a cut connection, a cancelled
				// ctx): the script may have claimed a message under
				// tag. The maintainer puts it back.
				s.orphan(tag)
			}
			return virtual.Claim{}, err
		case !wait:
			return virtual.Claim{}, virtual.ErrEmpty
		}
		if q != nil && q.maxPriority > 0 {
			// Messages land on several lists; BLMOVE watches one.
			t := time.NewTimer(s.cfg.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return virtual.Claim{}, ctx.Err()
			case <-t.C:
			}
			continue
		}
		// go-redis's BLMove rounds timeouts up to a second; Redis takes
		// fractions.
		timeout := strconv.FormatFloat(s.cfg.PollInterval.Seconds(), 'f', 3, 64)
		err = c.Do(ctx, "BLMOVE", lists[0], lists[0], "RIGHT", "RIGHT", timeout).Err()
		if err != nil && !errors.Is(err, goredis.Nil) {
			if ctx.Err() != nil {
				return virtual.Claim{}, ctx.Err()
			}
			return virtual.Claim{}, err
		}
	}
}

// claimed decodes claimScript's result and remembers the live claim.
func (s *store) claimed(queue string, res []any) (virtual.Claim, error) {
	raw, _ := res[0].(string)
	tag, _ := res[1].(string)
	cl := virtual.Claim{Queue: queue, Receipt: tag}
	if _, err := decodeEnvelope([]byte(raw), &cl.Envelope); err != nil {
		// The claim script checked the shape; a body that is not base64
		// still cannot be delivered. Keep it claimed (restorable) and say
		// why.
		s.log.Warn("redis: undeliverable message left in unacked", "queue", queue, "tag", tag, "err", err)
		return virtual.Claim{}, fmt.Errorf("%w (tag %s)", err, tag)
	}
	s.mu.Lock()
	s.claims[tag] = queue
	s.mu.Unlock()
	return cl, nil
}

// orphan records the tag of a claim that may exist in Redis although its
// reply was lost.
func (s *store) orphan(tag string) {
	s.mu.Lock()
	s.orphans = append(s.orphans, tag)
	s.mu.Unlock()
}

// restoreOrphans puts the claims of lost replies back in their queues,
// marked redelivered (those that exist: most lost replies claimed
// nothing).
func (s *store) restoreOrphans(ctx context.Context) error {
	s.mu.Lock()
	tags := s.orphans
	s.orphans = nil
	s.mu.Unlock()
	if len(tags) == 0 {
		return nil
	}
	c, err := s.rdb()
	for i, tag := range tags {
		if err == nil {
			_, err = s.restore(ctx, c, tag, "")
		}
		if err != nil {
			s.mu.Lock()
			s.orphans = append(s.orphans, tags[i:]...)
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// forget drops a live claim.
func (s *store) forget(tag string) {
	s.mu.Lock()
	delete(s.claims, tag)
	s.mu.Unlock()
}

// Ack forgets the claim in Redis (Kombu's ack: HDEL unacked, ZREM
// unacked_index).
func (s *store) Ack(ctx context.Context, cl *virtual.Claim) error {
	tag, _ := cl.Receipt.(string)
	c, err := s.rdb()
	if err != nil {
		return err
	}
	if err := settleScript.Run(ctx, c, s.claimKeys(0), tag, "", "").Err(); err != nil {
		return s.settleFailed(tag, err)
	}
	s.forget(tag)
	return nil
}

// settleFailed handles a settle whose script failed. When the reply was
// lost (a killed or cut connection, not a Redis error), the claim may
// still be recorded; it must not stay among the live claims, refreshed
// forever and so never restored while this process lives: it becomes an
// orphan, which the maintainer restores (a no-op when the script ran).
func (s *store) settleFailed(tag string, err error) error {
	var rerr goredis.Error
	if !errors.As(err, &rerr) {
		s.forget(tag)
		s.orphan(tag)
	}
	return err
}

// Requeue pushes the envelope (as it now is, marked redelivered) back to
// the consuming end of its list and forgets the claim, atomically.
func (s *store) Requeue(ctx context.Context, cl *virtual.Claim) error {
	tag, _ := cl.Receipt.(string)
	c, err := s.rdb()
	if err != nil {
		return err
	}
	raw, err := encodeEnvelope(&cl.Envelope, tag)
	if err != nil {
		return err
	}
	keys := append(s.claimKeys(1), s.listFor(cl.Queue, &cl.Envelope))
	if err := settleScript.Run(ctx, c, keys, tag, raw, "").Err(); err != nil {
		return s.settleFailed(tag, err)
	}
	s.forget(tag)
	return nil
}

// purgeScript deletes lists and returns how many elements they held.
var purgeScript = goredis.NewScript(`
local n = 0
for i = 1, #KEYS do
  n = n + redis.call('LLEN', KEYS[i])
  redis.call('DEL', KEYS[i])
end
return n
`)

// Purge deletes every step list of queue.
func (s *store) Purge(ctx context.Context, queue string) (int, error) {
	c, err := s.rdb()
	if err != nil {
		return 0, err
	}
	n, err := purgeScript.Run(ctx, c, s.keys.all(queue)).Int()
	return n, err
}

// Len sums LLEN over the step lists. Redis cannot count body bytes
// cheaply, so Bytes is -1.
func (s *store) Len(ctx context.Context, queue string) (virtual.QueueLen, error) {
	c, err := s.rdb()
	if err != nil {
		return virtual.QueueLen{}, err
	}
	lists := s.keys.all(queue)
	cmds := make([]*goredis.IntCmd, len(lists))
	_, err = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, l := range lists {
			cmds[i] = p.LLen(ctx, l)
		}
		return nil
	})
	if err != nil {
		return virtual.QueueLen{}, err
	}
	n := 0
	for _, cmd := range cmds {
		n += int(cmd.Val())
	}
	return virtual.QueueLen{Messages: n, Bytes: -1}, nil
}
