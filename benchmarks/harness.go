package benchmarks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario names, as [Workload.Scenario] and [Result.Scenario] hold them.
const (
	ScenarioPublish  = "publish"        // blocking publishes from Publishers goroutines
	ScenarioConsume  = "consume"        // consume and ack each of Messages queued messages
	ScenarioEndToEnd = "e2e"            // publishers and one consumer running together
	ScenarioLatency  = "latency"        // one publisher at Rate msg/s, one consumer, percentiles
	ScenarioRoute    = "route"          // publish through a topic exchange with Bindings bindings
	stampSize        = 8                // bytes of publish time at the start of a latency body
	drainTimeout     = 30 * time.Second // longest wait for a consumer to catch up
)

// ErrUnsupported reports a workload a [Session] cannot run (such as topic
// routing on a peer without exchanges); the harness skips it.
var ErrUnsupported = errors.New("benchmarks: workload not supported by this implementation")

// Workload is one measured run: a scenario and its parameters.
type Workload struct {
	Scenario   string `json:"scenario"`
	Size       int    `json:"size"`                 // body bytes
	Messages   int    `json:"messages"`             // messages in the run
	Publishers int    `json:"publishers,omitempty"` // concurrent blocking publishers
	Confirm    bool   `json:"confirm,omitempty"`    // publisher confirms on
	Prefetch   int    `json:"prefetch,omitempty"`   // consumer prefetch
	Rate       int    `json:"rate,omitempty"`       // latency: msg/s published
	Bindings   int    `json:"bindings,omitempty"`   // route: bindings on the exchange
}

// Key names the workload without its message count, so that results of
// implementations doing the same workload line up.
func (w Workload) Key() string {
	switch w.Scenario {
	case ScenarioPublish:
		c := "off"
		if w.Confirm {
			c = "on"
		}
		return fmt.Sprintf("publish confirms=%s publishers=%d size=%d", c, w.Publishers, w.Size)
	case ScenarioConsume:
		return fmt.Sprintf("consume+ack prefetch=%d size=%d", w.Prefetch, w.Size)
	case ScenarioEndToEnd:
		return fmt.Sprintf("e2e publishers=%d size=%d", w.Publishers, w.Size)
	case ScenarioLatency:
		return fmt.Sprintf("latency rate=%d size=%d", w.Rate, w.Size)
	case ScenarioRoute:
		return fmt.Sprintf("route bindings=%d size=%d", w.Bindings, w.Size)
	}
	return w.Scenario
}

// Result is what one implementation did on one workload.
type Result struct {
	Workload
	Impl      string  `json:"impl"`
	Transport string  `json:"transport"`
	MsgPerSec float64 `json:"msg_per_sec"`
	// AllocsPerMsg and BytesPerMsg are the process's heap allocations per
	// message during the run: client and, on memory, broker together.
	AllocsPerMsg float64       `json:"allocs_per_msg"`
	BytesPerMsg  float64       `json:"bytes_per_msg"`
	P50          time.Duration `json:"p50,omitempty"`
	P99          time.Duration `json:"p99,omitempty"`
	P999         time.Duration `json:"p999,omitempty"`
	Err          string        `json:"error,omitempty"`
}

// Publisher publishes one body to the session's queue, blocking until it
// is sent (or, with confirms, confirmed). It is safe for concurrent use.
type Publisher func(ctx context.Context, body []byte) error

// Session is one implementation connected to one broker: the primitives
// the harness builds every scenario from. Its methods may be called from
// several goroutines only where stated.
type Session interface {
	// NewQueue declares a fresh, empty, non-durable queue and returns its
	// name. With bindings > 0 it also binds it to a topic exchange by
	// that many bindings, one of which matches the queue's name, and
	// publishes through that exchange (or returns ErrUnsupported).
	NewQueue(ctx context.Context, bindings int) (string, error)
	// Publisher returns a publisher to queue, safe for concurrent use.
	Publisher(ctx context.Context, queue string, confirm bool) (Publisher, error)
	// Fill queues n copies of body as fast as the implementation can.
	Fill(ctx context.Context, queue string, n int, body []byte) error
	// Consume consumes queue with prefetch, acks each message, and calls
	// fn with its body after the ack, from one goroutine. It runs until
	// the returned stop is called, which waits for it to end.
	Consume(ctx context.Context, queue string, prefetch int, fn func(body []byte)) (stop func(), err error)
	// DeleteQueue removes queue (and its exchange).
	DeleteQueue(ctx context.Context, queue string) error
	// Close closes the session's connections.
	Close(ctx context.Context) error
}

// Target is one implementation on one transport.
type Target struct {
	Impl      string // "kelp", "amqp091", "go-redis", "watermill", ...
	Transport string // "memory", "amqp", "redis"
	// Open connects a new session.
	Open func(ctx context.Context) (Session, error)
}

// Run runs w on a session of t and returns the result; a failure is
// recorded in Result.Err, never returned.
func Run(ctx context.Context, t Target, w Workload) Result {
	r := Result{Workload: w, Impl: t.Impl, Transport: t.Transport}
	s, err := t.Open(ctx)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer s.Close(context.WithoutCancel(ctx))
	if err := run(ctx, s, w, &r); err != nil {
		r.Err = err.Error()
	}
	return r
}

// run dispatches on the scenario.
func run(ctx context.Context, s Session, w Workload, r *Result) error {
	q, err := s.NewQueue(ctx, w.Bindings)
	if err != nil {
		return err
	}
	defer s.DeleteQueue(context.WithoutCancel(ctx), q)
	if wr, ok := s.(workloadRunner); ok {
		return wr.runWorkload(ctx, q, w, r)
	}
	body := make([]byte, w.Size)
	switch w.Scenario {
	case ScenarioPublish, ScenarioRoute:
		pub, err := s.Publisher(ctx, q, w.Confirm)
		if err != nil {
			return err
		}
		return measure(r, func() error { return spread(ctx, max(w.Publishers, 1), w.Messages, body, pub) })
	case ScenarioConsume:
		if err := s.Fill(ctx, q, w.Messages, body); err != nil {
			return err
		}
		return consumeMeasured(ctx, s, q, w, r, nil, nil)
	case ScenarioEndToEnd:
		pub, err := s.Publisher(ctx, q, w.Confirm)
		if err != nil {
			return err
		}
		return consumeMeasured(ctx, s, q, w, r, nil, func() error {
			return spread(ctx, max(w.Publishers, 1), w.Messages, body, pub)
		})
	case ScenarioLatency:
		return latency(ctx, s, q, w, r)
	}
	return fmt.Errorf("benchmarks: unknown scenario %q", w.Scenario)
}

// measure times fn and records its rate and allocations in r.
func measure(r *Result, fn func() error) error {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := fn()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(r.Messages)
	r.MsgPerSec = n / elapsed.Seconds()
	r.AllocsPerMsg = float64(after.Mallocs-before.Mallocs) / n
	r.BytesPerMsg = float64(after.TotalAlloc-before.TotalAlloc) / n
	return err
}

// spread runs n publishes of body over p goroutines and returns the
// first error.
func spread(ctx context.Context, p, n int, body []byte, pub Publisher) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := pub(ctx, body); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// consumeMeasured consumes w.Messages messages from q, calling each (when
// not nil) with every body, while produce (when not nil) runs, and records
// the rate in r. The clock stops when the last message was acked, before
// the consumer is stopped.
func consumeMeasured(ctx context.Context, s Session, q string, w Workload, r *Result, each func([]byte), produce func() error) error {
	var stop func()
	err := measure(r, func() error {
		var got atomic.Int64
		done := make(chan struct{})
		var err error
		stop, err = s.Consume(ctx, q, w.Prefetch, func(body []byte) {
			if each != nil {
				each(body)
			}
			if got.Add(1) == int64(w.Messages) {
				close(done)
			}
		})
		if err != nil {
			return err
		}
		if produce != nil {
			if err := produce(); err != nil {
				return err
			}
		}
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(drainTimeout):
			return fmt.Errorf("benchmarks: consumed %d of %d messages in %v", got.Load(), w.Messages, drainTimeout)
		}
	})
	if stop != nil {
		stop()
	}
	return err
}

// latency publishes w.Messages stamped bodies at w.Rate from one goroutine
// while one consumer records the time from publish to receipt.
func latency(ctx context.Context, s Session, q string, w Workload, r *Result) error {
	pub, err := s.Publisher(ctx, q, w.Confirm)
	if err != nil {
		return err
	}
	size := max(w.Size, stampSize)
	lat := make([]time.Duration, 0, w.Messages)
	var mu sync.Mutex
	each := func(body []byte) {
		d := time.Duration(time.Now().UnixNano() - int64(binary.LittleEndian.Uint64(body)))
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	interval := time.Second / time.Duration(max(w.Rate, 1))
	err = consumeMeasured(ctx, s, q, w, r, each, func() error {
		start := time.Now()
		for i := range w.Messages {
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d) // the schedule of a fixed publish rate
			}
			body := make([]byte, size)
			binary.LittleEndian.PutUint64(body, uint64(time.Now().UnixNano()))
			if err := pub(ctx, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	r.P50, r.P99, r.P999 = Percentile(lat, 50), Percentile(lat, 99), Percentile(lat, 99.9)
	return nil
}

// Percentile returns the p-th percentile of sorted (0 when it is empty).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
