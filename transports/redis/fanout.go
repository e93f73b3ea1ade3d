package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports/virtual"
)

var _ virtual.Broadcaster = (*store)(nil)

// fanoutState is what the store knows about PUB/SUB fanout: the fanout
// exchanges each queue is bound to in this process (Kombu, too, knows them
// per process, from its own queue_bind calls) and the live subscriptions.
type fanoutState struct {
	// subMu serialises Subscribe and release, which do I/O.
	subMu sync.Mutex
	// Guarded by store.mu.
	bound map[string]map[string]int // queue -> fanout exchange -> bindings
	subs  map[string]*subscription  // queue -> live subscription
}

// subscription is one PSUBSCRIBE connection feeding one queue, shared by
// the consumers of the queue in this process.
type subscription struct {
	users int
	ps    *goredis.PubSub
	done  chan struct{}
}

// fanoutChannel is the PUB/SUB channel Kombu publishes a fanout message
// on.
func (s *store) fanoutChannel(exchange, routingKey string) string {
	ch := s.keys.prefix + s.cfg.FanoutPrefix + exchange
	if routingKey != "" && !s.cfg.NoFanoutPatterns {
		ch += "/" + routingKey
	}
	return ch
}

// noteBinding records (add) or forgets a queue's binding to a fanout
// exchange, which its consumers subscribe to.
func (s *store) noteBinding(kind route.Kind, exchange string, b virtual.Binding, add bool) {
	if kind != route.Fanout || s.cfg.DurableFanout {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exs := s.fanout.bound[b.Queue]
	switch {
	case add && exs == nil:
		exs = make(map[string]int)
		s.fanout.bound[b.Queue] = exs
		fallthrough
	case add:
		exs[exchange]++
	case exs != nil:
		if exs[exchange]--; exs[exchange] <= 0 {
			delete(exs, exchange)
		}
		if len(exs) == 0 {
			delete(s.fanout.bound, b.Queue)
		}
	}
}

// Broadcast publishes a message of a fanout exchange over PUB/SUB, as
// Kombu does, unless [Config.DurableFanout] is set.
func (s *store) Broadcast(ctx context.Context, exchange string, env *virtual.Envelope) (bool, error) {
	if s.cfg.DurableFanout {
		return false, nil
	}
	c, err := s.rdb()
	if err != nil {
		return false, err
	}
	raw, err := encodeEnvelope(env, newTag())
	if err != nil {
		return false, err
	}
	return true, c.Publish(ctx, s.fanoutChannel(exchange, env.RoutingKey), raw).Err()
}

// Subscribe starts (or shares) the PSUBSCRIBE of a queue bound to fanout
// exchanges in this process: for each exchange, the bare channel and
// every channel with a routing key, so that kelp receives every message
// of the exchange, as AMQP's fanout does. Each message received is pushed
// to the queue's list, from where consumers claim it like any other (and
// from then on it is as safe as any other). It returns once Redis has
// confirmed the subscriptions.
func (s *store) Subscribe(ctx context.Context, queue string) (func(), error) {
	f := &s.fanout
	f.subMu.Lock()
	defer f.subMu.Unlock()
	s.mu.Lock()
	var exs []string
	for ex := range f.bound[queue] {
		exs = append(exs, ex)
	}
	sub := f.subs[queue]
	s.mu.Unlock()
	if len(exs) == 0 {
		return func() {}, nil
	}
	if sub != nil {
		sub.users++
		return func() { s.unsubscribe(queue, sub) }, nil
	}
	c, err := s.rdb()
	if err != nil {
		return nil, err
	}
	slices.Sort(exs)
	patterns := make([]string, 0, 2*len(exs))
	for _, ex := range exs {
		p := globEscape(s.fanoutChannel(ex, ""))
		patterns = append(patterns, p, p+"/*")
	}
	ps := c.PSubscribe(ctx, patterns...)
	for range patterns {
		msg, err := ps.Receive(ctx)
		if err == nil {
			if _, ok := msg.(*goredis.Subscription); !ok {
				err = fmt.Errorf("unexpected %T before the subscription was confirmed", msg)
			}
		}
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redis: psubscribe %s: %w", strings.Join(patterns, " "), err)
		}
	}
	sub = &subscription{users: 1, ps: ps, done: make(chan struct{})}
	s.mu.Lock()
	f.subs[queue] = sub
	s.mu.Unlock()
	go s.receive(queue, sub)
	return func() { s.unsubscribe(queue, sub) }, nil
}

// unsubscribe drops one user of sub and ends it with its last.
func (s *store) unsubscribe(queue string, sub *subscription) {
	f := &s.fanout
	f.subMu.Lock()
	defer f.subMu.Unlock()
	if sub.users--; sub.users > 0 {
		return
	}
	s.mu.Lock()
	if f.subs[queue] == sub {
		delete(f.subs, queue)
	}
	s.mu.Unlock()
	_ = sub.ps.Close()
	<-sub.done
}

// receive moves what sub receives into queue until sub is closed. go-redis
// re-subscribes by itself after a lost connection (what is published
// meanwhile is lost, as PUB/SUB is); failures are retried after
// PollInterval.
func (s *store) receive(queue string, sub *subscription) {
	defer close(sub.done)
	ctx := context.Background()
	for {
		msg, err := sub.ps.ReceiveMessage(ctx)
		if err != nil {
			if errors.Is(err, goredis.ErrClosed) {
				return
			}
			s.log.Warn("redis: fanout subscription failed; retrying", "queue", queue, "err", err)
			time.Sleep(s.cfg.PollInterval) // ends within one interval of Close
			continue
		}
		if err := s.store(ctx, queue, msg.Payload); err != nil {
			s.log.Warn("redis: a fanout message was lost", "queue", queue, "channel", msg.Channel, "err", err)
		}
	}
}

// store pushes a message received over PUB/SUB to queue's list (the step
// of its priority), as it came. The claim script gives it a fresh delivery
// tag if another copy of the same broadcast is claimed at the same time.
func (s *store) store(ctx context.Context, queue, payload string) error {
	var env virtual.Envelope
	list := s.keys.stepKey(queue, 0)
	if _, err := decodeEnvelope([]byte(payload), &env); err == nil {
		list = s.listFor(queue, &env)
	} // else the claim script moves it to the unreadable list
	c, err := s.rdb()
	if err != nil {
		return err
	}
	return c.LPush(ctx, list, payload).Err()
}

// globEscape escapes the characters PSUBSCRIBE patterns give a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
