package route

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// queueAlias has Queue's fields without its methods.
type queueAlias Queue

// queueJSON is Queue's JSON form: the fields that need more than the default
// encoding shadow the alias's (the outer, shallower field wins).
type queueJSON struct {
	*queueAlias
	Durable    *bool           `json:"durable"`
	MessageTTL json.RawMessage `json:"message_ttl,omitempty"`
	Expires    json.RawMessage `json:"expires,omitempty"`
}

// MarshalJSON encodes q with durations as Go duration strings ("1.5s").
func (q Queue) MarshalJSON() ([]byte, error) {
	a := queueAlias(q)
	return json.Marshal(queueJSON{
		queueAlias: &a,
		Durable:    &a.Durable,
		MessageTTL: durationJSON(q.MessageTTL),
		Expires:    durationJSON(q.Expires),
	})
}

// UnmarshalJSON decodes q. An absent "durable" means true (Kombu's default).
// Durations are Go duration strings or JSON numbers of seconds; anything else
// fails with an error matching [ErrInvalidDuration].
func (q *Queue) UnmarshalJSON(data []byte) error {
	var a queueAlias
	w := queueJSON{queueAlias: &a}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	var err error
	if a.MessageTTL, err = parseJSONDuration("message_ttl", w.MessageTTL); err != nil {
		return err
	}
	if a.Expires, err = parseJSONDuration("expires", w.Expires); err != nil {
		return err
	}
	a.Durable = w.Durable == nil || *w.Durable
	*q = Queue(a)
	return nil
}

// durationJSON encodes d as a JSON duration string, or nothing when zero.
func durationJSON(d time.Duration) json.RawMessage {
	if d == 0 {
		return nil
	}
	return strconv.AppendQuote(nil, d.String())
}

// parseJSONDuration decodes the JSON value raw of the named field: null or
// absent (zero), a Go duration string, or a number of seconds.
func parseJSONDuration(field string, raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	fail := func() (time.Duration, error) {
		return 0, newError([]error{ErrInvalidDuration},
			"route: %s: %s is not a duration (want a string such as \"1.5s\" or a number of seconds)", field, raw)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail()
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fail()
		}
		return d, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return fail()
	}
	if bytes.ContainsAny(raw, "eE") {
		f, err := n.Float64()
		ns := f * float64(time.Second)
		if err != nil || math.IsNaN(ns) || ns >= math.MaxInt64 || ns < math.MinInt64 {
			return fail()
		}
		return time.Duration(math.Round(ns)), nil
	}
	// A plain decimal: let the duration parser read it exactly as seconds.
	d, err := time.ParseDuration(string(n) + "s")
	if err != nil {
		return fail()
	}
	return d, nil
}
