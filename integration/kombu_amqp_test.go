package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/conn"
	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	_ "github.com/kelpmq/kelp/transports/amqp"
)

// The Python side of these tests is the AMQP driver's: the scripts publish
// and consume exactly as Kombu 5.2 does.
var kombuScripts = filepath.Join("..", "transports", "amqp", "testdata")

const python = "/usr/bin/python3"

// needKombu skips t with one line (fails it under KELP_CI=1) unless
// /usr/bin/python3 can import kombu.
func needKombu(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import kombu").CombinedOutput()
	if err == nil {
		return
	}
	msg := "Kombu interop needs " + python + " with kombu (apt-get install -y python3-kombu): " +
		strings.TrimSpace(string(out))
	if os.Getenv("KELP_CI") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func kombu(t *testing.T, ctx context.Context, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join(kombuScripts, script)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// dialAMQP opens a conn.Connection to the test RabbitMQ by URL, the way an
// application does, and closes it when the test ends.
func dialAMQP(t *testing.T, ctx context.Context) *conn.Connection {
	t.Helper()
	cfg, _ := integration.Config(t, "kombu")
	c, err := conn.DialConfig(ctx, integration.AMQPURL(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// declareTemp declares a queue that RabbitMQ deletes when its last
// consumer leaves, and deletes it at the end of the test anyway.
func declareTemp(t *testing.T, ctx context.Context, c *conn.Connection, name string) route.Queue {
	t.Helper()
	q := route.Queue{Name: name, Durable: false, Expires: time.Minute}
	if _, err := c.DeclareQueue(ctx, q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.QueueDelete(ctx, name, conn.QueueDeleteOptions{})
	})
	return q
}

// TestKombuToKelpThroughConn: Python Kombu publishes json, text, raw bytes
// and a zlib-compressed message; a kelp Consumer receives and decodes them
// with the default accept list and acks them.
func TestKombuToKelpThroughConn(t *testing.T) {
	needKombu(t)
	integration.NoLeaks(t)
	ctx := integration.Ctx(t, 30*time.Second)
	c := dialAMQP(t, ctx)
	q := declareTemp(t, ctx, c, integration.Unique("kombu2kelp"))

	kombu(t, ctx, "kombu_publish.py", integration.AMQPURL(t), q.Name)

	cons, err := c.Consume(ctx, []route.Queue{{Name: q.Name, NoDeclare: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Stop()
	var got []any
	var types []string
	for range 4 {
		d, err := cons.Next(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", d.ContentType, err)
		}
		got = append(got, v)
		types = append(types, d.ContentType)
		if err := d.Ack(ctx); err != nil {
			t.Fatal(err)
		}
	}

	wantTypes := []string{"application/json", "text/plain", "application/data", "application/json"}
	if strings.Join(types, ",") != strings.Join(wantTypes, ",") {
		t.Errorf("content types %v, want %v", types, wantTypes)
	}
	first, _ := json.Marshal(got[0])
	if want := `{"f":2.5,"kind":"json","list":[1,"two",null,true],"n":42,"nested":{"k":"v"},"s":"héllo"}`; string(first) != want {
		t.Errorf("json body %s, want %s", first, want)
	}
	if got[1] != "plain text ✓" {
		t.Errorf("text body %q", got[1])
	}
	if b, ok := got[2].([]byte); !ok || !bytes.Equal(b, []byte("\x00\x01raw\xff")) {
		t.Errorf("raw body %#v", got[2])
	}
	if m, ok := got[3].(map[string]any); !ok || m["kind"] != "zlib" || m["data"] != strings.Repeat("x", 2000) {
		t.Errorf("zlib body %#v", got[3])
	}
}

// TestKelpToKombuThroughConn: a kelp Producer publishes json with headers
// and properties, text, raw bytes and zlib-compressed json; Python Kombu
// consumes and decodes every one to the same values.
func TestKelpToKombuThroughConn(t *testing.T) {
	needKombu(t)
	integration.NoLeaks(t)
	ctx := integration.Ctx(t, 30*time.Second)
	c := dialAMQP(t, ctx)
	q := declareTemp(t, ctx, c, integration.Unique("kelp2kombu"))

	p := c.Producer(conn.WithRoutingKey(q.Name))
	publishes := []struct {
		body any
		opts []conn.PublishOption
	}{
		{map[string]any{"kind": "json", "n": 42, "list": []any{1, "two", nil, true}},
			[]conn.PublishOption{conn.WithHeaders(route.Table{"h-str": "v", "h-int": int64(7)}),
				conn.WithPriority(3), conn.WithCorrelationID("corr-1"), conn.WithMessageID("id-1"), conn.WithAppID("kelp-test")}},
		{"plain text ✓", nil},
		{[]byte("\x00\x01raw\xff"), nil},
		{map[string]any{"kind": "zlib", "data": strings.Repeat("x", 2000)}, []conn.PublishOption{conn.WithCompression("zlib")}},
	}
	for i, pub := range publishes {
		if err := p.Publish(ctx, pub.body, pub.opts...); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}

	var seen []struct {
		Body            json.RawMessage `json:"body"`
		ContentType     string          `json:"content_type"`
		ContentEncoding string          `json:"content_encoding"`
		Headers         map[string]any  `json:"headers"`
		DeliveryMode    int             `json:"delivery_mode"`
		Priority        int             `json:"priority"`
		CorrelationID   string          `json:"correlation_id"`
		MessageID       string          `json:"message_id"`
		AppID           string          `json:"app_id"`
	}
	out := kombu(t, ctx, "kombu_consume.py", integration.AMQPURL(t), q.Name, "4")
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("kombu_consume.py printed %q: %v", out, err)
	}
	if len(seen) != 4 {
		t.Fatalf("Kombu saw %d messages, want 4", len(seen))
	}
	want := []struct{ body, ctype, enc string }{
		{`{"kind": "json", "list": [1, "two", null, true], "n": 42}`, "application/json", "utf-8"},
		{`"plain text \u2713"`, "text/plain", "utf-8"},
		{`{"__bytes__": "AAFyYXf/"}`, "application/data", "binary"},
		{`{"data": "` + strings.Repeat("x", 2000) + `", "kind": "zlib"}`, "application/json", "utf-8"},
	}
	for i, w := range want {
		s := seen[i]
		if canonicalJSON(t, s.Body) != canonicalJSON(t, []byte(w.body)) {
			t.Errorf("message %d: Kombu decoded %s, want %s", i, s.Body, w.body)
		}
		if s.ContentType != w.ctype || s.ContentEncoding != w.enc {
			t.Errorf("message %d: content %s/%s, want %s/%s", i, s.ContentType, s.ContentEncoding, w.ctype, w.enc)
		}
		if s.DeliveryMode != 2 {
			t.Errorf("message %d: delivery_mode %d, want 2 (Kombu's default, always sent)", i, s.DeliveryMode)
		}
	}
	h := seen[0].Headers
	if h["h-str"] != "v" || h["h-int"] != float64(7) {
		t.Errorf("headers as Kombu saw them: %v", h)
	}
	if s := seen[0]; s.Priority != 3 || s.CorrelationID != "corr-1" || s.MessageID != "id-1" || s.AppID != "kelp-test" {
		t.Errorf("properties as Kombu saw them: %+v", s)
	}
	if seen[3].Headers["compression"] != "application/x-gzip" {
		t.Errorf("compression header %v, want application/x-gzip (Kombu's name for zlib)", seen[3].Headers["compression"])
	}
}

func canonicalJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
