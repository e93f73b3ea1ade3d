package amqp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/codec"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

const python = "/usr/bin/python3"

// needKombu skips the test (fails it under KELP_CI=1) unless python3 can
// import kombu.
func needKombu(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import kombu; print(kombu.__version__)").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("Kombu interop needs %s with kombu (apt-get install -y python3-kombu): %v: %s",
			python, err, bytes.TrimSpace(out))
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Logf("Kombu %s", bytes.TrimSpace(out))
}

// kombuURL is the test broker's URL in Kombu's spelling (vhost escaped).
func kombuURL(t *testing.T) string {
	cfg := brokerConfig(t)
	u := url.URL{Scheme: "amqp", User: url.UserPassword(cfg.Username, cfg.Password),
		Host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)}
	return u.String() + "/" + url.PathEscape(cfg.Vhost)
}

// runPython runs a script from testdata, bounded by ctx.
func runPython(t *testing.T, ctx context.Context, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, python, append([]string{"testdata/" + script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// decode decompresses and deserializes a delivery as a kelp consumer does.
func decode(t *testing.T, d transports.Delivery, v any) {
	t.Helper()
	body := d.Body
	if h, ok := d.Headers["compression"].(string); ok {
		var err error
		if body, err = codec.Default.Decompress(h, body, 0); err != nil {
			t.Fatalf("decompress %q: %v", h, err)
		}
	}
	if err := codec.Default.Decode(d.ContentType, d.ContentEncoding, body, nil, v); err != nil {
		t.Fatalf("decode %s: %v", d.ContentType, err)
	}
}

// canonical returns v as JSON with sorted keys, to compare decoded values.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(back)
	return string(b)
}

func TestKombuPublishesKelpConsumes(t *testing.T) {
	needKombu(t)
	ctx := testCtx(t, 30*time.Second)
	_, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("from-kombu")})
	runPython(t, ctx, "kombu_publish.py", kombuURL(t), q)

	var ds []transports.Delivery
	eventually(t, ctx, "4 messages from Kombu", func() bool {
		d, ok, err := ch.Get(ctx, q, true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			ds = append(ds, d)
		}
		return len(ds) == 4
	})
	for _, d := range ds {
		if d.DeliveryMode != route.Persistent || d.RoutingKey != q {
			t.Errorf("%s: delivery mode %d, routing key %q", d.ContentType, d.DeliveryMode, d.RoutingKey)
		}
	}

	jsonMsg := ds[0]
	if jsonMsg.ContentType != "application/json" || jsonMsg.ContentEncoding != "utf-8" || jsonMsg.Priority != 3 ||
		jsonMsg.CorrelationID != "corr-1" || jsonMsg.MessageID != "id-1" || jsonMsg.AppID != "kombu-test" {
		t.Errorf("json message properties: %+v", jsonMsg.Properties)
	}
	var m map[string]any
	decode(t, jsonMsg, &m)
	if got, want := canonical(t, m), `{"f":2.5,"kind":"json","list":[1,"two",null,true],"n":42,"nested":{"k":"v"},"s":"héllo"}`; got != want {
		t.Errorf("json body = %s, want %s", got, want)
	}
	if got, want := canonical(t, jsonMsg.Headers), `{"h-int":7,"h-list":[1,"a"],"h-str":"v","h-table":{"x":1.5}}`; got != want {
		t.Errorf("json headers = %s, want %s", got, want)
	}
	// py-amqp writes a Python int as the smallest of AMQP's signed 32 and
	// 64-bit integers that holds it; the driver keeps the wire's type.
	if v, ok := jsonMsg.Headers["h-int"].(int32); !ok || v != 7 {
		t.Errorf("h-int came as %T(%v), want int32(7)", jsonMsg.Headers["h-int"], jsonMsg.Headers["h-int"])
	}

	var text string
	if d := ds[1]; d.ContentType != "text/plain" || d.ContentEncoding != "utf-8" {
		t.Errorf("text message: %s / %s", d.ContentType, d.ContentEncoding)
	}
	decode(t, ds[1], &text)
	if text != "plain text ✓" {
		t.Errorf("text = %q", text)
	}

	var raw []byte
	if d := ds[2]; d.ContentType != "application/data" || d.ContentEncoding != "binary" {
		t.Errorf("raw message: %s / %s", d.ContentType, d.ContentEncoding)
	}
	decode(t, ds[2], &raw)
	if !bytes.Equal(raw, []byte("\x00\x01raw\xff")) {
		t.Errorf("raw = %q", raw)
	}

	if h := ds[3].Headers["compression"]; h != "application/x-gzip" {
		t.Errorf("compression header = %v", h)
	}
	var z map[string]any
	decode(t, ds[3], &z)
	if z["kind"] != "zlib" || z["data"] != strings.Repeat("x", 2000) {
		t.Errorf("zlib body = %v", z)
	}
}

func TestKelpPublishesKombuConsumes(t *testing.T) {
	needKombu(t)
	ctx := testCtx(t, 30*time.Second)
	_, ch := open(t, ctx)
	q := declareQueue(t, ctx, ch, route.Queue{Name: unique("to-kombu")})

	type out struct {
		serializer, compression string
		value                   any
		headers                 route.Table
	}
	msgs := []out{
		{"json", "", map[string]any{"n": 42, "s": "héllo", "list": []any{1, "two", nil, true}, "nested": map[string]any{"k": 2.5}},
			route.Table{"h-str": "v", "h-int": int64(7), "h-list": []any{int64(1), "a"}, "h-table": route.Table{"x": 1.5}, "h-bool": true}},
		{"text", "", "plain text ✓", nil},
		{"raw", "", []byte("\x00\x01raw\xff"), nil},
		{"json", "zlib", map[string]any{"kind": "zlib", "data": strings.Repeat("x", 2000)}, nil},
	}
	for i, m := range msgs {
		body, ct, ce, err := codec.Default.Encode(m.serializer, m.value)
		if err != nil {
			t.Fatal(err)
		}
		headers := m.headers.Clone()
		if m.compression != "" {
			var h string
			if body, h, err = codec.Default.Compress(m.compression, body); err != nil {
				t.Fatal(err)
			}
			if headers == nil {
				headers = route.Table{}
			}
			headers["compression"] = h
		}
		// Kombu's properties: delivery mode and priority always set.
		p := transports.Publishing{RoutingKey: q, Message: transports.Message{Body: body, Headers: headers,
			Properties: transports.Properties{ContentType: ct, ContentEncoding: ce, DeliveryMode: route.Persistent,
				CorrelationID: fmt.Sprintf("corr-%d", i), MessageID: fmt.Sprintf("id-%d", i), AppID: "kelp"}}}
		if _, err := ch.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	var got []struct {
		Body            any            `json:"body"`
		ContentType     string         `json:"content_type"`
		ContentEncoding string         `json:"content_encoding"`
		Headers         map[string]any `json:"headers"`
		DeliveryMode    int            `json:"delivery_mode"`
		Priority        int            `json:"priority"`
		CorrelationID   string         `json:"correlation_id"`
		MessageID       string         `json:"message_id"`
		AppID           string         `json:"app_id"`
		RoutingKey      string         `json:"routing_key"`
	}
	outJSON := runPython(t, ctx, "kombu_consume.py", kombuURL(t), q, fmt.Sprint(len(msgs)))
	if err := json.Unmarshal(outJSON, &got); err != nil {
		t.Fatalf("kombu_consume.py printed %s: %v", outJSON, err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("Kombu consumed %d messages, want %d", len(got), len(msgs))
	}
	wantBodies := []string{
		`{"list":[1,"two",null,true],"n":42,"nested":{"k":2.5},"s":"héllo"}`,
		`"plain text ✓"`,
		`{"__bytes__":"AAFyYXf/"}`,
		`{"data":"` + strings.Repeat("x", 2000) + `","kind":"zlib"}`,
	}
	wantTypes := [][2]string{{"application/json", "utf-8"}, {"text/plain", "utf-8"}, {"application/data", "binary"}, {"application/json", "utf-8"}}
	for i, g := range got {
		if c := canonical(t, g.Body); c != wantBodies[i] {
			t.Errorf("message %d: Kombu decoded %s, want %s", i, c, wantBodies[i])
		}
		if g.ContentType != wantTypes[i][0] || g.ContentEncoding != wantTypes[i][1] {
			t.Errorf("message %d: content %s / %s", i, g.ContentType, g.ContentEncoding)
		}
		if g.DeliveryMode != 2 || g.Priority != 0 || g.CorrelationID != fmt.Sprintf("corr-%d", i) ||
			g.MessageID != fmt.Sprintf("id-%d", i) || g.AppID != "kelp" || g.RoutingKey != q {
			t.Errorf("message %d: properties %+v", i, g)
		}
	}
	if c, want := canonical(t, got[0].Headers), `{"h-bool":true,"h-int":7,"h-list":[1,"a"],"h-str":"v","h-table":{"x":1.5}}`; c != want {
		t.Errorf("headers Kombu saw: %s, want %s", c, want)
	}
	if h := got[3].Headers["compression"]; h != "application/x-gzip" {
		t.Errorf("compression header Kombu saw: %v", h)
	}
}
