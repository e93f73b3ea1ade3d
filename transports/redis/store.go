package redis

import (
	"context"
	"errors"
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
	// bindings caches each exchange's binding listing for bindingsTTL;
	// bindingsGen counts this process's binding changes, so that a
	// listing read across one is not cached.
	bindings    map[string]cachedBindings
	bindingsGen uint64
	bindingsTTL time.Duration
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
	_ virtual.BatchPutter     = (*store)(nil)
	_ virtual.BatchFetcher    = (*store)(nil)
	_ virtual.BatchAcker      = (*store)(nil)
)

func newStore(cfg Config, log *slog.Logger) *store {
	return &store{
		cfg: cfg, log: log, keys: keys{prefix: cfg.GlobalKeyPrefix, steps: cfg.PrioritySteps},
		queues:   make(map[string]*qstate),
		claims:   make(map[string]string),
		kinds:    make(map[string]string),
		bindings: make(map[string]cachedBindings), bindingsTTL: bindingsTTL,
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

// PutBatch is one pipeline of LPUSHes: one per list, with the envelopes
// bound for it in publish order (LPUSH of several values pushes them one
// after the other, so consumers take them in that order).
func (s *store) PutBatch(ctx context.Context, puts []virtual.Put) error {
	c, err := s.rdb()
	if err != nil {
		return err
	}
	type list struct {
		key  string
		vals []any
	}
	var lists []list
	for i := range puts {
		p := &puts[i]
		raw, err := encodeEnvelope(&p.Envelope, newTag())
		if err != nil {
			p.Err = err
			continue
		}
		key := s.listFor(p.Queue, &p.Envelope)
		j := len(lists) - 1
		for j >= 0 && lists[j].key != key {
			j--
		}
		if j < 0 {
			lists = append(lists, list{key: key})
			j = len(lists) - 1
		}
		lists[j].vals = append(lists[j].vals, raw)
	}
	if len(lists) == 0 {
		return nil
	}
	_, err = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, l := range lists {
			p.LPush(ctx, l.key, l.vals...)
		}
		return nil
	})
	return err
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

// claimScript pops up to one element per tag in ARGV, oldest first from
// the first non-empty step list on, and records each as unacknowledged in
// the same atomic step: unacked (Kombu's [envelope, exchange,
// routing_key]), unacked_index (scored by delivery time) and kelp's tag ->
// queue hash. Elements that are not an envelope go to the unreadable
// list. It returns {envelope, tag, envelope, tag, ...}, or false when
// nothing was claimed.
//
// Each claim is recorded under a fresh tag the caller chose, not the
// envelope's delivery_tag (Kombu keys unacked by whatever tag it restores
// by, so this is compatible): the caller knows the tags even when the
// reply is lost, and copies of one broadcast never share a tag.
//
// KEYS: unacked, unacked_index, claim queue hash, unreadable, step lists.
// ARGV: now, queue name, claim tags.
var claimScript = goredis.NewScript(`
local want = #ARGV - 2
local out, rec, idx, cq = {}, {}, {}, {}
local n = 0
for i = 5, #KEYS do
  while n < want do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    local ok, msg = pcall(cjson.decode, raw)
    if ok and type(msg) == 'table' and type(msg['properties']) == 'table' then
      local props = msg['properties']
      n = n + 1
      local tag = ARGV[2 + n]
      local ex, rk = '', ''
      local di = props['delivery_info']
      if type(di) == 'table' then
        if type(di['exchange']) == 'string' then ex = di['exchange'] end
        if type(di['routing_key']) == 'string' then rk = di['routing_key'] end
      end
      rec[#rec + 1] = tag
      rec[#rec + 1] = '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']'
      idx[#idx + 1] = ARGV[1]
      idx[#idx + 1] = tag
      cq[#cq + 1] = tag
      cq[#cq + 1] = ARGV[2]
      out[#out + 1] = raw
      out[#out + 1] = tag
    else
      redis.call('LPUSH', KEYS[4], raw)
    end
  end
end
if n == 0 then return false end
redis.call('HSET', KEYS[1], unpack(rec))
redis.call('ZADD', KEYS[2], unpack(idx))
redis.call('HSET', KEYS[3], unpack(cq))
return out
`)

// unreadableScript moves a claimed element that cannot be delivered (its
// JSON is an envelope, but its body is not the base64 it says) from
// unacked to the unreadable list, if the claim is still recorded.
//
// KEYS: unacked, unacked_index, claim queue hash, unreadable.
// ARGV: tag, element.
var unreadableScript = goredis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('LPUSH', KEYS[4], ARGV[2])
end
return 1
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

// Fetch claims the next message: FetchBatch of one.
func (s *store) Fetch(ctx context.Context, queue string, wait bool) (virtual.Claim, error) {
	var one [1]virtual.Claim
	cs, err := s.FetchBatch(ctx, queue, 1, wait, one[:0])
	if err != nil {
		return virtual.Claim{}, err
	}
	return cs[0], nil
}

// FetchBatch claims up to max messages with one claimScript call; waiting,
// it blocks with BLMOVE of the bare list onto itself (a no-op that returns
// when the list has an element) for at most PollInterval, then claims
// again.
func (s *store) FetchBatch(ctx context.Context, queue string, limit int, wait bool, dst []virtual.Claim) ([]virtual.Claim, error) {
	s.mu.Lock()
	q := s.queues[queue]
	s.mu.Unlock()
	lists := s.keys.all(queue)
	keys := append(s.claimKeys(len(lists)), s.keys.key(UnreadableKey))
	keys = append(keys, lists...)
	limit = min(max(limit, 1), maxClaimBatch)
	args := make([]any, 2, 2+limit)
	for {
		c, err := s.rdb()
		if err != nil {
			return dst, err
		}
		if err := ctx.Err(); err != nil {
			return dst, err
		}
		if q != nil && q.deleted.Load() {
			return dst, virtual.ErrNoQueue
		}
		args = args[:2]
		args[0], args[1] = now(), queue
		for range limit {
			args = append(args, newTag())
		}
		res, err := claimScript.Run(ctx, c, keys, args...).Slice()
		switch {
		case err == nil:
			n := len(dst)
			if dst, err = s.claimed(ctx, c, queue, res, dst); err != nil || len(dst) > n {
				return dst, err
			}
			continue // every element claimed was unreadable: look again
		case !errors.Is(err, goredis.Nil):
			var rerr goredis.Error
			if !errors.As(err, &rerr) {
				// The reply was lost (a cut connection, a cancelled
				// ctx): the script may have claimed messages under
				// these tags. The maintainer puts them back.
				for _, tag := range args[2:] {
					s.orphan(tag.(string))
				}
			}
			return dst, err
		case !wait:
			return dst, virtual.ErrEmpty
		}
		if q != nil && q.maxPriority > 0 {
			// Messages land on several lists; BLMOVE watches one.
			t := time.NewTimer(s.cfg.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return dst, ctx.Err()
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
				return dst, ctx.Err()
			}
			return dst, err
		}
	}
}

// maxClaimBatch bounds the messages one claimScript call pops, so that
// the script never holds Redis for long.
const maxClaimBatch = 128

// claimed decodes claimScript's result, appends the claims to dst and
// remembers them as live. An element whose body cannot be decoded is
// moved to the unreadable list, as the script moves elements that are
// not an envelope, instead of staying in unacked to be restored and
// claimed again forever.
func (s *store) claimed(ctx context.Context, c goredis.UniversalClient, queue string, res []any, dst []virtual.Claim) ([]virtual.Claim, error) {
	n := len(dst)
	for i := 0; i+1 < len(res); i += 2 {
		raw, _ := res[i].(string)
		tag, _ := res[i+1].(string)
		dst = append(dst, virtual.Claim{Queue: queue, Receipt: tag})
		if _, err := decodeEnvelope([]byte(raw), &dst[len(dst)-1].Envelope); err != nil {
			dst = dst[:len(dst)-1]
			s.log.Warn("redis: moving an undeliverable message to "+UnreadableKey, "queue", queue, "tag", tag, "err", err)
			keys := append(s.claimKeys(1), s.keys.key(UnreadableKey))
			if err := unreadableScript.Run(ctx, c, keys, tag, raw).Err(); err != nil {
				s.settleFailed(tag, err)
				// The decoded claims stay valid; return them first.
				if len(dst) > n {
					s.remember(dst[n:])
					return dst, nil
				}
				return dst, err
			}
		}
	}
	s.remember(dst[n:])
	return dst, nil
}

// remember records live claims, which the maintainer refreshes.
func (s *store) remember(cs []virtual.Claim) {
	s.mu.Lock()
	for i := range cs {
		s.claims[cs[i].Receipt.(string)] = cs[i].Queue
	}
	s.mu.Unlock()
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
	if err == nil {
		tags, err = s.recorded(ctx, c, tags)
	}
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

// recorded returns the tags that have a claim in unacked, in one HMGET per
// thousand tags. Most orphans claimed nothing (a batch claim reserves up
// to maxClaimBatch tags, and a lost reply orphans them all), and the claim
// scripts record a claim in unacked, unacked_index and the claim queue
// hash together, so a tag missing from unacked has nothing to restore.
// On an error it returns every tag, for the next attempt.
func (s *store) recorded(ctx context.Context, c goredis.UniversalClient, tags []string) ([]string, error) {
	var out []string
	for rest := tags; len(rest) > 0; {
		n := min(len(rest), 1000)
		vals, err := c.HMGet(ctx, s.keys.key(UnackedKey), rest[:n]...).Result()
		if err != nil {
			return tags, err
		}
		for i, v := range vals {
			if v != nil {
				out = append(out, rest[i])
			}
		}
		rest = rest[n:]
	}
	return out, nil
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

// AckBatch forgets every claim in one MULTI: HDEL unacked, ZREM
// unacked_index and HDEL of kelp's claim queue hash, each with every tag.
func (s *store) AckBatch(ctx context.Context, cls []*virtual.Claim) error {
	if len(cls) == 0 {
		return nil
	}
	c, err := s.rdb()
	if err != nil {
		return err
	}
	tags := make([]string, len(cls))
	members := make([]any, len(cls))
	for i, cl := range cls {
		tags[i], _ = cl.Receipt.(string)
		members[i] = tags[i]
	}
	k := s.claimKeys(0)
	_, err = c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, k[0], tags...)
		p.ZRem(ctx, k[1], members...)
		p.HDel(ctx, k[2], tags...)
		return nil
	})
	if err != nil {
		for _, tag := range tags {
			s.settleFailed(tag, err)
		}
		return err
	}
	s.mu.Lock()
	for _, tag := range tags {
		delete(s.claims, tag)
	}
	s.mu.Unlock()
	return nil
}

// settleFailed handles a settle whose script failed: the claim may still
// be recorded, so it becomes an orphan, which the maintainer restores.
func (s *store) settleFailed(tag string, err error) error {
	// Whatever failed (a lost reply, or an error reply such as LOADING,
	// READONLY after a failover or CLUSTERDOWN), the claim stops being
	// refreshed and is restored if it is still recorded: a settle that
	// did not happen must not leave the message claimed for the life of
	// the process. Restoring a tag that was settled after all is a no-op.
	s.forget(tag)
	s.orphan(tag)
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
