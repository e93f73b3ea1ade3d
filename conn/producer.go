package conn

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// Producer publishes messages with a set of default options. It is cheap:
// any number of Producers share the connection's pool of publisher
// channels ([Config.PublishChannels]), whose actors pipeline the
// confirmations of concurrent publishes.
//
// A Producer is safe for concurrent use.
type Producer struct {
	c    *Connection
	base publishOptions
	err  error // an invalid default option, reported by every Publish
}

// Producer returns a Producer whose publishes start from opts (each
// Publish may override them). An invalid option makes every Publish fail
// with [ErrInvalidOption].
func (c *Connection) Producer(opts ...PublishOption) *Producer {
	base, err := publishOptions{}.apply(opts)
	return &Producer{c: c, base: base, err: err}
}

// Publish serializes body, compresses it if asked, and publishes it with
// Kombu's properties (delivery mode and priority always set). With
// confirms on (the default where the transport supports them) it returns
// once the broker confirmed the message; the error then matches
// [ErrNacked], [ErrReturned] (mandatory and unroutable), [ErrConfirmLost]
// (the channel or connection died first), or ctx's error. While the
// connection is reconnecting or blocked, Publish waits, bounded by ctx.
//
// With [WithRetry], retryable failures (including a lost confirmation)
// are retried under that policy after the connection is back.
func (p *Producer) Publish(ctx context.Context, body any, opts ...PublishOption) error {
	if p.err != nil {
		return p.err
	}
	// Without per-call options the defaults are used as they are: apply
	// hands its copy to the options by pointer, which moves it to the heap.
	o := p.base
	if len(opts) > 0 {
		var err error
		if o, err = p.base.apply(opts); err != nil {
			return err
		}
	}
	pub, err := p.c.buildPublishing(o, body)
	if err != nil {
		return err
	}
	if o.retry == nil {
		return p.c.publishOnce(ctx, o.declare, pub, o.failFast)
	}
	return p.c.Ensure(ctx, *o.retry, func(ctx context.Context) error {
		return p.c.publishOnce(ctx, o.declare, pub, o.failFast)
	})
}

// publishOnce declares what the publish asked for, then publishes once.
func (c *Connection) publishOnce(ctx context.Context, declare []Entity, pub transports.Publishing, failFast bool) error {
	for _, e := range declare {
		if err := c.MaybeDeclare(ctx, e); err != nil {
			return err
		}
	}
	return c.publish(ctx, pub, failFast)
}

// buildPublishing serializes and compresses body and fills in the
// properties.
func (c *Connection) buildPublishing(o publishOptions, body any) (transports.Publishing, error) {
	reg := c.cfg.Codecs
	props := o.props
	var data []byte
	if o.contentType != "" {
		enc := props.ContentEncoding
		switch b := body.(type) {
		case []byte:
			data = bytes.Clone(b)
			if enc == "" {
				enc = codec.EncodingBinary
			}
		case string:
			data = []byte(b)
			if enc == "" {
				enc = codec.EncodingUTF8
			}
		default:
			return transports.Publishing{}, invalidOption("WithContentType needs a []byte or string body, got %T", body)
		}
		props.ContentType, props.ContentEncoding = o.contentType, enc
	} else {
		ser := o.serializer
		if ser == "" {
			ser = c.cfg.Serializer
		}
		var err error
		data, props.ContentType, props.ContentEncoding, err = reg.Encode(ser, body)
		if errors.Is(err, codec.ErrUnknownSerializer) {
			return transports.Publishing{}, invalidOption("%v", err)
		}
		if err != nil {
			return transports.Publishing{}, err
		}
	}
	headers := o.headers
	if o.compression != "" {
		out, h, err := reg.Compress(o.compression, data)
		if errors.Is(err, codec.ErrUnknownCompression) {
			return transports.Publishing{}, invalidOption("%v", err)
		}
		if err != nil {
			return transports.Publishing{}, err
		}
		data = out
		headers = make(route.Table, len(o.headers)+1)
		for k, v := range o.headers {
			headers[k] = v
		}
		headers[compressionHeader] = h
	}
	if int64(len(data)) > c.cfg.MaxMessageSize {
		return transports.Publishing{}, fmt.Errorf("%w: %d bytes, the limit (Config.MaxMessageSize) is %d",
			ErrMessageTooLarge, len(data), c.cfg.MaxMessageSize)
	}
	props.DeliveryMode = props.DeliveryMode.OrDefault()
	return transports.Publishing{
		Exchange:   o.exchange,
		RoutingKey: o.routingKey,
		Mandatory:  o.mandatory,
		Message:    transports.Message{Body: data, Headers: headers, Properties: props},
	}, nil
}

// publish sends pub once on a publisher channel of the current session.
// With failFast it refuses, instead of waiting, when the connection is not
// open for publishing right now.
func (c *Connection) publish(ctx context.Context, pub transports.Publishing, failFast bool) error {
	if !c.pubs.enter() {
		return ErrClosed
	}
	defer c.pubs.leave()
	if failFast {
		if err := c.publishableNow(); err != nil {
			return err
		}
	}
	ch, err := c.sessionChannel(ctx, slotPub)
	if err != nil {
		return err
	}
	return ch.publish(ctx, pub)
}

// Get fetches one message from the named queue without a consumer
// (basic.get). It fails with [ErrEmpty] when the queue has no ready
// message. Options: [WithNoAck] and [WithAccept]; others are ignored.
// The delivery must be settled like a consumer's.
func (c *Connection) Get(ctx context.Context, queue string, opts ...ConsumeOption) (Delivery, error) {
	o, err := newConsumeOptions(opts)
	if err != nil {
		return Delivery{}, err
	}
	accept, err := c.acceptFor(o)
	if err != nil {
		return Delivery{}, err
	}
	ch, err := c.sessionChannel(ctx, slotGet)
	if err != nil {
		return Delivery{}, err
	}
	type got struct {
		d  transports.Delivery
		ok bool
	}
	g, err := chanCall(ctx, ch, func(ctx context.Context, tch transports.Channel) (got, error) {
		d, ok, err := tch.Get(ctx, queue, o.noAck)
		return got{d, ok}, err
	})
	if err != nil {
		return Delivery{}, err
	}
	if !g.ok {
		return Delivery{}, ErrEmpty
	}
	return c.newDelivery(g.d, ch, accept, o.noAck, nil), nil
}

// acceptFor returns the accept list of a consumer: its own, or the
// connection's.
func (c *Connection) acceptFor(o consumeOptions) (*codec.Accept, error) {
	if !o.acceptSet {
		return c.cfg.accept, nil
	}
	a, err := c.cfg.Codecs.NewAccept(o.accept...)
	if err != nil {
		return nil, invalidOption("accept: %v", err)
	}
	return a, nil
}
