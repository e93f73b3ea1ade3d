package redis

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kelpmq/kelp/route"
	"github.com/kelpmq/kelp/transports"
	"github.com/kelpmq/kelp/transports/virtual"
)

// wireEnvelope is Kombu's JSON envelope, with the keys in the order
// Kombu's json.dumps writes them.
type wireEnvelope struct {
	Body            string      `json:"body"`
	ContentEncoding string      `json:"content-encoding"`
	ContentType     string      `json:"content-type"`
	Headers         route.Table `json:"headers"`
	Properties      wireProps   `json:"properties"`
}

// wireProps is the "properties" object. Python writes priority and
// delivery_mode as integers; anything else a peer adds is ignored.
type wireProps struct {
	CorrelationID string       `json:"correlation_id,omitempty"`
	ReplyTo       string       `json:"reply_to,omitempty"`
	MessageID     string       `json:"message_id,omitempty"`
	Expiration    string       `json:"expiration,omitempty"`
	Timestamp     *float64     `json:"timestamp,omitempty"`
	Type          string       `json:"type,omitempty"`
	UserID        string       `json:"user_id,omitempty"`
	AppID         string       `json:"app_id,omitempty"`
	DeliveryMode  int          `json:"delivery_mode,omitempty"`
	DeliveryInfo  deliveryInfo `json:"delivery_info"`
	Priority      *float64     `json:"priority"`
	BodyEncoding  string       `json:"body_encoding,omitempty"`
	DeliveryTag   string       `json:"delivery_tag"`
	// KelpExpires is kelp's record of virtual.Envelope.Expires in Unix
	// milliseconds; Python ignores it.
	KelpExpires int64 `json:"kelp_expires,omitempty"`
}

type deliveryInfo struct {
	Exchange    string `json:"exchange"`
	RoutingKey  string `json:"routing_key"`
	Redelivered bool   `json:"redelivered,omitempty"`
}

// kombuPriority maps an AMQP priority (higher first) to Kombu's Redis
// priority number (0 first): 9 - min(p, 9). See the package documentation.
func kombuPriority(p uint8) int { return 9 - int(min(p, 9)) }

// amqpPriority is the inverse of kombuPriority for Kombu's range 0..9
// (values outside it are clamped, as Kombu clamps them).
func amqpPriority(k float64) uint8 {
	if math.IsNaN(k) || k < 0 {
		k = 0
	}
	return uint8(9 - int(min(k, 9)))
}

// newTag returns a uuid4 string, Kombu's delivery tag.
func newTag() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// encodeEnvelope writes env as Kombu's JSON envelope with delivery tag
// tag. A redelivered message carries Kombu's two redelivered marks.
func encodeEnvelope(env *virtual.Envelope, tag string) ([]byte, error) {
	m := &env.Message
	w := wireEnvelope{
		Body:            base64.StdEncoding.EncodeToString(m.Body),
		ContentEncoding: m.ContentEncoding,
		ContentType:     m.ContentType,
		Headers:         m.Headers,
		Properties: wireProps{
			CorrelationID: m.CorrelationID,
			ReplyTo:       m.ReplyTo,
			MessageID:     m.MessageID,
			Expiration:    m.Expiration,
			Type:          m.Type,
			UserID:        m.UserID,
			AppID:         m.AppID,
			DeliveryMode:  int(m.DeliveryMode),
			DeliveryInfo:  deliveryInfo{Exchange: env.Exchange, RoutingKey: env.RoutingKey, Redelivered: env.Redelivered},
			BodyEncoding:  "base64",
			DeliveryTag:   tag,
		},
	}
	prio := float64(kombuPriority(m.Priority))
	w.Properties.Priority = &prio
	if !m.Timestamp.IsZero() {
		ts := float64(m.Timestamp.Unix())
		w.Properties.Timestamp = &ts
	}
	if !env.Expires.IsZero() {
		w.Properties.KelpExpires = env.Expires.UnixMilli()
	}
	if w.Headers == nil {
		w.Headers = route.Table{}
	}
	if env.Redelivered {
		if _, ok := w.Headers["redelivered"]; !ok {
			h := make(route.Table, len(w.Headers)+1)
			for k, v := range w.Headers {
				h[k] = v
			}
			h["redelivered"] = true
			w.Headers = h
		}
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("redis: encoding the envelope: %w", err)
	}
	return b, nil
}

// errBadEnvelope wraps every decoding failure.
var errBadEnvelope = errors.New("redis: malformed message envelope")

// decodeEnvelope reads a Kombu JSON envelope into env and returns its
// delivery tag.
func decodeEnvelope(raw []byte, env *virtual.Envelope) (string, error) {
	var w wireEnvelope
	if err := json.Unmarshal(raw, &w); err != nil {
		return "", fmt.Errorf("%w: %w", errBadEnvelope, err)
	}
	p := &w.Properties
	var body []byte
	switch p.BodyEncoding {
	case "base64":
		var err error
		if body, err = base64.StdEncoding.DecodeString(w.Body); err != nil {
			return "", fmt.Errorf("%w: body: %w", errBadEnvelope, err)
		}
	default:
		body = []byte(w.Body)
	}
	*env = virtual.Envelope{
		Message: transports.Message{
			Body:    body,
			Headers: w.Headers,
			Properties: transports.Properties{
				ContentType:     w.ContentType,
				ContentEncoding: w.ContentEncoding,
				DeliveryMode:    route.DeliveryMode(p.DeliveryMode),
				CorrelationID:   p.CorrelationID,
				ReplyTo:         p.ReplyTo,
				Expiration:      p.Expiration,
				MessageID:       p.MessageID,
				Type:            p.Type,
				UserID:          p.UserID,
				AppID:           p.AppID,
			},
		},
		Exchange:    p.DeliveryInfo.Exchange,
		RoutingKey:  p.DeliveryInfo.RoutingKey,
		Redelivered: p.DeliveryInfo.Redelivered,
	}
	if p.Priority != nil {
		env.Priority = amqpPriority(*p.Priority)
	} else {
		env.Priority = amqpPriority(0)
	}
	if p.Timestamp != nil {
		env.Timestamp = time.Unix(int64(*p.Timestamp), 0)
	}
	if p.KelpExpires != 0 {
		env.Expires = time.UnixMilli(p.KelpExpires)
	}
	if r, ok := env.Headers["redelivered"].(bool); ok && r {
		env.Redelivered = true
		delete(env.Headers, "redelivered")
	}
	if len(env.Headers) == 0 {
		env.Headers = nil
	}
	return p.DeliveryTag, nil
}
