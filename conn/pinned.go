package conn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/internal/actor"
	"github.com/kelpmq/kelp/transports"
)

// Pinned is one broker channel reserved for a single user, who both
// consumes and publishes on it. The rest of conn keeps publishing and
// consuming on separate, shared channels; some broker features need the
// two on one channel, above all RabbitMQ's direct reply-to: a client
// consumes the pseudo-queue "amq.rabbitmq.reply-to" (no-ack) and must
// publish its requests, with that address as their reply-to, on the same
// channel.
//
// A Pinned does not heal. It belongs to the connection's session (epoch)
// it was opened in, and is lost for good when its broker channel closes
// (a broker error on it) or the connection is lost: then [Pinned.Done] is
// closed, [Pinned.Err] says why, the Go channels of its subscriptions are
// closed, and [Pinned.Publish] fails with an error matching
// [ErrChannelClosed]. Whatever was in flight on it is lost with it (for
// direct reply-to: the replies to the requests it sent, since their
// address names the channel); open a new one with [Connection.Pin] once
// the connection is back, and retry. Its unsettled deliveries go back to
// their queues, as for any closed channel.
//
// A Pinned is safe for concurrent use. Its goroutines (one actor, one per
// subscription) end with [Pinned.Close], with the connection, or when the
// channel is lost.
type Pinned struct {
	c      *Connection
	ch     *channel
	scheme string

	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // subscription forwarders
}

// Pin opens a broker channel of its own on the current session, waiting
// for the connection to be open (bounded by ctx), in confirm mode as
// the connection's publisher channels are.
func (c *Connection) Pin(ctx context.Context) (*Pinned, error) {
	for {
		sess, err := c.awaitSession(ctx, 0, false)
		if err != nil {
			return nil, err
		}
		p, err := actor.Call(ctx, c.act, func() (*Pinned, error) {
			if c.sess != sess {
				return nil, errSessionGone
			}
			ch, err := newChannel(ctx, c, sess, true)
			if err != nil && isDone(sess.tconn.Done()) {
				return nil, errSessionGone // lost before the actor noticed
			}
			if err != nil {
				return nil, err
			}
			sess.add(ch) // so that the session's teardown stops it
			return &Pinned{c: c, ch: ch, scheme: c.sessionScheme(), stop: make(chan struct{})}, nil
		})
		if errors.Is(err, errSessionGone) {
			if err := c.waitNewSession(ctx, sess); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, c.actErr(ctx, err)
		}
		return p, nil
	}
}

// sessionScheme returns the URL scheme of the address the live session
// was dialed at. It runs on the connection actor, which owns c.next: a
// successful dial leaves it just past the connector used.
func (c *Connection) sessionScheme() string {
	n := len(c.connectors)
	u, err := url.Parse(c.connectors[(c.next+n-1)%n].Address())
	if err != nil {
		return ""
	}
	return u.Scheme
}

// Scheme returns the URL scheme of the broker address the Pinned's
// session was dialed at ("amqp", "redis", "memory", ...): what tells a
// caller which broker features it may use on it.
func (p *Pinned) Scheme() string { return p.scheme }

// Epoch returns the connection epoch the Pinned belongs to.
func (p *Pinned) Epoch() uint64 { return p.ch.epoch }

// Done returns a Go channel closed once the Pinned is lost or closed.
func (p *Pinned) Done() <-chan struct{} { return p.ch.act.Done() }

// Err returns nil while the Pinned lives; then [ErrClosed] after
// [Pinned.Close], or why it was lost: an error matching
// [ErrChannelClosed], and also [ErrConnectionLost] when the connection
// was lost.
func (p *Pinned) Err() error {
	if !p.ch.dead() {
		return nil
	}
	select {
	case <-p.stop:
		return ErrClosed
	default:
	}
	cause := wrapErr(p.ch.ch.Err())
	if cause == nil {
		cause = p.ch.act.Err()
	}
	if p.c.epoch.Load() != p.ch.epoch || p.c.State() != StateOpen && p.c.State() != StateBlocked {
		return fmt.Errorf("%w: the pinned channel of epoch %d is gone: %w: %w",
			ErrChannelClosed, p.ch.epoch, ErrConnectionLost, cause)
	}
	return fmt.Errorf("%w: the pinned channel is gone: %w", ErrChannelClosed, cause)
}

// Publish publishes body on the pinned channel, as [Producer.Publish]
// does, once: [WithRetry] is refused (ErrInvalidOption), since a retry
// belongs on a new Pinned, and [WithFailFast] is moot (a Pinned never
// waits for a reconnect). On a lost Pinned it fails with an error
// matching [ErrChannelClosed].
func (p *Pinned) Publish(ctx context.Context, body any, opts ...PublishOption) error {
	o, err := publishOptions{}.apply(opts)
	if err != nil {
		return err
	}
	if o.retry != nil {
		return invalidOption("WithRetry on a pinned channel: it does not survive a reconnect; retry on a new one")
	}
	pub, err := p.c.buildPublishing(o, body)
	if err != nil {
		return err
	}
	for _, e := range o.declare {
		if err := p.c.MaybeDeclare(ctx, e); err != nil {
			return err
		}
	}
	if !p.c.pubs.enter() {
		return ErrClosed
	}
	defer p.c.pubs.leave()
	if err := p.Err(); err != nil {
		return err
	}
	return p.ch.publish(ctx, pub)
}

// Consume subscribes to the named queue on the pinned channel, which
// must exist (or be a pseudo-queue such as "amq.rabbitmq.reply-to"), and
// returns the Go channel its deliveries arrive on, closed when the
// subscription ends: the Pinned was lost or closed, or the broker
// cancelled the consumer. Options: [WithNoAck], [WithAccept],
// [WithPrefetch] (for the whole channel), [WithExclusive],
// [WithTagPrefix], [WithConsumerPriority] and [WithConsumerArguments]; others are ignored.
// Deliveries are settled as a [Consumer]'s; those the accept list refuses
// are rejected and logged, never handed out.
//
// A subscriber must keep reading the channel: its deliveries wait for it,
// as on [Consumer.C]. Subscriptions end with the Pinned; there is no
// per-subscription cancel.
func (p *Pinned) Consume(ctx context.Context, queue string, opts ...ConsumeOption) (<-chan Delivery, error) {
	o, err := newConsumeOptions(opts)
	if err != nil {
		return nil, err
	}
	accept, err := p.c.acceptFor(o)
	if err != nil {
		return nil, err
	}
	if o.tagPrefix == "" {
		o.tagPrefix = DefaultTagPrefix
	}
	args := transports.ConsumeArgs{
		Queue:     queue,
		Tag:       o.tagPrefix + strconv.FormatUint(p.c.tags.Add(1), 10),
		NoAck:     o.noAck,
		Exclusive: o.exclusive,
		Arguments: o.args,
	}
	sub, err := chanCall(ctx, p.ch, func(ctx context.Context, tch transports.Channel) (transports.Subscription, error) {
		if !o.noAck {
			if err := tch.Qos(ctx, transports.Qos{PrefetchCount: o.prefetch}); err != nil {
				return nil, err
			}
		}
		return tch.Consume(ctx, args)
	})
	if err != nil {
		return nil, fmt.Errorf("conn: pinned consume %q: %w", queue, err)
	}
	out := make(chan Delivery)
	p.wg.Go(func() { p.forward(sub, out, accept, o.noAck) })
	return out, nil
}

// forward hands one subscription's deliveries to its Go channel until the
// subscription ends or the Pinned is closed or lost.
func (p *Pinned) forward(sub transports.Subscription, out chan<- Delivery, accept *codec.Accept, noAck bool) {
	defer close(out)
	in := sub.Deliveries()
	for {
		select {
		case td, ok := <-in:
			if !ok {
				return
			}
			d := p.c.newDelivery(td, p.ch, accept, noAck, nil)
			if reason := refusal(&d, accept); reason != nil {
				p.c.cfg.Logger.Warn("conn: pinned channel dropping a message it cannot accept",
					"queue", d.Info.Queue, "content_type", d.ContentType, "err", reason)
				if !noAck {
					ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
					_ = d.Reject(ctx)
					cancel()
				}
				continue
			}
			select {
			case out <- d:
			case <-p.stop:
				return
			case <-p.ch.act.Done():
				return
			}
		case <-p.stop:
			return
		case <-p.ch.act.Done():
			return
		}
	}
}

// refusal says why a delivery must not be handed out, or nil.
func refusal(d *Delivery, accept *codec.Accept) error {
	if d.st.decodeErr != nil {
		return d.st.decodeErr
	}
	if !accept.Allows(d.ContentType) {
		return &codec.DisallowedError{ContentType: d.ContentType, Reason: "untrusted"}
	}
	return nil
}

// Close closes the pinned channel: publishes awaiting their confirmation
// fail with [ErrConfirmLost], unsettled deliveries go back to their
// queues, and the subscriptions' Go channels close. It waits for the
// Pinned's goroutines (closing the broker channel is bounded internally,
// as for every channel) and is idempotent.
func (p *Pinned) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	p.ch.stop()
	p.wg.Wait()
}
