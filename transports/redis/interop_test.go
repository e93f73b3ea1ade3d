package redis_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/redis"
)

const python = "/usr/bin/python3"

// needKombu skips the test (fails it under KELP_CI=1) unless python3 can
// import kombu and redis.
func needKombu(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import kombu, redis; print(kombu.__version__)").CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("Kombu interop needs %s with kombu and redis (apt-get install -y python3-kombu python3-redis): %v: %s",
			python, err, bytes.TrimSpace(out))
		if os.Getenv(envCI) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// kombuURL is cfg's server in Kombu's spelling.
func kombuURL(cfg redis.Config) string {
	return fmt.Sprintf("redis://%s/%d", cfg.Addr, cfg.DB)
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

// pyMessage is a line printed by kombu_consume.py.
type pyMessage struct {
	Payload     any            `json:"payload"`
	ContentType string         `json:"content_type"`
	Headers     map[string]any `json:"headers"`
	Priority    float64        `json:"priority"`
	Exchange    string         `json:"exchange"`
	RoutingKey  string         `json:"routing_key"`
}

func consumePython(t *testing.T, ctx context.Context, cfg redis.Config, queue string, n int) []pyMessage {
	t.Helper()
	out := runPython(t, ctx, "kombu_consume.py", kombuURL(cfg), cfg.GlobalKeyPrefix, queue, fmt.Sprint(n))
	var msgs []pyMessage
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var m pyMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("kombu_consume.py printed %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// body returns a delivery's body, inflated when Kombu compressed it.
func body(t *testing.T, d transports.Delivery) string {
	t.Helper()
	if d.Headers["compression"] != "application/x-gzip" {
		return string(d.Body)
	}
	r, err := zlib.NewReader(bytes.NewReader(d.Body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// getAck takes n messages from queue with Get, acking each.
func getAck(t *testing.T, ctx context.Context, ch transports.Channel, queue string, n int) []transports.Delivery {
	t.Helper()
	var out []transports.Delivery
	for range n {
		d, ok, err := ch.Get(ctx, queue, false)
		if err != nil || !ok {
			t.Fatalf("Get(%s): ok %v, %v after %d", queue, ok, err, len(out))
		}
		if err := ch.Ack(ctx, d.Tag, false); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestInteropKombu(t *testing.T) {
	needKombu(t)
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := dial(t, newConnector(t, cfg))
	ch, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ch.ExchangeDeclare(ctx, route.Exchange{Name: "ix-direct", Kind: route.Direct}))
	must(ch.ExchangeDeclare(ctx, route.Exchange{Name: "ix-topic", Kind: route.Topic}))
	for _, q := range []route.Queue{{Name: "kd"}, {Name: "kt"}, {Name: "prio", MaxPriority: 9},
		{Name: "pyq"}, {Name: "pyprio", MaxPriority: 9}} {
		_, err := ch.QueueDeclare(ctx, q)
		must(err)
	}
	must(ch.QueueBind(ctx, "kd", "ix-direct", "rk", nil))
	must(ch.QueueBind(ctx, "kt", "ix-topic", "a.*.c", nil))
	must(ch.QueueBind(ctx, "pyq", "ix-direct", "to-py", nil))

	t.Run("PythonToKelp", func(t *testing.T) {
		runPython(t, ctx, "kombu_publish.py", kombuURL(cfg), cfg.GlobalKeyPrefix)
		ds := getAck(t, ctx, ch, "kd", 4)
		// The json message has Kombu priority 3, so it sits in step 3
		// and comes after the three at Kombu's default 0, for a Python
		// consumer and for kelp alike.
		want := []struct{ ct, body string }{
			{"text/plain", "plain text ✓"},
			{"application/data", "\x00\x01raw\xff"},
			{"application/json", `{"kind": "zlib", "data": "` + strings.Repeat("x", 2000) + `"}`},
			{"application/json", `{"kind": "json", "n": 42, "s": "h\u00e9llo"}`},
		}
		for i, d := range ds {
			if d.ContentType != want[i].ct || body(t, d) != want[i].body {
				t.Errorf("message %d: %s %.60q, want %s %.60q", i, d.ContentType, body(t, d), want[i].ct, want[i].body)
			}
			if d.Exchange != "ix-direct" || d.RoutingKey != "rk" || d.Queue != "kd" {
				t.Errorf("message %d: delivery info %q %q %q", i, d.Exchange, d.RoutingKey, d.Queue)
			}
		}
		if h := ds[3].Headers; h["h-str"] != "v" || h["h-int"] != int64(7) || ds[3].CorrelationID != "corr-1" ||
			ds[3].Priority != 6 {
			t.Errorf("json message: headers %v, correlation id %q, priority %d (Kombu 3 is AMQP 6)",
				h, ds[3].CorrelationID, ds[3].Priority)
		}
		if tp := getAck(t, ctx, ch, "kt", 1); body(t, tp[0]) != `{"kind": "topic"}` {
			t.Errorf("topic message routed through kelp's stored regex: %q", body(t, tp[0]))
		}
		ps := getAck(t, ctx, ch, "prio", 2)
		if body(t, ps[0]) != "high" || ps[0].Priority != 9 || body(t, ps[1]) != "low" || ps[1].Priority != 0 {
			t.Errorf("priorities: got %q (%d) then %q (%d), want Kombu's 0 first as AMQP 9",
				body(t, ps[0]), ps[0].Priority, body(t, ps[1]), ps[1].Priority)
		}
	})

	t.Run("KelpToPython", func(t *testing.T) {
		var zb bytes.Buffer
		zw := zlib.NewWriter(&zb)
		_, _ = zw.Write([]byte(`{"kind": "zlib"}`))
		_ = zw.Close()
		pub := func(ex, key string, m transports.Message) {
			t.Helper()
			m.DeliveryMode = 2
			_, err := ch.Publish(ctx, transports.Publishing{Exchange: ex, RoutingKey: key, Message: m})
			must(err)
		}
		pub("ix-direct", "to-py", transports.Message{Body: []byte(`{"n": 1}`),
			Headers:    route.Table{"h": "v", "i": int64(5)},
			Properties: transports.Properties{ContentType: "application/json", ContentEncoding: "utf-8", Priority: 9}})
		pub("ix-direct", "to-py", transports.Message{Body: []byte("text ✓"),
			Properties: transports.Properties{ContentType: "text/plain", ContentEncoding: "utf-8"}})
		pub("ix-direct", "to-py", transports.Message{Body: []byte("\x00raw"),
			Properties: transports.Properties{ContentType: "application/data", ContentEncoding: "binary"}})
		pub("ix-direct", "to-py", transports.Message{Body: zb.Bytes(), Headers: route.Table{"compression": "application/x-gzip"},
			Properties: transports.Properties{ContentType: "application/json", ContentEncoding: "utf-8"}})
		got := consumePython(t, ctx, cfg, "pyq", 4)
		if got[0].Payload.(map[string]any)["n"] != float64(1) || got[0].Headers["h"] != "v" ||
			got[0].Headers["i"] != float64(5) || got[0].Priority != 0 || got[0].Exchange != "ix-direct" ||
			got[0].RoutingKey != "to-py" {
			t.Errorf("json message as Python saw it: %+v", got[0])
		}
		if got[1].Payload != "text ✓" || got[2].Payload != "\x00raw" ||
			got[3].Payload.(map[string]any)["kind"] != "zlib" {
			t.Errorf("text, raw, zlib as Python saw them: %+v", got[1:])
		}

		// Priorities: AMQP 9 is what Python takes first, as Kombu 0.
		pub("", "pyprio", transports.Message{Body: []byte("low"), Properties: transports.Properties{ContentType: "text/plain", Priority: 0}})
		pub("", "pyprio", transports.Message{Body: []byte("high"), Properties: transports.Properties{ContentType: "text/plain", Priority: 9}})
		ps := consumePython(t, ctx, cfg, "pyprio", 2)
		if ps[0].Payload != "high" || ps[0].Priority != 0 || ps[1].Payload != "low" || ps[1].Priority != 9 {
			t.Errorf("priorities as Python took them: %+v", ps)
		}

		// Topic: Python bound py-topic with "x.#"; kelp evaluates
		// Kombu's stored regex.
		pub("ix-topic", "x.y.z", transports.Message{Body: []byte("to python topic"), Properties: transports.Properties{ContentType: "text/plain"}})
		if tp := consumePython(t, ctx, cfg, "py-topic", 1); tp[0].Payload != "to python topic" || tp[0].RoutingKey != "x.y.z" {
			t.Errorf("topic message as Python saw it: %+v", tp)
		}
	})

	rc := rawClient(t, cfg)
	for _, k := range []string{redis.UnackedKey, redis.UnackedIndexKey} {
		n, err := rc.Exists(ctx, cfg.GlobalKeyPrefix+k).Result()
		if err != nil || n != 0 {
			t.Errorf("%s still exists after every message was acked (%v)", k, err)
		}
	}
	for _, q := range []string{"kd", "kt", "prio", "pyq", "pyprio", "py-topic"} {
		if l, _ := rc.LLen(ctx, cfg.GlobalKeyPrefix+q).Result(); l != 0 {
			t.Errorf("queue %s has %d messages left", q, l)
		}
	}
}
