package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/internal/brokertest"
)

// A Kombu client, using RabbitMQ's direct reply-to, calls a kelp server:
// replies reach the amq.rabbitmq.reply-to address with the request's
// correlation id and serializer.
func TestInteropKombuClient(t *testing.T) {
	brokertest.RunKombu(t, brokerConfig, interopKombuClient)
}

func interopKombuClient(t *testing.T, b broker) {
	url := b.URL()
	c := b.Dial(t)
	q := b.Queue(t, "rpc-py-client")
	serve(t, c, q, func(_ context.Context, d *conn.Delivery) (any, error) {
		var nums []int
		if err := d.Decode(&nums); err != nil {
			return nil, err
		}
		if len(nums) == 0 {
			return nil, os.ErrInvalid
		}
		sum := 0
		for _, n := range nums {
			sum += n
		}
		return map[string]int{"sum": sum}, nil
	})

	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, brokertest.Python, "testdata/kombu_rpc_client.py", url, q.Name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kombu client: %v\n%s", err, stderr.String())
	}
	var got [][2]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	want := [][2]string{
		{`"application/json"`, `{"sum": 6}`},
		{`"application/x-msgpack"`, `{"sum": 42}`},
		{`"application/json"`, `{"error": "invalid argument"}`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d replies, want %d: %s", len(got), len(want), out)
	}
	for i, w := range want {
		if compact(t, got[i][0]) != compact(t, []byte(w[0])) || compact(t, got[i][1]) != compact(t, []byte(w[1])) {
			t.Errorf("reply %d: %s %s, want %s %s", i, got[i][0], got[i][1], w[0], w[1])
		}
	}
}

// A kelp client calls a Kombu server that answers with send_reply.
func TestInteropKombuServer(t *testing.T) {
	brokertest.RunKombu(t, brokerConfig, interopKombuServer)
}

func interopKombuServer(t *testing.T, b broker) {
	url := b.URL()
	c := b.Dial(t)
	q := b.Queue(t, "rpc-py-server")
	tests := []struct {
		serializer string
		nums       []int
		want       int
	}{
		{"json", []int{1, 2, 3}, 6},
		{"msgpack", []int{40, 2}, 42},
	}

	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	py := brokertest.StartPeer(t, ctx, "testdata/kombu_rpc_server.py", url, q.Name, "2")
	defer func() {
		if err := py.Wait(); err != nil {
			t.Errorf("kombu server: %v", err)
		}
	}()

	cl := newClient(t, c)
	for _, tc := range tests {
		var resp struct {
			Sum  int    `json:"sum" msgpack:"sum"`
			Type string `json:"type" msgpack:"type"`
		}
		if err := cl.Call(ctx, q.Name, tc.nums, &resp, conn.WithSerializer(tc.serializer)); err != nil {
			t.Fatalf("%s call: %v", tc.serializer, err)
		}
		wantType := map[string]string{"json": "application/json", "msgpack": "application/x-msgpack"}[tc.serializer]
		if resp.Sum != tc.want || resp.Type != wantType {
			t.Errorf("%s call: %+v, want sum %d type %s", tc.serializer, resp, tc.want, wantType)
		}
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return buf.String()
}
