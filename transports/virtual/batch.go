package virtual

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kelpmq/kelp/transports"
)

// BatchPutter is an optional interface of a [Backend] that stores several
// messages in one exchange with its server (Redis: one pipeline of
// LPUSHes), so that a round trip is paid per batch, not per message.
//
// With a BatchPutter a channel publishes asynchronously: Publish routes
// the message, queues it for the channel's writer goroutine and returns;
// the writer hands every message queued at that moment to one PutBatch
// and then confirms each, in publish order. Publishes that need the store
// in the same step (queues with length limits, broadcasts, injected
// nacks) and every other channel operation but Ack, Nack, Qos and Cancel
// first wait for the queued publishes to be stored, so a channel's
// operations still take effect in the order they were made.
type BatchPutter interface {
	// PutBatch stores each put as [Backend.Put] would, in order within
	// each queue, and sets Put.Err for each put that failed on its own
	// ([ErrNoQueue]: the message is dropped, as Put's caller would). An
	// error return means the whole batch failed and nothing can be told
	// about any put (a lost connection); the Broker then treats it as a
	// store failure. PutBatch must not keep puts or the envelopes in them.
	PutBatch(ctx context.Context, puts []Put) error
}

// Put is one message of a [BatchPutter.PutBatch].
type Put struct {
	Queue    string
	Envelope Envelope
	// Err is set by PutBatch when this put failed on its own.
	Err error
}

// BatchFetcher is an optional interface of a [Backend] that claims several
// messages in one exchange with its server. A consumer pump of a store
// that is a BatchFetcher and not a [Reserver] claims up to the consumer's
// free prefetch credit at once.
type BatchFetcher interface {
	// FetchBatch claims up to max (at least 1) ready messages of queue,
	// in [Backend.Fetch] order, and appends them to dst. With wait it
	// blocks until at least one can be claimed, as Fetch does; without,
	// an empty queue returns [ErrEmpty]. On an error nothing was claimed
	// (the store takes care of claims whose reply it lost).
	FetchBatch(ctx context.Context, queue string, max int, wait bool, dst []Claim) ([]Claim, error)
}

// BatchAcker is an optional interface of a [Backend] that settles several
// claims with [Backend.Ack] in one exchange with its server. With it a
// channel acknowledges asynchronously: Ack checks the tags, gives their
// prefetch credit back, hands the claims to the channel's settler
// goroutine and returns, as AMQP's basic.ack does not wait for the broker
// either (so the consumer's next claim overlaps the settle). The settler
// sends every ack that arrived while the previous call was in flight in
// one AckBatch, and closing the channel waits for every ack handed to it.
type BatchAcker interface {
	// AckBatch acks every claim as [Backend.Ack] does. An error is a store
	// failure; the claims may or may not be settled (the store restores
	// those that are not, as it does for a failed Ack).
	AckBatch(ctx context.Context, claims []*Claim) error
}

// Limits of the asynchronous paths.
const (
	// maxQueuedPublishes bounds the publishes waiting for a channel's
	// writer: Publish blocks beyond it (outside confirm mode nothing else
	// bounds a fast publisher).
	maxQueuedPublishes = 4096
	// maxFetchBatch bounds the messages one FetchBatch claims.
	maxFetchBatch = 128
)

// batcher hands items from the channel's calling goroutine to one worker
// goroutine, which processes everything queued at each turn in one go
// (one store call). The owner starts it with newBatcher and stops it with
// close, which lets it process what is queued first.
type batcher[T any] struct {
	process func(ctx context.Context, items []T)
	ctx     context.Context
	// cancel cuts the worker's store calls short when close's ctx ends
	// before the queue is drained.
	cancel context.CancelFunc
	wake   chan struct{} // one slot: items were queued or close was called
	space  chan struct{} // one slot: the worker took items
	done   chan struct{} // closed when the worker has exited

	mu      sync.Mutex
	items   []T
	spare   []T
	pending int  // items queued or being processed
	closed  bool // no more items; the worker drains and exits
}

func newBatcher[T any](process func(ctx context.Context, items []T)) *batcher[T] {
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher[T]{process: process, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1), done: make(chan struct{})}
	go b.run()
	return b
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// add queues items; false when the batcher is closed (items are dropped).
func (b *batcher[T]) add(items ...T) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.items = append(b.items, items...)
	b.pending += len(items)
	b.mu.Unlock()
	signal(b.wake)
	return true
}

// state returns how many items are queued and not taken yet, how many
// are queued or being processed, and whether the batcher is closed.
func (b *batcher[T]) state() (queued, pending int, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items), b.pending, b.closed
}

// close stops the worker after it has processed what is queued, or, when
// ctx ends first, cuts its store calls short; it waits for the worker.
func (b *batcher[T]) close(ctx context.Context) {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	signal(b.wake)
	select {
	case <-b.done:
	case <-ctx.Done():
		b.cancel()
		<-b.done
	}
	b.cancel()
}

// run is the worker goroutine.
func (b *batcher[T]) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		for len(b.items) == 0 {
			if b.closed {
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		items := b.items
		b.items, b.spare = b.spare[:0], nil
		b.mu.Unlock()
		signal(b.space)
		b.process(b.ctx, items)
		clear(items)
		b.mu.Lock()
		b.pending -= len(items)
		b.spare = items[:0]
		b.mu.Unlock()
	}
}

// pubJob is one publish waiting for the writer: the copies to store (one
// per routed queue) and its confirmation. A job with barrier set stores
// nothing; the writer closes barrier when every job before it is done.
type pubJob struct {
	puts    []Put
	queues  []*queue // the queue of each put, for expiry timers
	confirm bool
	conf    transports.Confirmation
	ret     *transports.Return // outside confirm mode: for Returns
	barrier chan struct{}
}

// pubWriter is a channel's publish writer, started with the channel's
// first asynchronous publish and closed by the channel's shutdown, which
// lets it store (and confirm) what is queued first.
type pubWriter struct {
	*batcher[pubJob]
	ch *Channel
	bp BatchPutter

	// Used by the worker only.
	failed bool // the store failed: jobs are dropped unconfirmed
	puts   []Put
}

func newPubWriter(ch *Channel, bp BatchPutter) *pubWriter {
	w := &pubWriter{ch: ch, bp: bp}
	w.batcher = newBatcher(w.store)
	return w
}

// waitSpace waits until the writer can take one more job. Only the
// channel's one calling goroutine queues jobs, so space found stays free.
func (w *pubWriter) waitSpace(ctx context.Context) error {
	for {
		queued, _, closed := w.state()
		switch {
		case closed:
			return w.ch.closedErr()
		case queued < maxQueuedPublishes:
			return nil
		}
		select {
		case <-w.space:
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ch.done:
			return w.ch.Err()
		}
	}
}

// flush waits until every job queued so far is done.
func (w *pubWriter) flush(ctx context.Context) error {
	if _, pending, _ := w.state(); pending == 0 {
		return nil
	}
	b := make(chan struct{})
	if !w.add(pubJob{barrier: b}) {
		return w.ch.closedErr()
	}
	select {
	case <-b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return w.ch.closedErr()
	}
}

// store writes jobs in order: the puts of consecutive jobs in one
// PutBatch, up to each barrier.
func (w *pubWriter) store(ctx context.Context, jobs []pubJob) {
	start := 0
	for i := range jobs {
		if jobs[i].barrier == nil {
			continue
		}
		w.storeRun(ctx, jobs[start:i])
		close(jobs[i].barrier)
		start = i + 1
	}
	w.storeRun(ctx, jobs[start:])
}

// storeRun stores the puts of jobs (none of them a barrier) in one
// PutBatch and then confirms each job.
func (w *pubWriter) storeRun(ctx context.Context, jobs []pubJob) {
	if len(jobs) == 0 || w.failed {
		return
	}
	puts := w.puts[:0]
	for i := range jobs {
		puts = append(puts, jobs[i].puts...)
	}
	var err error
	if len(puts) > 0 {
		err = w.bp.PutBatch(ctx, puts)
	}
	for i := 0; err == nil && i < len(puts); i++ {
		if e := puts[i].Err; e != nil && !errors.Is(e, ErrNoQueue) {
			err = e
		}
	}
	clear(puts)
	w.puts = puts[:0]
	if err != nil {
		w.fail(ctx, err)
		return
	}
	ch := w.ch
	ch.mu.Lock()
	confirms, returns := ch.confirms, ch.returns
	ch.mu.Unlock()
	for i := range jobs {
		j := &jobs[i]
		for k, q := range j.queues {
			if exp := j.puts[k].Envelope.Expires; !exp.IsZero() {
				q.armExpiry(exp)
			}
		}
		switch {
		case j.confirm && confirms != nil:
			confirms.push(j.conf)
		case j.ret != nil && returns != nil:
			returns.push(*j.ret)
		}
	}
}

// fail records a store failure: the connection is dropped, as a failed
// synchronous Put drops it, and the jobs not stored are never confirmed.
// The drop runs on its own goroutine: it closes this channel, which waits
// for the writer.
func (w *pubWriter) fail(ctx context.Context, err error) {
	w.failed = true
	if ctx.Err() != nil {
		return // cut short by the channel's own shutdown
	}
	go w.ch.conn.drop(storeError("basic.publish", err))
}

// publishAsync is Publish for a store that is a [BatchPutter], after
// routing (in ch.scratch): it queues the message for the writer and
// returns its sequence number. ok false means the message needs the
// synchronous path.
func (ch *Channel) publishAsync(ctx context.Context, p transports.Publishing, ttl time.Duration, hasTTL bool) (uint64, bool, error) {
	s := &ch.scratch
	for _, q := range s.queues {
		if q.maxLen >= 0 || q.maxBytes >= 0 {
			return 0, false, nil
		}
	}
	ch.mu.Lock()
	if ch.pub == nil && !ch.closing {
		ch.pub = newPubWriter(ch, ch.b.putter)
	}
	w := ch.pub
	ch.mu.Unlock()
	if w == nil {
		return 0, true, ch.closedErr()
	}
	if err := w.waitSpace(ctx); err != nil {
		return 0, true, err
	}
	j := pubJob{}
	if n := len(s.queues); n > 0 {
		now := time.Now()
		j.puts = make([]Put, n)
		j.queues = make([]*queue, n)
		copy(j.queues, s.queues)
		for i, q := range s.queues {
			pt := &j.puts[i]
			pt.Queue = q.name
			pt.Envelope = Envelope{Message: p.Message, Exchange: p.Exchange, RoutingKey: p.RoutingKey}
			if i > 0 {
				pt.Envelope.Body = bytes.Clone(pt.Envelope.Body)
				pt.Envelope.Headers = pt.Envelope.Headers.Clone()
			}
			pt.Envelope.Expires = q.expiry(ttl, hasTTL, now)
		}
	}
	var ret *transports.Return
	if len(s.queues) == 0 && p.Mandatory {
		ret = &transports.Return{ReplyCode: 312, ReplyText: "NO_ROUTE", Publishing: p}
	}
	ch.mu.Lock()
	var seq uint64
	if ch.confirms != nil {
		ch.seq++
		seq = ch.seq
		j.confirm = true
		j.conf = transports.Confirmation{Seq: seq, Ack: true, Return: ret}
	} else {
		j.ret = ret
	}
	ch.mu.Unlock()
	// When the writer was closed meanwhile (the connection failed), the
	// publish is lost with the connection and never confirmed, as on
	// AMQP; conn resolves it as lost.
	w.add(j)
	return seq, true, nil
}

// flushPublishes waits until the channel's queued publishes are stored,
// so that the operation that follows sees them.
func (ch *Channel) flushPublishes(ctx context.Context) error {
	ch.mu.Lock()
	w := ch.pub
	ch.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.flush(ctx)
}

// closedErr is the error of a call on a channel that is closing.
func (ch *Channel) closedErr() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.err != nil {
		return ch.err
	}
	return transports.ErrChannelClosed
}

// acker is a channel's ack settler, started with the channel's first
// asynchronous ack and closed by the channel's shutdown, which lets it
// settle what it holds first. Each AckBatch carries every ack that arrived
// while the previous one was in flight.
type acker struct {
	*batcher[pending]
	ba BatchAcker

	// Used by the worker only.
	claims []*Claim
}

func newAcker(ba BatchAcker) *acker {
	a := &acker{ba: ba}
	a.batcher = newBatcher(a.settle)
	return a
}

// settle acks ps in the store.
func (a *acker) settle(ctx context.Context, ps []pending) {
	claims := a.claims[:0]
	for i := range ps {
		claims = append(claims, &ps[i].claim)
	}
	// A failure is the store's to repair (it restores claims whose
	// settle it could not confirm), as for a synchronous Ack.
	_ = a.ba.AckBatch(ctx, claims)
	clear(claims)
	a.claims = claims[:0]
}
