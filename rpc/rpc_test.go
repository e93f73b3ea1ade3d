package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/rpc"
)

type addReq struct{ A, B int }
type addResp struct{ Sum int }

func adder(_ context.Context, d *conn.Delivery) (any, error) {
	var r addReq
	if err := d.Decode(&r); err != nil {
		return nil, err
	}
	if r.A < 0 {
		return nil, errors.New("negative")
	}
	return addResp{Sum: r.A + r.B}, nil
}

func TestCall(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-add")
		serve(t, c, q, adder, conn.WithConcurrency(4))
		cl := newClient(t, c)

		tests := []struct {
			name    string
			req     addReq
			opts    []conn.PublishOption
			want    int
			wantErr error
		}{
			{name: "json", req: addReq{2, 3}, want: 5},
			{name: "msgpack", req: addReq{40, 2}, opts: []conn.PublishOption{conn.WithSerializer("msgpack")}, want: 42},
			{name: "compressed", req: addReq{1, 1}, opts: []conn.PublishOption{conn.WithCompression("zlib")}, want: 2},
			{name: "handler error", req: addReq{-1, 1}, wantErr: rpc.ErrRemote},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var resp addResp
				err := cl.Call(ctx, q.Name, tc.req, &resp, tc.opts...)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Call: %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr != nil {
					var re *rpc.RemoteError
					if !errors.As(err, &re) || re.Message != "negative" {
						t.Fatalf("error %#v, want RemoteError negative", err)
					}
					return
				}
				if resp.Sum != tc.want {
					t.Fatalf("Sum %d, want %d", resp.Sum, tc.want)
				}
			})
		}
	})
}

func TestConcurrentCalls(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-conc")
		serve(t, c, q, adder, conn.WithConcurrency(8))
		cl := newClient(t, c)

		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				var resp addResp
				if err := cl.Call(ctx, q.Name, addReq{i, 1000}, &resp); err != nil {
					errs <- err
					return
				}
				if resp.Sum != i+1000 {
					errs <- fmt.Errorf("call %d got %d", i, resp.Sum)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// A reply that arrives after its call gave up is dropped, and does not
// answer the next call.
func TestLateReplyDropped(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-late")
		entered := make(chan string, 2)
		release := make(chan struct{})
		serve(t, c, q, func(_ context.Context, d *conn.Delivery) (any, error) {
			var s string
			if err := d.Decode(&s); err != nil {
				return nil, err
			}
			entered <- s
			if s == "slow" {
				<-release
			}
			return s, nil
		})
		var once sync.Once
		unblock := func() { once.Do(func() { close(release) }) }
		t.Cleanup(unblock) // before Serve's cleanup, which waits for the handler
		cl := newClient(t, c)

		cctx, cancel := context.WithCancel(ctx)
		slow := make(chan error, 1)
		go func() { slow <- cl.Call(cctx, q.Name, "slow", nil) }()
		if got := <-entered; got != "slow" {
			t.Fatalf("server got %q", got)
		}
		cancel()
		err := <-slow
		if !errors.Is(err, rpc.ErrNoReply) || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v, want ErrNoReply and Canceled", err)
		}
		unblock() // the late reply goes out now

		var got string
		if err := cl.Call(ctx, q.Name, "fast", &got); err != nil {
			t.Fatal(err)
		}
		if got != "fast" {
			t.Fatalf("second call got %q, the late reply leaked into it", got)
		}
	})
}

func TestNoServerTimesOut(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		c := b.Dial(t)
		q := b.Queue(t, "rpc-nobody")
		if err := c.Declare(testCtx(t), q); err != nil {
			t.Fatal(err)
		}
		cl := newClient(t, c)
		ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
		defer cancel()
		err := cl.Call(ctx, q.Name, "hello", nil)
		for _, want := range []error{rpc.ErrNoReply, conn.ErrTimeout, context.DeadlineExceeded} {
			if !errors.Is(err, want) {
				t.Errorf("Call: %v, want it to match %v", err, want)
			}
		}
	})
}

// The server answers as Kombu's send_reply does: to reply_to, with the
// request's correlation id and serializer.
func TestServerReplyProperties(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-props")
		serve(t, c, q, func(_ context.Context, d *conn.Delivery) (any, error) {
			if string(d.Body) == "raw-wants-map" {
				return map[string]int{"not": 1}, nil // raw cannot encode a map
			}
			return map[string]string{"echo": d.ContentType}, nil
		})
		replies := b.Queue(t, "rpc-props-replies")
		cons, err := c.Consume(ctx, []route.Queue{replies}, conn.WithNoAck())
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Stop()

		tests := []struct {
			name, serializer, body string
			wantType               string
			wantErr                bool
		}{
			{name: "json", serializer: "json", body: "x", wantType: "application/json"},
			{name: "msgpack", serializer: "msgpack", body: "x", wantType: "application/x-msgpack"},
			{name: "raw falls back to a json error", serializer: "raw", body: "raw-wants-map",
				wantType: "application/json", wantErr: true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id := "corr-" + tc.name
				err := c.Producer().Publish(ctx, tc.body, conn.WithRoutingKey(q.Name),
					conn.WithSerializer(tc.serializer), conn.WithReplyTo(replies.Name), conn.WithCorrelationID(id))
				if err != nil {
					t.Fatal(err)
				}
				d, err := cons.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if d.CorrelationID != id || d.ContentType != tc.wantType {
					t.Fatalf("reply correlation %q type %q, want %q %q", d.CorrelationID, d.ContentType, id, tc.wantType)
				}
				var body map[string]any
				if err := d.Decode(&body); err != nil {
					t.Fatal(err)
				}
				_, isErr := d.Headers[rpc.HeaderError]
				if isErr != tc.wantErr || (isErr && body["error"] == nil) {
					t.Fatalf("reply %v headers %v, want error %v", body, d.Headers, tc.wantErr)
				}
			})
		}
	})
}

// A request without reply-to is a cast: it is handled and acknowledged,
// and nothing is sent back.
func TestCast(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-cast")
		got := make(chan string, 1)
		serve(t, c, q, func(_ context.Context, d *conn.Delivery) (any, error) {
			got <- string(d.Body)
			return nil, errors.New("ignored")
		})
		if err := c.Producer().Publish(ctx, "fire", conn.WithRoutingKey(q.Name)); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "fire" {
			t.Fatalf("handler got %q", s)
		}
	})
}

func TestClose(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		q := b.Queue(t, "rpc-close")
		entered := make(chan struct{})
		release := make(chan struct{})
		serve(t, c, q, func(context.Context, *conn.Delivery) (any, error) {
			close(entered)
			<-release
			return "late", nil
		})
		t.Cleanup(func() { close(release) })
		cl, err := rpc.NewClient(ctx, c, rpc.ClientConfig{})
		if err != nil {
			t.Fatal(err)
		}
		pending := make(chan error, 1)
		go func() { pending <- cl.Call(ctx, q.Name, "x", nil) }()
		<-entered
		if err := cl.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := <-pending; !errors.Is(err, rpc.ErrClosed) || !errors.Is(err, conn.ErrClosed) {
			t.Fatalf("pending call: %v, want ErrClosed", err)
		}
		if err := cl.Call(ctx, q.Name, "y", nil); !errors.Is(err, rpc.ErrClosed) {
			t.Fatalf("call after Close: %v, want ErrClosed", err)
		}
		if err := cl.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
