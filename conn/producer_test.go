package conn_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
)

func TestPublishProperties(t *testing.T) {
	_, c := open(t, conn.Config{})
	ctx := testCtx(t)
	q := route.NewQueue("props")
	p := c.Producer(conn.WithRoutingKey("props"), conn.WithDeclare(q))
	for _, tc := range []struct {
		name     string
		body     any
		opts     []conn.PublishOption
		ct, enc  string
		wantBody string
		check    func(t *testing.T, d conn.Delivery)
	}{
		{name: "json default", body: map[string]int{"a": 1}, ct: "application/json", enc: "utf-8", wantBody: `{"a":1}`,
			check: func(t *testing.T, d conn.Delivery) {
				if d.DeliveryMode != route.Persistent || d.Priority != 0 {
					t.Errorf("delivery mode %v priority %d", d.DeliveryMode, d.Priority)
				}
			}},
		{name: "bytes raw", body: []byte{0, 1}, ct: "application/data", enc: "binary", wantBody: "\x00\x01"},
		{name: "string text", body: "hi", ct: "text/plain", enc: "utf-8", wantBody: "hi"},
		{name: "forced json", body: "hi", opts: []conn.PublishOption{conn.WithSerializer("json")}, ct: "application/json", enc: "utf-8", wantBody: `"hi"`},
		{name: "pre-serialized", body: `{"x":true}`, opts: []conn.PublishOption{conn.WithContentType("application/json", "")},
			ct: "application/json", enc: "utf-8", wantBody: `{"x":true}`},
		{name: "properties", body: "p", opts: []conn.PublishOption{
			conn.WithPriority(7), conn.WithExpiration(1500 * time.Millisecond), conn.WithDeliveryMode(route.Transient),
			conn.WithCorrelationID("cid"), conn.WithReplyTo("rq"), conn.WithMessageID("mid"), conn.WithType("tp"),
			conn.WithAppID("app"), conn.WithTimestamp(time.Unix(1700000000, 0)), conn.WithHeaders(route.Table{"h": "v"}),
		}, ct: "text/plain", enc: "utf-8", wantBody: "p", check: func(t *testing.T, d conn.Delivery) {
			if d.Priority != 7 || d.Expiration != "1500" || d.DeliveryMode != route.Transient || d.CorrelationID != "cid" ||
				d.ReplyTo != "rq" || d.MessageID != "mid" || d.Type != "tp" || d.AppID != "app" ||
				d.Timestamp.Unix() != 1700000000 || d.Headers["h"] != "v" {
				t.Errorf("properties lost: %+v %v", d.Properties, d.Headers)
			}
		}},
		{name: "compressed", body: map[string]string{"k": "v"}, opts: []conn.PublishOption{conn.WithCompression("zlib")},
			ct: "application/json", enc: "utf-8", wantBody: `{"k":"v"}`, check: func(t *testing.T, d conn.Delivery) {
				if d.Headers["compression"] != "application/x-gzip" {
					t.Errorf("compression header = %v", d.Headers["compression"])
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.Publish(ctx, tc.body, tc.opts...); err != nil {
				t.Fatal(err)
			}
			d, err := c.Get(ctx, "props")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Ack(ctx)
			if d.ContentType != tc.ct || d.ContentEncoding != tc.enc || string(d.Body) != tc.wantBody {
				t.Fatalf("got %q %q %q", d.ContentType, d.ContentEncoding, d.Body)
			}
			if d.Info.RoutingKey != "props" || d.Info.Queue != "props" || d.Info.Epoch != 1 {
				t.Errorf("info = %+v", d.Info)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func TestPublishErrors(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	p := c.Producer(conn.WithDeclare(route.NewQueue("pe")), conn.WithRoutingKey("pe"))

	b.NackPublishes(1)
	if err := p.Publish(ctx, "x"); !errors.Is(err, conn.ErrNacked) {
		t.Fatalf("nacked: %v", err)
	}
	err := p.Publish(ctx, "x", conn.WithMandatory(), conn.WithRoutingKey("nowhere"))
	var re *conn.ReturnedError
	if !errors.Is(err, conn.ErrReturned) || !errors.As(err, &re) || re.ReplyCode != 312 || re.RoutingKey != "nowhere" {
		t.Fatalf("returned: %v", err)
	}
	if err := p.Publish(ctx, "x", conn.WithExchange("missing")); !errors.Is(err, conn.ErrNotFound) {
		t.Fatalf("missing exchange: %v", err)
	}
	if err := p.Publish(ctx, "x"); err != nil {
		t.Fatalf("publish after a channel error: %v", err)
	}
	for name, opt := range map[string]conn.PublishOption{
		"serializer":  conn.WithSerializer("nope"),
		"compression": conn.WithCompression("nope"),
		"priority":    conn.WithPriority(300),
	} {
		if err := p.Publish(ctx, "x", opt); !errors.Is(err, conn.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := p.Publish(ctx, 42, conn.WithContentType("application/json", "")); !errors.Is(err, conn.ErrInvalidOption) {
		t.Errorf("pre-serialized non-bytes: %v", err)
	}
	if err := c.Producer(conn.WithPriority(-1)).Publish(ctx, "x"); !errors.Is(err, conn.ErrInvalidOption) {
		t.Errorf("invalid producer default: %v", err)
	}
	if err := p.Publish(ctx, func() {}); err == nil {
		t.Error("unserializable body accepted")
	}
	if st, _ := b.QueueStats("pe"); st.Messages != 1 {
		t.Fatalf("queue holds %d messages, want 1", st.Messages)
	}
}

func TestConcurrentPublishersShareConfirms(t *testing.T) {
	for _, confirms := range []bool{true, false} {
		t.Run(map[bool]string{true: "confirms", false: "no confirms"}[confirms], func(t *testing.T) {
			b, c := open(t, conn.Config{DisableConfirms: !confirms, ConfirmWindow: 8})
			ctx := testCtx(t)
			if err := c.Declare(ctx, route.NewQueue("many")); err != nil {
				t.Fatal(err)
			}
			p := c.Producer(conn.WithRoutingKey("many"))
			var wg sync.WaitGroup
			errs := make(chan error, 8*50)
			for range 8 {
				wg.Go(func() {
					for range 50 {
						errs <- p.Publish(ctx, "m")
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if st, _ := b.QueueStats("many"); st.Messages != 400 {
				t.Fatalf("queue holds %d, want 400", st.Messages)
			}
		})
	}
}

func TestBlockedPublishWaits(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("blk")); err != nil {
		t.Fatal(err)
	}
	b.Block("low on memory")
	if _, err := c.WaitState(ctx, conn.StateBlocked); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := c.Producer().Publish(short, "x", conn.WithRoutingKey("blk"))
	cancel()
	if !errors.Is(err, conn.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked publish: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Producer().Publish(ctx, "y", conn.WithRoutingKey("blk")) }()
	b.Unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st, _ := b.QueueStats("blk"); st.Messages != 1 {
		t.Fatalf("queue holds %d, want 1", st.Messages)
	}
}

func TestFailFastPublish(t *testing.T) {
	b, c := open(t, conn.Config{})
	ctx := testCtx(t)
	if err := c.Declare(ctx, route.NewQueue("ff")); err != nil {
		t.Fatal(err)
	}
	p := c.Producer(conn.WithRoutingKey("ff"), conn.WithFailFast())

	b.Block("low on memory")
	if _, err := c.WaitState(ctx, conn.StateBlocked); err != nil {
		t.Fatal(err)
	}
	// ctx has seconds left: a publish that waited would not return an error.
	if err := p.Publish(ctx, "x"); !errors.Is(err, conn.ErrBlocked) {
		t.Fatalf("fail-fast publish while blocked: %v, want ErrBlocked", err)
	}
	b.Unblock()
	if _, err := c.WaitState(ctx, conn.StateOpen); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, "y"); err != nil {
		t.Fatalf("fail-fast publish while open: %v", err)
	}

	b.RefuseConnections(errors.New("broker down for the test"))
	b.DropConnections("")
	if _, err := c.WaitState(ctx, conn.StateReconnecting); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, "z"); !errors.Is(err, conn.ErrConnectionLost) {
		t.Fatalf("fail-fast publish while reconnecting: %v, want ErrConnectionLost", err)
	}
	b.RefuseConnections(nil)
	if _, err := c.WaitState(ctx, conn.StateOpen); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.QueueStats("ff"); st.Messages != 1 {
		t.Fatalf("queue holds %d, want 1 (only the publish made while open)", st.Messages)
	}
}
