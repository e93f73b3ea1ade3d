package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// Handler answers one request for [Serve]. It decodes the request with
// [conn.Delivery.Decode] and returns the result to send back, or an error,
// which the caller receives as a [*RemoteError]. Serve settles the request
// itself; a handler must not.
type Handler interface {
	ServeRPC(ctx context.Context, req *conn.Delivery) (any, error)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, req *conn.Delivery) (any, error)

// ServeRPC calls f(ctx, req).
func (f HandlerFunc) ServeRPC(ctx context.Context, req *conn.Delivery) (any, error) {
	return f(ctx, req)
}

// Serve consumes requests from queues and answers each with h, as
// [conn.Connection.Serve] does (same options, same draining when ctx
// ends), until ctx ends or the consumer fails.
//
// For each request Serve calls h and sends its result, or its error, to
// the request's reply-to address with [Reply] or [ReplyError]; then it
// acknowledges the request. A request without reply-to is a cast: h runs
// and nothing is sent (a failed cast is rejected, not retried). A panic in
// h is answered as an error. If the reply cannot be published, the
// request is requeued once (see [conn.Connection.Serve]), so h may run
// twice for one request: the delivery is at least once.
func Serve(ctx context.Context, c *conn.Connection, queues []route.Queue, h Handler, opts ...conn.ConsumeOption) error {
	p := c.Producer()
	return c.Serve(ctx, queues, conn.HandlerFunc(func(ctx context.Context, d *conn.Delivery) error {
		res, err := call(ctx, h, d)
		if d.ReplyTo == "" {
			return conn.Reject(err)
		}
		if err != nil {
			return ReplyError(ctx, p, d, err)
		}
		return Reply(ctx, p, d, res)
	}), opts...)
}

// call runs h, turning a panic into an error.
func call(ctx context.Context, h Handler, d *conn.Delivery) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("rpc: handler panic: %v", v)
		}
	}()
	return h.ServeRPC(ctx, d)
}

// Reply publishes result through p as the reply to req, with Kombu's
// send_reply semantics: to the default exchange with routing key
// req.ReplyTo (a queue name, or RabbitMQ's direct reply-to address),
// with req's correlation id, serialized with the serializer of req's
// content type (falling back to the producer's when req has none). opts
// are applied after those, so they may override them.
//
// If result cannot be encoded with that serializer (a raw request
// answered with a map, say), Reply sends an error reply in JSON instead,
// so that the caller is not left waiting, and returns nil.
func Reply(ctx context.Context, p *conn.Producer, req *conn.Delivery, result any, opts ...conn.PublishOption) error {
	if req.ReplyTo == "" {
		return errNoReplyTo
	}
	err := publishReply(ctx, p, req, result, replyOptions(req, nil, opts))
	if isEncodeError(err) {
		return ReplyError(ctx, p, req, fmt.Errorf("rpc: encode reply as %s: %w", req.ContentType, err))
	}
	return err
}

// ReplyError publishes failure as the error reply to req: the body
// {"error": failure.Error()}, serialized as [Reply] does (JSON if that
// fails), with the header [HeaderError] holding the same text. A kelp
// [Client] returns it as a [*RemoteError].
func ReplyError(ctx context.Context, p *conn.Producer, req *conn.Delivery, failure error, opts ...conn.PublishOption) error {
	if req.ReplyTo == "" {
		return errNoReplyTo
	}
	msg := failure.Error()
	body := map[string]string{"error": msg}
	hdr := conn.WithHeaders(route.Table{HeaderError: msg})
	err := publishReply(ctx, p, req, body, replyOptions(req, hdr, opts))
	if isEncodeError(err) {
		err = publishReply(ctx, p, req, body, append(replyOptions(req, hdr, opts), conn.WithSerializer("json")))
	}
	return err
}

// replyOptions are the publish options of a reply to req.
func replyOptions(req *conn.Delivery, extra conn.PublishOption, opts []conn.PublishOption) []conn.PublishOption {
	o := make([]conn.PublishOption, 0, len(opts)+5)
	o = append(o, conn.WithExchange(""), conn.WithRoutingKey(req.ReplyTo))
	if req.CorrelationID != "" {
		o = append(o, conn.WithCorrelationID(req.CorrelationID))
	}
	if req.ContentType != "" {
		o = append(o, conn.WithSerializer(req.ContentType))
	}
	if extra != nil {
		o = append(o, extra)
	}
	return append(o, opts...)
}

func publishReply(ctx context.Context, p *conn.Producer, req *conn.Delivery, body any, opts []conn.PublishOption) error {
	if err := p.Publish(ctx, body, opts...); err != nil {
		return fmt.Errorf("rpc: reply to %q: %w", req.ReplyTo, err)
	}
	return nil
}

// errNoReplyTo is the error of a reply to a request without reply-to.
var errNoReplyTo = fmt.Errorf("rpc: reply: %w: the request has no reply-to", conn.ErrInvalidOption)

// isEncodeError reports whether a publish failed before sending because
// the body could not be serialized as asked.
func isEncodeError(err error) bool {
	return err != nil && (errors.Is(err, codec.ErrEncode) || errors.Is(err, codec.ErrUnsupported) ||
		errors.Is(err, codec.ErrContentDisallowed) || errors.Is(err, conn.ErrInvalidOption))
}
