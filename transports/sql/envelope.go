package sql

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// meta is the JSON kept in the meta column: everything of an envelope but
// its body (its own column) and its state (lease, redelivered and expires
// columns).
type meta struct {
	Exchange        string      `json:"exchange"`
	RoutingKey      string      `json:"routing_key"`
	Headers         route.Table `json:"headers,omitempty"`
	ContentType     string      `json:"content_type,omitempty"`
	ContentEncoding string      `json:"content_encoding,omitempty"`
	DeliveryMode    uint8       `json:"delivery_mode,omitempty"`
	Priority        uint8       `json:"priority,omitempty"`
	CorrelationID   string      `json:"correlation_id,omitempty"`
	ReplyTo         string      `json:"reply_to,omitempty"`
	Expiration      string      `json:"expiration,omitempty"`
	MessageID       string      `json:"message_id,omitempty"`
	Timestamp       int64       `json:"timestamp,omitempty"` // Unix seconds
	Type            string      `json:"type,omitempty"`
	UserID          string      `json:"user_id,omitempty"`
	AppID           string      `json:"app_id,omitempty"`
}

// encodeMeta returns the meta column of env.
func encodeMeta(env *virtual.Envelope) (string, error) {
	p := &env.Properties
	m := meta{
		Exchange: env.Exchange, RoutingKey: env.RoutingKey, Headers: env.Headers,
		ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		DeliveryMode: uint8(p.DeliveryMode), Priority: p.Priority,
		CorrelationID: p.CorrelationID, ReplyTo: p.ReplyTo, Expiration: p.Expiration,
		MessageID: p.MessageID, Type: p.Type, UserID: p.UserID, AppID: p.AppID,
	}
	if !p.Timestamp.IsZero() {
		m.Timestamp = p.Timestamp.Unix()
	}
	b, err := json.Marshal(&m)
	if err != nil {
		return "", fmt.Errorf("sql: encode message: %w", err)
	}
	return string(b), nil
}

// decodeRow rebuilds an envelope from a row's columns.
func decodeRow(env *virtual.Envelope, metaText string, body []byte, redelivered, expires int64) error {
	var m meta
	if err := json.Unmarshal([]byte(metaText), &m); err != nil {
		return fmt.Errorf("%w: %w", ErrCorruptRow, err)
	}
	*env = virtual.Envelope{
		Message: transports.Message{Body: body, Headers: m.Headers, Properties: transports.Properties{
			ContentType: m.ContentType, ContentEncoding: m.ContentEncoding,
			DeliveryMode: route.DeliveryMode(m.DeliveryMode), Priority: m.Priority,
			CorrelationID: m.CorrelationID, ReplyTo: m.ReplyTo, Expiration: m.Expiration,
			MessageID: m.MessageID, Type: m.Type, UserID: m.UserID, AppID: m.AppID,
		}},
		Exchange: m.Exchange, RoutingKey: m.RoutingKey, Redelivered: redelivered != 0,
	}
	if m.Timestamp != 0 {
		env.Timestamp = time.Unix(m.Timestamp, 0)
	}
	if expires != 0 {
		env.Expires = time.UnixMilli(expires)
	}
	return nil
}
