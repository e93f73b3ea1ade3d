package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// consumeFlags are the settings of "kelp consume".
type consumeFlags struct {
	connFlags
	queue      string
	exchange   string
	kind       string
	routingKey string
	count      int
	timeout    time.Duration
	accept     string
	format     string
	declare    bool
}

const consumeAbout = `Consume reads messages from a queue, prints one line per message on
standard output and acknowledges each once it is printed. It declares the
queue (durable, as Kombu declares it) unless --declare=false, and with
--exchange binds it to that exchange with --routing-key; --type also
declares the exchange with that type, otherwise it must exist.

--format json prints a JSON object per message: the decoded body (with
"body_encoding": "base64" when it is binary, and "decode_error" when it
could not be decoded), headers, properties and delivery_info. --format body
prints the body as it is.

It exits 0 once --count messages arrived (without --count it runs until
interrupted or until --timeout), and 1 when --timeout passes before
--count messages arrived. With --count it takes exactly that many: the
consumer holds one message at a time and cancels its subscription before
acknowledging the last one, so no further message is sent to it and the
rest of the queue is left untouched (none marked redelivered). Messages whose content type is outside --accept
are rejected by the consumer and logged on stderr, never printed.`

// runConsume implements "kelp consume".
func runConsume(ctx context.Context, e *env, args []string) error {
	var cf consumeFlags
	fs := newFlagSet(e, "consume", "kelp consume [--url URL] --queue Q [flags]", consumeAbout)
	cf.fileDefault = true
	cf.add(fs)
	fs.StringVar(&cf.queue, "queue", "", "consume from the queue `name` (required)")
	fs.StringVar(&cf.exchange, "exchange", "", "bind the queue to the exchange `name`")
	fs.StringVar(&cf.kind, "type", "", "declare the exchange with this `type`: direct, topic, fanout or headers")
	fs.StringVar(&cf.routingKey, "routing-key", "", "the binding `key` (a pattern for topic exchanges)")
	fs.IntVar(&cf.count, "count", 0, "exit after `N` messages (0: no limit)")
	fs.DurationVar(&cf.timeout, "timeout", 0, "give up waiting for messages after this `duration` (0: wait forever)")
	fs.StringVar(&cf.accept, "accept", "", "accept only these content types or serializer names (comma-separated `list`)")
	fs.StringVar(&cf.format, "format", "json", "output: json (one object per message) or body")
	fs.BoolVar(&cf.declare, "declare", true, "declare the queue (false: it must exist, and no binding is made)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	q, opts, err := cf.check(e)
	if err != nil {
		return err
	}

	return cf.session(ctx, e, "consume", func(c *conn.Connection) error {
		return cf.consume(ctx, e, c, q, opts)
	})
}

// check validates the flags before anything is dialed and returns the
// queue to consume and the consumer's options.
func (cf *consumeFlags) check(e *env) (route.Queue, []conn.ConsumeOption, error) {
	var opts []conn.ConsumeOption
	if err := cf.resolve(e); err != nil {
		return route.Queue{}, nil, err
	}
	if cf.queue == "" {
		return route.Queue{}, nil, usageErrorf("--queue is required")
	}
	if cf.format != "json" && cf.format != "body" {
		return route.Queue{}, nil, usageErrorf("unknown --format %q (want json or body)", cf.format)
	}
	if cf.count < 0 || cf.timeout < 0 {
		return route.Queue{}, nil, usageErrorf("--count and --timeout must not be negative")
	}
	if cf.count > 0 {
		// Hold one message at a time: cancelling while the last one is
		// unacknowledged then leaves nothing more on its way (see consume).
		opts = append(opts, conn.WithPrefetch(1))
	}
	if cf.accept != "" {
		var list []string
		for s := range strings.SplitSeq(cf.accept, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		if _, err := codec.Default.NewAccept(list...); err != nil {
			return route.Queue{}, nil, &usageError{msg: err.Error()}
		}
		opts = append(opts, conn.WithAccept(list...))
	}
	if cf.exchange == "" && (cf.kind != "" || cf.routingKey != "") {
		return route.Queue{}, nil, usageErrorf("--type and --routing-key need --exchange")
	}
	if !cf.declare {
		if cf.exchange != "" {
			return route.Queue{}, nil, usageErrorf("--exchange needs --declare (a binding is declared)")
		}
		return conn.QueueNames(cf.queue)[0], opts, nil
	}
	q := route.NewQueue(cf.queue)
	if cf.exchange != "" {
		ex := route.NewExchange(cf.exchange, route.Direct)
		ex.NoDeclare = true
		if cf.kind != "" {
			kind, err := route.ParseKind(cf.kind)
			if err != nil {
				return route.Queue{}, nil, &usageError{msg: err.Error()}
			}
			ex = route.NewExchange(cf.exchange, kind)
		}
		q.Bindings = []route.Binding{route.Bind(ex, cf.routingKey)}
	}
	return q, opts, nil
}

// consume prints and acknowledges messages until --count, --timeout or an
// interruption.
func (cf *consumeFlags) consume(ctx context.Context, e *env, c *conn.Connection, q route.Queue, opts []conn.ConsumeOption) error {
	cons, err := c.Consume(ctx, []route.Queue{q}, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	defer cons.Stop()
	wctx := ctx
	if cf.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, cf.timeout)
		defer cancel()
	}
	for n := 0; cf.count == 0 || n < cf.count; n++ {
		d, err := cons.Next(wctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return errInterrupted
		case errors.Is(err, context.DeadlineExceeded) && cf.count == 0:
			return nil // no target: the timeout just ends the run
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("timed out after %v: received %d of %d %s from queue %q",
				cf.timeout, n, cf.count, plural(cf.count, "message"), cf.queue)
		default:
			return fmt.Errorf("consumer ended after %d %s: %w", n, plural(n, "message"), err)
		}
		if n+1 == cf.count {
			// The last one: stop the broker sending before acknowledging
			// it, so that prefetch 1 lets no further message out.
			if err := cons.Cancel(wctx); err != nil {
				_ = d.Requeue(context.WithoutCancel(ctx))
				return fmt.Errorf("cancelling the subscription: %w", err)
			}
		}
		if err := cf.print(e.stdout, &d); err != nil {
			_ = d.Requeue(context.WithoutCancel(ctx))
			return fmt.Errorf("writing the message: %w", err)
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		err = d.Ack(actx)
		cancel()
		if err != nil {
			return fmt.Errorf("acknowledging message %d: %w", n+1, err)
		}
	}
	return cf.giveBack(ctx, cons)
}

// giveBack requeues whatever the broker sent before the cancellation took
// effect (nothing, with prefetch 1) and waits, bounded, until C closes.
func (cf *consumeFlags) giveBack(ctx context.Context, cons *conn.Consumer) error {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	for {
		d, err := cons.Next(gctx)
		if err != nil {
			return nil // C closed, or it took too long: Stop requeues the rest
		}
		_ = d.Requeue(gctx)
	}
}

// print writes one line for d in the chosen format.
func (cf *consumeFlags) print(w io.Writer, d *conn.Delivery) error {
	var line []byte
	if cf.format == "body" {
		line = append(slices.Clip(d.Body), '\n') // never into d.Body's spare capacity
	} else {
		b, err := json.Marshal(newRecord(d))
		if err != nil {
			return err
		}
		line = append(b, '\n')
	}
	_, err := w.Write(line)
	return err
}

// record is the JSON form of a delivery printed by --format json, with
// Kombu's field names.
type record struct {
	Body         any            `json:"body"`
	BodyEncoding string         `json:"body_encoding,omitempty"`
	DecodeError  string         `json:"decode_error,omitempty"`
	Headers      map[string]any `json:"headers"`
	Properties   properties     `json:"properties"`
	DeliveryInfo deliveryInfo   `json:"delivery_info"`
}

// properties are the basic properties of a record; unset ones are left out.
type properties struct {
	ContentType     string    `json:"content_type,omitempty"`
	ContentEncoding string    `json:"content_encoding,omitempty"`
	DeliveryMode    uint8     `json:"delivery_mode,omitempty"`
	Priority        uint8     `json:"priority"`
	CorrelationID   string    `json:"correlation_id,omitempty"`
	ReplyTo         string    `json:"reply_to,omitempty"`
	Expiration      string    `json:"expiration,omitempty"`
	MessageID       string    `json:"message_id,omitempty"`
	Timestamp       time.Time `json:"timestamp,omitzero"`
	Type            string    `json:"type,omitempty"`
	UserID          string    `json:"user_id,omitempty"`
	AppID           string    `json:"app_id,omitempty"`
}

// deliveryInfo says where a record came from.
type deliveryInfo struct {
	Exchange    string `json:"exchange"`
	RoutingKey  string `json:"routing_key"`
	Queue       string `json:"queue"`
	ConsumerTag string `json:"consumer_tag"`
	Redelivered bool   `json:"redelivered"`
}

// newRecord builds the record of d, decoding its body with the consumer's
// accept list. A body that does not decode is shown as base64 with the
// reason, rather than failing the command.
func newRecord(d *conn.Delivery) record {
	p := d.Properties
	r := record{
		Headers: jsonable(map[string]any(d.Headers)).(map[string]any),
		Properties: properties{
			ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
			DeliveryMode: uint8(p.DeliveryMode), Priority: p.Priority,
			CorrelationID: p.CorrelationID, ReplyTo: p.ReplyTo, Expiration: p.Expiration,
			MessageID: p.MessageID, Timestamp: p.Timestamp, Type: p.Type,
			UserID: p.UserID, AppID: p.AppID,
		},
		DeliveryInfo: deliveryInfo{
			Exchange: d.Info.Exchange, RoutingKey: d.Info.RoutingKey, Queue: d.Info.Queue,
			ConsumerTag: d.Info.ConsumerTag, Redelivered: d.Info.Redelivered,
		},
	}
	var v any
	if err := d.Decode(&v); err != nil {
		r.DecodeError = err.Error()
		v = d.Body
	}
	if b, ok := v.([]byte); ok {
		r.Body, r.BodyEncoding = base64.StdEncoding.EncodeToString(b), "base64"
	} else {
		r.Body = jsonable(v)
	}
	return r
}

// jsonable returns v with everything encoding/json cannot write replaced:
// maps with non-string keys get string keys, NaN and infinities become
// strings, and other unencodable values their fmt form. A nil map becomes
// an empty one.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case route.Table:
		return jsonable(map[string]any(x))
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonable(e)
		}
		return s
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return x
	case float32:
		return jsonable(float64(x))
	case nil, bool, string, json.Number, []byte, time.Time,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	default:
		if _, err := json.Marshal(x); err != nil {
			return fmt.Sprint(x)
		}
		return x
	}
}
