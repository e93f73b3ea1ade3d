package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys of the raw baseline's ack emulation, apart from kelp's and Kombu's.
const (
	rawUnacked      = "bench.raw.unacked"
	rawUnackedIndex = "bench.raw.unacked_index"
	pipelineBatch   = 1000 // LPUSHes per pipeline when filling a queue
	brpopTimeout    = time.Second
)

// GoRedis is the raw go-redis implementation on the Redis at url (use a
// database of its own, 9 or above): publishers LPUSH the same Kombu JSON
// envelope kelp writes, pipelined across concurrent callers by one writer
// goroutine; the consumer runs Kombu's plain sequence by hand for every
// message: BRPOP, record it in the unacked hash and index, then ack by
// removing it from both.
func GoRedis(url string) Target {
	return Target{Impl: "go-redis", Transport: "redis", Open: func(ctx context.Context) (Session, error) {
		opts, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("benchmarks: %w", err)
		}
		opts.PoolSize = 32
		return &redisSession{rc: redis.NewClient(opts)}, nil
	}}
}

// redisSession is one go-redis client and the pipelining writers it
// started.
type redisSession struct {
	rc      *redis.Client
	writers sync.WaitGroup
	stops   []context.CancelFunc
}

// envelope is Kombu's Redis message layout.
type envelope struct {
	Body            string            `json:"body"`
	ContentEncoding string            `json:"content-encoding"`
	ContentType     string            `json:"content-type"`
	Headers         map[string]any    `json:"headers"`
	Properties      envelopeProperies `json:"properties"`
}

// envelopeProperies are the envelope's properties.
type envelopeProperies struct {
	DeliveryMode int               `json:"delivery_mode"`
	DeliveryInfo map[string]string `json:"delivery_info"`
	Priority     int               `json:"priority"`
	BodyEncoding string            `json:"body_encoding"`
	DeliveryTag  string            `json:"delivery_tag"`
}

// encode returns body in a Kombu envelope routed to queue.
func encode(queue string, body []byte) ([]byte, error) {
	return json.Marshal(envelope{
		Body: base64.StdEncoding.EncodeToString(body), ContentEncoding: "binary",
		ContentType: "application/data", Headers: map[string]any{},
		Properties: envelopeProperies{DeliveryMode: 1, Priority: 0, BodyEncoding: "base64",
			DeliveryInfo: map[string]string{"exchange": "", "routing_key": queue}, DeliveryTag: uuid4()},
	})
}

// uuid4 returns a random UUID, as Kombu's delivery tags are.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// NewQueue implements Session: a Redis queue is a list, made by its first
// LPUSH.
func (s *redisSession) NewQueue(ctx context.Context, bindings int) (string, error) {
	if bindings > 0 {
		return "", ErrUnsupported
	}
	return Unique("bench"), nil
}

// pushReq is one publish waiting for the writer.
type pushReq struct {
	data []byte
	done chan error
}

// Publisher implements Session: a writer goroutine sends every LPUSH
// waiting at the time in one pipeline, so concurrent callers share round
// trips. confirm changes nothing: the reply to LPUSH is the confirmation.
func (s *redisSession) Publisher(ctx context.Context, queue string, confirm bool) (Publisher, error) {
	reqs := make(chan pushReq, 128)
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stops = append(s.stops, stop)
	s.writers.Go(func() {
		batch := make([]pushReq, 0, cap(reqs))
		for {
			select {
			case <-wctx.Done():
				return
			case r := <-reqs:
				batch = append(batch[:0], r)
			}
		more:
			for len(batch) < cap(batch) {
				select {
				case r := <-reqs:
					batch = append(batch, r)
				default:
					break more
				}
			}
			pipe := s.rc.Pipeline()
			for _, r := range batch {
				pipe.LPush(wctx, queue, r.data)
			}
			_, err := pipe.Exec(wctx)
			for _, r := range batch {
				r.done <- err
			}
		}
	})
	return func(ctx context.Context, body []byte) error {
		data, err := encode(queue, body)
		if err != nil {
			return err
		}
		r := pushReq{data: data, done: make(chan error, 1)}
		select {
		case reqs <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// Fill implements Session.
func (s *redisSession) Fill(ctx context.Context, queue string, n int, body []byte) error {
	for done := 0; done < n; {
		pipe := s.rc.Pipeline()
		for range min(pipelineBatch, n-done) {
			data, err := encode(queue, body)
			if err != nil {
				return err
			}
			pipe.LPush(ctx, queue, data)
			done++
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Consume implements Session; prefetch does not apply to a BRPOP loop.
func (s *redisSession) Consume(ctx context.Context, queue string, prefetch int, fn func([]byte)) (func(), error) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for cctx.Err() == nil {
			body, err := s.receive(cctx, queue)
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return
			}
			fn(body)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// receive pops one message, records it as unacked, acks it, and returns
// its body: three round trips, Kombu's sequence.
func (s *redisSession) receive(ctx context.Context, queue string) ([]byte, error) {
	kv, err := s.rc.BRPop(ctx, brpopTimeout, queue).Result()
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal([]byte(kv[1]), &env); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.DecodeString(env.Body)
	if err != nil {
		return nil, err
	}
	tag := env.Properties.DeliveryTag
	record, err := json.Marshal([]any{json.RawMessage(kv[1]), "", queue})
	if err != nil {
		return nil, err
	}
	pipe := s.rc.TxPipeline()
	pipe.HSet(ctx, rawUnacked, tag, record)
	pipe.ZAdd(ctx, rawUnackedIndex, redis.Z{Score: float64(time.Now().Unix()), Member: tag})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	pipe = s.rc.TxPipeline()
	pipe.HDel(ctx, rawUnacked, tag)
	pipe.ZRem(ctx, rawUnackedIndex, tag)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	return body, nil
}

// DeleteQueue implements Session.
func (s *redisSession) DeleteQueue(ctx context.Context, queue string) error {
	return s.rc.Del(ctx, queue).Err()
}

// Close implements Session.
func (s *redisSession) Close(ctx context.Context) error {
	for _, stop := range s.stops {
		stop()
	}
	s.writers.Wait()
	return s.rc.Close()
}
