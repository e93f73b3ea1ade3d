package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

// maxLine bounds one message read from stdin with BODY "-".
const maxLine = 64 << 20

// serializers are the values --serializer accepts.
var serializers = []string{"json", "raw", "text", "msgpack"}

// publishFlags are the settings of "kelp publish".
type publishFlags struct {
	connFlags
	exchange    string
	kind        string
	routingKey  string
	serializer  string
	compression string
	headers     headerFlag
	priority    int
	count       int
	mandatory   bool
}

const publishAbout = `Publish sends BODY to an exchange (by default the default exchange, which
routes to the queue named by --routing-key). With BODY "-" it sends one
message per line of standard input.

With --serializer json (the default) BODY must be JSON text, which is sent
as that JSON document (application/json); with msgpack the JSON text is
converted to msgpack; with text (text/plain) or raw (application/data) the
bytes are sent as given. --type declares the exchange with that type
(durable, as Kombu declares it); without --type the exchange must exist.
Publisher confirms are on: publish returns once the broker took every
message, and fails on the first one it refuses.`

// runPublish implements "kelp publish".
func runPublish(ctx context.Context, e *env, args []string) error {
	pf := publishFlags{headers: headerFlag{}}
	fs := newFlagSet(e, "publish", "kelp publish [--url URL] [flags] BODY", publishAbout)
	pf.fileDefault = true
	pf.add(fs)
	fs.StringVar(&pf.exchange, "exchange", "", "publish to the exchange `name` (default: the default exchange)")
	fs.StringVar(&pf.kind, "type", "", "declare the exchange with this `type`: direct, topic, fanout or headers")
	fs.StringVar(&pf.routingKey, "routing-key", "", "the routing `key` (for the default exchange: the queue name)")
	fs.StringVar(&pf.serializer, "serializer", "json", "how BODY is sent: json, raw, text or msgpack")
	fs.StringVar(&pf.compression, "compression", "", "compress with `name`: zlib, lzma, brotli, zstd or snappy")
	fs.Var(pf.headers, "header", "add the application header `key=value` (repeatable)")
	fs.IntVar(&pf.priority, "priority", 0, "message priority, 0 to 255")
	fs.IntVar(&pf.count, "count", 1, "send each message `N` times")
	fs.BoolVar(&pf.mandatory, "mandatory", false, "fail when no queue takes the message")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one BODY argument (or - for stdin), got %d", len(pos))
	}
	if err := pf.check(e); err != nil {
		return err
	}
	next, err := pf.source(e, pos[0])
	if err != nil {
		return err
	}

	return pf.session(ctx, e, "publish", func(c *conn.Connection) error {
		n, err := pf.publish(ctx, c.Producer(pf.options()...), next)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "published %d %s to %s\n", n, plural(n, "message"), pf.destination())
		return nil
	})
}

// check validates the flags before anything is dialed.
func (pf *publishFlags) check(e *env) error {
	if err := pf.resolve(e); err != nil {
		return err
	}
	if !slices.Contains(serializers, pf.serializer) {
		return usageErrorf("unknown --serializer %q (want json, raw, text or msgpack)", pf.serializer)
	}
	if pf.kind != "" {
		if pf.exchange == "" {
			return usageErrorf("--type needs --exchange (the default exchange is never declared)")
		}
		if _, err := route.ParseKind(pf.kind); err != nil {
			return &usageError{msg: err.Error()}
		}
	}
	if pf.compression != "" {
		if _, _, err := codec.Default.Compress(pf.compression, nil); err != nil {
			return &usageError{msg: err.Error()}
		}
	}
	if pf.priority < 0 || pf.priority > 255 {
		return usageErrorf("--priority must be 0 to 255, got %d", pf.priority)
	}
	if pf.count < 1 {
		return usageErrorf("--count must be at least 1, got %d", pf.count)
	}
	return nil
}

// options are the producer's options from the flags.
func (pf *publishFlags) options() []conn.PublishOption {
	opts := []conn.PublishOption{
		conn.WithExchange(pf.exchange),
		conn.WithRoutingKey(pf.routingKey),
		conn.WithSerializer(pf.serializer),
		conn.WithPriority(pf.priority),
	}
	if len(pf.headers) > 0 {
		opts = append(opts, conn.WithHeaders(route.Table(pf.headers)))
	}
	if pf.compression != "" {
		opts = append(opts, conn.WithCompression(pf.compression))
	}
	if pf.mandatory {
		opts = append(opts, conn.WithMandatory())
	}
	if pf.kind != "" {
		kind, _ := route.ParseKind(pf.kind) // checked by check
		opts = append(opts, conn.WithDeclare(route.NewExchange(pf.exchange, kind)))
	}
	return opts
}

// destination describes where the messages went, for the summary line.
func (pf *publishFlags) destination() string {
	if pf.exchange == "" {
		return fmt.Sprintf("the default exchange, routing key %q", pf.routingKey)
	}
	return fmt.Sprintf("exchange %q, routing key %q", pf.exchange, pf.routingKey)
}

// source returns the function that yields the messages to publish: BODY
// itself (checked now, before connecting), or the lines of stdin. It
// returns io.EOF after the last one; its errors name the line.
func (pf *publishFlags) source(e *env, body string) (func() (any, error), error) {
	if body != "-" {
		v, err := pf.body([]byte(body))
		if err != nil {
			return nil, usageErrorf("BODY: %v", err)
		}
		done := false
		return func() (any, error) {
			if done {
				return nil, io.EOF
			}
			done = true
			return v, nil
		}, nil
	}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	return func() (any, error) {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return nil, fmt.Errorf("reading stdin after line %d: %w", line, err)
			}
			return nil, io.EOF
		}
		line++
		v, err := pf.body(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("stdin line %d: %w", line, err)
		}
		return v, nil
	}, nil
}

// body turns the text of one message into the value Publish serializes.
func (pf *publishFlags) body(text []byte) (any, error) {
	switch pf.serializer {
	case "json":
		if err := json.Unmarshal(text, new(json.RawMessage)); err != nil {
			return nil, fmt.Errorf("not valid JSON (%w); use --serializer text to send plain text", err)
		}
		return json.RawMessage(bytes.Clone(text)), nil
	case "msgpack":
		return jsonToValue(text)
	case "text":
		return string(text), nil
	default: // raw
		return bytes.Clone(text), nil
	}
}

// publish sends every message of next, each pf.count times, and returns how
// many were sent.
func (pf *publishFlags) publish(ctx context.Context, p *conn.Producer, next func() (any, error)) (int, error) {
	n := 0
	for {
		v, err := next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%w (published %d before it)", err, n)
		}
		for range pf.count {
			if err := p.Publish(ctx, v); err != nil {
				if ctx.Err() != nil {
					return n, errInterrupted
				}
				return n, fmt.Errorf("message %d: %w", n+1, err)
			}
			n++
		}
	}
}

// jsonToValue parses JSON text into Go values for a serializer other than
// json: objects, arrays, strings, booleans, nil, and numbers as int64 when
// they are integers that fit and float64 otherwise.
func jsonToValue(text []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON (%w)", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not valid JSON (text after the value)")
	}
	return numbers(v), nil
}

// numbers replaces every json.Number in v by an int64 or a float64.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64() // the decoder accepted it as a number
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// plural returns word, with an "s" unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
