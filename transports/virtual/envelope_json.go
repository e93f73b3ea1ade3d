package virtual

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
)

// ErrBadEnvelope is wrapped by [UnmarshalEnvelope] when its input is not an
// envelope that [MarshalEnvelope] wrote (a corrupt file or job).
var ErrBadEnvelope = errors.New("virtual: malformed stored envelope")

// envelopeVersion is the "v" of the JSON form; UnmarshalEnvelope refuses
// any other.
const envelopeVersion = 1

// jsonEnvelope is the JSON form of an [Envelope]. Times are Unix
// nanoseconds (Timestamp, Expires), so they round-trip exactly.
type jsonEnvelope struct {
	V               int         `json:"v"`
	Body            string      `json:"body"` // base64
	Headers         route.Table `json:"headers,omitempty"`
	ContentType     string      `json:"content_type,omitempty"`
	ContentEncoding string      `json:"content_encoding,omitempty"`
	DeliveryMode    uint8       `json:"delivery_mode,omitempty"`
	Priority        uint8       `json:"priority,omitempty"`
	CorrelationID   string      `json:"correlation_id,omitempty"`
	ReplyTo         string      `json:"reply_to,omitempty"`
	Expiration      string      `json:"expiration,omitempty"`
	MessageID       string      `json:"message_id,omitempty"`
	Timestamp       int64       `json:"timestamp,omitempty"`
	Type            string      `json:"type,omitempty"`
	UserID          string      `json:"user_id,omitempty"`
	AppID           string      `json:"app_id,omitempty"`
	Exchange        string      `json:"exchange"`
	RoutingKey      string      `json:"routing_key"`
	Redelivered     bool        `json:"redelivered,omitempty"`
	Expires         int64       `json:"expires,omitempty"`
}

// MarshalEnvelope encodes env as a self-contained JSON document, for stores
// that keep messages as opaque bytes (files, beanstalkd jobs). Headers
// travel as JSON: []byte values come back as base64 strings, time.Time
// values as RFC 3339 strings, and integers as int64 (see [route.Table]).
// It fails only for header values JSON cannot encode.
func MarshalEnvelope(env *Envelope) ([]byte, error) {
	m := &env.Message
	j := jsonEnvelope{
		V:               envelopeVersion,
		Body:            base64.StdEncoding.EncodeToString(m.Body),
		Headers:         m.Headers,
		ContentType:     m.ContentType,
		ContentEncoding: m.ContentEncoding,
		DeliveryMode:    uint8(m.DeliveryMode),
		Priority:        m.Priority,
		CorrelationID:   m.CorrelationID,
		ReplyTo:         m.ReplyTo,
		Expiration:      m.Expiration,
		MessageID:       m.MessageID,
		Type:            m.Type,
		UserID:          m.UserID,
		AppID:           m.AppID,
		Exchange:        env.Exchange,
		RoutingKey:      env.RoutingKey,
		Redelivered:     env.Redelivered,
	}
	if !m.Timestamp.IsZero() {
		j.Timestamp = m.Timestamp.UnixNano()
	}
	if !env.Expires.IsZero() {
		j.Expires = env.Expires.UnixNano()
	}
	b, err := json.Marshal(&j)
	if err != nil {
		return nil, fmt.Errorf("virtual: encoding an envelope: %w", err)
	}
	return b, nil
}

// UnmarshalEnvelope decodes what [MarshalEnvelope] wrote into env. Any
// other input gives an error wrapping [ErrBadEnvelope].
func UnmarshalEnvelope(data []byte, env *Envelope) error {
	var j jsonEnvelope
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	if j.V != envelopeVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadEnvelope, j.V, envelopeVersion)
	}
	body, err := base64.StdEncoding.DecodeString(j.Body)
	if err != nil {
		return fmt.Errorf("%w: body: %w", ErrBadEnvelope, err)
	}
	*env = Envelope{
		Message: transports.Message{
			Body:    body,
			Headers: j.Headers,
			Properties: transports.Properties{
				ContentType:     j.ContentType,
				ContentEncoding: j.ContentEncoding,
				DeliveryMode:    route.DeliveryMode(j.DeliveryMode),
				Priority:        j.Priority,
				CorrelationID:   j.CorrelationID,
				ReplyTo:         j.ReplyTo,
				Expiration:      j.Expiration,
				MessageID:       j.MessageID,
				Type:            j.Type,
				UserID:          j.UserID,
				AppID:           j.AppID,
			},
		},
		Exchange:    j.Exchange,
		RoutingKey:  j.RoutingKey,
		Redelivered: j.Redelivered,
	}
	if j.Timestamp != 0 {
		env.Timestamp = time.Unix(0, j.Timestamp)
	}
	if j.Expires != 0 {
		env.Expires = time.Unix(0, j.Expires)
	}
	return nil
}
