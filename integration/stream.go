package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// Stream is the workload of the fault tests: Publishers goroutines publish
// Messages messages with unique ids (the JSON body is the id, 0 to
// Messages-1) through confirmed publishes that retry across reconnects,
// while Consumers consumers ack every delivery. Faults are injected while it
// runs; [Flow.Finish] then checks what the promise of kelp is about:
//
//   - every confirmed publish was delivered and acked at least once
//     (duplicates are allowed, counted and logged);
//   - every call (Publish, Ack, Get) returned within its ctx, give or take
//     Slack;
//   - every consumer delivered on the same Go channel throughout;
//   - nothing is left in the queue once every delivery was acked.
//
// The zero value is a small stream with the defaults below.
type Stream struct {
	// Publishers is the number of concurrent publishing goroutines.
	// Default 4.
	Publishers int
	// Messages is the number of messages published in total. Default 1000.
	Messages int
	// Consumers is the number of consumers (each a [conn.Consumer] with
	// broker channels of its own) sharing the queue. Default 1.
	Consumers int
	// Rate caps the publishing rate in messages per second, over all
	// publishers, so that a stream lasts long enough for its faults.
	// Zero means no cap.
	Rate int
	// Prefetch is each consumer's prefetch. Default 50.
	Prefetch int
	// CallTimeout bounds each Publish, Ack and Get call. Default 20s.
	CallTimeout time.Duration
	// Slack is how long after its ctx's deadline a call may return before
	// it counts as an overrun. Default 2s.
	Slack time.Duration
	// Retry is the publishers' retry policy. Without limits or intervals
	// set it retries until the call's ctx ends, 50ms to 250ms apart.
	Retry conn.RetryPolicy
}

// withDefaults fills in the zero fields.
func (s Stream) withDefaults() Stream {
	if s.Publishers == 0 {
		s.Publishers = 4
	}
	if s.Messages == 0 {
		s.Messages = 1000
	}
	if s.Consumers == 0 {
		s.Consumers = 1
	}
	if s.Prefetch == 0 {
		s.Prefetch = 50
	}
	if s.CallTimeout == 0 {
		s.CallTimeout = 20 * time.Second
	}
	if s.Slack == 0 {
		s.Slack = 2 * time.Second
	}
	if r := s.Retry; r.MaxRetries == 0 && r.IntervalStart == 0 && r.IntervalStep == 0 && r.IntervalMax == 0 {
		s.Retry.MaxRetries = -1
		s.Retry.IntervalStart = 50 * time.Millisecond
		s.Retry.IntervalStep = 50 * time.Millisecond
		s.Retry.IntervalMax = 250 * time.Millisecond
	}
	return s
}

// Progress is how far a [Flow] got.
type Progress struct {
	// Confirmed is the number of publishes confirmed so far.
	Confirmed int
	// Acked is the number of distinct messages acked so far.
	Acked int
}

// Flow is a running [Stream]: its publishers and its consumers run on
// goroutines of their own until [Flow.Finish], or until the test ends.
type Flow struct {
	s      Stream
	t      testing.TB
	c      *conn.Connection
	q      route.Queue
	cons   []*conn.Consumer
	c0     []<-chan conn.Delivery // each consumer's C at the start
	ctx    context.Context        // of the publishers and the consumers; ended by Finish
	cancel context.CancelFunc
	start  time.Time

	next     atomic.Int64
	retries  atomic.Int64
	pubsDone chan struct{}
	consDone chan struct{} // closed when every consumer goroutine returned

	mu        sync.Mutex
	confirmed []bool
	acks      []int // successful acks per id
	nConf     int
	nAcked    int // distinct ids acked
	missing   int // confirmed and not acked yet
	failed    []string
	stale     int
	ackLost   int
	late      int // acks of messages that came back after the stream
	overruns  []string
	problems  []string
	changed   chan struct{} // closed and replaced on progress
}

// Start subscribes to q (declaring it) and starts the publishers and the
// consumers on c. ctx bounds the whole stream.
func (s Stream) Start(ctx context.Context, t testing.TB, c *conn.Connection, q route.Queue) *Flow {
	t.Helper()
	s = s.withDefaults()
	f := &Flow{
		s: s, t: t, c: c, q: q, start: time.Now(),
		pubsDone:  make(chan struct{}),
		consDone:  make(chan struct{}),
		confirmed: make([]bool, s.Messages),
		acks:      make([]int, s.Messages),
		changed:   make(chan struct{}),
	}
	for range s.Consumers {
		cons, err := c.Consume(ctx, []route.Queue{q}, conn.WithPrefetch(s.Prefetch))
		if err != nil {
			for _, cons := range f.cons {
				cons.Stop()
			}
			t.Fatalf("Consume: %v", err)
		}
		f.cons = append(f.cons, cons)
		f.c0 = append(f.c0, cons.C())
	}
	f.ctx, f.cancel = context.WithCancel(ctx)
	var pubs, subs sync.WaitGroup
	for range s.Publishers {
		pubs.Go(f.publish)
	}
	for i := range f.cons {
		subs.Go(func() { f.consume(i) })
	}
	subs.Go(f.waitComplete)
	go func() {
		pubs.Wait()
		close(f.pubsDone)
	}()
	go func() {
		subs.Wait()
		close(f.consDone)
	}()
	t.Cleanup(f.stop) // when the test ends without Finish
	return f
}

// stop ends the publishers and the consumers and waits for them.
func (f *Flow) stop() {
	f.cancel()
	<-f.pubsDone
	<-f.consDone
	for _, cons := range f.cons {
		cons.Stop()
	}
}

// Progress returns how far the flow got.
func (f *Flow) Progress() Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Progress{Confirmed: f.nConf, Acked: f.nAcked}
}

// WaitFor waits until cond holds for the flow's progress, or ctx ends.
func (f *Flow) WaitFor(ctx context.Context, cond func(Progress) bool) error {
	for {
		f.mu.Lock()
		p, changed := Progress{Confirmed: f.nConf, Acked: f.nAcked}, f.changed
		f.mu.Unlock()
		if cond(p) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("integration: stream at %+v: %w", p, ctx.Err())
		}
	}
}

// WaitAcked waits until n distinct messages have been acked, or fails the
// test when ctx ends first.
func (f *Flow) WaitAcked(ctx context.Context, n int) Progress {
	f.t.Helper()
	if err := f.WaitFor(ctx, func(p Progress) bool { return p.Acked >= n }); err != nil {
		f.t.Fatal(err)
	}
	return f.Progress()
}

// progressed wakes WaitFor; f.mu must be held.
func (f *Flow) progressed() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// call runs one bounded call and records it as an overrun when it returned
// later than its deadline plus Slack.
func (f *Flow) call(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, f.s.CallTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	err := fn(ctx)
	if late := time.Since(deadline); late > f.s.Slack {
		f.mu.Lock()
		f.overruns = append(f.overruns, fmt.Sprintf("%s returned %v after its deadline (%v)", what, late, err))
		f.mu.Unlock()
	}
	return err
}

// publish is a publisher goroutine.
func (f *Flow) publish() {
	s := f.s
	p := f.c.Producer(conn.WithRoutingKey(f.q.Name), conn.WithRetry(s.retryPolicy(&f.retries)))
	var tick <-chan time.Time
	if s.Rate > 0 {
		tk := time.NewTicker(time.Duration(s.Publishers) * time.Second / time.Duration(s.Rate))
		defer tk.Stop()
		tick = tk.C
	}
	for {
		id := int(f.next.Add(1) - 1)
		if id >= s.Messages || f.ctx.Err() != nil {
			return
		}
		if tick != nil {
			select {
			case <-tick:
			case <-f.ctx.Done():
				return
			}
		}
		err := f.call(f.ctx, "Publish", func(ctx context.Context) error { return p.Publish(ctx, id) })
		f.mu.Lock()
		if err != nil {
			f.failed = append(f.failed, fmt.Sprintf("publish %d: %v", id, err))
		} else {
			f.confirmed[id] = true
			f.nConf++
			if f.acks[id] == 0 {
				f.missing++
			}
			f.progressed()
		}
		f.mu.Unlock()
	}
}

// retryPolicy returns s.Retry counting retries in n.
func (s Stream) retryPolicy(n *atomic.Int64) conn.RetryPolicy {
	p := s.Retry
	user := p.OnRetry
	p.OnRetry = func(err error, retry int, delay time.Duration) {
		n.Add(1)
		if user != nil {
			user(err, retry, delay)
		}
	}
	return p
}

// consume is the goroutine of consumer i: it acks every delivery until
// every confirmed message was acked after the publishers ended.
func (f *Flow) consume(i int) {
	pubsDone := f.pubsDone
	for {
		select {
		case d, ok := <-f.c0[i]:
			if !ok {
				f.problem("consumer %d's channel closed mid-stream (Err: %v)", i, f.cons[i].Err())
				return
			}
			f.settle(f.ctx, d)
		case <-pubsDone:
			pubsDone = nil
		case <-f.ctx.Done():
			return
		}
		if pubsDone == nil && f.complete() {
			return
		}
	}
}

// waitComplete ends the consumers (by cancelling the flow's ctx) once the
// publishers are done and every confirmed message was acked: all but one
// of them are then waiting on an empty channel.
func (f *Flow) waitComplete() {
	<-f.pubsDone // closed by stop too
	for {
		f.mu.Lock()
		missing, changed := f.missing, f.changed
		f.mu.Unlock()
		if missing == 0 {
			f.cancel()
			return
		}
		select {
		case <-changed:
		case <-f.ctx.Done():
			return
		}
	}
}

// complete reports whether every confirmed message has been acked.
func (f *Flow) complete() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.missing == 0
}

// settle acks one delivery and records the outcome.
func (f *Flow) settle(ctx context.Context, d conn.Delivery) {
	var id int
	if err := d.Decode(&id); err != nil || id < 0 || id >= f.s.Messages {
		f.problem("delivery with body %q: not a message of this stream (%v)", d.Body, err)
		_ = f.call(ctx, "Reject", d.Reject)
		return
	}
	err := f.call(ctx, "Ack", d.Ack)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil:
		f.acked(id)
	case errors.Is(err, conn.ErrStaleDelivery):
		f.stale++ // the broker redelivers it
	case errors.Is(err, conn.ErrConnectionLost), errors.Is(err, conn.ErrChannelClosed):
		f.ackLost++ // the channel died under the ack: redelivered too
	case errors.Is(err, context.Canceled) && f.ctx.Err() != nil && ctx == f.ctx:
		// The stream completed while this consumer held a duplicate: it
		// goes back to the queue, and Finish takes it.
	default:
		f.problems = append(f.problems, fmt.Sprintf("ack of %d: %v", id, err))
	}
}

// acked records a successful ack of id; f.mu must be held.
func (f *Flow) acked(id int) {
	f.acks[id]++
	if f.acks[id] == 1 {
		f.nAcked++
		if f.confirmed[id] {
			f.missing--
		}
		f.progressed()
	}
}

func (f *Flow) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// Result is what a finished [Flow] observed.
type Result struct {
	// Messages is the number of messages the publishers were to send.
	Messages int
	// Confirmed is the number of publishes that returned nil.
	Confirmed int
	// Failed lists the publishes that returned an error.
	Failed []string
	// Retries is the number of publish retries.
	Retries int
	// Acked is the number of successful acks, duplicates included;
	// Distinct the number of different messages among them.
	Acked, Distinct int
	// Duplicates is Acked - Distinct: messages delivered and acked more
	// than once (at-least-once delivery across faults).
	Duplicates int
	// Lost lists the confirmed messages never acked.
	Lost []int
	// Stale counts settles refused with conn.ErrStaleDelivery, and AckLost
	// acks that failed because their channel died; both are redelivered.
	Stale, AckLost int
	// Late counts the messages (copies of acked ones) that came back to
	// the queue after the stream had ended, and that Finish took: claims
	// restored after a fault lost their reply (see [LeftoverWait]).
	Late int
	// Overruns lists calls that returned well after their ctx's deadline.
	Overruns []string
	// Problems lists anything else unexpected.
	Problems []string
	// Elapsed is the stream's duration.
	Elapsed time.Duration
}

// Finish waits, bounded by ctx, until the publishers are done and every
// confirmed message was acked; stops the consumers; takes what is left in
// the queue (duplicates) with Get; checks that the queue is empty with
// ready (nil skips that check) and returns what the flow observed. Check
// the result with [Result.Check].
func (f *Flow) Finish(ctx context.Context, ready func(ctx context.Context, queue string) (int, error)) Result {
	f.t.Helper()
	select {
	case <-f.consDone:
	case <-ctx.Done():
		f.problem("the stream did not complete in time: %v", ctx.Err())
	}
	for i, cons := range f.cons {
		if cons.C() != f.c0[i] {
			f.problem("consumer %d's C changed", i)
		}
	}
	f.stop()
	f.takeLeftovers(ctx)
	if ready != nil {
		f.drain(ctx, ready)
	}
	return f.result()
}

// LeftoverWait bounds how long [Flow.Finish] waits for messages that come
// back to the queue after the stream ended: claims whose reply a fault
// lost, which the Redis driver restores on its next maintenance tick
// (every 10 s by default).
const LeftoverWait = 20 * time.Second

// drain checks that the queue is empty, as counted by ready; while it is
// not, it takes what came back (copies of messages already acked,
// counted as duplicates and in Late), until LeftoverWait has passed.
func (f *Flow) drain(ctx context.Context, ready func(ctx context.Context, queue string) (int, error)) {
	deadline := time.Now().Add(LeftoverWait)
	for {
		n, err := ready(ctx, f.q.Name)
		switch {
		case err != nil:
			f.problem("counting the queue: %v", err)
			return
		case n == 0:
			return
		case time.Now().After(deadline):
			f.problem("%d messages left in the queue %v after every delivery was acked", n, LeftoverWait)
			return
		}
		select {
		case <-ctx.Done():
			f.problem("%d messages left in the queue: %v", n, ctx.Err())
			return
		case <-time.After(100 * time.Millisecond): // polls the broker: no signal for a restore
		}
		f.mu.Lock()
		before := f.total()
		f.mu.Unlock()
		f.takeLeftovers(ctx)
		f.mu.Lock()
		f.late += f.total() - before
		f.mu.Unlock()
	}
}

// total returns the number of successful acks; f.mu must be held.
func (f *Flow) total() int {
	n := 0
	for _, a := range f.acks {
		n += a
	}
	return n
}

// takeLeftovers gets and acks what the queue still holds: copies of
// messages published twice, and deliveries the consumer had not handed
// out when it stopped.
func (f *Flow) takeLeftovers(ctx context.Context) {
	for {
		var d conn.Delivery
		err := f.call(ctx, "Get", func(ctx context.Context) error {
			var err error
			d, err = f.c.Get(ctx, f.q.Name)
			return err
		})
		if errors.Is(err, conn.ErrEmpty) {
			return
		}
		if err != nil {
			f.problem("Get: %v", err)
			return
		}
		f.settle(ctx, d)
	}
}

func (f *Flow) result() Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := Result{
		Messages:  f.s.Messages,
		Confirmed: f.nConf,
		Failed:    slices.Clone(f.failed),
		Retries:   int(f.retries.Load()),
		Distinct:  f.nAcked,
		Stale:     f.stale,
		AckLost:   f.ackLost,
		Late:      f.late,
		Overruns:  slices.Clone(f.overruns),
		Problems:  slices.Clone(f.problems),
		Elapsed:   time.Since(f.start),
	}
	for id, n := range f.acks {
		r.Acked += n
		if f.confirmed[id] && n == 0 {
			r.Lost = append(r.Lost, id)
		}
	}
	r.Duplicates = r.Acked - r.Distinct
	return r
}

// Check logs the result and fails t when a confirmed message was lost, a
// publish failed (each had CallTimeout and unlimited retries), a call
// overran its ctx, or anything else unexpected happened.
func (r Result) Check(t testing.TB) {
	t.Helper()
	t.Logf("stream: %d messages in %v: %d confirmed, %d publish retries; %d acked (%d distinct, %d duplicates, %d back after the stream); %d stale settles, %d acks lost with their channel",
		r.Messages, r.Elapsed.Round(time.Millisecond), r.Confirmed, r.Retries, r.Acked, r.Distinct, r.Duplicates, r.Late, r.Stale, r.AckLost)
	if len(r.Lost) > 0 {
		t.Errorf("%d confirmed messages lost: %v", len(r.Lost), head(r.Lost))
	}
	for _, list := range []struct {
		what  string
		items []string
	}{{"publishes failed", r.Failed}, {"calls overran their ctx", r.Overruns}, {"problems", r.Problems}} {
		if len(list.items) > 0 {
			t.Errorf("%d %s: %v", len(list.items), list.what, head(list.items))
		}
	}
}

// head returns the first few items of a list, for error messages.
func head[T any](s []T) []T { return s[:min(len(s), 10)] }
