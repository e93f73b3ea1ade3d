package pidbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pidbox"
	"github.com/kelpmq/kelp/route"
)

func TestMultiCall(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		for _, kind := range []route.Kind{route.Direct, route.Fanout} {
			t.Run(string(kind), func(t *testing.T) {
				c := b.Dial(t)
				ns := namespace(t, c)
				m := newMailbox(t, c, ns, pidbox.Config{Type: kind})
				pingNodes(t, m, "w1", "w2", "w3")

				tests := []struct {
					name    string
					limit   int
					window  time.Duration
					opts    []pidbox.CallOption
					want    []string
					wantMax int // with a limit, which nodes answer first is open
				}{
					{name: "all until the window closes", window: 300 * time.Millisecond, want: []string{"w1", "w2", "w3"}},
					{name: "limit ends early", limit: 2, window: 20 * time.Second, wantMax: 2},
					{name: "glob", window: 300 * time.Millisecond, opts: []pidbox.CallOption{pidbox.WithPattern("w[12]", "")}, want: []string{"w1", "w2"}},
					{name: "pcre", window: 300 * time.Millisecond, opts: []pidbox.CallOption{pidbox.WithPattern("w(2|3)", pidbox.MatchPCRE)}, want: []string{"w2", "w3"}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						ctx, cancel := context.WithTimeout(testCtx(t), tc.window)
						defer cancel()
						rs, err := m.MultiCall(ctx, "ping", map[string]int{"x": 7}, tc.limit, tc.opts...)
						if err != nil {
							t.Fatalf("MultiCall: %v", err)
						}
						if tc.wantMax > 0 {
							if len(rs) != tc.wantMax || ctx.Err() != nil {
								t.Fatalf("got %v (ctx %v), want %d replies before the window closed", nodesOf(rs), ctx.Err(), tc.wantMax)
							}
						} else if got := nodesOf(rs); !slices.Equal(got, tc.want) {
							t.Fatalf("replies from %v, want %v", got, tc.want)
						}
						for _, r := range rs {
							var res struct {
								Pong string
								X    int
							}
							if err := r.Decode(&res); err != nil || res.Pong != r.Node || res.X != 7 {
								t.Errorf("reply %+v decoded to %+v, %v", r, res, err)
							}
						}
					})
				}
			})
		}
	})
}

func TestCall(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		c := b.Dial(t)
		ns := namespace(t, c)
		m := newMailbox(t, c, ns, pidbox.Config{Type: route.Fanout})
		pingNodes(t, m, "a", "b", "c")

		ctx := testCtx(t)
		rs, err := m.Call(ctx, []string{"a", "c"}, "ping", map[string]int{"x": 1})
		if err != nil || !slices.Equal(nodesOf(rs), []string{"a", "c"}) {
			t.Fatalf("Call a,c: %v %v", nodesOf(rs), err)
		}

		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		rs, err = m.Call(wctx, []string{"b", "ghost"}, "ping", nil)
		if !errors.Is(err, pidbox.ErrNoReply) || !slices.Equal(nodesOf(rs), []string{"b"}) {
			t.Fatalf("Call b,ghost: %v %v, want b's reply and ErrNoReply", nodesOf(rs), err)
		}

		rs, err = m.Call(ctx, []string{"a", "b"}, "fail", nil)
		if err != nil || len(rs) != 2 {
			t.Fatalf("Call fail: %v %v", rs, err)
		}
		for _, r := range rs {
			var re *pidbox.RemoteError
			if !errors.As(r.Err, &re) || re.Message != r.Node+" refuses" || !errors.Is(r.Decode(new(any)), pidbox.ErrRemote) {
				t.Errorf("reply %+v, want a RemoteError", r)
			}
		}

		rs, err = m.Call(ctx, []string{"a"}, "nosuch", nil)
		if err != nil || len(rs) != 1 || !errors.Is(rs[0].Err, pidbox.ErrRemote) {
			t.Fatalf("Call nosuch: %v %v, want a remote error", rs, err)
		}

		if _, err := m.Call(ctx, nil, "ping", nil); !errors.Is(err, pidbox.ErrInvalidCall) {
			t.Errorf("Call without destination: %v", err)
		}
	})
}

func TestCastAndBroadcast(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		c := b.Dial(t)
		ns := namespace(t, c)
		m := newMailbox(t, c, ns, pidbox.Config{})
		got := make(chan string, 10)
		for _, h := range []string{"x", "y"} {
			n := m.Node(h)
			n.HandleFunc("note", func(_ context.Context, req *pidbox.Request) (any, error) {
				got <- h + ":" + fmt.Sprint(req.Arguments["v"])
				return nil, nil
			})
			listen(t, n)
		}
		ctx := testCtx(t)
		if err := m.Cast(ctx, []string{"y"}, "note", map[string]string{"v": "one"}); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "y:one" {
			t.Fatalf("cast reached %q", s)
		}
		if err := m.Broadcast(ctx, "note", map[string]string{"v": "all"}); err != nil {
			t.Fatal(err)
		}
		seen := []string{<-got, <-got}
		slices.Sort(seen)
		if !slices.Equal(seen, []string{"x:all", "y:all"}) {
			t.Fatalf("broadcast reached %v", seen)
		}
		if err := m.Cast(ctx, nil, "note", nil); !errors.Is(err, pidbox.ErrInvalidCall) {
			t.Errorf("Cast without destination: %v", err)
		}
	})
}

// The request is exactly what kombu.pidbox publishes, and the reply too.
func TestWireFormat(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		ctx := testCtx(t)
		c := b.Dial(t)
		ns := namespace(t, c)
		m := newMailbox(t, c, ns, pidbox.Config{Type: route.Fanout})
		tap := route.Queue{Name: ns + ".tap", AutoDelete: true, Bindings: []route.Binding{route.Bind(m.Exchange(), "")}}
		cons, err := c.Consume(ctx, []route.Queue{tap}, conn.WithNoAck())
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Stop()

		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		before := time.Now()
		if _, err := m.MultiCall(wctx, "stats", map[string]int{"n": 1}, 0, pidbox.WithPattern("w*", "")); err != nil {
			t.Fatal(err)
		}
		d, err := cons.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := d.Decode(&body); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(body))
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"arguments", "destination", "matcher", "method", "pattern", "reply_to", "ticket"}
		if !slices.Equal(keys, want) {
			t.Fatalf("body keys %v, want %v", keys, want)
		}
		rt := body["reply_to"].(map[string]any)
		if body["method"] != "stats" || body["destination"] != nil || body["pattern"] != "w*" || body["matcher"] != "glob" ||
			rt["exchange"] != "reply."+ns+".pidbox" || rt["routing_key"] != m.OID() || d.ContentType != "application/json" {
			t.Fatalf("body %v (%s)", body, d.ContentType)
		}
		exp, ok := d.Headers["expires"].(float64)
		unix := func(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
		if !ok || exp < unix(before) || exp > unix(before.Add(time.Second)) {
			t.Errorf("expires header %#v, want the window's end in Unix seconds", d.Headers["expires"])
		}
		if clk := fmt.Sprint(d.Headers["clock"]); clk != fmt.Sprint(m.Clock().Value()) {
			t.Errorf("clock header %s, want %d", clk, m.Clock().Value())
		}
		if got := m.ReplyQueue().Name; got != m.OID()+".reply."+ns+".pidbox" {
			t.Errorf("reply queue %s", got)
		}
		if got := m.NodeQueue("h1").Name; got != "h1."+ns+".pidbox" {
			t.Errorf("node queue %s", got)
		}
	})
}

// Receiving moves the Lamport clock past the sender's.
func TestClockAdjust(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		c := b.Dial(t)
		ns := namespace(t, c)
		caller := newMailbox(t, c, ns, pidbox.Config{})
		server := newMailbox(t, c, ns, pidbox.Config{})
		pingNodes(t, server, "n")
		caller.Clock().Adjust(99)
		rs, err := caller.Call(testCtx(t), []string{"n"}, "ping", nil)
		if err != nil || len(rs) != 1 {
			t.Fatal(rs, err)
		}
		// caller sent 101; the node adjusted to 102 and replied with 103;
		// the caller adjusted to 104.
		if s, cl := server.Clock().Value(), caller.Clock().Value(); s != 103 || cl != 104 {
			t.Fatalf("clocks: node's %d caller's %d, want 103 and 104", s, cl)
		}
	})
}

func TestCloseFailsPendingCalls(t *testing.T) {
	run(t, func(t *testing.T, b broker) {
		c := b.Dial(t)
		ns := namespace(t, c)
		m, err := pidbox.New(c, ns, pidbox.Config{})
		if err != nil {
			t.Fatal(err)
		}
		entered := make(chan struct{})
		n := m.Node("slow")
		n.HandleFunc("wait", func(ctx context.Context, _ *pidbox.Request) (any, error) {
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		})
		listen(t, n)
		ctx := testCtx(t)
		res := make(chan error, 1)
		go func() {
			_, err := m.MultiCall(ctx, "wait", nil, 1)
			res <- err
		}()
		<-entered
		if err := m.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-res; !errors.Is(err, pidbox.ErrClosed) || !errors.Is(err, conn.ErrClosed) {
			t.Fatalf("pending MultiCall: %v, want ErrClosed", err)
		}
		if _, err := m.MultiCall(ctx, "wait", nil, 1); !errors.Is(err, pidbox.ErrClosed) {
			t.Fatalf("MultiCall after Close: %v", err)
		}
	})
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		ns  string
		cfg pidbox.Config
	}{
		{"", pidbox.Config{}},
		{"x", pidbox.Config{Type: route.Headers}},
		{"x", pidbox.Config{Timeout: -1}},
	}
	for _, tc := range tests {
		if _, err := pidbox.New(nil, tc.ns, tc.cfg); !errors.Is(err, pidbox.ErrInvalidConfig) || !errors.Is(err, conn.ErrInvalidConfig) {
			t.Errorf("New(%q, %+v): %v, want ErrInvalidConfig", tc.ns, tc.cfg, err)
		}
	}
}
