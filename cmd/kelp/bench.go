package main

import (
	"context"
	"crypto/rand"
	bin "encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// defaultBenchURL is the broker "kelp bench" uses without --url or KELP_URL.
const defaultBenchURL = "memory://"

// stampSize is the publish timestamp at the start of every body of at
// least that size, from which consumers measure the latency.
const stampSize = 8

// benchFlags are the settings of "kelp bench".
type benchFlags struct {
	connFlags
	messages   int
	size       int
	publishers int
	consumers  int
	confirm    bool
	prefetch   int
	duration   time.Duration
	queue      string
}

const benchAbout = `Bench publishes --messages raw messages of --size bytes from --publishers
goroutines to a queue while --consumers consumers receive and ack each one,
then prints the publish and consume rates, the end-to-end latency
percentiles (publish to ack, for bodies of at least 8 bytes) and the errors.
It works on every transport; the URL defaults to memory:// (the embedded
broker), or $KELP_URL.

Unless --queue names one, the queue is a fresh non-durable queue deleted at
the end. --duration bounds the run: whatever was done by then is reported.
A terminal shows a live progress bar; otherwise progress is printed as
plain lines.`

// runBench implements "kelp bench".
func runBench(ctx context.Context, e *env, args []string) error {
	bf := benchFlags{}
	fs := newFlagSet(e, "bench", "kelp bench [--url URL] [flags]", benchAbout)
	bf.add(fs)
	fs.IntVar(&bf.messages, "messages", 100000, "publish `N` messages in all")
	fs.IntVar(&bf.size, "size", 1024, "body size in `bytes`")
	fs.IntVar(&bf.publishers, "publishers", 1, "concurrent publishing goroutines (0: consume only, needs --queue)")
	fs.IntVar(&bf.consumers, "consumers", 1, "concurrent consumers, each acking every message (0: publish only)")
	fs.BoolVar(&bf.confirm, "confirm", false, "publish with publisher confirms (each Publish waits for the broker)")
	fs.IntVar(&bf.prefetch, "prefetch", conn.DefaultPrefetch, "each consumer's prefetch `count`")
	fs.DurationVar(&bf.duration, "duration", 0, "stop after this `duration` even if not done (0: no limit)")
	fs.StringVar(&bf.queue, "queue", "", "use the queue `name` (declared if missing, kept at the end)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("bench takes no arguments, got %q", pos[0])
	}
	if err := bf.check(e); err != nil {
		return err
	}
	bf.confirmsOff = !bf.confirm
	return bf.session(ctx, e, "bench", func(c *conn.Connection) error {
		return bf.run(ctx, e, c)
	})
}

// check validates the flags before anything is dialed.
func (bf *benchFlags) check(e *env) error {
	if bf.url == "" && e.getenv(envURL) == "" {
		bf.url = defaultBenchURL
	}
	if err := bf.resolve(e); err != nil {
		return err
	}
	switch {
	case bf.messages < 1:
		return usageErrorf("--messages must be at least 1, got %d", bf.messages)
	case bf.size < 0:
		return usageErrorf("--size must not be negative, got %d", bf.size)
	case bf.publishers < 0 || bf.consumers < 0:
		return usageErrorf("--publishers and --consumers must not be negative")
	case bf.publishers == 0 && bf.consumers == 0:
		return usageErrorf("nothing to do: --publishers and --consumers are both 0")
	case bf.publishers == 0 && bf.queue == "":
		return usageErrorf("--publishers 0 consumes what is queued already: it needs --queue")
	case bf.prefetch < 1:
		return usageErrorf("--prefetch must be at least 1, got %d", bf.prefetch)
	case bf.duration < 0:
		return usageErrorf("--duration must not be negative, got %v", bf.duration)
	}
	return nil
}

// benchRun is the state of one run, shared by its goroutines.
type benchRun struct {
	start     time.Time
	published atomic.Int64
	consumed  atomic.Int64
	expected  atomic.Int64 // consumers are done at this count
	pubEnd    atomic.Int64 // ns after start when the last publish returned
	consEnd   atomic.Int64 // ns after start when the last ack returned
	errs      atomic.Int64
	firstErr  error
	errOnce   sync.Once
	doneOnce  sync.Once
	allAcked  chan struct{}
	cancel    context.CancelFunc
	latencies [][]time.Duration // one slice per consumer
}

// fail records err, and ends the run at the first one.
func (r *benchRun) fail(err error) {
	r.errs.Add(1)
	r.errOnce.Do(func() {
		r.firstErr = err
		r.cancel()
	})
}

// acked counts one settled delivery and signals when all are.
func (r *benchRun) acked() {
	n := r.consumed.Add(1)
	r.consEnd.Store(int64(time.Since(r.start)))
	if n >= r.expected.Load() {
		r.doneOnce.Do(func() { close(r.allAcked) })
	}
}

// run runs the workload on c and prints the summary on stdout.
func (bf *benchFlags) run(ctx context.Context, e *env, c *conn.Connection) error {
	q := route.Queue{Name: bf.queue}
	if q.Name == "" {
		q.Name = "kelp.bench." + randomHex(6)
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
			defer cancel()
			_, _ = c.QueueDelete(dctx, q.Name, conn.QueueDeleteOptions{})
		}()
	}
	if _, err := c.DeclareQueue(ctx, q); err != nil {
		return fmt.Errorf("declaring queue %q: %w", q.Name, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	if bf.duration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, bf.duration)
	}
	defer cancel()
	r := &benchRun{allAcked: make(chan struct{}), cancel: cancel, latencies: make([][]time.Duration, bf.consumers)}
	r.expected.Store(int64(bf.messages))

	var consumers []*conn.Consumer
	for range bf.consumers {
		cons, err := c.Consume(runCtx, []route.Queue{q}, conn.WithPrefetch(bf.prefetch))
		if err != nil {
			for _, c := range consumers {
				c.Stop()
			}
			return fmt.Errorf("consuming from %q: %w", q.Name, err)
		}
		consumers = append(consumers, cons)
	}

	r.start = time.Now()
	stopProgress := bf.progress(e.stdout, r)
	var cwg, pwg sync.WaitGroup
	for i, cons := range consumers {
		cwg.Go(func() { r.consume(runCtx, cons, i, bf.messages) })
	}
	p := c.Producer(conn.WithRoutingKey(q.Name), conn.WithDeliveryMode(route.Transient))
	var next atomic.Int64
	for range bf.publishers {
		pwg.Go(func() { r.publish(runCtx, p, &next, bf.messages, bf.size) })
	}
	pwg.Wait()
	if bf.consumers > 0 {
		if bf.publishers > 0 {
			// Consumers are done once they acked what was published.
			r.expected.Store(r.published.Load())
			if r.consumed.Load() >= r.expected.Load() {
				r.doneOnce.Do(func() { close(r.allAcked) })
			}
		}
		select {
		case <-r.allAcked:
		case <-runCtx.Done():
		}
	}
	cancel()
	cwg.Wait()
	for _, cons := range consumers {
		cons.Stop()
	}
	stopProgress()
	bf.summary(e.stdout, r)
	switch {
	case r.firstErr != nil:
		return fmt.Errorf("%d %s, the first: %w", r.errs.Load(), plural(int(r.errs.Load()), "error"), r.firstErr)
	case ctx.Err() != nil:
		return errInterrupted
	}
	return nil
}

// publish publishes messages until n were taken by all publishers or ctx
// ends.
func (r *benchRun) publish(ctx context.Context, p *conn.Producer, next *atomic.Int64, n, size int) {
	for next.Add(1) <= int64(n) {
		body := make([]byte, size)
		if size >= stampSize {
			bin.LittleEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		}
		if err := p.Publish(ctx, body); err != nil {
			if ctx.Err() == nil {
				r.fail(fmt.Errorf("publish: %w", err))
			}
			return
		}
		r.published.Add(1)
		r.pubEnd.Store(int64(time.Since(r.start)))
	}
}

// consume acks deliveries of cons until ctx ends, recording each one's
// latency in r.latencies[i].
func (r *benchRun) consume(ctx context.Context, cons *conn.Consumer, i, n int) {
	lat := make([]time.Duration, 0, n)
	defer func() { r.latencies[i] = lat }()
	for {
		d, err := cons.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.fail(fmt.Errorf("consume: %w", err))
			}
			return
		}
		if len(d.Body) >= stampSize {
			sent := int64(bin.LittleEndian.Uint64(d.Body))
			lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
		}
		if err := d.Ack(ctx); err != nil {
			if ctx.Err() == nil {
				r.fail(fmt.Errorf("ack: %w", err))
			}
			return
		}
		r.acked()
	}
}

// progress shows the run's progress on w until the returned function is
// called: a bar redrawn in place on a terminal, a plain line a second
// otherwise.
func (bf *benchFlags) progress(w io.Writer, r *benchRun) (stop func()) {
	tty := isTerminal(w)
	every := time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
				pub, cons := r.published.Load(), r.consumed.Load()
				if tty {
					fmt.Fprintf(w, "\r%s published %d, acked %d", bar(max(pub, cons), int64(bf.messages), 30), pub, cons)
				} else {
					fmt.Fprintf(w, "progress: %.1fs published %d, acked %d\n", time.Since(r.start).Seconds(), pub, cons)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// bar draws a progress bar of width cells for done out of total.
func bar(done, total int64, width int) string {
	filled := int(min(done, total) * int64(width) / max(total, 1))
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// summary prints the outcome of the run.
func (bf *benchFlags) summary(w io.Writer, r *benchRun) {
	confirms := "off"
	if bf.confirm {
		confirms = "on"
	}
	fmt.Fprintf(w, "kelp bench: %s, %d B bodies, %d %s (confirms %s), %d %s (prefetch %d)\n",
		redact(bf.url), bf.size, bf.publishers, plural(bf.publishers, "publisher"), confirms,
		bf.consumers, plural(bf.consumers, "consumer"), bf.prefetch)
	if bf.publishers > 0 {
		fmt.Fprintf(w, "publish: %d messages in %v, %s msg/s\n", r.published.Load(), round(r.pubEnd.Load()), rate(r.published.Load(), r.pubEnd.Load()))
	}
	if bf.consumers > 0 {
		fmt.Fprintf(w, "consume: %d messages in %v, %s msg/s\n", r.consumed.Load(), round(r.consEnd.Load()), rate(r.consumed.Load(), r.consEnd.Load()))
		var all []time.Duration
		for _, l := range r.latencies {
			all = append(all, l...)
		}
		if len(all) > 0 {
			slices.Sort(all)
			fmt.Fprintf(w, "latency: p50 %v, p90 %v, p99 %v, p99.9 %v, max %v\n",
				percentile(all, 50), percentile(all, 90), percentile(all, 99), percentile(all, 99.9), all[len(all)-1])
		}
	}
	fmt.Fprintf(w, "errors: %d\n", r.errs.Load())
}

// percentile returns the p-th percentile of sorted, which is not empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)].Round(time.Microsecond)
}

// rate formats n messages in ns nanoseconds as a rate.
func rate(n, ns int64) string {
	if n == 0 || ns <= 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f", float64(n)/time.Duration(ns).Seconds())
}

// round rounds ns nanoseconds to a readable duration.
func round(ns int64) time.Duration { return time.Duration(ns).Round(time.Millisecond) }

// redact returns url without its password, for the summary.
func redact(url string) string {
	u, err := conn.ParseURL(url)
	if err != nil {
		return "the broker"
	}
	return u.String()
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
