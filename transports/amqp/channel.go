package amqp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/transports"
)

// channel is the transports.Channel of one amqp091 channel.
//
// Goroutines: a worker makes every amqp091 call of the channel that writes
// to the broker, in the order the methods were called: publishes and
// settles are queued and the method returns at once (their failures kill
// the channel, which is how AMQP reports them anyway), while the other
// methods queue a call and wait for its result, bounded by their ctx even
// though amqp091's calls cannot be cancelled. The events goroutine
// (events.go) drains every amqp091 notification of the channel; each
// Subscription has a relay (consume.go). All are counted in the conn's
// WaitGroup; the relays also in the channel's own, which Close waits for.
// (The events goroutine keeps draining amqp091's notifications until
// amqp091 closes them, which for an abandoned channel may take until the
// connection ends.)
type channel struct {
	c   *conn
	ach *amqp091.Channel

	jobs chan job       // to the worker, in call order
	res  chan error     // a call's result from the worker, capacity 1
	quit chan struct{}  // closed by release: every goroutine of the channel stops
	wg   sync.WaitGroup // the relays

	done     chan struct{}
	mu       sync.Mutex
	err      error           // why done closed
	closing  bool            // Close was called
	quitOnce sync.Once       // closes quit
	brokerCx map[string]bool // consumer tags the broker cancelled

	// Owned by the goroutine that drives the Channel.
	confirming bool
	seq        uint64                   // last publish sequence number in confirm mode
	subs       map[string]*subscription // by consumer tag, until Cancel
	consumed   bool                     // Consume succeeded once

	// Publishes awaiting their confirmation that may come back as returns
	// (mandatory ones), by sequence number. Written by the driving
	// goroutine, read and pruned by the events goroutine.
	pmu     sync.Mutex
	pending map[uint64]transports.Publishing

	acks ackTracker

	// Owned by the worker.
	batch []settleArgs

	ev events
}

// Inline implements [transports.Inline]: Publish, Ack and Nack only queue
// their frame for the worker.
func (ch *channel) Inline() bool { return true }

var (
	_ transports.Inline         = (*channel)(nil)
	_ transports.Channel        = (*channel)(nil)
	_ transports.Confirmer      = (*channel)(nil)
	_ transports.Returner       = (*channel)(nil)
	_ transports.ExchangeBinder = (*channel)(nil)
	_ transports.Recoverer      = (*channel)(nil)
)

// jobQueue is how many calls may wait for the worker. Publishers and
// settlers wait for room beyond it, bounded by their ctx.
const jobQueue = 128

// job is one call for the worker: a publish (pub), a call whose caller
// waits for its result on res (fn), a mark the worker closes when it
// reaches it (flush), or else a settle (st).
type job struct {
	pub  *publishArgs
	fn   func() error
	mark chan struct{}
	st   settleArgs
}

// newChannel wraps ach and starts its goroutines. The caller holds c.mu
// and has checked that c is not closing.
func newChannel(c *conn, ach *amqp091.Channel) *channel {
	ch := &channel{
		c:        c,
		ach:      ach,
		jobs:     make(chan job, jobQueue),
		res:      make(chan error, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		brokerCx: make(map[string]bool),
		subs:     make(map[string]*subscription),
		pending:  make(map[uint64]transports.Publishing),
	}
	ch.ev.init(ch)
	c.wg.Add(2)
	go ch.worker()
	go ch.events()
	return ch
}

// worker makes the queued calls until the channel is released. It takes
// every settle queued behind the first one in a single turn, so that a
// burst of acks goes out as one basic.ack with multiple where the tags
// allow (see ackTracker), while a lone ack goes out at once.
func (ch *channel) worker() {
	defer ch.c.wg.Done()
	var next job
	held := false
	for {
		var j job
		if held {
			j, held = next, false
		} else {
			select {
			case j = <-ch.jobs:
			case <-ch.quit:
				return
			}
		}
		switch {
		case j.fn != nil:
			ch.res <- j.fn()
		case j.mark != nil:
			close(j.mark)
		case j.pub != nil:
			a := j.pub
			err := ch.ach.Publish(a.exchange, a.key, a.mandatory, false, a.msg)
			*a = publishArgs{}
			pubArgsPool.Put(a)
			if err != nil {
				ch.writeFailed("publish", err)
			}
		default:
			ch.batch = append(ch.batch[:0], j.st)
		burst:
			for {
				select {
				case n := <-ch.jobs:
					if n.fn != nil || n.pub != nil || n.mark != nil {
						next, held = n, true
						break burst
					}
					ch.batch = append(ch.batch, n.st)
				default:
					break burst
				}
			}
			if err := ch.settleBatch(ch.batch); err != nil {
				ch.writeFailed("settle", err)
			}
		}
	}
}

// writeFailed ends the channel after a queued publish or settle failed.
// When amqp091 failed because the channel or connection had closed, the
// events goroutine records why; any other failure leaves the broker's view
// of the channel unknown, so the channel is abandoned.
func (ch *channel) writeFailed(what string, err error) {
	if isClosedErr(err) {
		return
	}
	ch.abandon(fmt.Errorf("%w: %s failed: %w", transports.ErrChannelClosed, what, brokerError(err)))
}

// enqueue queues an asynchronous job, waiting for room at most until ctx
// ends or the channel dies. A ctx that has ended queues nothing.
func (ch *channel) enqueue(ctx context.Context, what string, j job) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("amqp: %s: %w", what, err)
	}
	select {
	case ch.jobs <- j:
		return nil
	default:
	}
	select {
	case ch.jobs <- j:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("amqp: %s: %w", what, ctx.Err())
	case <-ch.done:
		return fmt.Errorf("amqp: %s: %w", what, ch.Err())
	}
}

// do runs f, an amqp091 call, on the worker after the calls queued before
// it, bounded by ctx, and maps its error.
//
// A dead channel refuses f up front. If ctx ends before f has run, f may
// still reach the broker, so the channel is abandoned: it is marked closed
// (the error wraps ctx's error and ErrChannelClosed) and the amqp091
// channel is closed in the background.
func (ch *channel) do(ctx context.Context, what string, f func() error) error {
	if err := ch.Err(); err != nil {
		return fmt.Errorf("amqp: %s: %w", what, err)
	}
	if err := ch.enqueue(ctx, what, job{fn: f}); err != nil {
		return err
	}
	var err error
	select {
	case err = <-ch.res:
	case <-ch.quit:
		select {
		case err = <-ch.res: // finished after all: use its result
		default:
			return fmt.Errorf("amqp: %s: %w", what, ch.Err())
		}
	case <-ctx.Done():
		select {
		case err = <-ch.res: // finished after all: use its result
		default:
			cause := ctx.Err()
			ch.abandon(fmt.Errorf("%w: %s interrupted: %w", transports.ErrChannelClosed, what, cause))
			return fmt.Errorf("amqp: %s: %w (the channel was closed: %w)", what, cause, transports.ErrChannelClosed)
		}
	}
	return ch.mapErr(what, err)
}

// flush waits until the worker has made every call queued so far, at
// most until ctx ends or the channel is released.
func (ch *channel) flush(ctx context.Context) {
	if ch.Err() != nil {
		return
	}
	done := make(chan struct{})
	if ch.enqueue(ctx, "flush", job{mark: done}) != nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-ch.quit:
	}
}

// mapErr turns an amqp091 error into the SPI's. For a failure that closed
// the channel (or the connection) it first lets the events goroutine record
// the death, so Done is closed when the method returns.
func (ch *channel) mapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInvalidArgument) || errors.Is(err, transports.ErrUnsupported) {
		return err
	}
	if isClosedErr(err) {
		ch.ev.sync()
		if cerr := ch.Err(); cerr != nil {
			return fmt.Errorf("amqp: %s: %w", what, cerr)
		}
		return fmt.Errorf("amqp: %s: %w", what, transports.ErrChannelClosed)
	}
	var e *amqp091.Error
	if errors.As(err, &e) && (e.Server || connectionLevel(e)) {
		ch.ev.sync()
	}
	return fmt.Errorf("amqp: %s: %w", what, brokerError(err))
}

// Done is closed when the channel is closed or dead.
func (ch *channel) Done() <-chan struct{} { return ch.done }

// Err is nil while the channel is open, then why it ended.
func (ch *channel) Err() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.err
}

// die records why the channel ended, once, and closes done.
func (ch *channel) die(err error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.err == nil {
		ch.err = err
		close(ch.done)
	}
}

// deathError is the Err of a channel amqp091 shut down with e (nil for a
// clean close).
func (ch *channel) deathError(e *amqp091.Error) error {
	ch.mu.Lock()
	closing := ch.closing
	ch.mu.Unlock()
	switch {
	case closing:
		return transports.ErrClosed
	case e != nil && !connectionLevel(e):
		return fmt.Errorf("%w: %w", transports.ErrChannelClosed, brokerError(e))
	case ch.c.ac.IsClosed():
		return ch.c.lostError(e)
	case e != nil:
		return fmt.Errorf("%w: %w", transports.ErrChannelClosed, brokerError(e))
	}
	return fmt.Errorf("%w: closed by the client library", transports.ErrChannelClosed)
}

// abandon gives up a channel whose state is unknown (a call was cut short
// by its ctx): it ends with err and the amqp091 channel is closed in the
// background, which finishes when the broker answers or the connection dies.
func (ch *channel) abandon(err error) {
	ch.mu.Lock()
	if ch.closing {
		err = transports.ErrClosed
	}
	ch.mu.Unlock()
	ch.release(err)
	if ch.c.goroutine() {
		go func() {
			defer ch.c.wg.Done()
			_ = ch.ach.Close()
		}()
	}
}

// release ends the channel's state with err (unless it has ended already)
// and stops its goroutines. It does not wait for them.
func (ch *channel) release(err error) {
	ch.die(err)
	ch.quitOnce.Do(func() { close(ch.quit) })
	ch.c.forget(ch)
}

// Close closes the channel: its consumers end and the broker requeues its
// unacknowledged deliveries. Confirmations and returns not yet received
// from their Go channels are dropped, and those channels are closed. The
// close handshake is bounded by ctx; when ctx ends first, the channel is
// closed in the background and Close returns ctx's error. Close is
// idempotent.
func (ch *channel) Close(ctx context.Context) error {
	ch.mu.Lock()
	if ch.closing {
		ch.mu.Unlock()
		return nil
	}
	ch.closing = true
	alive := ch.err == nil
	ch.mu.Unlock()

	var err error
	if alive {
		if cerr := ch.do(ctx, "close channel", ch.ach.Close); cerr != nil && ctx.Err() != nil {
			err = cerr
		}
	}
	ch.release(transports.ErrClosed)
	ch.wg.Wait()
	return err
}
