package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// records parses consume's --format json output.
func records(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rs []map[string]any
	for line := range strings.Lines(out) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("consume printed a line that is not JSON: %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// field returns r[section][key].
func field(r map[string]any, section, key string) any {
	m, _ := r[section].(map[string]any)
	return m[key]
}

// compact returns v as compact JSON.
func compact(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPublishConsume publishes with each serializer and option through
// "kelp publish" and reads the messages back with "kelp consume", both
// in-process on a memory broker.
func TestPublishConsume(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		stdin       string
		sent        int
		bodies      []string // compact JSON of each record's body
		contentType string
		encoding    string            // body_encoding
		headers     map[string]string // headers expected on every record
		priority    float64
	}{
		{name: "json", args: []string{`{"n": 1, "s": "x"}`}, sent: 1,
			bodies: []string{`{"n":1,"s":"x"}`}, contentType: "application/json"},
		{name: "json headers and priority", args: []string{"--header", "trace=abc", "--header", "tenant=t1", "--priority", "7", "[1,2]"}, sent: 1,
			bodies: []string{`[1,2]`}, contentType: "application/json", headers: map[string]string{"trace": "abc", "tenant": "t1"}, priority: 7},
		{name: "text", args: []string{"--serializer", "text", "hello world"}, sent: 1,
			bodies: []string{`"hello world"`}, contentType: "text/plain"},
		{name: "raw", args: []string{"--serializer", "raw", "bytes"}, sent: 1,
			bodies: []string{`"Ynl0ZXM="`}, contentType: "application/data", encoding: "base64"},
		{name: "msgpack", args: []string{"--serializer", "msgpack", `{"a":[1,2.5,"s",null,true],"big":123456789012}`}, sent: 1,
			bodies: []string{`{"a":[1,2.5,"s",null,true],"big":123456789012}`}, contentType: "application/x-msgpack"},
		{name: "compressed", args: []string{"--compression", "zstd", `"zipped"`}, sent: 1,
			bodies: []string{`"zipped"`}, contentType: "application/json", headers: map[string]string{"compression": "application/zstd"}},
		{name: "count", args: []string{"--count", "3", "{}"}, sent: 3,
			bodies: []string{`{}`, `{}`, `{}`}, contentType: "application/json"},
		{name: "stdin lines", args: []string{"-"}, stdin: "1\n\"two\"\r\n{\"three\":3}\n", sent: 3,
			bodies: []string{`1`, `"two"`, `{"three":3}`}, contentType: "application/json"},
		{name: "stdin lines as text", args: []string{"--serializer", "text", "-", "--count", "2"}, stdin: "a\nb", sent: 4,
			bodies: []string{`"a"`, `"a"`, `"b"`, `"b"`}, contentType: "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, broker := memBroker(t)
			kelp(t, "", "consume", "--url", url, "--queue", "jobs", "--timeout", "1ms").wantOK(t) // declares it

			r := kelp(t, tt.stdin, append([]string{"publish", "--url", url, "--routing-key", "jobs"}, tt.args...)...)
			r.wantOK(t)
			want := "published " + strconv.Itoa(tt.sent) + " message"
			if !strings.HasPrefix(r.stdout, want) {
				t.Errorf("publish printed %q, want %q...", r.stdout, want)
			}
			if st, _ := broker.QueueStats("jobs"); st.Messages != tt.sent {
				t.Fatalf("queue holds %d messages, want %d", st.Messages, tt.sent)
			}

			r = kelp(t, "", "consume", "--url", url, "--queue", "jobs", "--count", strconv.Itoa(tt.sent), "--timeout", "10s")
			r.wantOK(t)
			rs := records(t, r.stdout)
			if len(rs) != len(tt.bodies) {
				t.Fatalf("consume printed %d records, want %d:\n%s", len(rs), len(tt.bodies), r.stdout)
			}
			for i, rec := range rs {
				if got := compact(t, rec["body"]); got != tt.bodies[i] {
					t.Errorf("record %d: body %s, want %s", i, got, tt.bodies[i])
				}
				if got := field(rec, "properties", "content_type"); got != tt.contentType {
					t.Errorf("record %d: content_type %v, want %s", i, got, tt.contentType)
				}
				if got, _ := rec["body_encoding"].(string); got != tt.encoding {
					t.Errorf("record %d: body_encoding %q, want %q", i, got, tt.encoding)
				}
				if got := field(rec, "properties", "priority"); got != tt.priority {
					t.Errorf("record %d: priority %v, want %v", i, got, tt.priority)
				}
				if got := field(rec, "properties", "delivery_mode"); got != 2.0 {
					t.Errorf("record %d: delivery_mode %v, want 2 (persistent)", i, got)
				}
				for k, v := range tt.headers {
					if got := field(rec, "headers", k); got != v {
						t.Errorf("record %d: header %s = %v, want %s", i, k, got, v)
					}
				}
				info, _ := rec["delivery_info"].(map[string]any)
				if info["queue"] != "jobs" || info["routing_key"] != "jobs" || info["exchange"] != "" || info["redelivered"] != false {
					t.Errorf("record %d: delivery_info %v", i, info)
				}
			}
			if st, _ := broker.QueueStats("jobs"); st.Messages != 0 || st.Unacked != 0 {
				t.Errorf("after consume the queue has %+v, want every message acked", st)
			}
		})
	}
}

// TestConsumeRouting binds a queue to a topic exchange through consume's
// flags and checks what reaches it, and that --count leaves the rest in the
// queue.
func TestConsumeRouting(t *testing.T) {
	url, broker := memBroker(t)
	bind := []string{"consume", "--url", url, "--queue", "errs", "--exchange", "logs", "--type", "topic", "--routing-key", "*.error"}
	kelp(t, "", append(bind, "--timeout", "1ms")...).wantOK(t)
	for _, key := range []string{"db.error", "web.info", "web.error"} {
		// The exchange exists now, so no --type.
		kelp(t, "", "publish", "--url", url, "--exchange", "logs", "--routing-key", key, "--serializer", "text", key).wantOK(t)
	}
	r := kelp(t, "", append(bind, "--count", "1", "--format", "body")...)
	r.wantOK(t)
	if r.stdout != "db.error\n" {
		t.Errorf("first consume printed %q, want %q", r.stdout, "db.error\n")
	}
	if st, _ := broker.QueueStats("errs"); st.Messages != 1 || st.Unacked != 0 {
		t.Errorf("after --count 1 the queue has %+v, want 1 ready message", st)
	}
	r = kelp(t, "", "consume", "--url", url, "--queue", "errs", "--count", "1")
	r.wantOK(t)
	rec := records(t, r.stdout)[0]
	// It may be marked redelivered: with prefetch 1, the first consume may
	// have been sent it after acking db.error, before it stopped.
	if rec["body"] != "web.error" || field(rec, "delivery_info", "exchange") != "logs" {
		t.Errorf("second consume printed %v, want web.error from logs", rec)
	}
	kelp(t, "", "consume", "--url", url, "--queue", "errs", "--count", "1", "--timeout", "20ms").
		wantFailure(t, exitFailure, `timed out after 20ms: received 0 of 1 message from queue "errs"`)
}

// TestConsumeTimeoutWithoutCount ends a consume without --count at the
// timeout, successfully, after printing what came.
func TestConsumeTimeoutWithoutCount(t *testing.T) {
	url, _ := memBroker(t)
	kelp(t, "", "consume", "--url", url, "--queue", "q", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--routing-key", "q", "--count", "2", `"m"`).wantOK(t)
	r := kelp(t, "", "consume", "--url", url, "--queue", "q", "--timeout", "50ms", "--format", "body")
	r.wantOK(t)
	if r.stdout != "\"m\"\n\"m\"\n" {
		t.Errorf("printed %q, want both messages", r.stdout)
	}
}

// TestConsumeAccept checks that a message outside --accept is rejected by
// the consumer (never printed, not requeued) and that the rejection is
// logged on stderr.
func TestConsumeAccept(t *testing.T) {
	url, broker := memBroker(t)
	kelp(t, "", "consume", "--url", url, "--queue", "q", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--routing-key", "q", "--serializer", "text", "plain").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--routing-key", "q", `{"ok":true}`).wantOK(t)
	r := kelp(t, "", "consume", "--url", url, "--queue", "q", "--accept", "json", "--count", "2", "--timeout", "100ms")
	if r.code != exitFailure || !strings.Contains(r.stderr, "received 1 of 2 messages") {
		t.Errorf("exit %d, stderr %q; want a timeout after 1 of 2", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "rejecting a message the consumer cannot accept") {
		t.Errorf("stderr does not log the rejection: %q", r.stderr)
	}
	if rs := records(t, r.stdout); len(rs) != 1 || compact(t, rs[0]["body"]) != `{"ok":true}` {
		t.Errorf("printed %q, want only the JSON message", r.stdout)
	}
	if st, _ := broker.QueueStats("q"); st.Messages != 0 || st.Unacked != 0 {
		t.Errorf("queue has %+v, want the refused message rejected, not requeued", st)
	}
}

// TestConsumeExisting consumes a queue without declaring it, and fails
// clearly when it does not exist.
func TestConsumeExisting(t *testing.T) {
	url, _ := memBroker(t)
	kelp(t, "", "consume", "--url", url, "--queue", "missing", "--declare=false", "--timeout", "1ms").
		wantFailure(t, exitFailure, "404")
	kelp(t, "", "consume", "--url", url, "--queue", "there", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--routing-key", "there", "1").wantOK(t)
	r := kelp(t, "", "consume", "--url", url, "--queue", "there", "--declare=false", "--count", "1", "--format", "body")
	r.wantOK(t)
	if r.stdout != "1\n" {
		t.Errorf("printed %q, want %q", r.stdout, "1\n")
	}
}

// TestPublishFailures checks broker-side refusals: one line, exit 1.
func TestPublishFailures(t *testing.T) {
	url, _ := memBroker(t)
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"missing exchange", []string{"--exchange", "nowhere", "1"}, "", "404"},
		{"unroutable mandatory", []string{"--routing-key", "no-such-queue", "--mandatory", "1"}, "", "unroutable"},
		{"redeclared with another type", []string{"--exchange", "logs", "--type", "fanout", "1"}, "", "406"},
		{"bad stdin line", []string{"--routing-key", "q", "-"}, "1\n{bad\n", "stdin line 2: not valid JSON"},
	}
	kelp(t, "", "consume", "--url", url, "--queue", "q", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--exchange", "logs", "--type", "topic", "1").wantOK(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kelp(t, tt.stdin, append([]string{"publish", "--url", url}, tt.args...)...)
			r.wantFailure(t, exitFailure, tt.want)
		})
	}
}

// TestURLFromEnvironment reads the broker URL from KELP_URL; --url wins.
func TestURLFromEnvironment(t *testing.T) {
	url, broker := memBroker(t)
	t.Setenv(envURL, url)
	kelp(t, "", "consume", "--queue", "q", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--routing-key", "q", "1").wantOK(t)
	if st, _ := broker.QueueStats("q"); st.Messages != 1 {
		t.Fatalf("queue has %+v, want the message published through KELP_URL", st)
	}
	kelp(t, "", "publish", "--url", url+"-other", "--routing-key", "q", "1").wantOK(t)
	if st, _ := broker.QueueStats("q"); st.Messages != 1 {
		t.Errorf("queue has %+v: --url did not override KELP_URL", st)
	}
}

// TestUnreachable checks that a broker that refuses connections gives one
// line on stderr, without the password, and exit 1, and that --verbose
// shows the attempts.
func TestUnreachable(t *testing.T) {
	url, broker := memBroker(t)
	broker.RefuseConnections(errors.New("refused for the test"))
	t.Cleanup(func() { broker.RefuseConnections(nil) })
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"memory consume", []string{"consume", "--url", url, "--queue", "q"}, "refused for the test"},
		{"memory publish", []string{"publish", "--url", url, "1"}, "refused for the test"},
		{"amqp refused", []string{"publish", "--url", refusedURL(t), "1"}, "connection refused"},
		{"amqp failover list", []string{"publish", "--url", refusedURL(t) + ";" + refusedURL(t), "1"}, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kelp(t, "", tt.args...)
			r.wantFailure(t, exitFailure, tt.want)
			if strings.Contains(r.stderr, refusedPassword) {
				t.Errorf("stderr shows the password: %q", r.stderr)
			}
		})
	}
	t.Run("verbose", func(t *testing.T) {
		r := kelp(t, "", "publish", "--url", url, "--verbose", "1")
		if r.code != exitFailure || !strings.Contains(r.stderr, "connect failed; retrying") {
			t.Errorf("exit %d, stderr %q; want the retries logged", r.code, r.stderr)
		}
	})
}

// TestInterrupted cancels the command's ctx, as a signal does: before the
// connection exists, and while consume waits for a message. Both exit 130
// silently; the message printed before is acknowledged.
func TestInterrupted(t *testing.T) {
	url, broker := memBroker(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r := kelpCtx(ctx, "", "publish", "--url", url, "1"); r.code != exitInterrupted || r.stderr != "" {
		t.Errorf("publish with a cancelled ctx: %+v, want exit 130 and no message", r)
	}

	kelp(t, "", "consume", "--url", url, "--queue", "q", "--timeout", "1ms").wantOK(t)
	kelp(t, "", "publish", "--url", url, "--routing-key", "q", "1").wantOK(t)
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	out := &signalWriter{wrote: make(chan struct{}, 1)}
	done := make(chan int)
	go func() {
		var errb bytes.Buffer
		done <- run(ctx, []string{"consume", "--url", url, "--queue", "q", "--count", "2"}, strings.NewReader(""), out, &errb)
		if errb.Len() != 0 {
			t.Errorf("stderr %q, want nothing", errb.String())
		}
	}()
	<-out.wrote // the first message is printed: consume now waits for the second
	cancel()
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	if st, _ := broker.QueueStats("q"); st.Messages != 0 || st.Unacked != 0 {
		t.Errorf("queue has %+v, want the printed message acknowledged", st)
	}
}

// signalWriter is a stdout that signals each write.
type signalWriter struct {
	bytes.Buffer
	wrote chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}
