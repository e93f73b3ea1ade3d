package pidbox_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/pidbox"
)

// namespace returns a namespace no other test uses; its exchanges are
// deleted when the test ends.
func namespace(t *testing.T, c *conn.Connection) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	ns := fmt.Sprintf("kelp-test-%x", b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.ExchangeDelete(ctx, ns+".pidbox", false)
		_ = c.ExchangeDelete(ctx, "reply."+ns+".pidbox", false)
	})
	return ns
}

// newMailbox returns a mailbox closed when the test ends.
func newMailbox(t *testing.T, c *conn.Connection, ns string, cfg pidbox.Config) *pidbox.Mailbox {
	t.Helper()
	m, err := pidbox.New(c, ns, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("Mailbox.Close: %v", err)
		}
	})
	return m
}

// listen starts n, stopped when the test ends.
func listen(t *testing.T, n *pidbox.Node) *pidbox.Listener {
	t.Helper()
	l, err := n.Listen(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// pingNodes starts nodes answering "ping" with {"pong": hostname, "x": x}.
func pingNodes(t *testing.T, m *pidbox.Mailbox, hostnames ...string) {
	t.Helper()
	for _, h := range hostnames {
		n := m.Node(h)
		n.HandleFunc("ping", func(_ context.Context, req *pidbox.Request) (any, error) {
			var args struct{ X int }
			if err := req.Decode(&args); err != nil {
				return nil, err
			}
			return map[string]any{"pong": h, "x": args.X}, nil
		})
		n.HandleFunc("fail", func(context.Context, *pidbox.Request) (any, error) {
			return nil, fmt.Errorf("%s refuses", h)
		})
		listen(t, n)
	}
}

// nodesOf returns the sorted hostnames of replies.
func nodesOf(rs []pidbox.Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Node)
	}
	sort.Strings(out)
	return out
}
