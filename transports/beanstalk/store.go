package beanstalk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"

	bs "github.com/beanstalkd/go-beanstalk"

	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// store is the [virtual.Backend] over beanstalkd. It keeps one server
// connection for every command (go-beanstalk's Conn is not safe for
// concurrent use, and a job reserved on a connection can only be settled
// on it), guarded by mu; waiting fetchers poll with reserve-with-timeout 0.
// When the connection fails the server releases its reservations (they
// are redelivered) and the next command dials again: claims of the old
// connection settle as no-ops.
type store struct {
	cfg Config

	mu     sync.Mutex
	conn   *bs.Conn
	gen    uint64              // connection generation, for claims
	maxJob int                 // the server's max-job-size, read at dial (0: unknown)
	held   map[uint64]struct{} // reserved job ids of conn, touched by the maintainer
	queues map[string]virtual.QueueOptions
}

var (
	_ virtual.Backend   = (*store)(nil)
	_ virtual.Discarder = (*store)(nil)
)

// receipt is a claim's handle: the job and the connection it is reserved
// on.
type receipt struct {
	id  uint64
	gen uint64
}

func newStore(cfg Config) *store {
	return &store{cfg: cfg, held: map[uint64]struct{}{}, queues: map[string]virtual.QueueOptions{}}
}

// errServer marks errors the server answered (the connection is fine).
func serverError(err error) bool {
	if _, ok := errors.AsType[*transports.Error](err); ok {
		return true // refused here before sending: the connection is fine
	}
	for _, e := range []error{bs.ErrBadFormat, bs.ErrBuried, bs.ErrDeadline, bs.ErrDraining, bs.ErrInternal,
		bs.ErrJobTooBig, bs.ErrNoCRLF, bs.ErrNotFound, bs.ErrNotIgnored, bs.ErrOOM, bs.ErrTimeout, bs.ErrUnknown} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// do runs fn on the connection, dialling it first when needed, and drops
// the connection after an I/O failure.
func (s *store) do(op string, fn func(c *bs.Conn, gen uint64) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		if err := s.dialLocked(); err != nil {
			return fmt.Errorf("beanstalk: %s: %w", op, err)
		}
	}
	err := fn(s.conn, s.gen)
	if err != nil && !serverError(err) {
		s.dropLocked()
	}
	if err != nil {
		return fmt.Errorf("beanstalk: %s: %w", op, err)
	}
	return nil
}

func (s *store) dialLocked() error {
	c, err := bs.DialTimeout("tcp", s.cfg.Addr, s.cfg.DialTimeout)
	if err != nil {
		return err
	}
	s.conn = c
	s.gen++
	s.maxJob = 0
	if st, err := c.Stats(); err == nil {
		s.maxJob, _ = strconv.Atoi(st["max-job-size"])
	}
	return nil
}

// dropLocked closes the connection: the server releases its jobs.
func (s *store) dropLocked() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
		clear(s.held)
	}
}

// ping dials when needed and asks for the server's stats.
func (s *store) ping() error {
	return s.do("connect", func(c *bs.Conn, _ uint64) error {
		_, err := c.Stats()
		return err
	})
}

// close drops the connection.
func (s *store) close() {
	s.mu.Lock()
	s.dropLocked()
	s.mu.Unlock()
}

// tubeName maps a queue name to a beanstalkd tube name: letters, digits
// and + / ; . ( ) _ stay ('-' too, but not first), every other byte is
// $XX, and a result longer than 200 bytes is cut and completed with a
// hash.
func tubeName(q string) string {
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		c := q[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == ';' || c == '.' || c == '(' || c == ')' || c == '_' || c == '-' && i > 0
		if ok {
			b = append(b, c)
		} else {
			b = fmt.Appendf(b, "$%02X", c)
		}
	}
	if len(b) == 0 {
		b = append(b, '$')
	}
	if len(b) > 200 {
		sum := sha256.Sum256([]byte(q))
		b = append(b[:200-33], '_')
		b = hex.AppendEncode(b, sum[:16])
	}
	return string(b)
}

// beanPri maps a (clamped) AMQP priority to beanstalkd's, where lower
// numbers go first: 255 minus the priority.
func beanPri(p uint8) uint32 { return uint32(255 - int(p)) }

// CreateQueue implements [virtual.Backend]: tubes exist as soon as they
// are used, so it only records the options in this process.
func (s *store) CreateQueue(_ context.Context, name string, opts virtual.QueueOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[name]; !ok {
		s.queues[name] = opts
	}
	return nil
}

func (s *store) known(name string) (virtual.QueueOptions, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.queues[name]
	return o, ok
}

// DeleteQueue implements [virtual.Backend]: it deletes the tube's ready,
// delayed and buried jobs (a tube without jobs and watchers vanishes by
// itself).
func (s *store) DeleteQueue(ctx context.Context, name string) (int, error) {
	if _, ok := s.known(name); !ok {
		return 0, fmt.Errorf("beanstalk: queue %q: %w", name, virtual.ErrNoQueue)
	}
	n, err := s.Purge(ctx, name)
	if err == nil {
		err = s.clearAside(name)
	}
	s.mu.Lock()
	delete(s.queues, name)
	s.mu.Unlock()
	return n, err
}

// Put implements [virtual.Backend]. A message with an x-delay header is
// put with beanstalkd's delay (see [DelayHeader]). A job larger than the
// server's max-job-size is refused with a 311 error before it is sent (and
// the server's own JOB_TOO_BIG answer becomes the same error), so the
// connection stays up and the publisher learns the message was not
// stored.
func (s *store) Put(_ context.Context, name string, env *virtual.Envelope) error {
	opts, _ := s.known(name) // a queue declared elsewhere has no priorities here
	data, err := virtual.MarshalEnvelope(env)
	if err != nil {
		return err
	}
	delay := jobDelay(env.Headers[DelayHeader])
	err = s.do("put", func(c *bs.Conn, _ uint64) error {
		if s.maxJob > 0 && len(data) > s.maxJob {
			return tooBig(len(data), s.maxJob)
		}
		_, err := bs.NewTube(c, tubeName(s.cfg.TubePrefix+name)).Put(data, beanPri(min(env.Priority, opts.MaxPriority)), delay, s.cfg.TTR)
		if errors.Is(err, bs.ErrJobTooBig) {
			return tooBig(len(data), s.maxJob)
		}
		return err
	})
	return err
}

// DelayHeader is the header that delays a message: its value, in
// milliseconds (an integer, or a string of one), is how long beanstalkd
// keeps the job delayed before it becomes ready. beanstalkd counts whole
// seconds, so the delay is rounded up to the next second. It is the name
// RabbitMQ's delayed-message exchange reads; a missing, zero, negative or
// unreadable value means no delay.
const DelayHeader = "x-delay"

// jobDelay reads a DelayHeader value (any integer or float type, or a
// decimal string), rounded up to whole seconds and capped at beanstalkd's
// largest delay.
func jobDelay(v any) time.Duration {
	var ms float64
	switch rv := reflect.ValueOf(v); {
	case rv.CanInt():
		ms = float64(rv.Int())
	case rv.CanUint():
		ms = float64(rv.Uint())
	case rv.CanFloat(): // headers decoded from JSON
		ms = rv.Float()
	case rv.Kind() == reflect.String:
		ms, _ = strconv.ParseFloat(rv.String(), 64)
	}
	if !(ms > 0) { // NaN too
		return 0
	}
	return time.Duration(min(math.Ceil(ms/1000), math.MaxUint32)) * time.Second
}

// tooBig is the error of a job larger than the server takes.
func tooBig(size, limit int) error {
	return &transports.Error{Code: 311, Reason: fmt.Sprintf(
		"CONTENT_TOO_LARGE - beanstalk: the message is a job of %d bytes, above the server's max-job-size %d (beanstalkd -z)", size, limit)}
}

// Fetch implements [virtual.Backend]: reserve-with-timeout 0 on the
// tube, then stats-job to learn whether the job was reserved before
// (Redelivered). Waiting polls.
func (s *store) Fetch(ctx context.Context, name string, wait bool) (virtual.Claim, error) {
	pause := time.Millisecond
	for {
		if _, ok := s.known(name); !ok {
			return virtual.Claim{}, fmt.Errorf("beanstalk: queue %q: %w", name, virtual.ErrNoQueue)
		}
		c, err := s.reserve(name)
		if !errors.Is(err, virtual.ErrEmpty) || !wait {
			return c, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return virtual.Claim{}, fmt.Errorf("beanstalk: fetch: %w", ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, s.cfg.PollInterval)
	}
}

func (s *store) reserve(name string) (virtual.Claim, error) {
	cl := virtual.Claim{Queue: name}
	for {
		var body []byte
		var rc receipt
		var reserves, kicks int
		err := s.do("reserve", func(c *bs.Conn, gen uint64) error {
			id, b, err := bs.NewTubeSet(c, tubeName(s.cfg.TubePrefix+name)).Reserve(0)
			if err != nil {
				return err
			}
			st, err := c.StatsJob(id)
			if err != nil {
				_ = c.Release(id, 0, 0)
				return err
			}
			reserves, _ = strconv.Atoi(st["reserves"])
			kicks, _ = strconv.Atoi(st["kicks"])
			s.held[id] = struct{}{}
			body, rc = b, receipt{id: id, gen: gen}
			return nil
		})
		if errors.Is(err, bs.ErrTimeout) || errors.Is(err, bs.ErrDeadline) {
			return cl, virtual.ErrEmpty
		}
		if err != nil {
			return cl, err
		}
		if err := virtual.UnmarshalEnvelope(body, &cl.Envelope); err != nil {
			// A job kelp cannot read: bury it, for a human to look at.
			_ = s.do("bury", func(c *bs.Conn, gen uint64) error {
				delete(s.held, rc.id)
				return c.Bury(rc.id, 0)
			})
			continue
		}
		cl.Envelope.Redelivered = cl.Envelope.Redelivered || reserves > 1
		if kicks > 0 {
			// Kicked back from the buried list by an operator: deliver it
			// even if it was buried for having expired.
			cl.Envelope.Expires = time.Time{}
		}
		cl.Receipt = rc
		return cl, nil
	}
}

// settle runs a command on a claim's job when its connection is still
// the current one; otherwise the server has released the job already.
func (s *store) settle(op string, c *virtual.Claim, fn func(c *bs.Conn, id uint64) error) error {
	rc := c.Receipt.(receipt)
	return s.do(op, func(conn *bs.Conn, gen uint64) error {
		if gen != rc.gen {
			return nil
		}
		delete(s.held, rc.id)
		if err := fn(conn, rc.id); err != nil && !errors.Is(err, bs.ErrNotFound) {
			return err
		}
		return nil
	})
}

// Ack implements [virtual.Backend]: delete.
func (s *store) Ack(_ context.Context, c *virtual.Claim) error {
	return s.settle("delete", c, func(conn *bs.Conn, id uint64) error { return conn.Delete(id) })
}

// Requeue implements [virtual.Backend]: release, at the job's priority
// and without delay; the job keeps its id, and so its place before every
// later job of its priority. The next reserve reports it redelivered.
func (s *store) Requeue(_ context.Context, c *virtual.Claim) error {
	if _, ok := s.known(c.Queue); !ok {
		_ = s.Ack(context.Background(), c)
		return fmt.Errorf("beanstalk: queue %q: %w", c.Queue, virtual.ErrNoQueue)
	}
	opts, _ := s.known(c.Queue)
	pri := beanPri(min(c.Envelope.Priority, opts.MaxPriority))
	return s.settle("release", c, func(conn *bs.Conn, id uint64) error { return conn.Release(id, pri, 0) })
}

// Discard implements [virtual.Discarder]: a message rejected without
// requeue or expired, from a queue without a dead-letter exchange, is
// buried (at its priority) unless Config.NoBury, for an operator to look
// at and kick back ([Connector.Kick]). A claim of a lost connection is
// already back in the tube and stays there.
func (s *store) Discard(ctx context.Context, c *virtual.Claim, reason string) error {
	if s.cfg.NoBury {
		return s.Ack(ctx, c)
	}
	opts, _ := s.known(c.Queue)
	pri := beanPri(min(c.Envelope.Priority, opts.MaxPriority))
	s.cfg.Logger.Debug("beanstalk: burying a dropped message", "queue", c.Queue, "reason", reason)
	return s.settle("bury", c, func(conn *bs.Conn, id uint64) error { return conn.Bury(id, pri) })
}

// kick moves up to n buried jobs of the queue's tube back to ready.
func (s *store) kick(name string, n int) (int, error) {
	var kicked int
	err := s.do("kick", func(c *bs.Conn, _ uint64) error {
		var err error
		kicked, err = bs.NewTube(c, tubeName(s.cfg.TubePrefix+name)).Kick(n)
		return err
	})
	return kicked, err
}

// clearAside deletes the delayed and buried jobs of the queue's tube (a
// deleted queue keeps nothing).
func (s *store) clearAside(name string) error {
	for _, peek := range []func(t *bs.Tube) (uint64, []byte, error){(*bs.Tube).PeekDelayed, (*bs.Tube).PeekBuried} {
		for {
			err := s.do("delete", func(c *bs.Conn, _ uint64) error {
				id, _, err := peek(bs.NewTube(c, tubeName(s.cfg.TubePrefix+name)))
				if err != nil {
					return err
				}
				return c.Delete(id)
			})
			if errors.Is(err, bs.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Purge implements [virtual.Backend]: reserve and delete until the tube
// has no ready job.
func (s *store) Purge(_ context.Context, name string) (int, error) {
	n := 0
	for {
		err := s.do("purge", func(c *bs.Conn, _ uint64) error {
			id, _, err := bs.NewTubeSet(c, tubeName(s.cfg.TubePrefix+name)).Reserve(0)
			if err != nil {
				return err
			}
			return c.Delete(id)
		})
		if errors.Is(err, bs.ErrTimeout) || errors.Is(err, bs.ErrDeadline) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// Len implements [virtual.Backend]: stats-tube current-jobs-ready (Bytes
// -1: beanstalkd does not sum job sizes).
func (s *store) Len(_ context.Context, name string) (virtual.QueueLen, error) {
	if _, ok := s.known(name); !ok {
		return virtual.QueueLen{}, fmt.Errorf("beanstalk: queue %q: %w", name, virtual.ErrNoQueue)
	}
	l := virtual.QueueLen{Bytes: -1}
	err := s.do("stats-tube", func(c *bs.Conn, _ uint64) error {
		st, err := bs.NewTube(c, tubeName(s.cfg.TubePrefix+name)).Stats()
		if errors.Is(err, bs.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		l.Messages, err = strconv.Atoi(st["current-jobs-ready"])
		return err
	})
	return l, err
}

// touchHeld extends the TTR of every job reserved on the connection.
func (s *store) touchHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return
	}
	for id := range s.held {
		if err := s.conn.Touch(id); err != nil {
			if !serverError(err) {
				s.dropLocked()
				return
			}
			delete(s.held, id)
		}
	}
}
