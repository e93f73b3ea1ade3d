package pidbox

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kelpmq/kelp/route"
)

// Header names of pidbox messages, as kombu.pidbox writes them.
const (
	// HeaderClock holds the sender's Lamport clock ([Clock.Forward]).
	HeaderClock = "clock"
	// HeaderExpires holds, on requests, when the sender stops waiting:
	// Unix seconds as a float, or 0 for never.
	HeaderExpires = "expires"
	// HeaderTicket holds, on replies, the ticket of the call answered.
	HeaderTicket = "ticket"
)

// ReplyTo is where a node sends its reply to a call: the reply_to field
// of a request.
type ReplyTo struct {
	// Exchange is the reply exchange, "reply.<namespace>.pidbox".
	Exchange string
	// RoutingKey is the caller's oid, the binding key of its reply queue.
	RoutingKey string
}

// request is the body of a command, with exactly Kombu's keys.
func requestBody(method string, args any, dest []string, pattern, matcher string, ticket string, rt *ReplyTo) map[string]any {
	m := map[string]any{
		"method":      method,
		"arguments":   args,
		"destination": nil,
		"pattern":     nil,
		"matcher":     nil,
	}
	if len(dest) > 0 {
		m["destination"] = dest
	}
	if pattern != "" {
		m["pattern"] = pattern
		m["matcher"] = matcher
	}
	if rt != nil {
		m["ticket"] = ticket
		m["reply_to"] = map[string]any{"exchange": rt.Exchange, "routing_key": rt.RoutingKey}
	}
	return m
}

// Request is a command as a [Node] receives it.
type Request struct {
	// Method names the command.
	Method string
	// Arguments are the command's keyword arguments (Python's **kwargs),
	// as decoded: JSON numbers are json.Number. See [Request.Decode].
	Arguments map[string]any
	// Destination lists the hostnames the command was sent to; empty for
	// a broadcast.
	Destination []string
	// Pattern and Matcher select nodes by hostname instead ([MatchGlob],
	// [MatchPCRE]).
	Pattern, Matcher string
	// Ticket identifies the call; empty for a cast.
	Ticket string
	// ReplyTo is where the reply goes; nil for a cast.
	ReplyTo *ReplyTo
	// Clock is the sender's clock, and Expires when it stops waiting
	// (zero if never).
	Clock   uint64
	Expires time.Time
}

// Decode stores the arguments in the value v points to, as
// [encoding/json] would decode them from a JSON object.
func (r *Request) Decode(v any) error { return convert(r.Arguments, v) }

// parseRequest reads a decoded request body.
func parseRequest(body map[string]any, headers route.Table) (*Request, error) {
	r := &Request{}
	var ok bool
	if r.Method, ok = body["method"].(string); !ok || r.Method == "" {
		return nil, fmt.Errorf("pidbox: request without a method: %v", body)
	}
	switch a := body["arguments"].(type) {
	case map[string]any:
		r.Arguments = a
	case nil:
	default:
		return nil, fmt.Errorf("pidbox: request arguments are %T, not an object", a)
	}
	if r.Arguments == nil {
		r.Arguments = map[string]any{}
	}
	if d, ok := body["destination"].([]any); ok {
		for _, h := range d {
			if s, ok := h.(string); ok {
				r.Destination = append(r.Destination, s)
			}
		}
	}
	r.Pattern, _ = body["pattern"].(string)
	r.Matcher, _ = body["matcher"].(string)
	r.Ticket, _ = body["ticket"].(string)
	if rt, ok := body["reply_to"].(map[string]any); ok {
		ex, _ := rt["exchange"].(string)
		key, _ := rt["routing_key"].(string)
		r.ReplyTo = &ReplyTo{Exchange: ex, RoutingKey: key}
	}
	if f, ok := number(headers[HeaderClock]); ok && f > 0 {
		r.Clock = uint64(f)
	}
	if f, ok := number(headers[HeaderExpires]); ok && f > 0 {
		sec, frac := math.Modf(f)
		r.Expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	return r, nil
}

// Reply is one node's answer to a call.
type Reply struct {
	// Node is the hostname of the node that replied.
	Node string
	// Result is the handler's result as decoded: JSON numbers are
	// json.Number. See [Reply.Decode].
	Result any
	// Err is a [*RemoteError] when the node replied {"error": text} (a
	// failed handler, an unknown method), nil otherwise.
	Err error
}

// Decode stores the result in the value v points to, as [encoding/json]
// would decode it. It returns r.Err for an error reply.
func (r Reply) Decode(v any) error {
	if r.Err != nil {
		return r.Err
	}
	return convert(r.Result, v)
}

// parseReplies reads a reply body, {hostname: result}.
func parseReplies(body map[string]any) []Reply {
	out := make([]Reply, 0, len(body))
	for node, res := range body {
		r := Reply{Node: node, Result: res}
		if m, ok := res.(map[string]any); ok && len(m) == 1 {
			if msg, ok := m["error"].(string); ok {
				r.Err = &RemoteError{Node: node, Message: msg}
			}
		}
		out = append(out, r)
	}
	return out
}

// convert re-decodes a decoded value into v through JSON.
func convert(from, v any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return fmt.Errorf("pidbox: decode: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("pidbox: decode: %w", err)
	}
	return nil
}

// number reads a numeric header, whatever type its transport gave it.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}
