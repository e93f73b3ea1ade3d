package fuzz_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/kelpmq/kelp/integration"
	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/amqp"
)

// FuzzAMQPHeaders feeds the AMQP transport's header-table conversion (not
// exported: route.Table to amqp091.Table on publish, and back on delivery)
// through the driver against the test RabbitMQ (KELP_AMQP_URL): the input
// is turned into a header table of every kind of Go value (see
// headerGen), published with confirms on a queue of the fuzz run, and
// taken back with Channel.Get. A model of the contract the package
// documents (transports/amqp doc.go, "Tables") says what must come back.
// It checks that
//
//   - nothing panics and every call returns within its ctx;
//   - a table the contract accepts is published, confirmed, and comes
//     back equal to the model's value (int, uint and json.Number as
//     int64, typed slices as []any, nested tables as route.Table,
//     timestamps to the second; floats bit for bit, NaN included);
//   - a table the contract refuses fails Publish with an error wrapping
//     amqp.ErrInvalidArgument that names the headers, before anything is
//     sent: the channel stays open and the queue stays empty;
//   - the connection survives either way: a table kelp sends must be one
//     amqp091-go can read back, or every consumer of the queue would lose
//     its connection on the message, forever.
//
// It skips when RabbitMQ cannot be reached (fails under KELP_CI=1).
func FuzzAMQPHeaders(f *testing.F) {
	for _, s := range headerSeeds() {
		f.Add(s)
	}
	cfg, err := amqp.ParseURL(integration.AMQPURL(f))
	if err != nil {
		f.Fatal(err)
	}
	ctr, err := amqp.NewConnector(cfg)
	if err != nil {
		f.Fatal(err)
	}
	var link headerLink
	f.Cleanup(link.close)
	f.Fuzz(func(t *testing.T, raw []byte) {
		headers := newHeaderGen(raw).table(0)
		want, wantErr := modelTable(headers)
		t.Cleanup(func() {
			if t.Failed() { // confirmations or messages may be left behind
				link.close()
			}
		})

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch, confirms := link.open(ctx, t, ctr)
		seq, err := ch.Publish(ctx, transports.Publishing{
			RoutingKey: link.queue,
			Message:    transports.Message{Body: []byte("h"), Headers: headers},
		})
		if errors.Is(wantErr, errNearFrameLimit) {
			wantErr = err
		}
		if wantErr != nil {
			if err == nil {
				t.Fatalf("Publish accepted headers the contract refuses (%v): %s", wantErr, show(headers))
			}
			if !errors.Is(err, amqp.ErrInvalidArgument) || !strings.Contains(err.Error(), "headers") {
				t.Fatalf("Publish of unsupported headers (%v) failed with %v; want amqp.ErrInvalidArgument naming the headers", wantErr, err)
			}
			if d, ok, gerr := ch.Get(ctx, link.queue, true); gerr != nil || ok {
				t.Fatalf("after a refused publish: Get = %q, %v, %v; want an empty queue on a live channel", d.Body, ok, gerr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Publish of headers the contract accepts: %v\nheaders %s", err, show(headers))
		}
		select {
		case c, open := <-confirms:
			if !open || c.Seq != seq || !c.Ack {
				t.Fatalf("confirmation %+v (open %v) for publish %d; channel: %v", c, open, seq, ch.Err())
			}
		case <-ctx.Done():
			t.Fatalf("no confirmation within the ctx; channel: %v", ch.Err())
		}
		d, ok, err := ch.Get(ctx, link.queue, true)
		if err != nil || !ok {
			t.Fatalf("Get of the published message: ok %v, %v (a table amqp091-go cannot read back kills the connection)\nheaders %s", ok, err, show(headers))
		}
		if !sameHeader(want, d.Headers) {
			t.Fatalf("headers came back different\nsent %s\nwant %s\ngot  %s", show(headers), show(want), show(d.Headers))
		}
	})
}

// show formats a table for a failure message, cut to a readable length.
func show(t route.Table) string {
	s := fmt.Sprintf("%#v", t)
	if len(s) > 2000 {
		return fmt.Sprintf("%s... (%d bytes)", s[:2000], len(s))
	}
	return s
}

// headerLink is the fuzz run's connection, channel (in confirm mode) and
// queue, opened again when a failure killed them.
type headerLink struct {
	conn     transports.Conn
	ch       transports.Channel
	confirms <-chan transports.Confirmation
	queue    string
}

func (l *headerLink) open(ctx context.Context, t *testing.T, ctr transports.Connector) (transports.Channel, <-chan transports.Confirmation) {
	t.Helper()
	if l.ch != nil && l.ch.Err() == nil {
		return l.ch, l.confirms
	}
	l.close()
	c, err := ctr.Connect(ctx, transports.ConnectOptions{Name: "kelp-fuzz-headers"})
	if err != nil {
		t.Fatal(err)
	}
	l.conn = c
	if l.ch, err = c.Channel(ctx); err != nil {
		t.Fatal(err)
	}
	if l.confirms, err = l.ch.(transports.Confirmer).Confirm(ctx); err != nil {
		t.Fatal(err)
	}
	// A queue of its own that RabbitMQ deletes a minute after the run, even
	// when the process dies; purged so that a failed run leaves nothing in
	// the way of the next one.
	info, err := l.ch.QueueDeclare(ctx, route.Queue{Name: "", Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	l.queue = info.Name
	return l.ch, l.confirms
}

func (l *headerLink) close() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = l.conn.Close(ctx)
	}
	l.conn, l.ch, l.confirms = nil, nil, nil
}

// Operations of headerGen: each input byte (modulo numOps) picks the kind
// of the next value.
const (
	opNil = iota
	opBool
	opString
	opBytes
	opInt8
	opUint8
	opInt16
	opUint16
	opInt32
	opUint32
	opInt64
	opInt
	opUint
	opUint64
	opFloat32
	opFloat64
	opTime
	opDecimal
	opDecimal091
	opJSONNumber
	opTable
	opMap
	opTable091
	opArray
	opNamedString
	opNamedInt
	opNamedUint
	opNamedFloat
	opNamedBool
	opStrings
	opInts
	opByteArray
	opNamedBytes
	opIntMap
	opUnsupported
	opDeep // a value nested in up to 255 levels of tables and arrays
	opLong // a string of up to 255 KiB
	opWide // an array of up to 16,320 nils
	opLongKey
	numOps
)

type (
	hdrString string
	hdrInt    int16
	hdrUint   uint64
	hdrFloat  float32
	hdrBool   bool
	hdrBytes  []byte
)

// headerGen turns fuzz input into a header table. It reads the input as a
// program: a byte picks a value's kind, the following bytes its content
// (missing bytes read as zero). budget bounds the values made, so that a
// short input cannot build a huge table.
type headerGen struct {
	in     []byte
	budget int
}

func newHeaderGen(in []byte) *headerGen { return &headerGen{in: in, budget: 256} }

func (g *headerGen) byte() byte {
	if len(g.in) == 0 {
		return 0
	}
	b := g.in[0]
	g.in = g.in[1:]
	return b
}

func (g *headerGen) bytes(n int) []byte {
	n = min(n, len(g.in))
	b := bytes.Clone(g.in[:n])
	g.in = g.in[n:]
	return b
}

func (g *headerGen) u64() uint64 {
	var b [8]byte
	copy(b[:], g.bytes(8))
	return binary.BigEndian.Uint64(b[:])
}

func (g *headerGen) str() string { return string(g.bytes(int(g.byte() % 32))) }

func (g *headerGen) table(depth int) route.Table {
	n := int(g.byte() % 8)
	t := make(route.Table, n)
	for range n {
		if g.budget--; g.budget < 0 || len(g.in) == 0 {
			break
		}
		t[g.str()] = g.value(depth + 1)
	}
	return t
}

func (g *headerGen) array(depth int) []any {
	a := make([]any, g.byte()%6)
	for i := range a {
		if g.budget--; g.budget < 0 {
			break
		}
		a[i] = g.value(depth + 1)
	}
	return a
}

func (g *headerGen) value(depth int) any {
	op := g.byte() % numOps
	if depth > 8 && (op == opTable || op == opMap || op == opTable091 || op == opArray || op == opDeep) {
		op = opNil // deep nesting comes from opDeep, in one step
	}
	switch op {
	case opBool:
		return g.byte()&1 == 1
	case opString:
		return g.str()
	case opBytes:
		return g.bytes(int(g.byte() % 32))
	case opInt8:
		return int8(g.byte())
	case opUint8:
		return g.byte()
	case opInt16:
		return int16(g.u64())
	case opUint16:
		return uint16(g.u64())
	case opInt32:
		return int32(g.u64())
	case opUint32:
		return uint32(g.u64())
	case opInt64:
		return int64(g.u64())
	case opInt:
		return int(g.u64())
	case opUint:
		return uint(g.u64())
	case opUint64:
		return g.u64()
	case opFloat32:
		return math.Float32frombits(uint32(g.u64()))
	case opFloat64:
		return math.Float64frombits(g.u64())
	case opTime:
		return time.Unix(int64(g.u64()), int64(g.byte())*1e6)
	case opDecimal:
		return amqp.Decimal{Scale: g.byte(), Value: int32(g.u64())}
	case opDecimal091:
		return amqp091.Decimal{Scale: g.byte(), Value: int32(g.u64())}
	case opJSONNumber:
		return json.Number(g.str())
	case opTable:
		return g.table(depth)
	case opMap:
		return map[string]any(g.table(depth))
	case opTable091:
		return amqp091.Table(g.table(depth))
	case opArray:
		return g.array(depth)
	case opNamedString:
		return hdrString(g.str())
	case opNamedInt:
		return hdrInt(g.u64())
	case opNamedUint:
		return hdrUint(g.u64())
	case opNamedFloat:
		return hdrFloat(math.Float32frombits(uint32(g.u64())))
	case opNamedBool:
		return hdrBool(g.byte()&1 == 1)
	case opStrings:
		return strings.Split(g.str(), ",")
	case opInts:
		return []int{int(g.byte()), -int(g.byte())}
	case opByteArray:
		return [3]byte{g.byte(), g.byte(), g.byte()}
	case opNamedBytes:
		return hdrBytes(g.str())
	case opIntMap:
		return map[string]int{g.str(): int(g.byte())}
	case opUnsupported:
		switch g.byte() % 8 {
		case 0:
			return make(chan int)
		case 1:
			return func() {}
		case 2:
			return struct{ A int }{1}
		case 3:
			return new(int)
		case 4:
			return map[int]string{1: "a"}
		case 5:
			return complex(1, 2)
		case 6:
			return uintptr(1)
		default:
			return []any{make(chan int)}
		}
	case opDeep:
		levels := int(g.byte())
		v := g.value(depth + levels)
		for i := range levels {
			if i%2 == 0 {
				v = route.Table{"d": v}
			} else {
				v = []any{v}
			}
		}
		return v
	case opLong:
		return strings.Repeat("x", int(g.byte())<<10)
	case opWide:
		return make([]any, int(g.byte())<<6)
	case opLongKey:
		return route.Table{strings.Repeat("k", 200+int(g.byte())): true}
	}
	return nil
}

// The limits of the contract: what amqp091-go reads back (it refuses
// containers nested deeper than 32 levels and containers of more than
// 8192 entries with a syntax error that closes the connection), and what
// fits a content header frame under RabbitMQ's default frame_max.
const (
	modelMaxDepth   = 32
	modelMaxEntries = 8192
	modelMaxKey     = 255
	// modelMaxHeader is what headers may take in a content header frame
	// under the default frame_max (131072 bytes, less the frame's 8 and
	// the header's own 14 and its other, empty, properties).
	modelMaxHeader = 131072 - 8 - 14 - 19
)

// modelHeaderSize returns the encoded size of a table of model values (the
// wire's Go types).
func modelHeaderSize(v any) int {
	switch v := v.(type) {
	case nil:
		return 1
	case bool, int8, uint8:
		return 2
	case int16, uint16:
		return 3
	case int32, uint32, float32:
		return 5
	case amqp.Decimal:
		return 6
	case string:
		return 5 + len(v)
	case []byte:
		return 5 + len(v)
	case []any:
		n := 5
		for _, e := range v {
			n += modelHeaderSize(e)
		}
		return n
	case route.Table:
		n := 5 // the type octet and the length
		for k, e := range v {
			n += 1 + len(k) + modelHeaderSize(e)
		}
		return n
	}
	return 9 // int64, float64, time.Time
}

// errNearFrameLimit is modelTable's answer for headers that take about
// as much as a frame holds: Publish may accept or refuse them.
var errNearFrameLimit = errors.New("headers near the frame size limit")

// modelTable returns the table that must come back for headers sent, or
// the reason the contract refuses them.
func modelTable(t route.Table) (route.Table, error) {
	if len(t) == 0 {
		return nil, nil
	}
	v, err := modelMap(reflect.ValueOf(map[string]any(t)), 0)
	if err != nil {
		return nil, err
	}
	// RabbitMQ takes CC and BCC for lists of extra routing keys
	// (sender-selected distribution): it closes the channel when one is
	// not an array, and removes BCC from the message.
	for _, key := range []string{"CC", "BCC"} {
		if e, ok := v[key]; ok {
			if _, isArray := e.([]any); !isArray {
				return nil, fmt.Errorf("%s of type %T", key, e)
			}
		}
	}
	switch n := modelHeaderSize(v) - 1; { // the top table has no type octet
	case n > modelMaxHeader+64:
		return nil, fmt.Errorf("header frame of %d bytes", n)
	case n > modelMaxHeader-64:
		// kelp's bound of the other properties is not exact: near the
		// limit, either outcome is right.
		err = errNearFrameLimit
	}
	delete(v, "BCC")
	return v, err
}

func modelMap(m reflect.Value, depth int) (route.Table, error) {
	if depth > modelMaxDepth {
		return nil, fmt.Errorf("nested deeper than %d", modelMaxDepth)
	}
	if m.Len() > modelMaxEntries {
		return nil, fmt.Errorf("table of %d entries", m.Len())
	}
	out := make(route.Table, m.Len())
	for it := m.MapRange(); it.Next(); {
		k := it.Key().String()
		if len(k) > modelMaxKey {
			return nil, fmt.Errorf("key of %d bytes", len(k))
		}
		v, err := modelValue(it.Value().Interface(), depth)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func modelArray(rv reflect.Value, depth int) ([]any, error) {
	if depth+1 > modelMaxDepth {
		return nil, fmt.Errorf("nested deeper than %d", modelMaxDepth)
	}
	if rv.Len() > modelMaxEntries {
		return nil, fmt.Errorf("array of %d entries", rv.Len())
	}
	out := make([]any, rv.Len())
	for i := range out {
		v, err := modelValue(rv.Index(i).Interface(), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// modelValue returns the value that comes back for v, a value of a table
// at the given depth: the Go type of the wire type v is sent as.
func modelValue(v any, depth int) (any, error) {
	switch v := v.(type) {
	case nil, bool, string, []byte, int8, uint8, int16, uint16, int32, uint32, int64:
		return v, nil
	case float32:
		return modelFloat(float64(v), v)
	case float64:
		return modelFloat(v, v)
	case int:
		return int64(v), nil
	case time.Time:
		return time.Unix(v.Unix(), 0), nil
	case amqp.Decimal:
		return v, nil
	case amqp091.Decimal:
		return amqp.Decimal{Scale: v.Scale, Value: v.Value}, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return nil, fmt.Errorf("json.Number %q", string(v))
		}
		return modelFloat(f, f)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("unsigned %d", rv.Uint())
		}
		return int64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return modelFloat(rv.Float(), rv.Float())
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		return modelArray(rv, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			return modelMap(rv, depth+1)
		}
	}
	return nil, fmt.Errorf("type %T", v)
}

// modelFloat refuses NaN and infinities, which RabbitMQ cannot decode (it
// closes the connection with 541), and returns v otherwise.
func modelFloat(f float64, v any) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("float %v", f)
	}
	return v, nil
}

// sameHeader compares a model value with what came back: nil and empty
// tables, arrays and byte strings are alike (the wire does not tell them
// apart); floats compare bit for bit; times by their second.
func sameHeader(want, got any) bool {
	switch w := want.(type) {
	case route.Table:
		g, ok := got.(route.Table)
		if !ok && got != nil || len(w) != len(g) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !sameHeader(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range w {
			if !sameHeader(w[i], g[i]) {
				return false
			}
		}
		return true
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(w, g)
	case float32:
		g, ok := got.(float32)
		return ok && math.Float32bits(w) == math.Float32bits(g)
	case float64:
		g, ok := got.(float64)
		return ok && math.Float64bits(w) == math.Float64bits(g)
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Unix() == w.Unix()
	}
	return reflect.TypeOf(want) == reflect.TypeOf(got) && want == got
}

// headerSeeds returns inputs that exercise each kind of value, the
// limits, and what a header table met in practice holds.
func headerSeeds() [][]byte {
	u64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	cat := func(parts ...any) []byte {
		var b []byte
		for _, p := range parts {
			switch p := p.(type) {
			case int:
				b = append(b, byte(p))
			case string:
				b = append(b, byte(len(p)))
				b = append(b, p...)
			case []byte:
				b = append(b, p...)
			}
		}
		return b
	}
	entry := func(key string, op int, rest ...any) []byte {
		return cat(append([]any{key, op}, rest...)...)
	}
	var seeds [][]byte
	// One entry of each kind with a plain payload.
	for op := range numOps {
		seeds = append(seeds, append([]byte{1}, entry("k", op, u64(0x0102030405060708))...))
	}
	seeds = append(seeds,
		// A Kombu/Celery task message's headers.
		cat(5, entry("lang", opString, "py"), entry("task", opString, "tasks.add"),
			entry("id", opString, "0f1e2d3c"), entry("retries", opInt, u64(0)),
			entry("argsrepr", opString, "(2, 2)")),
		// Limits: 32 levels (accepted), 33 and 64 levels (refused), an array
		// of 8192 entries (accepted, 128<<6) and 8256 (refused, 129<<6).
		cat(1, entry("deep", opDeep, 31, opInt8, 1)),
		cat(1, entry("deep", opDeep, 33, opInt8, 1)),
		cat(1, entry("deep", opDeep, 64, opInt8, 1)),
		cat(1, entry("wide", opWide, 128)),
		cat(1, entry("wide", opWide, 129)),
		// A header of 200 KiB: more than RabbitMQ's default frame_max.
		cat(1, entry("long", opLong, 200)),
		// Extremes: uint64 above MaxInt64, NaN, negative time, BCC.
		cat(1, entry("u", opUint64, u64(math.MaxUint64))),
		cat(1, entry("nan", opFloat64, u64(math.Float64bits(math.NaN())|1))),
		cat(1, entry("inf", opNamedFloat, u64(uint64(math.Float32bits(float32(math.Inf(-1))))))),
		cat(1, entry("n", opJSONNumber, "NaN")),
		cat(1, entry("CC", opString, "q")),
		// Headers of about a frame (frame_max 131072): 127 KiB fits, 128 does not.
		cat(1, entry("long", opLong, 127)),
		cat(1, entry("long", opLong, 128)),
		cat(1, entry("t", opTime, u64(uint64(math.MaxUint64-86400)))),
		cat(2, entry("BCC", opStrings, "a,b"), entry("CC", opString, "x")),
		cat(1, entry("n", opJSONNumber, "1e400")),
		cat(1, entry("n", opJSONNumber, "-12.5e3")),
		cat(2, entry("", opString, ""), entry("k\x00\xff", opBytes, 2, "\x00\x01")),
	)
	return seeds
}
