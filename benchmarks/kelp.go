package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/amqp"   // amqp://
	_ "github.com/kelpmq/kelp/transports/memory" // memory://
	_ "github.com/kelpmq/kelp/transports/redis"  // redis://
)

// fillPublishers is how many goroutines fill a queue before a consume run.
const fillPublishers = 8

// Unique returns label followed by random hex, for names that must not
// collide with other runs on the same broker.
func Unique(label string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return label + "." + hex.EncodeToString(b)
}

// Kelp is the kelp implementation (package conn) on the broker at url;
// transport names it in the results.
func Kelp(transport, url string) Target {
	return Target{Impl: "kelp", Transport: transport, Open: func(ctx context.Context) (Session, error) {
		return &kelpSession{url: url}, nil
	}}
}

// kelpSession dials lazily: one connection with confirms, one without.
type kelpSession struct {
	url      string
	mu       sync.Mutex
	conns    map[bool]*conn.Connection // by confirms on
	exchange map[string]string         // queue → its route exchange
}

// conn returns the session's connection with confirms on or off.
func (s *kelpSession) conn(ctx context.Context, confirm bool) (*conn.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[confirm]; c != nil {
		return c, nil
	}
	c, err := conn.DialConfig(ctx, s.url, conn.Config{Name: "kelp benchmark", DisableConfirms: !confirm})
	if err != nil {
		return nil, err
	}
	if s.conns == nil {
		s.conns = map[bool]*conn.Connection{}
		s.exchange = map[string]string{}
	}
	s.conns[confirm] = c
	return c, nil
}

// NewQueue implements Session.
func (s *kelpSession) NewQueue(ctx context.Context, bindings int) (string, error) {
	c, err := s.conn(ctx, true)
	if err != nil {
		return "", err
	}
	q := route.Queue{Name: Unique("bench")}
	if bindings == 0 {
		_, err = c.DeclareQueue(ctx, q)
		return q.Name, err
	}
	ex := route.NewExchange(Unique("bench.topic"), route.Topic)
	ex.Durable = false
	q.Bindings = make([]route.Binding, bindings)
	for i := range bindings - 1 {
		q.Bindings[i] = route.Bind(ex, fmt.Sprintf("other.%d.*", i))
	}
	q.Bindings[bindings-1] = route.Bind(ex, q.Name)
	if err := c.Declare(ctx, ex, q); err != nil {
		return "", err
	}
	s.mu.Lock()
	s.exchange[q.Name] = ex.Name
	s.mu.Unlock()
	return q.Name, nil
}

// Publisher implements Session.
func (s *kelpSession) Publisher(ctx context.Context, queue string, confirm bool) (Publisher, error) {
	c, err := s.conn(ctx, confirm)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	ex := s.exchange[queue]
	s.mu.Unlock()
	p := c.Producer(conn.WithExchange(ex), conn.WithRoutingKey(queue), conn.WithDeliveryMode(route.Transient))
	return func(ctx context.Context, body []byte) error { return p.Publish(ctx, body) }, nil
}

// Fill implements Session.
func (s *kelpSession) Fill(ctx context.Context, queue string, n int, body []byte) error {
	pub, err := s.Publisher(ctx, queue, true)
	if err != nil {
		return err
	}
	return spread(ctx, fillPublishers, n, body, pub)
}

// Consume implements Session.
func (s *kelpSession) Consume(ctx context.Context, queue string, prefetch int, fn func([]byte)) (func(), error) {
	c, err := s.conn(ctx, true)
	if err != nil {
		return nil, err
	}
	cons, err := c.Consume(ctx, conn.QueueNames(queue), conn.WithPrefetch(prefetch))
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for d := range cons.C() {
			if d.Ack(ctx) != nil {
				return
			}
			fn(d.Body)
		}
	})
	return func() {
		cons.Stop()
		wg.Wait()
	}, nil
}

// DeleteQueue implements Session.
func (s *kelpSession) DeleteQueue(ctx context.Context, queue string) error {
	c, err := s.conn(ctx, true)
	if err != nil {
		return err
	}
	_, err = c.QueueDelete(ctx, queue, conn.QueueDeleteOptions{})
	s.mu.Lock()
	ex := s.exchange[queue]
	s.mu.Unlock()
	if ex != "" {
		err = errors.Join(err, c.ExchangeDelete(ctx, ex, false))
	}
	return err
}

// Close implements Session.
func (s *kelpSession) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.conns {
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}
