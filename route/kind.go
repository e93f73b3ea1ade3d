package route

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Kind is an exchange type: how an exchange chooses the queues a message goes
// to. The zero value is "unset"; constructors and decoders replace it with
// [Direct], Kombu's default.
type Kind string

// The exchange kinds of AMQP 0-9-1.
const (
	// Direct routes to the bindings whose key equals the routing key.
	Direct Kind = "direct"
	// Topic routes by dot-separated word patterns with * and # wildcards.
	Topic Kind = "topic"
	// Fanout routes to every binding and ignores the routing key.
	Fanout Kind = "fanout"
	// Headers routes by message headers (see [MatchHeaders]).
	Headers Kind = "headers"
)

// ParseKind returns the Kind named by s. The names are lower case, as AMQP
// brokers spell them. An empty s gives [Direct] (Kombu's default); any other
// name fails with an error matching [ErrUnknownKind].
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Direct, Topic, Fanout, Headers:
		return k, nil
	case "":
		return Direct, nil
	}
	return "", newError([]error{ErrUnknownKind},
		"route: unknown exchange kind %q (want direct, topic, fanout or headers)", s)
}

// Valid reports whether k is one of the four kinds. The unset kind "" is not
// valid.
func (k Kind) Valid() bool {
	switch k {
	case Direct, Topic, Fanout, Headers:
		return true
	}
	return false
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseKind], so
// JSON and flag decoding reject unknown kinds and read "" as [Direct].
func (k *Kind) UnmarshalText(text []byte) error {
	v, err := ParseKind(string(text))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// DeliveryMode says whether a broker writes a message to disk. The zero value
// means "unset": a publisher then uses [Persistent], as Kombu does.
type DeliveryMode uint8

// The two AMQP delivery modes.
const (
	// Transient messages live in memory only (AMQP delivery mode 1).
	Transient DeliveryMode = 1
	// Persistent messages are written to disk by a durable queue (mode 2).
	Persistent DeliveryMode = 2
)

// ParseDeliveryMode reads "1", "2", "transient", "non-persistent" or
// "persistent" (in any letter case). An empty s gives the unset mode 0; other
// text fails with an error matching [ErrInvalidDeliveryMode].
func ParseDeliveryMode(s string) (DeliveryMode, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "1", "transient", "non-persistent":
		return Transient, nil
	case "2", "persistent":
		return Persistent, nil
	}
	return 0, newError([]error{ErrInvalidDeliveryMode},
		"route: invalid delivery mode %q (want 1, 2, transient, non-persistent or persistent)", s)
}

// Valid reports whether m is [Transient] or [Persistent].
func (m DeliveryMode) Valid() bool { return m == Transient || m == Persistent }

// OrDefault returns m, or [Persistent] when m is unset.
func (m DeliveryMode) OrDefault() DeliveryMode {
	if m == 0 {
		return Persistent
	}
	return m
}

// String returns "transient", "persistent", "unset" or "DeliveryMode(n)".
func (m DeliveryMode) String() string {
	switch m {
	case 0:
		return "unset"
	case Transient:
		return "transient"
	case Persistent:
		return "persistent"
	}
	return "DeliveryMode(" + strconv.Itoa(int(m)) + ")"
}

// UnmarshalJSON accepts null, the numbers 0, 1 and 2, or a string that
// [ParseDeliveryMode] accepts. (A DeliveryMode marshals as its number.)
func (m *DeliveryMode) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case string(data) == "null":
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		v, err := ParseDeliveryMode(s)
		if err != nil {
			return err
		}
		*m = v
		return nil
	}
	switch string(data) {
	case "0":
		*m = 0
	case "1":
		*m = Transient
	case "2":
		*m = Persistent
	default:
		return newError([]error{ErrInvalidDeliveryMode},
			"route: invalid delivery mode %s (want 1, 2 or a name)", data)
	}
	return nil
}
