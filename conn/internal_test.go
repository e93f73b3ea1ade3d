package conn

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want errClass
	}{
		{nil, classPermanent},
		{context.Canceled, classPermanent},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), classPermanent},
		{ErrClosed, classPermanent},
		{transports.ErrUnsupported, classPermanent},
		{fmt.Errorf("publish: %w", transports.ErrConnLost), classReconnect},
		{wrapErr(transports.ErrConnLost), classReconnect},
		{&transports.Error{Code: 320}, classReconnect},
		{&transports.Error{Code: 541}, classReconnect},
		{fmt.Errorf("%w: %w", transports.ErrChannelClosed, &transports.Error{Code: 404}), classPermanent},
		{&transports.Error{Code: 405}, classRetry},
		{&transports.Error{Code: 406}, classPermanent},
		{transports.ErrChannelClosed, classRetry},
		// A call that found its channel actor stopped because conn closed
		// the broker channel during a reconnect (channel.callErr).
		{fmt.Errorf("%w: %w", ErrChannelClosed, transports.ErrClosed), classRetry},
		{ErrConfirmLost, classRetry},
		{fmt.Errorf("%w: gone", transports.ErrConsumerCancelled), classRetry},
		{ErrNacked, classPermanent},
		{&ReturnedError{ReplyCode: 312}, classPermanent},
		{codec.ErrDecode, classPermanent},
		{invalidOption("x"), classPermanent},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestWrapErr(t *testing.T) {
	err := wrapErr(fmt.Errorf("io: %w", transports.ErrConnLost))
	if !errors.Is(err, ErrConnectionLost) || !errors.Is(err, transports.ErrConnLost) {
		t.Fatalf("conn lost: %v", err)
	}
	err = wrapErr(fmt.Errorf("%w: %w", transports.ErrChannelClosed, transports.NewError(404, "no queue")))
	if !errors.Is(err, ErrChannelClosed) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("channel closed by 404: %v", err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	err = ctxErr(ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if !errors.Is(ErrTimeout, context.DeadlineExceeded) {
		t.Fatal("ErrTimeout must wrap context.DeadlineExceeded")
	}
	re := error(&ReturnedError{ReplyCode: 312, ReplyText: "NO_ROUTE", Exchange: "x", RoutingKey: "k"})
	var target *ReturnedError
	if !errors.Is(re, ErrReturned) || !errors.As(fmt.Errorf("w: %w", re), &target) || target.ReplyCode != 312 {
		t.Fatalf("ReturnedError: %v", re)
	}
}

func TestRetryPolicyInterval(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		p    RetryPolicy
		want []time.Duration
		max  int
	}{
		{RetryPolicy{}, []time.Duration{0, s, s, s}, 3},
		{RetryPolicy{IntervalStart: 2 * s, IntervalStep: 2 * s, IntervalMax: 30 * s, MaxRetries: -1},
			[]time.Duration{2 * s, 4 * s, 6 * s, 8 * s}, -1},
		{RetryPolicy{IntervalStart: s, IntervalStep: -1, MaxRetries: 5}, []time.Duration{s, s, s}, 5},
		{RetryPolicy{IntervalStart: 0, IntervalStep: 3 * s, IntervalMax: 5 * s}, []time.Duration{0, 3 * s, 5 * s, 5 * s}, 3},
	} {
		for i, w := range tc.want {
			if got := tc.p.interval(i + 1); got != w {
				t.Errorf("%+v interval(%d) = %v, want %v", tc.p, i+1, got, w)
			}
		}
		if got := tc.p.maxRetries(); got != tc.max {
			t.Errorf("%+v maxRetries = %d, want %d", tc.p, got, tc.max)
		}
	}
}

func TestPublishOptions(t *testing.T) {
	o, err := publishOptions{}.apply([]PublishOption{
		WithExchange("ex"), WithRoutingKey("rk"), WithPriority(9), WithExpiration(1500 * time.Millisecond),
		WithDeliveryMode(route.Transient), WithCorrelationID("c"), WithReplyTo("r"), WithMessageID("m"),
		WithType("t"), WithAppID("a"), WithTimestamp(time.Unix(7, 0)), WithMandatory(),
		WithHeaders(route.Table{"a": 1}), WithHeaders(route.Table{"b": 2}), WithSerializer("msgpack"),
		WithCompression("zlib"), WithRetry(RetryPolicy{MaxRetries: 1}), WithDeclare(route.NewQueue("q")), nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := o.props
	if o.exchange != "ex" || o.routingKey != "rk" || p.Priority != 9 || p.Expiration != "1500" ||
		p.DeliveryMode != route.Transient || p.CorrelationID != "c" || p.ReplyTo != "r" || p.MessageID != "m" ||
		p.Type != "t" || p.AppID != "a" || !p.Timestamp.Equal(time.Unix(7, 0)) || !o.mandatory ||
		len(o.headers) != 2 || o.serializer != "msgpack" || o.compression != "zlib" || o.retry.MaxRetries != 1 ||
		len(o.declare) != 1 {
		t.Fatalf("options not applied: %+v", o)
	}
	for name, opt := range map[string]PublishOption{
		"priority high":      WithPriority(256),
		"priority negative":  WithPriority(-1),
		"expiration":         WithExpiration(-time.Second),
		"delivery mode":      WithDeliveryMode(3),
		"exchange length":    WithExchange(string(make([]byte, 256))),
		"routing key length": WithRoutingKey(string(make([]byte, 256))),
		"compression header": WithHeaders(route.Table{"compression": "x"}),
		"serializer":         WithSerializer(""),
		"content type":       WithContentType("", ""),
		"declare":            WithDeclare(route.Exchange{Name: "x", Kind: "nope"}),
		"declare nil":        WithDeclare(nil),
	} {
		if _, err := (publishOptions{}).apply([]PublishOption{opt}); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestConsumeOptions(t *testing.T) {
	o, err := newConsumeOptions(nil)
	if err != nil || o.prefetch != DefaultPrefetch || o.channels != 1 || o.concurrency != 1 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = newConsumeOptions([]ConsumeOption{WithPrefetch(5), WithNoAck(), WithAccept("json"), WithTagPrefix("t-"),
		WithExclusive(), WithConsumerPriority(3), WithConsumerArguments(route.Table{"x-a": "b"}), WithChannels(2), WithConcurrency(4)})
	if err != nil {
		t.Fatal(err)
	}
	if o.prefetch != 5 || !o.noAck || !o.acceptSet || o.tagPrefix != "t-" || !o.exclusive ||
		o.args["x-priority"] != int64(3) || o.args["x-a"] != "b" || o.channels != 2 || o.concurrency != 4 {
		t.Fatalf("options not applied: %+v", o)
	}
	for name, opt := range map[string]ConsumeOption{
		"prefetch 0": WithPrefetch(0), "prefetch big": WithPrefetch(70000), "channels": WithChannels(0),
		"concurrency": WithConcurrency(0), "tag prefix": WithTagPrefix(string(make([]byte, 201))),
	} {
		if _, err := newConsumeOptions([]ConsumeOption{opt}); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestDeliveryZeroValue(t *testing.T) {
	var d Delivery
	d.Body = []byte(`{"a":1}`)
	d.ContentType = "application/json"
	var v map[string]int
	if err := d.Decode(&v); err != nil || v["a"] != 1 {
		t.Fatalf("Decode = %v, %v", v, err)
	}
	if err := d.Ack(context.Background()); !errors.Is(err, ErrStaleDelivery) {
		t.Fatalf("Ack of a zero Delivery = %v", err)
	}
	if !d.Settled() {
		t.Fatal("a zero Delivery has nothing to settle")
	}
}

func TestWatch(t *testing.T) {
	w := newWatch()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan State, 1)
	go func() {
		s, _ := w.waitState(ctx, []State{StateOpen})
		got <- s
	}()
	w.set(snapshot{StateChange: StateChange{State: StateReconnecting}})
	w.set(snapshot{StateChange: StateChange{State: StateOpen, Epoch: 1}})
	if s := <-got; s != StateOpen {
		t.Fatalf("waitState = %v", s)
	}
	if !w.set(snapshot{StateChange: StateChange{State: StateClosing}}) {
		t.Fatal("Closing refused")
	}
	if w.set(snapshot{StateChange: StateChange{State: StateOpen}}) {
		t.Fatal("Open accepted after Closing")
	}
	w.set(snapshot{StateChange: StateChange{State: StateClosed}})
	if w.set(snapshot{StateChange: StateChange{State: StateClosing}}) {
		t.Fatal("a state accepted after Closed")
	}
	cancel()
	if _, err := w.waitState(ctx, []State{StateOpen}); !errors.Is(err, context.Canceled) {
		t.Fatalf("waitState after cancel = %v", err)
	}
}
